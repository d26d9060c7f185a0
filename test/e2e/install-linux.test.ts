/**
 * install-linux.sh, taken from deploy/configmap.yaml as the DaemonSet runs it, against a
 * temporary host root: it installs dist/bin (or a stand-in when dist/ is not built) atomically
 * and idempotently, points the plugins at the Node.js runtime it installs beside them, swaps
 * the native addons in through a symlink, writes the conflist with the pod CIDR, and the
 * installed plugin answers VERSION from its new home. No root needed; nothing outside the
 * temporary root is touched (HOST_ROOT is set to it).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findExecutable } from './support/command.ts';
import { installConfig } from './support/deploy-manifests.ts';
import { repoRoot } from './support/e2e-env.ts';

const configData = installConfig();

describe('install-linux.sh from the ConfigMap', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'crosscni-install-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const distBin = join(repoRoot, 'dist', 'bin');
  const haveDist = existsSync(join(distBin, 'loopback'));
  const tools = ['sh', 'sed', 'sha256sum', 'grep', 'head', 'cp'].filter((t) => !findExecutable(t));

  it.skipIf(tools.length > 0)(
    tools.length > 0
      ? `needs ${tools.join(', ')}`
      : `installs ${haveDist ? 'dist/bin' : 'a stand-in plugin dir'} atomically and idempotently`,
    () => {
      let src = distBin;
      if (!haveDist) {
        src = join(scratch, 'image-bin');
        mkdirSync(join(src, 'crosscni-native'), { recursive: true });
        writeFileSync(join(src, 'crosscni-native', 'addon.node'), 'not really an addon');
        writeFileSync(
          join(src, 'loopback'),
          '#!/usr/bin/env node\n// crosscni-plugin-bundle\nprocess.stdout.write(JSON.stringify({cniVersion:"1.0.0",supportedVersions:["1.0.0"]}));\n',
          { mode: 0o755 },
        );
      }
      const script = join(scratch, 'install-linux.sh');
      const template = join(scratch, '10-crosscni.conflist');
      writeFileSync(script, String(configData['install-linux.sh']));
      writeFileSync(template, String(configData['10-crosscni.conflist']));
      // HOST_ROOT is the scratch dir, as /host is in the pod: nothing outside it is touched.
      const bin = join(scratch, 'opt', 'cni', 'bin');
      const netd = join(scratch, 'etc', 'cni', 'net.d');
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        CROSSCNI_SRC: src,
        CROSSCNI_NODE: process.execPath,
        HOST_ROOT: scratch,
        CNI_BIN_DIR: '/opt/cni/bin',
        CNI_NET_DIR: '/etc/cni/net.d',
        CONFLIST_TEMPLATE: template,
        POD_CIDR: '10.244.7.0/24',
      };
      const layout = (): string[] => readdirSync(bin).sort();
      for (const round of [1, 2]) {
        const run = spawnSync('sh', [script], { env, encoding: 'utf8', timeout: 60_000 });
        expect(run.status, `round ${round}: ${run.stderr}`).toBe(0);
        expect(run.stderr).toContain('pod CIDR 10.244.7.0/24');
      }
      const natives = layout().filter((f) => f.startsWith('crosscni-native-'));
      expect(natives).toHaveLength(1);
      expect(lstatSync(join(bin, 'crosscni-native')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(bin, 'crosscni-native'))).toBe(natives[0]);
      expect(layout()).not.toContain('.crosscni-stage');
      expect(readFileSync(join(bin, 'loopback'), 'utf8').split('\n')[0]).toBe('#!/opt/cni/bin/crosscni-node');
      const conflist = JSON.parse(readFileSync(join(netd, '10-crosscni.conflist'), 'utf8')) as {
        plugins: Array<{ ipam?: { ranges: Array<Array<{ subnet: string }>> } }>;
      };
      expect(conflist.plugins[0]?.ipam?.ranges[0]?.[0]?.subnet).toBe('10.244.7.0/24');
      expect(readdirSync(netd)).toEqual(['10-crosscni.conflist']);
      // The installed plugin runs from its new home with the installed runtime (the shebang's
      // target, /opt/cni/bin/crosscni-node on the node) and its addons through the symlink.
      const version = spawnSync(join(bin, 'crosscni-node'), [join(bin, 'loopback')], {
        env: { CNI_COMMAND: 'VERSION', PATH: '/usr/bin:/bin' },
        input: '{"cniVersion":"1.0.0"}',
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(version.status, version.stderr).toBe(0);
      expect(JSON.parse(version.stdout)).toMatchObject({
        supportedVersions: expect.arrayContaining(['1.0.0']),
      });
      if (haveDist) {
        // Every other command loads the full plugin from crosscni-bundles/ beside the executable:
        // an unknown command is answered by it (code 4), not by the executable's "cannot load".
        const other = spawnSync(join(bin, 'crosscni-node'), [join(bin, 'loopback')], {
          env: { CNI_COMMAND: 'BOGUS', PATH: '/usr/bin:/bin' },
          input: '{"cniVersion":"1.0.0","name":"n","type":"loopback"}',
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(other.status, other.stderr).toBe(1);
        expect(JSON.parse(other.stdout)).toMatchObject({ code: 4, msg: expect.stringContaining('BOGUS') });
        expect(readdirSync(join(bin, 'crosscni-bundles'))).toContain('loopback.js');
      }
    },
  );
});
