// Builds one executable CommonJS bundle per plugin (dist/bin/<type>) and the crosscni CLI
// (dist/bin/crosscni). Native addons (koffi, netlink) cannot live inside a bundle: they are
// copied to dist/bin/crosscni-native/ and the packages' loaders are redirected there, so the
// bin directory is self-contained and can be copied to /opt/cni/bin as it is.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const outDir = join(root, 'dist', 'bin');
const nativeDir = join(outDir, 'crosscni-native');
const require = createRequire(join(root, 'package.json'));

/** Folders of plugins/ that hold shared code, not a plugin type. */
const LIBRARY_FOLDERS = new Set(['sdk', 'attachment']);

/** Plugin entries: every plugins/<type>/main.ts. */
function pluginEntries() {
  return readdirSync(join(root, 'plugins'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !LIBRARY_FOLDERS.has(d.name))
    .filter((d) => existsSync(join(root, 'plugins', d.name, 'main.ts')))
    .map((d) => ({ name: d.name, entry: join(root, 'plugins', d.name, 'main.ts') }));
}

/**
 * Copy, then rename over the target: overwriting a loaded .node or a running bundle in place
 * crashes the processes using it (a rebuild, or an install, while pods start).
 */
function copyAtomically(from, to) {
  const temp = `${to}.tmp-${process.pid}`;
  copyFileSync(from, temp);
  renameSync(temp, to);
}

function copyNativeAddons() {
  mkdirSync(nativeDir, { recursive: true });
  const netlinkDir = dirname(require.resolve('netlink/package.json'));
  const arch = `${process.platform}-${process.arch}`;
  const netlinkAddon = join(netlinkDir, 'prebuilds', arch, 'node.napi.node');
  if (existsSync(netlinkAddon)) copyAtomically(netlinkAddon, join(nativeDir, 'netlink.node'));
  try {
    const koffiPkg = dirname(require.resolve(`@koromix/koffi-${arch}/package.json`));
    const triplet = `${process.platform}_${process.arch === 'x64' ? 'x64' : process.arch}`;
    copyAtomically(join(koffiPkg, triplet, 'koffi.node'), join(nativeDir, `koffi-${arch}.node`));
  } catch {
    console.error(`build: no koffi binary for ${arch}; FFI features will be unavailable in dist/`);
  }
}

/** Redirect the native loaders of netlink and koffi to dist/bin/crosscni-native/. */
const nativeRedirect = {
  name: 'native-redirect',
  setup(b) {
    b.onResolve({ filter: /^node-gyp-build$/ }, () => ({ path: 'node-gyp-build', namespace: 'native' }));
    b.onResolve({ filter: /static\.c?js$/ }, (args) =>
      args.importer.includes(`${join('node_modules', 'koffi')}`)
        ? { path: 'koffi-static', namespace: 'native' }
        : undefined,
    );
    b.onLoad({ filter: /^node-gyp-build$/, namespace: 'native' }, () => ({
      contents: `module.exports = () => require(require('path').join(__dirname, 'crosscni-native', 'netlink.node'));`,
      loader: 'js',
    }));
    b.onLoad({ filter: /^koffi-static$/, namespace: 'native' }, () => ({
      contents: `module.exports = { loadStatic: (pkg) => require(require('path').join(__dirname, 'crosscni-native', 'koffi-' + pkg + '.node')) };`,
      loader: 'js',
    }));
  },
};

async function main() {
  mkdirSync(outDir, { recursive: true });
  copyNativeAddons();
  const entries = [...pluginEntries()];
  if (existsSync(join(root, 'runtime', 'cli.ts')))
    entries.push({ name: 'crosscni', entry: join(root, 'runtime', 'cli.ts') });
  await Promise.all(
    entries.map(({ name, entry }) =>
      build({
        entryPoints: [entry],
        outfile: join(outDir, `${name}.tmp-${process.pid}`),
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        minifySyntax: true,
        minifyWhitespace: true,
        legalComments: 'none',
        // ESM dependencies (execa) read import.meta.url, which a CommonJS bundle lacks.
        // The marker lets a crosscni plugin recognise a sibling crosscni IPAM executable and
        // run it in-process (plugins/attachment/ipam-client.ts).
        banner: {
          js: "#!/usr/bin/env node\n// crosscni-plugin-bundle\nconst __importMetaUrl = require('url').pathToFileURL(__filename).href;",
        },
        define: { 'import.meta.url': '__importMetaUrl' },
        plugins: [nativeRedirect],
        logLevel: 'warning',
        logOverride: { 'unsupported-require-call': 'silent', 'empty-import-meta': 'silent' },
      }),
    ),
  );
  for (const { name } of entries) {
    const temp = join(outDir, `${name}.tmp-${process.pid}`);
    chmodSync(temp, 0o755);
    renameSync(temp, join(outDir, name));
  }
  console.error(`build: ${entries.map((e) => e.name).join(', ')} -> ${outDir}`);
}

await main();
