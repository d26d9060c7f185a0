/**
 * The portmap plugin's configuration: the reference plugin's keys (snat, markMasqBit,
 * externalSetMarkChain, conditionsV4/V6, backend) parsed and validated once, plus the
 * runtime's `portMappings` capability (podman's hostPort and containerd's HostPort spellings
 * are both read by the SDK). Defaults follow the reference: snat on, mark bit 13.
 */
import type { PortMappingOptions, PortMappingSpec } from '../../platform/types.ts';
import type { NetConf } from '../sdk/config.ts';
import { CniError, ErrorCode } from '../sdk/errors.ts';

export interface PortmapConfig {
  mappings: PortMappingSpec[];
  options: PortMappingOptions;
}

export function parsePortmapConfig(conf: NetConf): PortmapConfig {
  const f = conf.fields;
  const options: PortMappingOptions = { snat: f.bool('snat', true) };
  const markMasqBit = f.int('markMasqBit', 0, 31);
  const externalSetMarkChain = f.string('externalSetMarkChain');
  if (markMasqBit !== undefined && externalSetMarkChain) {
    f.invalid('markMasqBit', 'cannot be combined with externalSetMarkChain (the reference refuses both)');
  }
  if (markMasqBit !== undefined) options.markMasqBit = markMasqBit;
  if (externalSetMarkChain) {
    if (!/^[A-Za-z0-9_-]{1,28}$/.test(externalSetMarkChain)) {
      f.invalid('externalSetMarkChain', `"${externalSetMarkChain}" is not an iptables chain name`);
    }
    options.externalSetMarkChain = externalSetMarkChain;
  }
  const conditionsV4 = f.stringArray('conditionsV4');
  if (conditionsV4) options.conditionsV4 = conditionsV4;
  const conditionsV6 = f.stringArray('conditionsV6');
  if (conditionsV6) options.conditionsV6 = conditionsV6;
  const backend = f.string('backend');
  if (backend !== undefined && backend !== 'iptables' && backend !== 'nftables') {
    f.invalid('backend', `must be "iptables" or "nftables", not "${backend}"`);
  }
  if (backend) options.mechanism = backend;
  if (f.bool('masqAll', false)) {
    throw new CniError(
      ErrorCode.UnsupportedField,
      'portmap: "masqAll" is not supported',
      'only hairpin and localhost traffic is masqueraded (snat); masquerade other sources with the interface plugin',
    );
  }
  return { mappings: conf.runtimeConfig.portMappings ?? [], options };
}
