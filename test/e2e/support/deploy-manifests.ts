/**
 * deploy/ loaded for the manifest tests: every object of every manifest (parsed with the YAML
 * subset parser), lookups by kind and name, and narrowing helpers that fail with the path of
 * what was not the expected shape.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './e2e-env.ts';
import { parseYamlSubset, type YamlValue } from './yaml-subset.ts';

export type YamlMap = { [key: string]: YamlValue };

export const deployDir = join(repoRoot, 'deploy');

/** deploy/*.yaml, sorted. */
export const manifestFiles = readdirSync(deployDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

export function asMap(value: YamlValue | undefined, what: string): YamlMap {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${what} is not a mapping`);
  return value;
}

export function asList(value: YamlValue | undefined, what: string): YamlValue[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a sequence`);
  return value;
}

/** Walk a dotted path (`spec.template.spec`) through mappings. */
export function at(root: YamlMap, path: string): YamlValue | undefined {
  let node: YamlValue | undefined = root;
  for (const key of path.split('.')) {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = node[key];
  }
  return node;
}

export function parseManifest(file: string): YamlValue[] {
  return parseYamlSubset(readFileSync(join(deployDir, file), 'utf8'));
}

/** Every Kubernetes object of deploy/ (kustomization.yaml is not one). */
export const deployObjects: Array<{ file: string; obj: YamlMap }> = manifestFiles
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((file) => parseManifest(file).map((doc) => ({ file, obj: asMap(doc, `a document of ${file}`) })));

export function findObject(kind: string, name: string): YamlMap {
  const hit = deployObjects.find((o) => o.obj.kind === kind && at(o.obj, 'metadata.name') === name);
  if (!hit) throw new Error(`deploy/ has no ${kind} ${name}`);
  return hit.obj;
}

/** The ConfigMap's data: conflist templates and install scripts. */
export function installConfig(): YamlMap {
  return asMap(findObject('ConfigMap', 'crosscni-config').data, 'ConfigMap crosscni-config data');
}
