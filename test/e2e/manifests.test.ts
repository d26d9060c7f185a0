/**
 * deploy/ checked without a cluster: every manifest parses (with the YAML subset parser, and
 * with kubectl's real parser when kubectl is installed), each object has the fields Kubernetes
 * requires for its kind, the DaemonSets have the properties a CNI installer needs on its OS,
 * and the conflists name plugins this repo builds with a cniVersion today's runtimes accept.
 * install-linux.test.ts runs the Linux install script itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExecutable } from './support/command.ts';
import {
  asList,
  asMap,
  at,
  deployDir,
  deployObjects,
  findObject,
  installConfig,
  manifestFiles,
  parseManifest,
} from './support/deploy-manifests.ts';
import { repoRoot } from './support/e2e-env.ts';

const configData = installConfig();

describe('deploy/ manifests', () => {
  it.each(manifestFiles)('%s parses', (file) => {
    expect(parseManifest(file).length).toBeGreaterThan(0);
  });

  it('every object has apiVersion, kind, a name, and the namespace when namespaced', () => {
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);
    for (const { file, obj } of deployObjects) {
      const where = `${file}: ${obj.kind} ${String(at(obj, 'metadata.name'))}`;
      expect(typeof obj.apiVersion, where).toBe('string');
      expect(typeof obj.kind, where).toBe('string');
      expect(at(obj, 'metadata.name'), where).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
      if (!clusterScoped.has(String(obj.kind)))
        expect(at(obj, 'metadata.namespace'), where).toBe('crosscni-system');
    }
    findObject('Namespace', 'crosscni-system');
    findObject('ServiceAccount', 'crosscni-installer');
  });

  it('the installers may read nodes and nothing else', () => {
    const role = findObject('ClusterRole', 'crosscni-installer');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
    const binding = findObject('ClusterRoleBinding', 'crosscni-installer');
    expect(at(binding, 'roleRef.name')).toBe('crosscni-installer');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'crosscni-installer', namespace: 'crosscni-system' },
    ]);
  });

  it('kustomization.yaml lists every manifest', () => {
    const [kustomization] = parseManifest('kustomization.yaml');
    const resources = asList(asMap(kustomization, 'kustomization').resources, 'resources');
    expect([...resources].sort()).toEqual(manifestFiles.filter((f) => f !== 'kustomization.yaml'));
  });

  it.each([
    ['10-crosscni.conflist', ['bridge', 'portmap']],
    ['10-crosscni-windows.conflist', ['nat']],
  ])('the %s template is a conflist of plugins this repo builds', (key, types) => {
    const text = String(configData[key]);
    const conflist = JSON.parse(text.replace('__POD_CIDR__', '10.244.1.0/24')) as {
      cniVersion: string;
      name: string;
      plugins: Array<{ type: string; ipam?: { type: string } }>;
    };
    // containerd 1.6/1.7 and podman 4 vendor libcni 1.1: a 1.1.0 result is refused.
    expect(conflist.cniVersion).toBe('1.0.0');
    expect(conflist.name).toBe('crosscni');
    expect(conflist.plugins.map((p) => p.type)).toEqual(types);
    for (const p of conflist.plugins) {
      expect(existsSync(join(repoRoot, 'plugins', p.type)), `plugins/${p.type}`).toBe(true);
      if (p.ipam)
        expect(existsSync(join(repoRoot, 'plugins', p.ipam.type)), `plugins/${p.ipam.type}`).toBe(true);
    }
    expect(text).toContain('__POD_CIDR__');
  });

  const daemonSets = [
    { name: 'crosscni-linux', os: 'linux' },
    { name: 'crosscni-windows', os: 'windows' },
  ];

  it.each(daemonSets)('DaemonSet $name runs on every $os node, NotReady ones included', ({ name, os }) => {
    const ds = findObject('DaemonSet', name);
    expect(ds.apiVersion).toBe('apps/v1');
    const pod = asMap(at(ds, 'spec.template.spec'), 'pod spec');
    expect(at(ds, 'spec.selector.matchLabels')).toEqual(
      Object.fromEntries(
        Object.entries(asMap(at(ds, 'spec.template.metadata.labels'), 'labels')).filter(([k]) =>
          Object.hasOwn(asMap(at(ds, 'spec.selector.matchLabels'), 'selector'), k),
        ),
      ),
    );
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': os });
    expect(pod.hostNetwork).toBe(true);
    expect(pod.serviceAccountName).toBe('crosscni-installer');
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    const init = asList(pod.initContainers, 'initContainers').map((c) => asMap(c, 'container'));
    expect(init.map((c) => c.name)).toEqual(['install']);
    expect(asList(pod.containers, 'containers').length).toBe(1);
    const env = asList(init[0]!.env, 'env').map((e) => asMap(e, 'env var'));
    expect(env.find((e) => e.name === 'NODE_NAME')?.valueFrom).toEqual({
      fieldRef: { fieldPath: 'spec.nodeName' },
    });
  });

  it('the Linux installer mounts the host CNI directories and the script', () => {
    const pod = asMap(at(findObject('DaemonSet', 'crosscni-linux'), 'spec.template.spec'), 'pod spec');
    const volumes = asList(pod.volumes, 'volumes').map((v) => asMap(v, 'volume'));
    expect(volumes).toContainEqual({
      name: 'cni-bin',
      hostPath: { path: '/opt/cni/bin', type: 'DirectoryOrCreate' },
    });
    expect(volumes).toContainEqual({
      name: 'cni-net-d',
      hostPath: { path: '/etc/cni/net.d', type: 'DirectoryOrCreate' },
    });
    const install = asMap(asList(pod.initContainers, 'initContainers')[0], 'install');
    const mounts = asList(install.volumeMounts, 'volumeMounts').map((m) => asMap(m, 'mount'));
    expect(mounts.map((m) => [m.name, m.mountPath])).toEqual([
      ['cni-bin', '/host/opt/cni/bin'],
      ['cni-net-d', '/host/etc/cni/net.d'],
      ['config', '/crosscni-config'],
    ]);
    expect(install.command).toEqual(['/bin/sh', '/crosscni-config/install-linux.sh']);
  });

  it('the Windows installer is a HostProcess pod running as SYSTEM', () => {
    const pod = asMap(at(findObject('DaemonSet', 'crosscni-windows'), 'spec.template.spec'), 'pod spec');
    expect(at(pod, 'securityContext.windowsOptions')).toEqual({
      hostProcess: true,
      runAsUserName: 'NT AUTHORITY\\SYSTEM',
    });
    // HostProcess containers see the host file system directly: no hostPath volumes.
    const volumes = asList(pod.volumes, 'volumes').map((v) => asMap(v, 'volume'));
    expect(volumes.some((v) => 'hostPath' in v)).toBe(false);
    const install = asMap(asList(pod.initContainers, 'initContainers')[0], 'install');
    const env = asList(install.env, 'env').map((e) => asMap(e, 'env var'));
    expect(env.find((e) => e.name === 'CNI_BIN_DIR')?.value).toBe('C:\\opt\\cni\\bin');
    expect(env.find((e) => e.name === 'CNI_NET_DIR')?.value).toBe('C:\\etc\\cni\\net.d');
    expect(String(asList(install.command, 'command').at(-1))).toContain('install-windows.ps1');
    const script = String(configData['install-windows.ps1']);
    expect(script).toContain('10-crosscni-windows.conflist');
    expect(script).toContain('UTF8Encoding $false');
  });

  const kubectl = findExecutable('kubectl');
  it.skipIf(!kubectl)(
    kubectl
      ? 'kubectl kustomize (a real YAML parser) renders the same objects'
      : 'kubectl not installed: no second parser',
    () => {
      const rendered = spawnSync(kubectl!, ['kustomize', deployDir], { encoding: 'utf8', timeout: 30_000 });
      expect(rendered.status, rendered.stderr).toBe(0);
      const kinds = [...rendered.stdout.matchAll(/^kind: (\S+)$/gm)].map((m) => m[1]).sort();
      expect(kinds).toEqual(deployObjects.map((o) => String(o.obj.kind)).sort());
    },
  );
});
