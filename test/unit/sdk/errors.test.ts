// The one place lower layers' errors become CNI codes, the error document, and version rules.
import { describe, expect, it } from 'vitest';
import { PlatformError, type PlatformErrorKind } from '../../../platform/errors.ts';
import { CniError, ErrorCode, invalidConfig, toCniError } from '../../../plugins/sdk/errors.ts';
import {
  compareVersions,
  isSupportedVersion,
  resultShape,
  SUPPORTED_VERSIONS,
  versionAtLeast,
} from '../../../plugins/sdk/version.ts';

describe('toCniError', () => {
  it.each([
    ['namespace-missing', 3],
    ['invalid', 7],
    ['unsupported', 2],
    ['conflict', 5],
    ['not-found', 5],
    ['io', 5],
  ] as [PlatformErrorKind, number][])(
    'maps PlatformError %s to code %i, keeping message and detail',
    (kind, code) => {
      const cause = new PlatformError(kind, `attach veth1 to cni0: ${kind}`, 'ENODEV');
      const error = toCniError(cause);
      expect(error).toMatchObject({ code, msg: `attach veth1 to cni0: ${kind}`, details: 'ENODEV' });
      expect(error.cause).toBe(cause);
    },
  );

  it('returns a CniError as it is', () => {
    const error = new CniError(142, 'x');
    expect(toCniError(error)).toBe(error);
  });

  it.each([new Error('boom'), 'boom', 42, undefined])(
    'maps anything else (%j) to code 5, never 999',
    (thrown) => {
      expect(toCniError(thrown).code).toBe(ErrorCode.IoFailure);
    },
  );
});

describe('CniError', () => {
  it('renders the spec error document, details only when present', () => {
    expect(new CniError(7, 'bad').toJSON('0.4.0')).toEqual({ cniVersion: '0.4.0', code: 7, msg: 'bad' });
    expect(new CniError(7, 'bad', 'why').toJSON('1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 7,
      msg: 'bad',
      details: 'why',
    });
    expect(JSON.stringify(new CniError(7, 'bad').toJSON('1.1.0'))).not.toContain('details');
  });

  it('invalidConfig names the key with code 7', () => {
    expect(invalidConfig('mtu', 'must be at least 68')).toMatchObject({
      code: 7,
      msg: 'invalid "mtu": must be at least 68',
    });
  });

  it('has the spec codes', () => {
    expect(ErrorCode).toEqual({
      IncompatibleVersion: 1,
      UnsupportedField: 2,
      UnknownContainer: 3,
      InvalidEnvironment: 4,
      IoFailure: 5,
      DecodingFailure: 6,
      InvalidConfig: 7,
      TryAgainLater: 11,
      PluginNotAvailable: 50,
      PluginNotAvailableDamaged: 51,
      PluginSpecific: 100,
    });
  });
});

describe('versions', () => {
  it('supports exactly the seven spec versions', () => {
    expect([...SUPPORTED_VERSIONS]).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    for (const version of ['0.5.0', '1.2.0', '1', '1.0', '', ' 1.0.0'])
      expect(isSupportedVersion(version)).toBe(false);
  });

  it('compares numerically, not as text', () => {
    expect(compareVersions('0.10.0', '0.4.0')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0', '1.0.0')).toBe(0);
    expect(compareVersions('0.3.1', '0.4.0')).toBeLessThan(0);
    expect(versionAtLeast('1.1.0', '1.1.0')).toBe(true);
    expect(versionAtLeast('1.0.0', '1.1.0')).toBe(false);
  });

  it('groups result shapes as the spec does', () => {
    expect(SUPPORTED_VERSIONS.map(resultShape)).toEqual(['v02', 'v02', 'v04', 'v04', 'v04', 'v1', 'v1']);
  });
});
