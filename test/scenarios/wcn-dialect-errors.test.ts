// Wrong types and impossible combinations in nat and sdnbridge configs: code 7, with the key
// named in the message, before anything on the OS is touched.
import { describe, expect, test } from 'vitest';
import { parseSwitchConfig, type SwitchPluginType } from '../../plugins/attachment/wcn-config.ts';
import { natPlugin } from '../../plugins/nat/plugin.ts';
import { parseNetConf } from '../../plugins/sdk/config.ts';
import { CniError } from '../../plugins/sdk/errors.ts';
import { invokePlugin } from '../../plugins/sdk/skel.ts';
import { sdnbridgePlugin } from '../../plugins/sdnbridge/plugin.ts';

type Doc = Record<string, unknown>;

const sdnbridge = (extra: Doc = {}): Doc => ({
  cniVersion: '1.0.0',
  name: 'l2bridgeNetwork',
  type: 'sdnbridge',
  master: 'Ethernet',
  ipam: { subnet: '192.168.1.0/24', routes: [{ GW: '192.168.1.2' }] },
  ...extra,
});

const policy = (value: Doc) => ({ Name: 'EndpointPolicy', Value: value });

function refusal(doc: Doc, type: SwitchPluginType): CniError {
  try {
    parseSwitchConfig(parseNetConf(doc), type);
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('expected the config to be refused');
}

describe('code 7 naming the key', () => {
  const cases: Array<[string, Doc, string, SwitchPluginType?]> = [
    ['sdnbridge without master', { ...sdnbridge(), master: undefined }, '"master" is required'],
    ['bridge equal to master', sdnbridge({ bridge: 'Ethernet' }), '"bridge" must differ from master'],
    [
      'a policy type crosscni cannot apply alike',
      sdnbridge({ AdditionalArgs: [policy({ Type: 'L4Proxy', Settings: {} })] }),
      '"AdditionalArgs[0].Value.Type" "L4Proxy" is not supported',
    ],
    [
      'NetworkPolicy entries',
      sdnbridge({ AdditionalArgs: [{ Name: 'NetworkPolicy', Value: { Type: 'HostRoute' } }] }),
      '"AdditionalArgs[0].Name"',
    ],
    [
      'OutBoundNAT with a VirtualIP',
      sdnbridge({ AdditionalArgs: [policy({ Type: 'OutBoundNAT', Settings: { VirtualIP: 'fc00::123' } })] }),
      '"AdditionalArgs[0].Value.Settings.VirtualIP" is not supported',
    ],
    [
      'an exception that is not a CIDR',
      sdnbridge({ AdditionalArgs: [policy({ Type: 'OutBoundNAT', Settings: { Exceptions: ['nope'] } })] }),
      '"AdditionalArgs[0].Value.Settings.Exceptions[0]"',
    ],
    [
      'a port range in an ACL',
      sdnbridge({
        AdditionalArgs: [
          policy({
            Type: 'ACL',
            Settings: { Action: 'Allow', Direction: 'In', Protocols: '6', LocalPorts: '80-90' },
          }),
        ],
      }),
      '"AdditionalArgs[0].Value.Settings.LocalPorts" port range',
    ],
    [
      'ACL ports without TCP or UDP',
      sdnbridge({
        AdditionalArgs: [
          policy({ Type: 'ACL', Settings: { Action: 'Allow', Direction: 'In', LocalPorts: '80' } }),
        ],
      }),
      '"AdditionalArgs[0].Value.Settings.LocalPorts" needs Protocols',
    ],
    [
      'an ACL action HCN lacks',
      sdnbridge({ AdditionalArgs: [policy({ Type: 'ACL', Settings: { Action: 'Deny', Direction: 'In' } })] }),
      '"AdditionalArgs[0].Value.Settings.Action" must be one of Allow, Block',
    ],
    [
      'an ACL address that is not one',
      sdnbridge({
        AdditionalArgs: [
          policy({
            Type: 'ACL',
            Settings: { Action: 'Block', Direction: 'Out', RemoteAddresses: '10.0.0.0/8,x' },
          }),
        ],
      }),
      '"AdditionalArgs[0].Value.Settings.RemoteAddresses" "x"',
    ],
    [
      'an SDN route without destination',
      sdnbridge({ AdditionalArgs: [policy({ Type: 'SDNRoute', Settings: { NeedEncap: true } })] }),
      '"AdditionalArgs[0].Value.Settings.DestinationPrefix" is required',
    ],
    [
      'Settings that are not an object',
      sdnbridge({ AdditionalArgs: [policy({ Type: 'ACL', Settings: 'x' })] }),
      '"AdditionalArgs[0].Value.Settings" must be an object',
    ],
    [
      'AdditionalArgs that is not a list',
      sdnbridge({ AdditionalArgs: {} }),
      '"AdditionalArgs" must be an array',
    ],
    [
      'Nameservers that is not a list',
      sdnbridge({ dns: { Nameservers: '11.0.0.10' } }),
      '"dns.Nameservers" must be an array',
    ],
    [
      'a flag that is not a boolean',
      sdnbridge({ optionalFlags: { loopbackDSR: 'yes' } }),
      '"optionalFlags.loopbackDSR" must be true or false',
    ],
    [
      'a capability that is not a boolean',
      sdnbridge({ capabilities: { portMappings: 'yes' } }),
      '"capabilities.portMappings" must be true or false',
    ],
    ['ipam with neither type nor subnet', sdnbridge({ ipam: { routes: [] } }), '"ipam" needs "type"'],
    [
      'a gateway of the other family',
      sdnbridge({ ipam: { subnet: '10.0.0.0/24', routes: [{ GW: 'fd00::1' }] } }),
      '"ipam.routes[0].GW"',
    ],
    [
      'dual stack on nat',
      { ...sdnbridge({ optionalFlags: { enableDualStack: true } }), type: 'nat' },
      '"optionalFlags.enableDualStack" needs an sdnbridge',
      'nat',
    ],
    ['a bridge name the kernel refuses', sdnbridge({ bridge: 'a-very-long-bridge-name' }), '"bridge"'],
    ['an MTU out of range', sdnbridge({ mtu: 20 }), '"mtu" must be between 68 and 65535'],
    ['an unknown masquerade backend', sdnbridge({ ipMasqBackend: 'pf' }), '"ipMasqBackend"'],
  ];
  test.each(cases)('%s', (_what, doc, message, type) => {
    const error = refusal(doc, type ?? 'sdnbridge');
    expect(error.code).toBe(7);
    expect(error.msg).toContain(message);
  });

  test('the executables answer a bad config with code 7 before touching the OS', async () => {
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c0ffee',
      CNI_NETNS: '/run/netns/none',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/nonexistent',
    };
    for (const [plugin, doc] of [
      [sdnbridgePlugin, { ...sdnbridge(), master: undefined }],
      [natPlugin, { ...sdnbridge(), type: 'nat', ipam: {} }],
    ] as const) {
      const out = await invokePlugin(async () => plugin, env, Buffer.from(JSON.stringify(doc)));
      expect(out.exitCode).toBe(1);
      expect(JSON.parse(out.stdout)).toMatchObject({ code: 7 });
    }
  });
});
