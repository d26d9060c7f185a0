/**
 * What a network's nftables table (`nft -j list table inet <table>`) says about its
 * containers, in the scenario table's terms: which addresses are masqueraded and with which
 * destination exceptions, and which host ports are forwarded where. Reads nft's JSON output
 * only; knows nothing of how crosscni writes the rules beyond what `nft` shows an operator.
 */
import type { Forwarding } from './bridge-loopback-scenarios.ts';

type Json = unknown;

interface NftObject {
  set?: { name: string; elem?: Json[] };
  map?: { name: string; elem?: Json[] };
  rule?: { expr?: Json[] };
}

/** Multicast is always excepted; the table lists the configured exceptions. */
const MULTICAST = new Set(['224.0.0.0/4', 'ff00::/8']);

export interface NftView {
  /** Addresses in the masquerade sets. */
  masqueraded: string[];
  /** Destination exceptions of the masquerade rules (multicast left out). */
  exceptions: string[];
  forwardings: Forwarding[];
}

/** An element's value: a bare value, or {elem: {val, comment}}. */
function value(elem: Json): Json {
  const inner = (elem as { elem?: { val?: Json } } | null)?.elem;
  return inner && typeof inner === 'object' && 'val' in inner ? inner.val : elem;
}

function concat(v: Json): Json[] {
  return ((v as { concat?: Json[] } | null)?.concat ?? []) as Json[];
}

function prefixText(item: Json): string | undefined {
  if (typeof item === 'string') return item.includes(':') ? `${item}/128` : `${item}/32`;
  const prefix = (item as { prefix?: { addr: string; len: number } } | null)?.prefix;
  return prefix ? `${prefix.addr}/${prefix.len}` : undefined;
}

/** The exceptions of a masquerade rule: the `daddr != { ... }` match. */
function ruleExceptions(expr: Json[]): string[] {
  if (!expr.some((e) => e !== null && typeof e === 'object' && 'masquerade' in e)) return [];
  const out: string[] = [];
  for (const e of expr) {
    const match = (e as { match?: { op: string; right: Json } }).match;
    if (match?.op !== '!=') continue;
    const right = match.right as { set?: Json[] } | string;
    const items = typeof right === 'object' && right && Array.isArray(right.set) ? right.set : [right];
    for (const item of items) {
      const text = prefixText(item);
      if (text && !MULTICAST.has(text)) out.push(text);
    }
  }
  return out;
}

export function readNftView(json: string): NftView {
  const objects = ((JSON.parse(json) as { nftables?: NftObject[] }).nftables ?? []) as NftObject[];
  const view: NftView = { masqueraded: [], exceptions: [], forwardings: [] };
  for (const o of objects) {
    if (o.set && /^masq[46]$/.test(o.set.name)) {
      for (const elem of o.set.elem ?? []) view.masqueraded.push(String(value(elem)));
    }
    if (o.map && /^pm-ports[46]$/.test(o.map.name)) {
      for (const pair of (o.map.elem ?? []) as Json[][]) {
        const [protocol, hostPort] = concat(value(pair[0]));
        const [containerIp, containerPort] = concat(pair[1]);
        view.forwardings.push({
          protocol: protocol === 'udp' ? 'udp' : 'tcp',
          hostPort: Number(hostPort),
          containerIp: String(containerIp),
          containerPort: Number(containerPort),
        });
      }
    }
    if (o.rule?.expr) view.exceptions.push(...ruleExceptions(o.rule.expr));
  }
  return view;
}
