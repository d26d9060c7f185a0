/**
 * Settings of one bridge port (the host end of an endpoint's veth): hairpin mode, port
 * isolation, and VLAN membership, all through RTM_SETLINK/RTM_DELLINK with family AF_BRIDGE as
 * `bridge link set` and `bridge vlan add/del` do. VLANs follow the reference plugin: the access
 * VLAN becomes the port's PVID and leaves untagged, trunk ranges are tagged, and the default
 * VLAN 1 is removed unless the spec preserves it.
 */
import type { VlanSpec } from '../platform/types.ts';
import { platformError } from './errors.ts';
import type { RtnlSocket } from './rtnl.ts';
import { type Attr, NLA_F_NESTED, u16, u8 } from './rtnl-attrs.ts';
import {
  AF_BRIDGE,
  BRIDGE_FLAGS_MASTER,
  BRIDGE_VLAN_INFO,
  IFLA,
  IFLA_BRIDGE,
  IFLA_BRPORT,
} from './rtnl-constants.ts';

const DEFAULT_VLAN = 1;

export interface PortSettings {
  hairpin?: boolean;
  isolated?: boolean;
  vlan?: VlanSpec;
}

/** struct bridge_vlan_info {u16 flags; u16 vid}. */
function vlanInfo(flags: number, vid: number): Attr {
  return [IFLA_BRIDGE.VLAN_INFO, Buffer.concat([u16(flags), u16(vid)])];
}

/** IFLA_AF_SPEC addressing the bridge (master) side of the port's VLAN table. */
function afSpec(entries: Attr[]): Attr {
  return [IFLA.AF_SPEC, [[IFLA_BRIDGE.FLAGS, u16(BRIDGE_FLAGS_MASTER)], ...entries]];
}

function vlanEntries(vlan: VlanSpec): Attr[] {
  const entries: Attr[] = [];
  if (vlan.id) entries.push(vlanInfo(BRIDGE_VLAN_INFO.PVID | BRIDGE_VLAN_INFO.UNTAGGED, vlan.id));
  for (const { minId, maxId } of vlan.trunk ?? []) {
    if (minId === maxId) entries.push(vlanInfo(0, minId));
    else
      entries.push(
        vlanInfo(BRIDGE_VLAN_INFO.RANGE_BEGIN, minId),
        vlanInfo(BRIDGE_VLAN_INFO.RANGE_END, maxId),
      );
  }
  return entries;
}

/** Apply `settings` to the bridge port `index` (named `name` for messages). */
export async function configureBridgePort(
  sock: RtnlSocket,
  index: number,
  name: string,
  settings: PortSettings,
): Promise<void> {
  const port: Attr[] = [];
  if (settings.hairpin) port.push([IFLA_BRPORT.MODE, u8(1)]);
  if (settings.isolated) port.push([IFLA_BRPORT.ISOLATED, u8(1)]);
  if (port.length) {
    try {
      // Without NLA_F_NESTED the kernel reads IFLA_PROTINFO as a bare STP port state.
      await sock.setLink({ family: AF_BRIDGE, index }, [[IFLA.PROTINFO | NLA_F_NESTED, port]]);
    } catch (e) {
      throw platformError(e, `set hairpin/isolation on bridge port ${name}`);
    }
  }
  const vlan = settings.vlan;
  if (!vlan || (!vlan.id && !vlan.trunk?.length)) return;
  try {
    if (!vlan.preserveDefaultVlan) {
      await sock.delLink({ family: AF_BRIDGE, index }, [afSpec([vlanInfo(0, DEFAULT_VLAN)])]);
    }
    await sock.setLink({ family: AF_BRIDGE, index }, [afSpec(vlanEntries(vlan))]);
  } catch (e) {
    throw platformError(e, `set VLANs on bridge port ${name}`, 'does the bridge have vlan_filtering on?');
  }
}
