// Builds dist/bin: per plugin type a small executable dist/bin/<type> (the VERSION stub,
// plugins/sdk/version-stub.ts) and the full CommonJS bundle dist/bin/crosscni-bundles/<type>.js
// with its V8 code cache (<type>.js.cache) that the stub loads for every other command; and the
// crosscni CLI (dist/bin/crosscni). Native addons (koffi, netlink) cannot live inside a bundle:
// they are copied to dist/bin/crosscni-native/ and the packages' loaders are redirected there,
// so the bin directory is self-contained and can be copied to /opt/cni/bin as it is.
//
// Everything is built in a staging directory first (the code cache is made by running the
// staged plugins), then moved into dist/bin file by file with rename: overwriting a loaded
// .node or a running bundle in place crashes the processes using it.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const outDir = join(root, 'dist', 'bin');
const stageDir = join(root, 'dist', `bin.stage-${process.pid}`);
/** As plugins/sdk/bundle-loader.ts BUNDLE_DIR and BUNDLE_ID_PREFIX. */
const BUNDLE_DIR = 'crosscni-bundles';
const BUNDLE_ID_PREFIX = '// crosscni-bundle-id ';
const NATIVE_DIR = 'crosscni-native';
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

function copyNativeAddons(dir) {
  mkdirSync(dir, { recursive: true });
  const netlinkDir = dirname(require.resolve('netlink/package.json'));
  const arch = `${process.platform}-${process.arch}`;
  const netlinkAddon = join(netlinkDir, 'prebuilds', arch, 'node.napi.node');
  if (existsSync(netlinkAddon)) copyFileSync(netlinkAddon, join(dir, 'netlink.node'));
  try {
    const koffiPkg = dirname(require.resolve(`@koromix/koffi-${arch}/package.json`));
    const triplet = `${process.platform}_${process.arch === 'x64' ? 'x64' : process.arch}`;
    copyFileSync(join(koffiPkg, triplet, 'koffi.node'), join(dir, `koffi-${arch}.node`));
  } catch {
    console.error(`build: no koffi binary for ${arch}; FFI features will be unavailable in dist/`);
  }
}

/**
 * Redirect the native loaders of netlink and koffi to crosscni-native/, found from the
 * bundle's own directory (`up` is the path from there to the bin directory).
 */
function nativeRedirect(up) {
  const nativePath = (file) =>
    `require('path').join(__dirname, ${[...up, NATIVE_DIR].map((p) => JSON.stringify(p)).join(', ')}, ${file})`;
  return {
    name: 'native-redirect',
    setup(b) {
      b.onResolve({ filter: /^node-gyp-build$/ }, () => ({ path: 'node-gyp-build', namespace: 'native' }));
      b.onResolve({ filter: /static\.c?js$/ }, (args) =>
        args.importer.includes(`${join('node_modules', 'koffi')}`)
          ? { path: 'koffi-static', namespace: 'native' }
          : undefined,
      );
      b.onLoad({ filter: /^node-gyp-build$/, namespace: 'native' }, () => ({
        contents: `module.exports = () => require(${nativePath("'netlink.node'")});`,
        loader: 'js',
      }));
      b.onLoad({ filter: /^koffi-static$/, namespace: 'native' }, () => ({
        contents: `module.exports = { loadStatic: (pkg) => require(${nativePath("'koffi-' + pkg + '.node'")}) };`,
        loader: 'js',
      }));
    },
  };
}

/**
 * The Linux build leaves hns/ (the Windows platform) out: platform/select.ts imports it with a
 * dynamic import(), which a bundle would otherwise carry and V8 pre-parse on every exec.
 * ci/build-windows.mjs builds the Windows executables with it.
 */
