/**
 * Names and classes of the HRESULTs HCN answers with, so a caller can test "not found" or
 * "already exists" by name instead of by number. The HCN-specific codes (facility 0x3B) and
 * their meanings are Microsoft's "HCN Error Code" reference (virtualization/api/hcn/Reference/
 * HCNHResult.md); the Win32 ones are winerror.h. A code in neither table is kept as it is, with
 * class 'other': this module must not guess what an undocumented code means.
 */

/** What a failed HCN call means for the caller. */
export type HcnErrorCode =
  /** The object named does not exist (treat as "gone" on delete). */
  | 'notFound'
  /** An object with this ID or name exists, or the attachment is already in place. */
  | 'alreadyExists'
  /** The object still has dependants (a network with endpoints). */
  | 'inUse'
  /** The document or an argument is malformed or not acceptable. */
  | 'invalidArgument'
  /** This HNS cannot do what was asked. */
  | 'unsupported'
  | 'other';

export interface HresultInfo {
  name: string;
  description: string;
  code: HcnErrorCode;
}

type Row = [hresult: number, name: string, code: HcnErrorCode, description: string];

const ROWS: Row[] = [
  [0x80004001, 'E_NOTIMPL', 'unsupported', 'Not implemented'],
  [0x80004003, 'E_POINTER', 'invalidArgument', 'Invalid pointer'],
  [0x80004005, 'E_FAIL', 'other', 'Unspecified failure'],
  [0x80070005, 'E_ACCESSDENIED', 'other', 'Access is denied'],
  [0x80070006, 'E_HANDLE', 'invalidArgument', 'The handle is invalid'],
  [0x8007000e, 'E_OUTOFMEMORY', 'other', 'Out of memory'],
  [0x80070057, 'E_INVALIDARG', 'invalidArgument', 'The parameter is incorrect'],
  [0x800700b7, 'ERROR_ALREADY_EXISTS', 'alreadyExists', 'Cannot create a file when that file already exists'],
  [0x80070490, 'ERROR_NOT_FOUND', 'notFound', 'Element not found'],
  // HCS (vmcompute.dll), facility 0x37: hcsshim's ErrComputeSystemDoesNotExist.
  [
    0xc037010e,
    'HCS_E_SYSTEM_NOT_FOUND',
    'notFound',
    'A virtual machine or container with the specified identifier does not exist',
  ],
  [0x803b0001, 'HCN_E_NETWORK_NOT_FOUND', 'notFound', 'The network was not found'],
  [0x803b0002, 'HCN_E_ENDPOINT_NOT_FOUND', 'notFound', 'The endpoint was not found'],
  [0x803b0003, 'HCN_E_LAYER_NOT_FOUND', 'other', "The network's underlying layer was not found"],
  [0x803b0004, 'HCN_E_SWITCH_NOT_FOUND', 'other', 'The virtual switch was not found'],
  [
    0x803b0005,
    'HCN_E_SUBNET_NOT_FOUND',
    'invalidArgument',
    'The network does not have a subnet for this endpoint',
  ],
  [0x803b0006, 'HCN_E_ADAPTER_NOT_FOUND', 'other', 'An adapter was not found'],
  [0x803b0007, 'HCN_E_PORT_NOT_FOUND', 'other', 'The switch-port was not found'],
  [0x803b0008, 'HCN_E_POLICY_NOT_FOUND', 'notFound', 'An expected policy was not found'],
  [0x803b0009, 'HCN_E_VFP_PORTSETTING_NOT_FOUND', 'other', 'A required VFP port setting was not found'],
  [
    0x803b000a,
    'HCN_E_INVALID_NETWORK',
    'invalidArgument',
    'The provided network configuration is invalid or missing parameters',
  ],
  [0x803b000b, 'HCN_E_INVALID_NETWORK_TYPE', 'invalidArgument', 'Invalid network type'],
  [
    0x803b000c,
    'HCN_E_INVALID_ENDPOINT',
    'invalidArgument',
    'The provided endpoint configuration is invalid or missing parameters',
  ],
  [
    0x803b000d,
    'HCN_E_INVALID_POLICY',
    'invalidArgument',
    'The provided policy configuration is invalid or missing parameters',
  ],
  [0x803b000e, 'HCN_E_INVALID_POLICY_TYPE', 'invalidArgument', 'Invalid policy type'],
  [
    0x803b000f,
    'HCN_E_INVALID_REMOTE_ENDPOINT_OPERATION',
    'unsupported',
    'This requested operation is invalid for a remote endpoint',
  ],
  [0x803b0010, 'HCN_E_NETWORK_ALREADY_EXISTS', 'alreadyExists', 'A network with this name already exists'],
  [0x803b0011, 'HCN_E_LAYER_ALREADY_EXISTS', 'alreadyExists', 'A network with this name already exists'],
  [
    0x803b0012,
    'HCN_E_POLICY_ALREADY_EXISTS',
    'alreadyExists',
    'Policy information already exists on this object',
  ],
  [0x803b0013, 'HCN_E_PORT_ALREADY_EXISTS', 'alreadyExists', 'The specified port already exists'],
  [
    0x803b0014,
    'HCN_E_ENDPOINT_ALREADY_ATTACHED',
    'alreadyExists',
    'This endpoint is already attached to the switch',
  ],
  [0x803b0015, 'HCN_E_REQUEST_UNSUPPORTED', 'unsupported', 'The specified request is unsupported'],
  [
    0x803b0016,
    'HCN_E_MAPPING_NOT_SUPPORTED',
    'unsupported',
    'Port mapping is not supported on the given network',
  ],
  [0x803b0017, 'HCN_E_DEGRADED_OPERATION', 'other', 'There was an operation attempted on a degraded object'],
  [
    0x803b0018,
    'HCN_E_SHARED_SWITCH_MODIFICATION',
    'unsupported',
    'Cannot modify a switch shared by multiple networks',
  ],
  [
    0x803b0019,
    'HCN_E_GUID_CONVERSION_FAILURE',
    'invalidArgument',
    'Failed to interpret a parameter as a GUID',
  ],
  [0x803b001a, 'HCN_E_REGKEY_FAILURE', 'other', 'Failed to process registry key'],
  [0x803b001b, 'HCN_E_INVALID_JSON', 'invalidArgument', 'Invalid JSON document string'],
  [
    0x803b001c,
    'HCN_E_INVALID_JSON_REFERENCE',
    'invalidArgument',
    'The reference is invalid in the JSON document',
  ],
  [0x803b001d, 'HCN_E_ENDPOINT_SHARING_DISABLED', 'unsupported', 'Endpoint sharing is disabled'],
  [
    0x803b001e,
    'HCN_E_INVALID_IP',
    'invalidArgument',
    'IP address is either invalid or not part of any configured subnet(s)',
  ],
  [
    0x803b001f,
    'HCN_E_SWITCH_EXTENSION_NOT_FOUND',
    'other',
    'The specified switch extension does not exist on this switch',
  ],
  [0x803b0020, 'HCN_E_MANAGER_STOPPED', 'other', 'Operation cannot be performed while service is stopping'],
  [
    0x803b0021,
    'GCN_E_MODULE_NOT_FOUND',
    'other',
    'Operation cannot be performed while service module not found',
  ],
  [
    0x803b0022,
    'GCN_E_NO_REQUEST_HANDLERS',
    'unsupported',
    'Request Handlers not present to handle the JSON request',
  ],
  [0x803b0023, 'GCN_E_REQUEST_UNSUPPORTED', 'unsupported', 'The specified request is unsupported'],
  [0x803b0024, 'GCN_E_RUNTIMEKEYS_FAILED', 'other', 'Add runtime keys to container failed'],
  [
    0x803b0025,
    'GCN_E_NETADAPTER_TIMEOUT',
    'other',
    'Timeout while waiting for network adapter with the given instance id',
  ],
  [0x803b0026, 'GCN_E_NETADAPTER_NOT_FOUND', 'other', 'Network adapter not found for the given instance id'],
  [0x803b0027, 'GCN_E_NETCOMPARTMENT_NOT_FOUND', 'other', 'Network compartment not found for the given id'],
  [0x803b0028, 'GCN_E_NETINTERFACE_NOT_FOUND', 'other', 'Network interface not found for the given id'],
  [0x803b0029, 'GCN_E_DEFAULTNAMESPACE_EXISTS', 'alreadyExists', 'Default Namespace already exists'],
  [
    0x803b002a,
    'HCN_E_ICS_DISABLED',
    'unsupported',
    'Internet Connection Sharing service (SharedAccess) is disabled and cannot be started',
  ],
  [
    0x803b002b,
    'HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS',
    'alreadyExists',
    'This requested operation is invalid as endpoint is already part of a network namespace',
  ],
  [
    0x803b002c,
    'HCN_E_ENTITY_HAS_REFERENCES',
    'inUse',
    'The specified entity cannot be removed while it still has references',
  ],
  [
    0x803b002d,
    'HCN_E_INVALID_INTERNAL_PORT',
    'invalidArgument',
    'The internal port must exist and cannot be zero',
  ],
  [
    0x803b002e,
    'HCN_E_NAMESPACE_ATTACH_FAILED',
    'other',
    'The requested operation for attach namespace failed',
  ],
  [
    0x803b002f,
    'HCN_E_ADDR_INVALID_OR_RESERVED',
    'invalidArgument',
    'An address provided is invalid or reserved',
  ],
  [0x803b0030, 'HCN_E_INVALID_PREFIX', 'invalidArgument', 'The prefix provided is invalid'],
  [
    0x803b0031,
    'HCN_E_OBJECT_USED_AFTER_UNLOAD',
    'other',
    'A call was performed against an object that was torn down',
  ],
  [
    0x803b0032,
    'HCN_E_INVALID_SUBNET',
    'invalidArgument',
    'The provided subnet configuration is invalid or missing parameters',
  ],
  [
    0x803b0033,
    'HCN_E_INVALID_IP_SUBNET',
    'invalidArgument',
    'The provided IP subnet configuration is invalid or missing parameters',
  ],
  [
    0x803b0034,
    'HCN_E_ENDPOINT_NOT_ATTACHED',
    'other',
    'The endpoint must be attached to complete the operation',
  ],
  [
    0x803b0035,
    'HCN_E_ENDPOINT_NOT_LOCAL',
    'unsupported',
    'The endpoint must be local to complete the operation',
  ],
  [
    0x803b0036,
    'HCN_INTERFACEPARAMETERS_ALREADY_APPLIED',
    'alreadyExists',
    'Cannot apply more than one InterfaceParameters policy',
  ],
  [
    0x803b0037,
    'HCN_E_VFP_NOT_ALLOWED',
    'unsupported',
    'A network of this type can not be created because VFP is not available',
  ],
];

