// HRESULTs by name, the HcnError a program tests, and GUID conversions.
import { describe, expect, test } from 'vitest';
import { HcnError, errorRecordMessage, isHcnError } from '../../hns/errors.ts';
import { fieldsToGuid, guidToFields, normalizeGuid, sameGuid } from '../../hns/guid.ts';
import { HRESULT, classifyHresult, describeHresult, formatHresult } from '../../hns/hresult.ts';

describe('HRESULTs', () => {
  test('known codes are recognisable by name and class, signed or unsigned', () => {
    expect(classifyHresult(0x80070490)).toBe('notFound');
    expect(classifyHresult(0x80070490 | 0)).toBe('notFound');
    expect(classifyHresult(0x800700b7)).toBe('alreadyExists');
    expect(classifyHresult(0x803b0010)).toBe('alreadyExists');
    expect(classifyHresult(0x803b002c)).toBe('inUse');
    expect(classifyHresult(0x803b001b)).toBe('invalidArgument');
    expect(describeHresult(0x803b0001)?.name).toBe('HCN_E_NETWORK_NOT_FOUND');
    expect(formatHresult(-2147023728)).toBe('0x80070490');
  });

  test('an undocumented HNS code is kept as it is, class other', () => {
    expect(describeHresult(0x803b00ff)).toBeUndefined();
    expect(classifyHresult(0x803b00ff)).toBe('other');
  });
});

describe('HcnError', () => {
  test('carries the HRESULT, the operation, the object and HNS’s record', () => {
    const record = '{"Success":false,"Error":"Element not found.","ErrorCode":2147943568}';
    const e = new HcnError({
      operation: 'HcnOpenNetwork',
      object: 'network 5C6A',
      hresult: -2147023728,
      record,
    });
    expect(e).toMatchObject({
      hresult: HRESULT.ERROR_NOT_FOUND,
      hresultName: 'ERROR_NOT_FOUND',
      code: 'notFound',
      operation: 'HcnOpenNetwork',
      object: 'network 5C6A',
      record,
      recordMessage: 'Element not found.',
      notFound: true,
      alreadyExists: false,
    });
    expect(e.message).toBe(
      'HcnOpenNetwork network 5C6A: Element not found. (HRESULT 0x80070490 ERROR_NOT_FOUND)',
    );
    expect(isHcnError(e, 'notFound')).toBe(true);
    expect(isHcnError(e, 'inUse')).toBe(false);
    expect(isHcnError(new Error('x'))).toBe(false);
  });

  test('a success HRESULT with an error record is still a failure, explained by the record', () => {
    const e = new HcnError({
      operation: 'HcnCreateNetwork',
      object: 'network "nat"',
      hresult: 0,
      record: 'busy',
    });
    expect(e.code).toBe('other');
    expect(e.message).toBe('HcnCreateNetwork network "nat": busy (HRESULT 0x00000000)');
    expect(errorRecordMessage('  ')).toBe('');
    expect(errorRecordMessage('{"Error":3}')).toBe('{"Error":3}');
  });
});

describe('GUIDs', () => {
  test('text and struct convert both ways in the Windows field order', () => {
    const fields = guidToFields('{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}');
    expect(fields).toEqual({
      Data1: 0x0a1b2c3d,
      Data2: 0x4e5f,
      Data3: 0x4a6b,
      Data4: [0x8c, 0x7d, 0x9e, 0x0f, 0x1a, 0x2b, 0x3c, 0x4d],
    });
    expect(fieldsToGuid(fields)).toBe('0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D');
    expect(guidToFields('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF').Data1).toBe(0xffffffff);
  });

  test('spellings HNS and runtimes use are one GUID; anything else is not', () => {
    expect(sameGuid('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', '{0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D}')).toBe(
      true,
    );
    expect(normalizeGuid('{0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBeUndefined();
    expect(normalizeGuid('c0ffee')).toBeUndefined();
    expect(() => guidToFields('nat')).toThrow(/not a GUID/);
  });
});
