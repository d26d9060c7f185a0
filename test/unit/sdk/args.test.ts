// CNI_ARGS parsing and the IgnoreUnknown rule (CONVENTIONS.md, pkg/types/args.go).
import { describe, expect, it } from 'vitest';
import { checkCniArgs, parseCniArgs } from '../../../plugins/sdk/args.ts';
import { CniError } from '../../../plugins/sdk/errors.ts';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? e.code : -1;
  }
  return undefined;
}

describe('parseCniArgs', () => {
  it('reads K=V pairs in order', () => {
    expect([...parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.1.0.9')]).toEqual([
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'web'],
      ['IP', '10.1.0.9'],
    ]);
  });

  it.each([undefined, ''])('reads %j as no arguments', (text) => {
    expect(parseCniArgs(text).size).toBe(0);
  });

  it('keeps an empty value', () => {
    expect(parseCniArgs('K8S_POD_NAMESPACE=').get('K8S_POD_NAMESPACE')).toBe('');
  });

  it.each(['novalue', '=value', 'A=1;broken', ';=;'])('refuses %j with code 4 naming the pair', (text) => {
    expect(codeOf(() => parseCniArgs(text))).toBe(4);
    try {
      parseCniArgs(text);
    } catch (e) {
      expect((e as CniError).msg).toContain('CNI_ARGS');
    }
  });
});

describe('checkCniArgs', () => {
  const k8s = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=1234';

  it('accepts the keys the plugin declares and the Kubernetes pod keys', () => {
    expect(codeOf(() => checkCniArgs(parseCniArgs(`IP=10.1.0.9;${k8s}`), ['IP']))).toBeUndefined();
  });

  it('refuses an unknown key with code 4 naming it, and says how to allow it', () => {
    try {
      checkCniArgs(parseCniArgs('IP=10.1.0.9;MAC=02:00:00:00:00:01'), ['IP']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CniError);
      expect((e as CniError).code).toBe(4);
      expect((e as CniError).msg).toContain('"MAC"');
      expect((e as CniError).details).toContain('IgnoreUnknown');
    }
  });

  it.each(['1', 'true', 'TRUE', 'True'])('lets IgnoreUnknown=%s pass unknown keys', (value) => {
    expect(codeOf(() => checkCniArgs(parseCniArgs(`FOO=bar;IgnoreUnknown=${value}`), []))).toBeUndefined();
  });

  it.each(['0', 'false', '', 'yes'])('does not ignore unknown keys with IgnoreUnknown=%j', (value) => {
    expect(codeOf(() => checkCniArgs(parseCniArgs(`FOO=bar;IgnoreUnknown=${value}`), []))).toBe(4);
  });

  it('is case-sensitive about keys, as Go struct field names are', () => {
    expect(codeOf(() => checkCniArgs(parseCniArgs('ip=10.1.0.9'), ['IP']))).toBe(4);
  });
});
