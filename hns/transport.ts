/**
 * The one interface both HCN transports implement — FFI to computenetwork.dll (ffi/) and a fixed
 * PowerShell script over the same exports (powershell/) — so the code above (client.ts, the
 * Windows platform) does not care which one carries its calls. It speaks HCN's own JSON texts:
 * documents in, properties out, failures as HcnError with HNS's HRESULT and error record.
 * Building and parsing those texts is the schema's and the client's job, not a transport's.
 */

export type HcnObjectKind = 'network' | 'endpoint' | 'namespace';

export const HCN_OBJECT_KINDS: readonly HcnObjectKind[] = ['network', 'endpoint', 'namespace'];

/** What to create: settings is the HostCompute* document; no id lets HCN choose one. */
export type HcnCreateRequest =
  | { kind: 'network' | 'namespace'; id?: string; settings: string; query: string }
  /** HCN creates an endpoint through an open handle of its network. */
  | { kind: 'endpoint'; networkId: string; id?: string; settings: string; query: string };

/**
 * The vmcompute.dll calls behind attaching an endpoint to a container by its ID (hcsshim's
 * HotAttachEndpoint): HNS v1's HNSCall and the HCS compute-system calls. Only the FFI transport
 * has them; the PowerShell transport does not (see powershell/transport.ts).
 */
export interface HcsTransport {
  /**
   * One HNS v1 request (HNSCall). Resolves to the answer's Output as JSON text ('' when it has
   * none); HNS's {"Success":false,...} answers become HcnError with its ErrorCode as HRESULT.
   */
  hnsCall(method: 'GET' | 'POST' | 'DELETE', path: string, request: string): Promise<string>;
  /** Opens the compute system by ID, applies one modify request document, closes it. */
  modifyComputeSystem(id: string, request: string): Promise<void>;
}

export interface HcnTransport {
  readonly name: 'ffi' | 'powershell';
  /** Container attach by ID; absent when this transport cannot reach vmcompute.dll. */
  readonly hcs?: HcsTransport;
  /** Properties of every object matching `query` (enumerate, then open/query/close each). */
  list(kind: HcnObjectKind, query: string): Promise<string[]>;
  /** Properties of one object (open, query, close); HcnError 'notFound' when it does not exist. */
  get(kind: HcnObjectKind, id: string, query: string): Promise<string>;
  /** Creates the object and returns its properties as HCN reports them (create, query, close). */
  create(request: HcnCreateRequest): Promise<string>;
  /** Applies one modify request document (open, modify, close). */
  modify(kind: HcnObjectKind, id: string, request: string): Promise<void>;
  /** Deletes the object; HcnError 'notFound' when it does not exist. */
  delete(kind: HcnObjectKind, id: string): Promise<void>;
}

/** HCN's name for the kind in its function names: HcnCreateNetwork, HcnEnumerateEndpoints. */
export const HCN_KIND_NAME: Record<HcnObjectKind, 'Network' | 'Endpoint' | 'Namespace'> = {
  network: 'Network',
  endpoint: 'Endpoint',
  namespace: 'Namespace',
};

/** How an object is named in error messages: `network "nat"` when the document has a Name. */
export function describeNewObject(kind: HcnObjectKind, settings: string): string {
  try {
    const doc: unknown = JSON.parse(settings);
    if (doc && typeof doc === 'object' && 'Name' in doc && typeof doc.Name === 'string') {
      return `${kind} ${JSON.stringify(doc.Name)}`;
    }
  } catch {
    // The transport still sends it: HCN's answer about a malformed document is the better error.
  }
  return `new ${kind}`;
}
