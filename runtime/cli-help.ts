/**
 * The text of `crosscni --help`: commands, environment, and examples that can be pasted into a
 * root shell as they are. Text only.
 */
import { DEFAULT_CNI_PATH, DEFAULT_NETCONF_PATH } from './cli-options.ts';
import { DEFAULT_CACHE_DIR } from './result-cache.ts';

export const USAGE = `Usage:
  crosscni add     NETWORK NETNS-PATH   attach the namespace to NETWORK; prints the result
  crosscni check   NETWORK NETNS-PATH   check the attachment against the cached result
  crosscni del     NETWORK NETNS-PATH   detach (plugins in reverse order) and drop the cached result
  crosscni gc      NETWORK [--valid CONTAINERID:IFNAME ...]
                                        release what NETWORK's plugins hold for no valid attachment
  crosscni status  NETWORK              ask every plugin of NETWORK whether it can serve ADDs
  crosscni version NETWORK              the CNI versions each plugin of NETWORK supports
  crosscni plugins [BIN-DIR] [--json]   the plugins in BIN-DIR (default: this program's directory)
  crosscni demo                         attach a new namespace to a built-in network and ping it (root)
  crosscni install [--bin-dir DIR] [--conf-dir DIR] [--conflist FILE] [--force] [--agent]
                                        copy this program's plugins (and a conflist) into place, atomically
  crosscni agent   [--socket PATH]      serve plugin calls from the exec shims (install --agent), as root
  crosscni doctor  [--json] [--bin-dir DIR] [--conf-dir DIR] [--data-dir DIR] [--cache-dir DIR]
                                        check the host and list what dead containers left behind`;

export function helpText(): string {
  return `crosscni: run CNI network configurations, as cnitool does (runtime side of crosscni)

${USAGE}

Options:
  -i, --ifname NAME     interface name in the namespace (default: CNI_IFNAME, else eth0)
  --cache-dir DIR       result cache directory (default: CNI_CACHE_DIR, else ${DEFAULT_CACHE_DIR})
  --valid ID:IFNAME     gc: an attachment still in use (repeat it). Without --valid, the attachments
                        in the result cache are the valid ones; with it, cached attachments not
                        listed are deleted first (a DEL through the whole list)
  --json                plugins, doctor: print JSON instead of text
  --bin-dir DIR         install, doctor: plugin directory (default ${DEFAULT_CNI_PATH})
  --conf-dir DIR        install, doctor: conflist directory (default ${DEFAULT_NETCONF_PATH})
  --conflist FILE       install: also install this network configuration into the conf dir
  --force               install: replace files crosscni did not write (e.g. the Go reference plugins)
  --agent               install: exec shims in DIR that call the resident agent, the Node plugins in
                        DIR/crosscni-node/ (run when no agent listens); see docs/agent.md
  --socket PATH         agent: the unix socket (default /run/crosscni/agent.sock; the shims read
                        CROSSCNI_AGENT_SOCKET)
  --data-dir DIR        doctor: host-local's dataDir (default /var/lib/cni/networks)
  -h, --help            this text

Environment:
  NETCONFPATH      directory of .conflist/.conf/.json files (default ${DEFAULT_NETCONF_PATH})
  CNI_PATH         plugin directories, ":"-separated (default ${DEFAULT_CNI_PATH})
  CNI_IFNAME       interface name (default eth0)
  CNI_ARGS         extra plugin arguments, "K=V;K=V"
  CAP_ARGS         capability arguments as JSON, given to plugins that declare them in "capabilities"
  CNI_CONTAINERID  container id (default: "cnitool-" + 20 hex digits of SHA-512 of the netns path)
  CNI_CACHE_DIR    result cache directory (default ${DEFAULT_CACHE_DIR}); entries are libcni's format

Examples (as root; the suite installed in /opt/cni/bin, crosscni on PATH):
  ip netns add blue
  mkdir -p /etc/cni/net.d
  echo '{"cniVersion": "1.1.0", "name": "demo", "plugins": [
    {"type": "bridge", "bridge": "cni-demo1", "isGateway": true, "ipMasq": true,
     "capabilities": {"mac": true},
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
  ]}' > /etc/cni/net.d/10-demo.conflist
  crosscni add demo /run/netns/blue
  ip -n blue addr show eth0
  crosscni check demo /run/netns/blue
  crosscni status demo
  crosscni version demo
  crosscni gc demo            # plugins release state of attachments the result cache does not know
  crosscni del demo /run/netns/blue
  ip netns del blue

  # interface name, a fixed MAC (a capability argument), plugin arguments, other directories:
  ip netns add green
  mkdir -p /tmp/net.d && cp /etc/cni/net.d/10-demo.conflist /tmp/net.d/
  export NETCONFPATH=/tmp/net.d CNI_PATH=/opt/cni/bin CNI_CACHE_DIR=/tmp/cni-cache CNI_IFNAME=net1
  CAP_ARGS='{"mac":"0a:58:0a:63:00:42"}' CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=web' \\
    crosscni add demo /run/netns/green
  crosscni del demo /run/netns/green
  unset NETCONFPATH CNI_PATH CNI_CACHE_DIR CNI_IFNAME
  ip netns del green

  crosscni plugins /opt/cni/bin

Output: add prints the result JSON on stdout. On failure, stderr gets the CNI error JSON
({"cniVersion","code","msg","details"}) and a readable line, and the exit status is 1
(2 for a command line that cannot be run). doctor exits 1 when a check fails.
`;
}
