/**
 * CHECK for attachment plugins: compare what the platform observes with what prevResult says
 * this plugin created (spec: "CHECK ... verify that what prevResult describes is still true").
 * Every mismatch is an error that names the object and what changed, so an operator can see
 * what was tampered with.
 */
import { canonicalIp, networkCidr, parseCidr } from '../../platform/cidr.ts';
import type { EndpointState } from '../../platform/types.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';
import type { Result, ResultInterface } from '../sdk/result.ts';

function drift(message: string, hint?: string): CniError {
  return new CniError(ErrorCode.IoFailure, message, hint);
}

/** The container interface prevResult describes for this attachment. */
export function containerInterfaceOf(
  prev: Result,
  ifname: string,
): { iface: ResultInterface; index: number } {
  const index = (prev.interfaces ?? []).findIndex((i) => i.name === ifname && i.sandbox);
  if (index < 0) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `prevResult lists no interface "${ifname}" inside a sandbox`,
      "CHECK needs the result of this attachment's ADD as prevResult",
    );
  }
  return { iface: prev.interfaces![index]!, index };
}

function canonicalCidr(cidr: string): string {
  const slash = cidr.indexOf('/');
  return `${canonicalIp(cidr.slice(0, slash)) ?? cidr.slice(0, slash)}${cidr.slice(slash)}`;
}

export interface CheckTarget {
  ifname: string;
  namespace: string;
  /** Device name of the network's switch, for messages. */
  networkDevice: string;
  /** False when the plugin left the container interface unconfigured on purpose. */
  addressesConfigured: boolean;
}

export function checkEndpointAgainstResult(
  state: EndpointState | undefined,
  prev: Result,
  target: CheckTarget,
): void {
  const { ifname, namespace, networkDevice } = target;
  const { iface, index } = containerInterfaceOf(prev, ifname);
  if (!state) {
    throw drift(`interface ${ifname} does not exist in ${namespace}`, 'was it deleted after ADD?');
  }
  if (iface.mac && state.container.mac.toLowerCase() !== iface.mac.toLowerCase()) {
    throw drift(`interface ${ifname} has MAC ${state.container.mac}, prevResult says ${iface.mac}`);
  }
  if (!state.attachedToNetwork) {
    const host = state.host ? `host interface ${state.host.name}` : `the host side of ${ifname}`;
    throw drift(`${host} is not attached to ${networkDevice}`, 'was it detached or moved after ADD?');
  }
  if (!target.addressesConfigured) return;
  const present = new Set(state.addresses.map(canonicalCidr));
  for (const ip of prev.ips ?? []) {
    if (ip.interface !== undefined && ip.interface !== index) continue;
    if (!present.has(canonicalCidr(ip.address))) {
      throw drift(
        `interface ${ifname} in ${namespace} lacks address ${ip.address}`,
        'was it removed after ADD?',
      );
    }
  }
  for (const route of prev.routes ?? []) {
    const dst = networkCidr(parseCidr(route.dst)!);
    const found = state.routes.some(
      (r) =>
        networkCidr(parseCidr(r.dst)!) === dst &&
        (!route.gw || (r.gw !== undefined && canonicalIp(r.gw) === canonicalIp(route.gw))),
    );
    if (!found) {
      const via = route.gw ? ` via ${route.gw}` : '';
      throw drift(`route to ${route.dst}${via} is missing in ${namespace}`, 'was it removed after ADD?');
    }
  }
}
