/**
 * The `crosscni` command: one call is a function of (argv, environment) to (output, exit status),
 * so tests can run it in-process and cli.ts is only the process edge. Loads the named network,
 * builds the attachment from the environment as cnitool does, runs the command through
 * CniRuntime, and prints the result (add) or a CNI error document plus a readable line. The demo
 * and the platform it needs are loaded only for `crosscni demo`.
 */
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { convertResult } from '../plugins/sdk/convert.ts';
import type { Environment } from '../plugins/sdk/env.ts';
import { toCniError } from '../plugins/sdk/errors.ts';
import { CURRENT_VERSION, versionAtLeast } from '../plugins/sdk/version.ts';
import { helpText, USAGE } from './cli-help.ts';
import {
  CliError,
  type CliIo,
  type CommandLine,
  DEFAULT_CNI_PATH,
  DEFAULT_NETCONF_PATH,
  parseCommandLine,
  readRuntimeConf,
  readSettings,
  UsageError,
} from './cli-options.ts';
import { CniRuntime } from './cni-runtime.ts';
import { loadNetworkList } from './load-config.ts';
import type { NetworkConfigList } from './network-config.ts';
import { formatPluginTable, listPlugins } from './plugins-command.ts';
import { DEFAULT_CACHE_DIR } from './result-cache.ts';

/** host-local's default dataDir. */
const DEFAULT_IPAM_DATA_DIR = '/var/lib/cni/networks';

export interface CliProcess {
  argv: readonly string[];
  env: Environment;
  io: CliIo;
  /** Path of the running crosscni executable: its directory is the default plugin directory. */
  selfPath?: string;
}

function operands(line: CommandLine, names: readonly string[], optional = 0): string[] {
  const { operands: given } = line;
  if (given.length < names.length - optional || given.length > names.length) {
    throw new UsageError(`crosscni ${line.command} takes ${names.join(' ')}`);
  }
  return given;
}

function selfDirectory(selfPath: string | undefined): string {
  if (!selfPath) throw new CliError('cannot tell which directory crosscni runs from; name the directory');
  return dirname(realpathSync(selfPath));
}

