import { defineConfig } from 'vitest/config';

// Kernel tests create network namespaces and netfilter state; they are written to be
// independent (unique names), but two cores are all CI has, so files run with limited
// parallelism and generous timeouts (tests never assert on timing).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
