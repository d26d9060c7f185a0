/**
 * The policy envelope every HCN policy list uses, {Type, Settings}, and the typing that ties a
 * Type to its Settings shape. Network, endpoint and subnet policies (network-policy.ts,
 * endpoint-policy.ts) are built on it. Policies of a Type crosscni does not model are kept as
 * they came (OtherPolicy) so reading an object never fails because HNS grew a new policy.
 */
import { HcnResponseError } from '../errors.ts';
import { type JsonObject, type JsonValue, readObject } from './json-reader.ts';

/** {Type: K, Settings: M[K]} for every K of a settings map M. */
export type PolicyOf<M> = { [K in keyof M & string]: { Type: K; Settings: M[K] } }[keyof M & string];

/** A policy of a Type this schema does not model (or an HNS-added one), untouched. */
export interface OtherPolicy {
  Type: string;
  Settings?: JsonValue;
}

/** Settings parsers by Type; a Type missing from the table is read as an OtherPolicy. */
export type SettingsParsers<M> = { [K in keyof M]: (settings: JsonObject, path: string) => M[K] };

/**
 * Reads one policy: a modelled Type gets its settings checked and typed (a malformed one is a
 * response error), any other Type is kept verbatim.
 */
export function parsePolicy<M>(
  value: unknown,
  path: string,
  parsers: SettingsParsers<M>,
): PolicyOf<M> | OtherPolicy {
  const obj = readObject(value, path);
  const type = obj.Type;
  if (typeof type !== 'string') throw new HcnResponseError(`${path}.Type`, 'missing or not a string');
  if (!Object.hasOwn(parsers, type))
    return obj.Settings === undefined ? { Type: type } : { Type: type, Settings: obj.Settings };
  const parse = (parsers as Record<string, (s: JsonObject, p: string) => unknown>)[type];
  const settings =
    obj.Settings === undefined || obj.Settings === null ? {} : readObject(obj.Settings, `${path}.Settings`);
  return { Type: type, Settings: parse(settings, `${path}.Settings`) } as PolicyOf<M>;
}

/**
 * The settings of every policy of `type` in `policies`. Policies reach a document either from a
 * builder or from parsePolicy, both of which type the settings of a modelled Type, so the list
 * can be read back typed.
 */
export function settingsOfType<M, K extends keyof M & string>(
  policies: ReadonlyArray<PolicyOf<M> | OtherPolicy> | undefined,
  type: K,
): M[K][] {
  return (policies ?? []).filter((p) => p.Type === type).map((p) => p.Settings as M[K]);
}
