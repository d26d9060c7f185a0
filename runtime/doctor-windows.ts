/**
 * The Windows checks of `crosscni doctor`: which HCN transport crosscni will use
 * (CROSSCNI_HCN_TRANSPORT), whether HNS answers a network listing through it, and crosscni's
 * endpoints (named crosscni_*) that sit in no existing HCN namespace. Loaded only on Windows;
 * lists, never deletes.
 */
import { sameGuid } from '../hns/guid.ts';
import { ENDPOINT_NAME_PREFIX } from '../hns/endpoint-spec.ts';
import { HcnClient } from '../hns/client.ts';
import { transportFromEnvironment } from '../hns/index.ts';
import type { DoctorCheck, DoctorOptions, DoctorReport, Leftover } from './doctor.ts';

export async function windowsDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const choice = options.env.CROSSCNI_HCN_TRANSPORT || 'ffi';
  const checks: DoctorCheck[] = [];
  const leftovers: Leftover[] = [];
  let client: HcnClient;
  try {
    client = new HcnClient(transportFromEnvironment(options.env));
    checks.push({ name: 'HCN transport', status: 'ok', detail: `CROSSCNI_HCN_TRANSPORT=${choice}` });
  } catch (e) {
    checks.push({
      name: 'HCN transport',
      status: 'fail',
      detail: (e as Error).message,
      fix: 'set CROSSCNI_HCN_TRANSPORT to "ffi" (default) or "powershell"',
    });
    return { checks, leftovers };
  }
  try {
    const networks = await client.listNetworks();
    checks.push({
      name: 'HCN networks',
      status: 'ok',
      detail: networks.length
        ? networks.map((n) => n.Name ?? n.ID).join(', ')
        : 'HNS answered; no networks yet',
    });
  } catch (e) {
    checks.push({
      name: 'HCN networks',
      status: 'fail',
      detail: `cannot list HCN networks: ${(e as Error).message}`,
      fix: 'run as Administrator; check the hns service (Get-Service hns) and the Containers feature',
    });
    return { checks, leftovers };
  }
  try {
    const namespaces = await client.listNamespaces();
    const endpoints = (await client.listEndpoints()).filter((e) => e.Name?.startsWith(ENDPOINT_NAME_PREFIX));
    for (const endpoint of endpoints) {
      const ns = endpoint.HostComputeNamespace;
      if (ns && namespaces.some((n) => sameGuid(n.ID, ns))) continue;
      leftovers.push({
        kind: 'endpoint',
        path: endpoint.ID,
        reason: `endpoint ${endpoint.Name} is in no existing HCN namespace`,
        fix: `crosscni gc NETWORK, or Remove-HnsEndpoint for ${endpoint.ID}`,
      });
    }
    checks.push({ name: 'HCN endpoints', status: 'ok', detail: `${endpoints.length} crosscni endpoint(s)` });
  } catch (e) {
    checks.push({
      name: 'HCN endpoints',
      status: 'warn',
      detail: `cannot list endpoints: ${(e as Error).message}`,
    });
  }
  return { checks, leftovers };
}
