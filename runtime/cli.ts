/**
 * Process edge of the `crosscni` executable (bundled to dist/bin/crosscni): hands argv, the
 * environment and the standard streams to runCli and sets the exit status. Nothing else lives
 * here, so everything the CLI does can be tested in-process through cli-main.ts.
 */
import { runCli } from './cli-main.ts';

void runCli({
  argv: process.argv.slice(2),
  env: process.env,
  io: {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  selfPath: process.argv[1],
}).then((status) => {
  process.exitCode = status;
});
