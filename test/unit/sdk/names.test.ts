// Validation of the free strings others choose: same rules as pkg/utils/utils.go.
import { describe, expect, it } from 'vitest';
import { CniError } from '../../../plugins/sdk/errors.ts';
import {
  interfaceNameProblem,
  MAX_IFNAME_BYTES,
  pluginTypeProblem,
  validateContainerId,
  validateInterfaceName,
  validateNetworkName,
} from '../../../plugins/sdk/names.ts';

function codeOf(fn: () => void): number | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CniError);
    return (e as CniError).code;
  }
  return undefined;
}

const GOOD_IDS = ['a', '0', 'c0ffee', 'f'.repeat(64), 'pod_1.net-2', 'A.B'];
const BAD_IDS = [
  '../x',
  'a/b',
  '/abs',
  '.hidden',
  '-flag',
  '_x',
  'a b',
  'a\nb',
  'id\n',
  'a;b',
  'é',
  'a\0b',
  'x'.repeat(1025),
];

describe('validateContainerId', () => {
  it.each(GOOD_IDS)('accepts %j', (id) => expect(codeOf(() => validateContainerId(id))).toBeUndefined());
  it.each(BAD_IDS)('refuses %j with code 4', (id) => expect(codeOf(() => validateContainerId(id))).toBe(4));
  it('reports an empty id as an unknown container (code 3), as ValidateContainerID does', () => {
    expect(codeOf(() => validateContainerId(''))).toBe(3);
  });
  it('shortens a long hostile id in the details', () => {
    try {
      validateContainerId(`/${'x'.repeat(5000)}`);
    } catch (e) {
      expect((e as CniError).details!.length).toBeLessThanOrEqual(81);
    }
  });
});

describe('validateNetworkName', () => {
  it.each(GOOD_IDS)('accepts %j', (name) => expect(codeOf(() => validateNetworkName(name))).toBeUndefined());
  it.each([...BAD_IDS, '', '../../etc', '..', '.'])('refuses %j with code 7', (name) => {
    expect(codeOf(() => validateNetworkName(name))).toBe(7);
  });
});

describe('interface names', () => {
  it.each(['eth0', 'lo', 'net1', 'a'.repeat(MAX_IFNAME_BYTES), 'veth-1_a.b', 'ü'.repeat(7)])(
    'accepts %j',
    (name) => {
      expect(interfaceNameProblem(name)).toBeUndefined();
      expect(codeOf(() => validateInterfaceName(name))).toBeUndefined();
    },
  );

  it.each([
    ['', 'empty'],
    ['a'.repeat(16), '15 bytes'],
    ['ü'.repeat(8), '15 bytes'],
    ['.', '"."'],
    ['..', '".."'],
    ['a/b', '"/"'],
    ['../x', '"/"'],
    ['eth0:1', '":"'],
    ['eth 0', 'white space'],
    ['eth0\t', 'white space'],
    ['eth0\n', 'white space'],
    ['eth\u00a00', 'white space'],
  ])('refuses %j (%s) with code 4 naming CNI_IFNAME', (name, problem) => {
    expect(interfaceNameProblem(name)).toContain(problem);
    expect(codeOf(() => validateInterfaceName(name))).toBe(4);
    try {
      validateInterfaceName(name);
    } catch (e) {
      expect((e as CniError).msg).toContain('CNI_IFNAME');
    }
  });
});

describe('pluginTypeProblem', () => {
  it.each(['bridge', 'host-local', 'crosscni_nat', 'win-bridge.exe'])('accepts %j', (type) => {
    expect(pluginTypeProblem(type)).toBeUndefined();
  });
  it.each([
    ['', 'empty'],
    ['../x', 'path separator'],
    ['a/b', 'path separator'],
    ['/usr/bin/bridge', 'path separator'],
    ['..\\x', 'path separator'],
    ['..', '".."'],
    ['.', '".."'],
    ['x\0', 'NUL'],
  ])('refuses %j', (type, problem) => {
    expect(pluginTypeProblem(type)).toContain(problem);
  });
});