const TABLE = new Map<number, HresultInfo>(
  ROWS.map(([hresult, name, code, description]) => [hresult, { name, code, description }]),
);

/** Well-known values, for code that must name one (the emulator's tests, DEL's "gone" check). */
export const HRESULT = {
  S_OK: 0,
  E_INVALIDARG: 0x80070057,
  E_HANDLE: 0x80070006,
  ERROR_NOT_FOUND: 0x80070490,
  ERROR_ALREADY_EXISTS: 0x800700b7,
  HCN_E_NETWORK_ALREADY_EXISTS: 0x803b0010,
  HCN_E_INVALID_JSON: 0x803b001b,
  HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS: 0x803b002b,
  HCN_E_ENTITY_HAS_REFERENCES: 0x803b002c,
  HCN_E_ENDPOINT_ALREADY_ATTACHED: 0x803b0014,
  HCS_E_SYSTEM_NOT_FOUND: 0xc037010e,
  E_FAIL: 0x80004005,
} as const;

/** An HRESULT as HCN returns it (a signed 32-bit int) as the unsigned value documents print. */
export function toUnsignedHresult(value: number): number {
  return value >>> 0;
}

/** "0x80070490". */
export function formatHresult(value: number): string {
  return `0x${toUnsignedHresult(value).toString(16).toUpperCase().padStart(8, '0')}`;
}

export function describeHresult(value: number): HresultInfo | undefined {
  return TABLE.get(toUnsignedHresult(value));
}

/** The class of a failure; an HRESULT that is not an error (an error record alone) is 'other'. */
export function classifyHresult(value: number): HcnErrorCode {
  return describeHresult(value)?.code ?? 'other';
}
