/**
 * The loopback interface of a container's namespace: bring it up or down, and report its state
 * and addresses (for the loopback plugin's result and CHECK). A new namespace's `lo` exists
 * but is down; the kernel adds 127.0.0.1/8 and ::1/128 when it comes up.
 */
import type { LoopbackState } from '../platform/contract.ts';
import { PlatformError } from '../platform/errors.ts';
import { platformError } from './errors.ts';
import { withNetlinkIn } from './namespace.ts';
import { readAddresses } from './routes.ts';
import type { RtnlSocket } from './rtnl.ts';
import type { LinkInfo } from './rtnl-codec.ts';
import { IFF_UP } from './rtnl-constants.ts';

async function loopbackOf(sock: RtnlSocket, namespace: string): Promise<LinkInfo> {
  const lo = await sock.getLink('lo');
  if (!lo) throw new PlatformError('not-found', `namespace ${namespace} has no loopback interface`);
  return lo;
}

export async function setLoopback(namespace: string, up: boolean): Promise<void> {
  await withNetlinkIn(namespace, async (sock) => {
    const lo = await loopbackOf(sock, namespace);
    if (Boolean(lo.flags & IFF_UP) === up) return;
    try {
      await sock.setLink({ index: lo.index, flags: up ? IFF_UP : 0, change: IFF_UP });
    } catch (e) {
      throw platformError(e, `set lo ${up ? 'up' : 'down'} in ${namespace}`);
    }
  });
}

export async function inspectLoopback(namespace: string): Promise<LoopbackState> {
  return withNetlinkIn(namespace, async (sock) => {
    const lo = await loopbackOf(sock, namespace);
    return { up: (lo.flags & IFF_UP) !== 0, addresses: await readAddresses(sock, lo.index) };
  });
}
