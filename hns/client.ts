/**
 * The operations a caller wants on HCN objects — find a network by name, create an endpoint on
 * it, attach it to a namespace, delete what is gone-safe — with typed schema documents in and
 * out, over any HcnTransport. Documents are serialised with the schema's builders' key order and
 * every answer is parsed at this edge. "Not found" is an answer here (undefined / false), not an
 * error, so DEL paths stay idempotent. Deciding what to create for a CNI config is the Windows
 * platform's job, not this module's.
 */
import { HcnError, HcnTransportError, isHcnError } from './errors.ts';
import { normalizeGuid, sameGuid } from './guid.ts';
import { HRESULT } from './hresult.ts';
import { serializeDocument } from './schema/document.ts';
import { type HcnEndpoint, type HostComputeEndpoint, parseEndpoint } from './schema/endpoint.ts';
import {
  type HnsVersion,
  containerNetworkRequest,
  readHnsVersion,
  readSharedContainers,
} from './schema/hns-v1.ts';
import { parseJsonText } from './schema/json-reader.ts';
import {
  type EndpointPolicyRequest,
  type NetworkPolicyRequest,
  namespaceAddEndpoint,
  namespaceRemoveEndpoint,
} from './schema/modify.ts';
import { type HcnNamespace, type HostComputeNamespace, parseNamespace } from './schema/namespace.ts';
import { type HcnNetwork, type HostComputeNetwork, parseNetwork } from './schema/network.ts';
import { type QueryFilter, buildQuery } from './schema/query.ts';
import type { HcnObjectKind, HcnTransport, HcsTransport } from './transport.ts';

const DEFAULT_QUERY = serializeDocument(buildQuery());

