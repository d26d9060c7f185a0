/**
 * CNI_ARGS ("K=V;K=V") parsing with the conventions' IgnoreUnknown rule: a plugin that is
 * given a key it does not understand fails unless IgnoreUnknown is true (CONVENTIONS.md,
 * pkg/types/args.go). Plugins declare the keys they understand.
 */
import { CniError, ErrorCode } from './errors.ts';

export type CniArgs = ReadonlyMap<string, string>;

/** Keys every runtime sends and every plugin tolerates (Kubernetes pod identity). */
const ALWAYS_KNOWN = new Set([
  'IgnoreUnknown',
  'K8S_POD_NAMESPACE',
  'K8S_POD_NAME',
  'K8S_POD_INFRA_CONTAINER_ID',
  'K8S_POD_UID',
]);

export function parseCniArgs(text: string | undefined): CniArgs {
  const args = new Map<string, string>();
  if (!text) return args;
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new CniError(ErrorCode.InvalidEnvironment, `CNI_ARGS: "${pair}" is not of the form KEY=VALUE`);
    }
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return args;
}

function ignoreUnknown(args: CniArgs): boolean {
  const value = args.get('IgnoreUnknown')?.toLowerCase();
  return value === '1' || value === 'true';
}

/** Fail on keys outside `known` unless IgnoreUnknown is set. */
export function checkCniArgs(args: CniArgs, known: readonly string[]): void {
  if (ignoreUnknown(args)) return;
  for (const key of args.keys()) {
    if (!ALWAYS_KNOWN.has(key) && !known.includes(key)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `CNI_ARGS: unknown key "${key}"`,
        'add IgnoreUnknown=1 to CNI_ARGS to let plugins skip keys they do not use',
      );
    }
  }
}
