/**
 * A minimal CRI v1 RuntimeService client over containerd's unix socket, for the e2e tests
 * (Debian 12 ships no crictl). Loads runtime-v1-subset.proto at run time with proto-loader and
 * calls methods through grpc-js's generic unary call, so the typed surface below is the whole
 * API: the interfaces mirror the proto messages in lowerCamel (proto-loader's default), with
 * enums as their names and int64 as strings. Every call has a deadline.
 */
import { join } from 'node:path';
import { Client, credentials, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface PortMapping {
  protocol: Protocol;
  containerPort: number;
  hostPort: number;
  hostIp?: string;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  logDirectory?: string;
  dnsConfig?: { servers?: string[]; searches?: string[]; options?: string[] };
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: { cgroupParent?: string };
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: string;
  network: { ip: string; additionalIps: Array<{ ip: string }> } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus | null;
  /** Verbose only: JSON text per key (containerd: "info"). */
  info: Record<string, string>;
}

export interface PodSandboxSummary {
  id: string;
  metadata: PodSandboxMetadata | null;
  state: PodSandboxState;
}

const PROTO_FILE = join(__dirname, 'runtime-v1-subset.proto');
const SERVICE = 'runtime.v1.RuntimeService';
const DEFAULT_DEADLINE_MS = 60_000;

type Method = MethodDefinition<unknown, unknown>;

function loadMethods(): Record<string, Method> {
  const definition = loadSync(PROTO_FILE, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    arrays: true,
    objects: true,
  });
  const service = definition[SERVICE];
  if (!service || !('Version' in service)) throw new Error(`${PROTO_FILE} does not define ${SERVICE}`);
  return service as unknown as Record<string, Method>;
}

export class CriError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
  ) {
    super(`CRI ${method}: ${details} (gRPC code ${code})`);
    this.name = 'CriError';
  }
}

export class CriRuntimeClient {
  private readonly client: Client;
  private readonly methods = loadMethods();

  /** `socketPath` is containerd's grpc address (a unix socket path). */
  constructor(socketPath: string) {
    this.client = new Client(`unix://${socketPath}`, credentials.createInsecure());
  }

  private call<Res>(name: string, request: object, timeoutMs = DEFAULT_DEADLINE_MS): Promise<Res> {
    const method = this.methods[name];
    if (!method) return Promise.reject(new Error(`CRI method ${name} is not in ${PROTO_FILE}`));
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        { deadline: Date.now() + timeoutMs },
        (error: ServiceError | null, response?: unknown) => {
          if (error) reject(new CriError(name, error.code, error.details || error.message));
          else resolve(response as Res);
        },
      );
    });
  }

  version(timeoutMs?: number): Promise<VersionResponse> {
    return this.call('Version', { version: 'v1' }, timeoutMs);
  }

  async runPodSandbox(config: PodSandboxConfig, timeoutMs?: number): Promise<string> {
    const res = await this.call<{ podSandboxId: string }>('RunPodSandbox', { config }, timeoutMs);
    return res.podSandboxId;
  }

  podSandboxStatus(
    podSandboxId: string,
    verbose = false,
    timeoutMs?: number,
  ): Promise<PodSandboxStatusResponse> {
    return this.call('PodSandboxStatus', { podSandboxId, verbose }, timeoutMs);
  }

  async stopPodSandbox(podSandboxId: string, timeoutMs?: number): Promise<void> {
    await this.call('StopPodSandbox', { podSandboxId }, timeoutMs);
  }

  async removePodSandbox(podSandboxId: string, timeoutMs?: number): Promise<void> {
    await this.call('RemovePodSandbox', { podSandboxId }, timeoutMs);
  }

  async listPodSandbox(timeoutMs?: number): Promise<PodSandboxSummary[]> {
    const res = await this.call<{ items: PodSandboxSummary[] }>('ListPodSandbox', {}, timeoutMs);
    return res.items;
  }

  close(): void {
    this.client.close();
  }
}