const linuxOnly = {
  name: 'crosscni-linux-only',
  setup(b) {
    b.onResolve({ filter: /[\\/]hns[\\/]index\.ts$/ }, (args) =>
      /[\\/]platform[\\/]select\.ts$/.test(args.importer)
        ? { path: 'windows-platform', namespace: 'crosscni-linux' }
        : undefined,
    );
    b.onLoad({ filter: /^windows-platform$/, namespace: 'crosscni-linux' }, () => ({
      contents: `export function createWindowsPlatform() {
  throw new Error('this crosscni was built for Linux: the Windows platform (CROSSCNI_PLATFORM=windows) is not in it');
}`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  logOverride: { 'unsupported-require-call': 'silent' },
};

/** The full plugin: no shebang (the loader wraps it), a first line naming its content. */
async function buildPluginBundle({ name, entry }) {
  const file = join(stageDir, BUNDLE_DIR, `${name}.js`);
  const out = await build({
    ...common,
    entryPoints: [entry],
    write: false,
    outfile: file,
    // ESM dependencies (koffi) read import.meta.url, which a CommonJS bundle lacks.
    define: { 'import.meta.url': '__importMetaUrl' },
    plugins: [nativeRedirect(['..']), linuxOnly],
    logOverride: { ...common.logOverride, 'empty-import-meta': 'silent' },
  });
  // Defined after the "use strict" directive, which must stay first to keep the bundle strict.
  const text = out.outputFiles[0].text;
  const strict = '"use strict";';
  const head = text.startsWith(strict) ? strict : '';
  const code = Buffer.from(
    `${head}var __importMetaUrl=require("url").pathToFileURL(__filename).href;${text.slice(head.length)}`,
  );
  const id = createHash('sha256').update(code).digest('hex').slice(0, 32);
  writeFileSync(file, Buffer.concat([Buffer.from(`${BUNDLE_ID_PREFIX}${id}\n`), code]));
}

/** The executable: the VERSION stub, with the marker plugins/attachment/ipam-client.ts reads. */
async function buildPluginStub({ name }) {
  const file = join(stageDir, name);
  await build({
    ...common,
    stdin: {
      contents: `import { runPluginStub } from './plugins/sdk/version-stub.ts';\nrunPluginStub(${JSON.stringify(name)});\n`,
      resolveDir: root,
      sourcefile: `${name}-stub.ts`,
      loader: 'ts',
    },
    outfile: file,
    banner: { js: '#!/usr/bin/env node\n// crosscni-plugin-bundle' },
  });
  chmodSync(file, 0o755);
}

/** The crosscni CLI: one executable bundle as before (the runtime library keeps execa). */
async function buildCli(entry) {
  const file = join(stageDir, 'crosscni');
  await build({
    ...common,
    entryPoints: [entry],
    outfile: file,
    // ESM dependencies (execa) read import.meta.url, which a CommonJS bundle lacks; the marker
    // lets crosscni install recognise it.
    banner: {
      js: "#!/usr/bin/env node\n// crosscni-plugin-bundle\nconst __importMetaUrl = require('url').pathToFileURL(__filename).href;",
    },
    define: { 'import.meta.url': '__importMetaUrl' },
    plugins: [nativeRedirect([])],
    logOverride: { ...common.logOverride, 'empty-import-meta': 'silent' },
  });
  chmodSync(file, 0o755);
}

/** A build-time program that makes code caches (plugins/sdk/code-cache-training.ts). */
async function buildTrainer(file) {
  await build({
    ...common,
    stdin: {
      contents:
        "import { trainCodeCache } from './plugins/sdk/code-cache-training.ts';\n" +
        'trainCodeCache(process.argv[2], process.argv[3], process.argv[4]);\n',
      resolveDir: root,
      sourcefile: 'train-code-cache.ts',
      loader: 'ts',
    },
    outfile: file,
  });
}

/** Every plugin gets the cache of its compiled top level; trainByRunning improves some. */
function compileCaches(trainer, names) {
  for (const name of names) {
    const bundle = join(stageDir, BUNDLE_DIR, `${name}.js`);
    execFileSync(process.execPath, [trainer, bundle, `${bundle}.cache`, 'compile'], { stdio: 'inherit' });
  }
}

/**
 * The plugins whose caches are made from real runs, as lists a runtime would run: the bridge
 * (with crosscni's host-local in-process, as in production) chained with portmap and bandwidth;
 * host-local on its own (for other attachment plugins, or CROSSCNI_IPAM_IN_PROCESS=0); and
 * loopback (containerd runs it for every pod). The rest keep the cache of their compiled top
 * level.
 */
function trainingLists(ipamDir) {
  const net = { cniVersion: '1.0.0', name: 'crosscni-train' };
  const ipam = {
    type: 'host-local',
    subnet: '10.99.0.0/24',
    dataDir: ipamDir,
    routes: [{ dst: '0.0.0.0/0' }],
  };
  const bandwidth = {
    ingressRate: 8_000_000,
    ingressBurst: 80_000,
    egressRate: 8_000_000,
    egressBurst: 80_000,
  };
  return [
    [
      {
        type: 'bridge',
        ifname: 'eth0',
        conf: { ...net, type: 'bridge', bridge: 'cni-train0', isGateway: true, ipMasq: true, ipam },
      },
      {
        type: 'portmap',
        ifname: 'eth0',
        conf: {
          ...net,
          type: 'portmap',
          snat: true,
          runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] },
        },
      },
      {
        type: 'bandwidth',
        ifname: 'eth0',
        conf: { ...net, type: 'bandwidth', runtimeConfig: { bandwidth } },
      },
    ],
    // As an attachment plugin delegates to it: its network's config, with the ipam section.
    [
      {
        type: 'host-local',
        ifname: 'eth1',
        conf: { ...net, name: 'crosscni-train-ipam', type: 'bridge', ipam },
      },
    ],
    [{ type: 'loopback', ifname: 'lo', conf: { ...net, name: 'crosscni-train-lo', type: 'loopback' } }],
  ];
}

/**
 * Improve the caches of the plugins in trainingLists() by running each list for real as a
 * runtime does (ADD in order passing each result on, CHECK, DEL in reverse), every run of a
 * plugin starting from its previous run's cache, so the cache holds every function the runs
 * compiled. Needs root; both the "host" and the container are scratch network namespaces,
 * removed afterwards with all they hold, so the build host's own networking is never touched.
 * A plugin whose run fails keeps the cache of its compiled top level, with a note.
 */
function trainByRunning(trainer, types) {
  if (process.env.CROSSCNI_BUILD_TRAIN === '0') return 'trained: none (CROSSCNI_BUILD_TRAIN=0)';
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'trained: none (needs root on Linux)';
  const tag = `${process.pid}-${Date.now() % 100000}`;
  const hostNs = `crosscni-train-h-${tag}`;
  const podNs = `crosscni-train-c-${tag}`;
  const scratch = mkdtempSync(join(tmpdir(), 'crosscni-train-'));
  const ip = (...args) => spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
  const trained = [];
  const notes = [];
  /** Run one command of one plugin through the trainer; its cache replaces the last one. */
  const step = (plugin, command, prevResult) => {
    const bundle = join(stageDir, BUNDLE_DIR, `${plugin.type}.js`);
    const next = join(scratch, `${plugin.type}.cache`);
    const run = spawnSync('ip', ['netns', 'exec', hostNs, process.execPath, trainer, bundle, next, 'run'], {
      input: JSON.stringify(prevResult ? { ...plugin.conf, prevResult } : plugin.conf),
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'crosscni-train',
        CNI_NETNS: `/run/netns/${podNs}`,
        CNI_IFNAME: plugin.ifname,
        CNI_PATH: stageDir,
      },
      encoding: 'utf8',
    });
    if (run.status !== 0 || !existsSync(next)) {
      notes.push(
        `${plugin.type} ${command} failed: ${(run.stdout || run.stderr || '').trim().slice(0, 300)}`,
      );
      execFileSync(process.execPath, [trainer, bundle, `${bundle}.cache`, 'compile']);
      return undefined;
    }
    renameSync(next, `${bundle}.cache`);
    return run.stdout;
  };
  try {
    if (!ip('netns', 'add', hostNs) || !ip('netns', 'add', podNs))
      return 'trained: none (cannot create namespaces)';
    ip('-n', hostNs, 'link', 'set', 'lo', 'up');
    for (const list of trainingLists(join(scratch, 'ipam'))) {
      // A plugin that fails leaves the list; the others go on, as far as they can.
      let active = list.filter((p) => types.includes(p.type));
      let result;
      for (const plugin of [...active]) {
        const out = step(plugin, 'ADD', result);
        if (out === undefined) active = active.filter((p) => p !== plugin);
        else result = JSON.parse(out);
      }
      for (const command of ['CHECK', 'DEL']) {
        for (const plugin of command === 'DEL' ? [...active].reverse() : [...active]) {
          if (step(plugin, command, result) === undefined) active = active.filter((p) => p !== plugin);
        }
      }
      trained.push(...active.map((p) => p.type));
    }
    return `trained: ${trained.join(', ') || 'none'}${notes.length ? `; kept the compile-time cache: ${notes.join('; ')}` : ''}`;
  } finally {
    ip('netns', 'del', podNs);
    ip('netns', 'del', hostNs);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Move the staged files into dist/bin, each with one rename. */
function publish() {
  for (const sub of [BUNDLE_DIR, NATIVE_DIR]) {
    mkdirSync(join(outDir, sub), { recursive: true });
    for (const f of readdirSync(join(stageDir, sub)))
      renameSync(join(stageDir, sub, f), join(outDir, sub, f));
  }
  for (const f of readdirSync(stageDir, { withFileTypes: true }))
    if (f.isFile() && !f.name.startsWith('.')) renameSync(join(stageDir, f.name), join(outDir, f.name));
}

async function main() {
  rmSync(stageDir, { recursive: true, force: true });
  mkdirSync(join(stageDir, BUNDLE_DIR), { recursive: true });
  mkdirSync(outDir, { recursive: true });
  try {
    copyNativeAddons(join(stageDir, NATIVE_DIR));
    const plugins = pluginEntries();
    const trainer = join(stageDir, '.train-code-cache.js');
    const cli = join(root, 'runtime', 'cli.ts');
    await Promise.all([
      ...plugins.map(buildPluginBundle),
      ...plugins.map(buildPluginStub),
      ...(existsSync(cli) ? [buildCli(cli)] : []),
      buildTrainer(trainer),
    ]);
    compileCaches(
      trainer,
      plugins.map((p) => p.name),
    );
    const training = trainByRunning(
      trainer,
      plugins.map((p) => p.name),
    );
    publish();
    const names = [...plugins.map((p) => p.name), ...(existsSync(cli) ? ['crosscni'] : [])];
    console.error(`build: ${names.join(', ')} -> ${outDir} (code cache: ${training})`);
  } finally {
    rmSync(stageDir, { recursive: true, force: true });
  }
}

await main();
