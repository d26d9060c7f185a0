/**
 * The suites' only container image, built here from Debian's busybox-static so nothing is ever
 * pulled from a registry: a root filesystem with /bin/busybox and the applet links the tests
 * use, packed as a plain rootfs tar (for `podman import`) or as an OCI image-layout archive (for
 * `ctr images import`, which is how a sandbox image reaches containerd's CRI without a pull).
 * Tars are written by GNU tar with fixed owner and mtime, so the same busybox gives the same
 * digests on every run.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './command.ts';

/** Where Debian's busybox-static puts its binary (the dynamic `busybox` package conflicts with it). */
export const BUSYBOX = '/bin/busybox';

/** Applets linked into /bin: what the tests run inside containers. */
const APPLETS = [
  'sh',
  'httpd',
  'nc',
  'ip',
  'sleep',
  'cat',
  'echo',
  'ls',
  'mkdir',
  'ps',
  'hostname',
  'wget',
  'true',
  'ifconfig',
];

/** Lay out a busybox root filesystem in `dir` (which must not exist yet). */
export function stageBusyboxRootfs(dir: string): void {
  for (const sub of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'www', 'root']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  run('chmod', ['0755', join(dir, 'bin', 'busybox')]);
  for (const applet of APPLETS) symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(dir, 'www', 'index.html'), 'crosscni-e2e\n');
}

/** Pack a directory's contents into a reproducible tar. */
export function packTar(sourceDir: string, tarFile: string): void {
  run('tar', [
    '--sort=name',
    '--numeric-owner',
    '--owner=0',
    '--group=0',
    '--mtime=@0',
    '-C',
    sourceDir,
    '-cf',
    tarFile,
    '.',
  ]);
}

interface Blob {
  digest: string;
  size: number;
}

function writeBlob(layoutDir: string, content: Buffer): Blob {
  const hex = createHash('sha256').update(content).digest('hex');
  writeFileSync(join(layoutDir, 'blobs', 'sha256', hex), content);
  return { digest: `sha256:${hex}`, size: content.length };
}

const OCI_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/** OCI's name for this machine's architecture. */
export function ociArchitecture(): string {
  return OCI_ARCH[process.arch] ?? process.arch;
}

export interface OciImageSpec {
  /** Full reference the image is stored under, e.g. localhost/crosscni-e2e/pause:1. */
  reference: string;
  entrypoint: string[];
  cmd?: string[];
}

/**
 * Write an OCI image-layout archive of a staged rootfs. The manifest descriptor carries
 * `io.containerd.image.name`, which `ctr images import` uses as the image name as it is, and
 * the platform, which ctr's default single-platform import filters on.
 */
export function writeOciArchive(
  rootfsDir: string,
  spec: OciImageSpec,
  workDir: string,
  archive: string,
): void {
  const layout = join(workDir, 'oci-layout');
  rmSync(layout, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layerTar = join(workDir, 'layer.tar');
  packTar(rootfsDir, layerTar);
  const layer = writeBlob(layout, readFileSync(layerTar));
  rmSync(layerTar);
  const architecture = ociArchitecture();
  const config = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture,
        os: 'linux',
        config: { Entrypoint: spec.entrypoint, Cmd: spec.cmd ?? [], Env: ['PATH=/bin'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = writeBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  const tag = spec.reference.slice(spec.reference.lastIndexOf(':') + 1);
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture, os: 'linux' },
          annotations: {
            'io.containerd.image.name': spec.reference,
            'org.opencontainers.image.ref.name': tag,
          },
        },
      ],
    }),
  );
  packTar(layout, archive);
  if (statSync(archive).size === 0) throw new Error(`empty OCI archive ${archive}`);
}
