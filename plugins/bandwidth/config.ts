/**
 * The bandwidth plugin's limits: ingressRate/ingressBurst/egressRate/egressBurst in bits (per
 * second for rates) from the config's top level, replaced as a whole by
 * runtimeConfig.bandwidth when the runtime sends it, as in the reference plugin; then the
 * reference's validation (a rate needs a burst and a burst a rate, bursts under 4 GB).
 */
import type { BandwidthSpec } from '../../platform/types.ts';
import type { NetConf } from '../sdk/config.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';

const KEYS = ['ingressRate', 'ingressBurst', 'egressRate', 'egressBurst'] as const;
/** tc keeps the burst in bytes in 32 bits. */
const MAX_BURST_BITS = 0xffffffff * 8;

function invalid(msg: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `bandwidth: ${msg}`);
}

function validate(direction: 'ingress' | 'egress', rate: number, burst: number): void {
  if (rate && !burst) throw invalid(`${direction}Rate is set, so ${direction}Burst must be set too`);
  if (burst && !rate) throw invalid(`${direction}Burst is set, so ${direction}Rate must be set too`);
  if (burst >= MAX_BURST_BITS)
    throw invalid(`${direction}Burst cannot be more than 4GB (${MAX_BURST_BITS} bits)`);
  if (rate && rate < 8) throw invalid(`${direction}Rate must be at least 8 bits per second`);
}

export function parseBandwidthConfig(conf: NetConf): BandwidthSpec {
  const f = conf.fields;
  for (const key of ['shapedSubnets', 'unshapedSubnets']) {
    if (f.has(key)) {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `bandwidth: "${key}" is not supported`,
        'limits apply to all traffic',
      );
    }
  }
  const fromConfig: Record<(typeof KEYS)[number], number> = {
    ingressRate: 0,
    ingressBurst: 0,
    egressRate: 0,
    egressBurst: 0,
  };
  for (const key of KEYS) fromConfig[key] = f.int(key, 0, Number.MAX_SAFE_INTEGER) ?? 0;
  const runtime = conf.runtimeConfig.bandwidth;
  const limits = runtime
    ? {
        ingressRate: runtime.ingressRate ?? 0,
        ingressBurst: runtime.ingressBurst ?? 0,
        egressRate: runtime.egressRate ?? 0,
        egressBurst: runtime.egressBurst ?? 0,
      }
    : fromConfig;
  validate('ingress', limits.ingressRate, limits.ingressBurst);
  validate('egress', limits.egressRate, limits.egressBurst);
  const spec: BandwidthSpec = {};
  if (limits.ingressRate) {
    spec.ingressRate = limits.ingressRate;
    spec.ingressBurstBits = limits.ingressBurst;
  }
  if (limits.egressRate) {
    spec.egressRate = limits.egressRate;
    spec.egressBurstBits = limits.egressBurst;
  }
  return spec;
}

export function hasLimits(spec: BandwidthSpec): boolean {
  return Boolean(spec.ingressRate || spec.egressRate);
}
