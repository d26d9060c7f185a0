/**
 * One rtnetlink socket and the typed requests the platform makes over it: get, create, change
 * and delete links, addresses and routes. Raw transport: it speaks in ifindexes, attribute
 * lists and NetlinkErrors, and knows nothing of bridges, endpoints or PlatformError.
 *
 * A netlink socket acts on the network namespace it was created in, whatever namespace the
 * thread is in later; namespace.ts relies on this to open a socket inside a container's
 * namespace and use it from the event loop after switching back. Only the netlink package's
 * socket layer is loaded (`netlink/dist/netlink`), not its ~6 ms of generated rtnetlink structs.
 */
import { createNetlink, type NetlinkSocket } from 'netlink/dist/netlink';
import { NetlinkError } from './errors.ts';
import { enableStrictCheck } from './netlink-strict.ts';
import {
  type AddressInfo,
  decodeAddress,
  decodeLink,
  decodeRoute,
  encodeAddress,
  encodeLink,
  encodeRoute,
  type IfInfoHeader,
  type LinkInfo,
  type RouteInfo,
  type RtHeader,
} from './rtnl-codec.ts';
import { type Attr, readErrno, str } from './rtnl-attrs.ts';
import { IFLA, NLM_F, RTM } from './rtnl-constants.ts';

const NETLINK_ROUTE = 0;
const NLMSG_ERROR = 2;

const RTM_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RTM).map(([name, value]) => [value, `RTM_${name}`]),
);

export class RtnlSocket {
  private closed = false;
  /** Whether strict checking is on (undefined: not tried yet); see netlink-strict.ts. */
  private strict: boolean | undefined;

  private constructor(private readonly socket: NetlinkSocket) {}

  /** A socket bound to the calling thread's current network namespace. */
  static open(): RtnlSocket {
    return new RtnlSocket(createNetlink(NETLINK_ROUTE));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  /** Send one request (with ACK) and return the reply payloads; a kernel error throws. */
  async request(type: number, body: Buffer, flags = 0): Promise<Buffer[]> {
    const operation = RTM_NAMES[type] ?? `rtnetlink message ${type}`;
    let replies: Array<{ type: number; data: Buffer }>;
    try {
      [replies] = await this.socket.request(type, body, { flags, checkError: false });
    } catch (e) {
      const errno = (e as { errno?: unknown }).errno;
      if (typeof errno === 'number') throw new NetlinkError(operation, errno);
      throw e;
    }
    const payloads: Buffer[] = [];
    for (const reply of replies) {
      if (reply.type !== NLMSG_ERROR) {
        payloads.push(reply.data);
        continue;
      }
      const errno = readErrno(reply.data);
      if (errno !== 0) throw new NetlinkError(operation, errno);
    }
    return payloads;
  }

  // ---- links --------------------------------------------------------------------------------

  /** The link with this name or index, or undefined when there is none. */
  async getLink(ref: string | number): Promise<LinkInfo | undefined> {
    const body =
      typeof ref === 'number' ? encodeLink({ index: ref }) : encodeLink({}, [[IFLA.IFNAME, str(ref)]]);
    try {
      const [reply] = await this.request(RTM.GETLINK, body);
      return reply ? decodeLink(reply) : undefined;
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  /** RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL: fails with EEXIST when the name is taken. */
  async createLink(header: IfInfoHeader, attrs: Attr[]): Promise<void> {
    await this.request(RTM.NEWLINK, encodeLink(header, attrs), NLM_F.CREATE | NLM_F.EXCL);
  }

  /** RTM_NEWLINK on an existing link: changes kind-specific settings (IFLA_INFO_DATA). */
  async changeLink(header: IfInfoHeader, attrs: Attr[]): Promise<void> {
    await this.request(RTM.NEWLINK, encodeLink(header, attrs));
  }

  /** RTM_SETLINK: flags, MTU, MAC, master; with family AF_BRIDGE, bridge port settings. */
  async setLink(header: IfInfoHeader, attrs: Attr[] = []): Promise<void> {
    await this.request(RTM.SETLINK, encodeLink(header, attrs));
  }

  /** RTM_DELLINK with a family (AF_BRIDGE removes port VLANs rather than the link). */
  async delLink(header: IfInfoHeader, attrs: Attr[] = []): Promise<void> {
    await this.request(RTM.DELLINK, encodeLink(header, attrs));
  }

  // ---- addresses ----------------------------------------------------------------------------

  /** Turn on strict checking once, so the kernel applies the filters of dump requests. */
  private strictCheck(): boolean {
    this.strict ??= enableStrictCheck(NETLINK_ROUTE, this.socket.address().port);
    return this.strict;
  }

  /**
   * Addresses of one link. With strict checking the kernel dumps only that link's (its cost
   * does not grow with the veths on the host); without it (kernels before 4.20) it dumps the
   * whole namespace, and the filter here does the job.
   */
  async addresses(index: number, family = 0): Promise<AddressInfo[]> {
    const strict = this.strictCheck();
    let replies: Buffer[];
    try {
      replies = await this.request(
        RTM.GETADDR,
        encodeAddress({ family, prefixLength: 0, index: strict ? index : 0 }),
        NLM_F.DUMP,
      );
    } catch (e) {
      // Strict checking looks the link up first: no such link, no addresses.
      if (strict && e instanceof NetlinkError && e.code === 'ENODEV') return [];
      throw e;
    }
    const out: AddressInfo[] = [];
    for (const reply of replies) {
      const address = decodeAddress(reply);
      if (address && address.index === index) out.push(address);
    }
    return out;
  }

  async addAddress(header: Parameters<typeof encodeAddress>[0], attrs: Attr[]): Promise<void> {
    await this.request(RTM.NEWADDR, encodeAddress(header, attrs), NLM_F.CREATE | NLM_F.EXCL);
  }

  async delAddress(header: Parameters<typeof encodeAddress>[0], attrs: Attr[]): Promise<void> {
    await this.request(RTM.DELADDR, encodeAddress(header, attrs));
  }

  // ---- routes -------------------------------------------------------------------------------

  /** Every route of a family in every table of the socket's namespace. */
  async routes(family: number): Promise<RouteInfo[]> {
    const replies = await this.request(
      RTM.GETROUTE,
      encodeRoute({ family, dstLength: 0, table: 0, protocol: 0, scope: 0, type: 0 }),
      NLM_F.DUMP,
    );
    const out: RouteInfo[] = [];
    for (const reply of replies) {
      const route = decodeRoute(reply);
      if (route) out.push(route);
    }
    return out;
  }

  async addRoute(header: RtHeader, attrs: Attr[]): Promise<void> {
    await this.request(RTM.NEWROUTE, encodeRoute(header, attrs), NLM_F.CREATE | NLM_F.EXCL);
  }
}