/** Runs one command; `state.version` is the cniVersion errors are written in once a list is known. */
async function dispatch(cli: CliProcess, line: CommandLine, state: { version: string }): Promise<void> {
  const { io, env } = cli;
  if (line.command === 'help') {
    io.stdout(helpText());
    return;
  }
  if (line.command === 'plugins') {
    const [dir = selfDirectory(cli.selfPath)] = operands(line, ['[BIN-DIR]'], 1);
    const listings = await listPlugins(dir, env, cli.selfPath);
    io.stdout(line.json ? `${JSON.stringify(listings, null, 2)}\n` : formatPluginTable(dir, listings));
    return;
  }
  if (line.command === 'demo') {
    operands(line, []);
    const { runDemo } = await import('./demo.ts');
    await runDemo({ binDir: selfDirectory(cli.selfPath), io });
    return;
  }
  if (line.command === 'install') {
    operands(line, []);
    const { formatInstallReport, install } = await import('./install.ts');
    const report = install({
      sourceDir: selfDirectory(cli.selfPath),
      binDir: line.binDir ?? DEFAULT_CNI_PATH,
      confDir: line.confDir ?? DEFAULT_NETCONF_PATH,
      conflist: line.conflist,
      force: line.force === true,
      agent: line.agent === true,
    });
    io.stdout(formatInstallReport(report));
    if (line.agent) {
      const { agentInstallHint } = await import('./agent/run-agent.ts');
      io.stdout(agentInstallHint(line.binDir ?? DEFAULT_CNI_PATH));
    }
    return;
  }
  if (line.command === 'agent') {
    operands(line, []);
    const { runAgent } = await import('./agent/run-agent.ts');
    const status = await runAgent({ socketPath: line.socket, io });
    if (status !== 0) throw new CliError('crosscni agent: stopped after a fatal error', status);
    return;
  }
  if (line.command === 'doctor') {
    operands(line, []);
    const { doctorExitCode, formatDoctorReport, runDoctor } = await import('./doctor.ts');
    const report = await runDoctor({
      binDir: line.binDir ?? DEFAULT_CNI_PATH,
      confDir: line.confDir ?? (env.NETCONFPATH || DEFAULT_NETCONF_PATH),
      dataDir: line.dataDir ?? DEFAULT_IPAM_DATA_DIR,
      cacheDir: line.cacheDir ?? (env.CNI_CACHE_DIR || DEFAULT_CACHE_DIR),
      env,
    });
    io.stdout(line.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    // A failed check is the answer, not an error of crosscni's: the report is already printed.
    if (doctorExitCode(report) !== 0) throw new CliError('crosscni doctor: some checks failed', 1);
    return;
  }
  const perAttachment = line.command === 'add' || line.command === 'check' || line.command === 'del';
  const [network, netnsOperand] = operands(line, perAttachment ? ['NETWORK', 'NETNS-PATH'] : ['NETWORK']);
  const settings = readSettings(env, line);
  const list = loadNetworkList(settings.netconfPath, network!);
  state.version = list.cniVersion;
  const runtime = new CniRuntime({
    pluginDirs: settings.pluginDirs,
    cacheDir: settings.cacheDir,
    env,
    // Plugins' diagnostics go where cnitool sends them: our stderr.
    onPluginStderr: (_type, _command, text) => io.stderr(text),
  });
  switch (line.command) {
    case 'add': {
      const result = await runtime.addNetworkList(list, readRuntimeConf(env, line, netnsOperand!));
      io.stdout(`${JSON.stringify(convertResult(result, list.cniVersion), null, 4)}\n`);
      return;
    }
    case 'check':
      return runtime.checkNetworkList(list, readRuntimeConf(env, line, netnsOperand!));
    case 'del':
      return runtime.delNetworkList(list, readRuntimeConf(env, line, netnsOperand!));
    case 'gc':
      return gc(runtime, list, line, io);
    case 'status':
      return status(runtime, list, io);
    case 'version':
      return versions(runtime, list, io);
  }
}

async function gc(runtime: CniRuntime, list: NetworkConfigList, line: CommandLine, io: CliIo): Promise<void> {
  // Without --valid, the cache is the record of attachments in use: nothing is deleted, plugins
  // release only what no cached attachment accounts for (cnitool would delete everything).
  const validAttachments =
    line.valid ??
    (await runtime.getCachedAttachments(list.name)).map((a) => ({
      containerId: a.containerId,
      ifname: a.ifname,
    }));
  await runtime.gcNetworkList(list, { validAttachments });
  if (list.disableGC) io.stderr(`crosscni gc: network "${list.name}" sets disableGC; nothing was done\n`);
  else if (!versionAtLeast(list.cniVersion, '1.1.0')) {
    io.stderr(
      `crosscni gc: network "${list.name}" has cniVersion ${list.cniVersion}; plugins get GC from 1.1.0\n`,
    );
  }
}

async function status(runtime: CniRuntime, list: NetworkConfigList, io: CliIo): Promise<void> {
  if (!versionAtLeast(list.cniVersion, '1.1.0')) {
    io.stderr(
      `crosscni status: network "${list.name}" has cniVersion ${list.cniVersion}; STATUS needs 1.1.0\n`,
    );
    return;
  }
  await runtime.getStatusNetworkList(list);
  io.stdout(`network "${list.name}" is ready (${list.plugins.map((p) => p.type).join(', ')})\n`);
}

async function versions(runtime: CniRuntime, list: NetworkConfigList, io: CliIo): Promise<void> {
  const answers = [];
  for (const type of new Set(list.plugins.map((p) => p.type))) {
    const info = await runtime.getVersionInfo(type);
    answers.push({ type, ...info, supportsNetworkVersion: info.supportedVersions.includes(list.cniVersion) });
  }
  io.stdout(`${JSON.stringify(answers, null, 2)}\n`);
}

/** Run one crosscni command line; returns the exit status. */
export async function runCli(cli: CliProcess): Promise<number> {
  const state = { version: CURRENT_VERSION as string };
  let command = '';
  try {
    const line = parseCommandLine(cli.argv);
    command = line.command;
    await dispatch(cli, line, state);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      cli.io.stderr(`crosscni: ${e.message}\n${USAGE}\nRun 'crosscni --help' for more.\n`);
      return e.exitCode;
    }
    if (e instanceof CliError) {
      cli.io.stderr(`${e.message}\n`);
      return e.exitCode;
    }
    const error = toCniError(e);
    cli.io.stderr(`${JSON.stringify(error.toJSON(state.version))}\n`);
    cli.io.stderr(`crosscni ${command}: ${error.message}\n`);
    return 1;
  }
}