/** HCS compute-system IDs are matched without case, as hcsshim's IsAttached does. */
function sameContainer(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function parseAnswer<T>(text: string, path: string, parse: (value: unknown, path: string) => T): T {
  return parse(parseJsonText(text, path), path);
}

export class HcnClient {
  readonly transport: HcnTransport;

  constructor(transport: HcnTransport) {
    this.transport = transport;
  }

  // ---- networks --------------------------------------------------------------------------------

  async listNetworks(filter: QueryFilter = {}): Promise<HcnNetwork[]> {
    return this.#list('network', filter, parseNetwork);
  }

  /** HNS filters by name; the exact comparison guards against a looser match on some builds. */
  async findNetworkByName(name: string): Promise<HcnNetwork | undefined> {
    return (await this.listNetworks({ name })).find((n) => n.Name === name);
  }

  async getNetwork(id: string): Promise<HcnNetwork | undefined> {
    return this.#get('network', id, parseNetwork);
  }

  async createNetwork(document: HostComputeNetwork, id?: string): Promise<HcnNetwork> {
    const settings = serializeDocument(document);
    const answer = await this.transport.create({ kind: 'network', id, settings, query: DEFAULT_QUERY });
    return parseAnswer(answer, 'network', parseNetwork);
  }

  async modifyNetwork(id: string, request: NetworkPolicyRequest): Promise<void> {
    await this.transport.modify('network', id, serializeDocument(request));
  }

  /** False when the network was already gone. HCN refuses while endpoints remain ('inUse'). */
  async deleteNetwork(id: string): Promise<boolean> {
    return this.#delete('network', id);
  }

  // ---- endpoints -------------------------------------------------------------------------------

  async listEndpoints(filter: QueryFilter = {}): Promise<HcnEndpoint[]> {
    return this.#list('endpoint', filter, parseEndpoint);
  }

  /** Filters by name in HNS and by network here: hcsshim never combines the two filter keys. */
  async findEndpointByName(name: string, networkId?: string): Promise<HcnEndpoint | undefined> {
    const found = await this.listEndpoints({ name });
    return found.find(
      (e) => e.Name === name && (networkId === undefined || sameGuid(e.HostComputeNetwork ?? '', networkId)),
    );
  }

  async getEndpoint(id: string): Promise<HcnEndpoint | undefined> {
    return this.#get('endpoint', id, parseEndpoint);
  }

  /** Creates the endpoint on the network named by the document's HostComputeNetwork. */
  async createEndpoint(document: HostComputeEndpoint, id?: string): Promise<HcnEndpoint> {
    const networkId = document.HostComputeNetwork;
    if (!networkId)
      throw new TypeError(`endpoint ${document.Name ?? ''}: HostComputeNetwork is required to create it`);
    const settings = serializeDocument(document);
    const answer = await this.transport.create({
      kind: 'endpoint',
      networkId,
      id,
      settings,
      query: DEFAULT_QUERY,
    });
    return parseAnswer(answer, 'endpoint', parseEndpoint);
  }

  async modifyEndpoint(id: string, request: EndpointPolicyRequest): Promise<void> {
    await this.transport.modify('endpoint', id, serializeDocument(request));
  }

  async deleteEndpoint(id: string): Promise<boolean> {
    return this.#delete('endpoint', id);
  }

  // ---- namespaces ------------------------------------------------------------------------------

  async listNamespaces(filter: QueryFilter = {}): Promise<HcnNamespace[]> {
    return this.#list('namespace', filter, parseNamespace);
  }

  async getNamespace(id: string): Promise<HcnNamespace | undefined> {
    return this.#get('namespace', id, parseNamespace);
  }

  async createNamespace(document: HostComputeNamespace, id?: string): Promise<HcnNamespace> {
    const settings = serializeDocument(document);
    const answer = await this.transport.create({ kind: 'namespace', id, settings, query: DEFAULT_QUERY });
    return parseAnswer(answer, 'namespace', parseNamespace);
  }

  async deleteNamespace(id: string): Promise<boolean> {
    return this.#delete('namespace', id);
  }

  async attachEndpoint(namespaceId: string, endpointId: string): Promise<void> {
    await this.transport.modify(
      'namespace',
      namespaceId,
      serializeDocument(namespaceAddEndpoint(endpointId)),
    );
  }

  /** False when the namespace or the endpoint, or the attachment itself, was already gone. */
  async detachEndpoint(namespaceId: string, endpointId: string): Promise<boolean> {
    try {
      await this.transport.modify(
        'namespace',
        namespaceId,
        serializeDocument(namespaceRemoveEndpoint(endpointId)),
      );
      return true;
    } catch (e) {
      if (isHcnError(e, 'notFound')) return false;
      throw e;
    }
  }

  // ---- containers (HNS v1 and HCS, vmcompute.dll) ----------------------------------------------

  /** Container IDs the endpoint is hot-attached to (HNS v1 SharedContainers); undefined when it is gone. */
  async endpointContainers(endpointId: string): Promise<string[] | undefined> {
    // The ID goes into an HNS request path: only a GUID may.
    const id = normalizeGuid(endpointId);
    if (!id) throw new TypeError(`not an endpoint GUID: ${JSON.stringify(endpointId)}`);
    try {
      const output = await this.#hcs('read the containers of an endpoint').hnsCall(
        'GET',
        `/endpoints/${id}`,
        '',
      );
      return readSharedContainers(parseJsonText(output, 'endpoint'), 'endpoint');
    } catch (e) {
      if (isHcnError(e, 'notFound')) return undefined;
      throw e;
    }
  }

  /**
   * hcsshim's HotAttachEndpoint: nothing to do when the endpoint already lists the container
   * (compared without case, as hcsshim's IsAttached does), else an HCS "Network Add" request.
   */
  async attachEndpointToContainer(containerId: string, endpointId: string): Promise<void> {
    const hcs = this.#hcs(`attach an endpoint to container ${containerId}`);
    const containers = await this.endpointContainers(endpointId);
    if (containers === undefined) {
      throw new HcnError({
        operation: 'HNSCall',
        object: `GET /endpoints/${endpointId}`,
        hresult: HRESULT.ERROR_NOT_FOUND,
        record: '',
      });
    }
    if (containers.some((c) => sameContainer(c, containerId))) return;
    await hcs.modifyComputeSystem(containerId, serializeDocument(containerNetworkRequest('Add', endpointId)));
  }

  /** hcsshim's HotDetachEndpoint; false when the container, the endpoint or the attachment is gone. */
  async detachEndpointFromContainer(containerId: string, endpointId: string): Promise<boolean> {
    const hcs = this.#hcs(`detach an endpoint from container ${containerId}`);
    const containers = await this.endpointContainers(endpointId);
    if (!containers?.some((c) => sameContainer(c, containerId))) return false;
    try {
      await hcs.modifyComputeSystem(
        containerId,
        serializeDocument(containerNetworkRequest('Remove', endpointId)),
      );
      return true;
    } catch (e) {
      if (isHcnError(e, 'notFound')) return false;
      throw e;
    }
  }

  /** HNS's own version (HNS v1 GET /globals/version, as hcsshim's hcn.GetGlobals reads it). */
  async hnsVersion(): Promise<HnsVersion> {
    const output = await this.#hcs('read the HNS version').hnsCall('GET', '/globals/version', '');
    return readHnsVersion(parseJsonText(output, 'globals/version'), 'globals/version');
  }

  /** The vmcompute.dll calls, or a typed error naming the transport that lacks them. */
  #hcs(doing: string): HcsTransport {
    const hcs = this.transport.hcs;
    if (!hcs) {
      throw new HcnTransportError(
        this.transport.name,
        `${doing}: the ${this.transport.name} transport cannot reach vmcompute.dll (HNSCall, HcsModifyComputeSystem); use the FFI transport (unset CROSSCNI_HCN_TRANSPORT) or give CNI_NETNS as an HCN namespace GUID`,
      );
    }
    return hcs;
  }

  // ---- shared ------------------------------------------------------------------------------------

  async #list<T>(
    kind: HcnObjectKind,
    filter: QueryFilter,
    parse: (v: unknown, path: string) => T,
  ): Promise<T[]> {
    const answers = await this.transport.list(kind, serializeDocument(buildQuery(filter)));
    return answers.map((text, i) => parseAnswer(text, `${kind}s[${i}]`, parse));
  }

  async #get<T>(
    kind: HcnObjectKind,
    id: string,
    parse: (v: unknown, path: string) => T,
  ): Promise<T | undefined> {
    try {
      return parseAnswer(await this.transport.get(kind, id, DEFAULT_QUERY), kind, parse);
    } catch (e) {
      if (isHcnError(e, 'notFound')) return undefined;
      throw e;
    }
  }

  async #delete(kind: HcnObjectKind, id: string): Promise<boolean> {
    try {
      await this.transport.delete(kind, id);
      return true;
    } catch (e) {
      if (isHcnError(e, 'notFound')) return false;
      throw e;
    }
  }
}
