/**
 * The bridge plugin on the Windows backend (HCN emulator, in-process, crosscni's host-local
 * in-process) with an HCN failure injected at every step of ADD. A recording transport first
 * learns the HCN operations of a clean ADD; then, for each operation and each HCN function it
 * calls, the emulator fails exactly that call (EmuFailNext, armed just before it). Whatever
 * fails, ADD either succeeds whole or leaves nothing: no endpoint, no namespace attachment, no
 * reserved address, no leaked handle or string. A failure after HCN made the object (create
 * succeeded, the read-back failed) is the interesting case. The same sweep runs for the container
 * attach (CNI_NETNS "none": HNSCall and HCS calls in vmcompute.dll). Also: DEL of an endpoint HNS lost
 * (HNS restarted), of a namespace that is gone, and of a network that is gone, succeeds.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HcnClient } from '../../hns/client.ts';
import { createWindowsPlatform } from '../../hns/index.ts';
import type { HcnCreateRequest, HcnObjectKind, HcnTransport, HcsTransport } from '../../hns/transport.ts';
import type { Platform } from '../../platform/contract.ts';
import { bridgePlugin } from '../../plugins/bridge/plugin.ts';
import { invokePlugin } from '../../plugins/sdk/skel.ts';
import { distBin } from '../support/plugin-exec.ts';
import { type Emulator, expectNoLeaks, startEmulator } from '../windows/emulator-harness.ts';
import { report } from './fixture.ts';

// The plugin asks platform/select.ts for its platform: here, the Windows one on the emulator.
const holder: { platform?: Platform } = {};
vi.mock('../../platform/select.ts', () => ({
  loadPlatform: async () => {
    if (!holder.platform) throw new Error('platform not ready');
    return holder.platform;
  },
}));

const NAME: Record<HcnObjectKind, string> = {
  network: 'Network',
  endpoint: 'Endpoint',
  namespace: 'Namespace',
};

interface Operation {
  /** HcnTransport's operations, and HcsTransport's (vmcompute.dll) for container attach. */
  op: 'list' | 'get' | 'create' | 'modify' | 'delete' | 'hnsCall' | 'modifyComputeSystem';
  kind: HcnObjectKind;
  /** The baseline answer had objects in it (list) or the object existed (get). */
  found: boolean;
}

/** HCN functions an operation certainly calls, in order (Close calls cannot fail usefully). */
function functionsOf(o: Operation): string[] {
  const k = NAME[o.kind];
  switch (o.op) {
    case 'list':
      return o.found ? [`HcnEnumerate${k}s`, `HcnOpen${k}`, `HcnQuery${k}Properties`] : [`HcnEnumerate${k}s`];
    case 'get':
      return o.found ? [`HcnOpen${k}`, `HcnQuery${k}Properties`] : [`HcnOpen${k}`];
    case 'create':
      return [`HcnCreate${k}`, `HcnQuery${k}Properties`];
    case 'modify':
      return [`HcnOpen${k}`, `HcnModify${k}`];
    case 'delete':
      return [`HcnDelete${k}`];
    case 'hnsCall':
      return ['HNSCall'];
    case 'modifyComputeSystem':
      return ['HcsOpenComputeSystem', 'HcsModifyComputeSystem'];
  }
}

/**
 * Forwards to the FFI transport; records the operations, and can arm one emulator failure
 * right before operation `failAt` (so exactly that call fails, whatever ran before it).
 */
class FaultTransport implements HcnTransport {
  readonly name = 'ffi' as const;
  recording: Operation[] = [];
  failAt = -1;
  failFunction = '';
  consumed = false;
  private count = 0;

  constructor(
    private readonly inner: HcnTransport,
    private readonly emu: Emulator,
  ) {}

  arm(at: number, fn: string): void {
    this.failAt = at;
    this.failFunction = fn;
    this.consumed = false;
    this.count = 0;
    this.recording = [];
  }

  private async run<T>(op: Operation['op'], kind: HcnObjectKind, call: () => Promise<T>): Promise<T> {
    const index = this.count++;
    if (index === this.failAt) this.emu.hooks.failNext(this.failFunction, 0x80004005);
    try {
      const value = await call();
      const found = Array.isArray(value) ? value.length > 0 : true;
      this.recording.push({ op, kind, found });
      return value;
    } catch (e) {
      if (index === this.failAt && String(e).includes('injected failure')) this.consumed = true;
      this.recording.push({ op, kind, found: false });
      throw e;
    }
  }

  list(kind: HcnObjectKind, query: string): Promise<string[]> {
    return this.run('list', kind, () => this.inner.list(kind, query));
  }
  get(kind: HcnObjectKind, id: string, query: string): Promise<string> {
    return this.run('get', kind, () => this.inner.get(kind, id, query));
  }
  create(request: HcnCreateRequest): Promise<string> {
    return this.run('create', request.kind, () => this.inner.create(request));
  }
  modify(kind: HcnObjectKind, id: string, request: string): Promise<void> {
    return this.run('modify', kind, () => this.inner.modify(kind, id, request));
  }
  delete(kind: HcnObjectKind, id: string): Promise<void> {
    return this.run('delete', kind, () => this.inner.delete(kind, id));
  }
  /** vmcompute.dll's calls (container attach), recorded and armed like the HCN ones. */
  readonly hcs: HcsTransport = {
    hnsCall: (method, path, request) =>
      this.run('hnsCall', 'endpoint', () => this.inner.hcs!.hnsCall(method, path, request)),
    modifyComputeSystem: (id, request) =>
      this.run('modifyComputeSystem', 'endpoint', () => this.inner.hcs!.modifyComputeSystem(id, request)),
  };
}

let emu: Emulator;
let faults: FaultTransport;
let hns: HcnClient;
let dataDir: string;

beforeAll(async () => {
  emu = await startEmulator();
  faults = new FaultTransport(emu.transport, emu);
  holder.platform = createWindowsPlatform({ transport: faults });
  hns = new HcnClient(emu.transport);
  dataDir = mkdtempSync(join(tmpdir(), 'crosscni-winfault-'));
});
beforeEach(() => {
  emu.hooks.reset();
  faults.arm(-1, '');
  rmSync(join(dataDir, 'winnat'), { recursive: true, force: true });
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const CONFIG = () => ({
  cniVersion: '1.1.0',
  name: 'winnat',
  type: 'bridge',
  bridge: 'winnat0',
  isGateway: true,
  ipMasq: true,
  ipam: { type: 'host-local', ranges: [[{ subnet: '172.30.0.0/24' }]], dataDir },
});

async function call(command: string, netns: string, extra: Record<string, unknown> = {}) {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'c0ffee42',
    CNI_NETNS: netns,
    CNI_IFNAME: 'eth0',
    CNI_PATH: distBin,
  };
  const out = await invokePlugin(
    async () => bridgePlugin,
    env,
    Buffer.from(JSON.stringify({ ...CONFIG(), ...extra })),
  );
  return {
    exitCode: out.exitCode,
    doc: out.stdout ? (JSON.parse(out.stdout) as Record<string, unknown>) : undefined,
  };
}

function reservations(): string[] {
  try {
    return readdirSync(join(dataDir, 'winnat')).filter((f) => isIP(f) !== 0);
  } catch {
    return [];
  }
}

async function attachedEndpoints(ns: string): Promise<unknown[]> {
  return (await hns.getNamespace(ns))?.Resources ?? [];
}

/**
 * Violations of "a failed ADD leaves nothing" that live in the Windows backend (hns/, owned
 * elsewhere) and are reported there. The test still requires them to happen exactly as listed,
 * so fixing one makes this test fail until it is removed from the list, and a new one fails it
 * at once. The DEL that follows every failed ADD is required to clean them up (it does).
 */
// None known. (The last one, an endpoint left in HNS when HcnCreateEndpoint succeeded and reading
// it back failed, is fixed: hns/endpoint.ts deletes it before reporting the failure.)
const KNOWN_HNS_BUGS = new Set<string>([]);

describe('HCN failure at every step of ADD', () => {
  it.each([
    ['network absent', false],
    ['network present', true],
  ])(
    '%s: leaves either a whole attachment or nothing at all',
    async (scenario, networkFirst) => {
      const prepare = async (): Promise<string> => {
        emu.hooks.reset();
        rmSync(join(dataDir, 'winnat'), { recursive: true, force: true });
        faults.arm(-1, '');
        if (networkFirst) {
          // Another pod made the network; it left since (its endpoint and address are gone).
          const other = await holder.platform!.createNamespace('other');
          expect((await call('ADD', other)).exitCode).toBe(0);
          expect((await call('DEL', other)).exitCode).toBe(0);
        }
        return holder.platform!.createNamespace('pod');
      };
      // The clean run: which HCN operations an ADD makes.
      const ns0 = await prepare();
      faults.arm(-1, '');
      const clean = await call('ADD', ns0);
      expect(clean.exitCode, JSON.stringify(clean.doc)).toBe(0);
      const baseline = faults.recording.slice();
      expect(baseline.length).toBeGreaterThan(3);
      expectNoLeaks(emu.hooks);

      const steps = baseline.flatMap((o, at) => functionsOf(o).map((fn) => ({ at, fn, o })));
      const outcomes: string[] = [];
      const violations: string[] = [];
      for (const step of steps) {
        const ns = await prepare();
        faults.arm(step.at, step.fn);
        const answer = await call('ADD', ns);
        const label = `${scenario}: fail ${step.fn} in operation ${step.at} (${step.o.op} ${step.o.kind})`;
        expect(faults.consumed, `${label}: the failure was not reached`).toBe(true);
        const endpoints = await hns.listEndpoints();
        const attached = await attachedEndpoints(ns);
        if (answer.exitCode === 0) {
          // HCN's failure was survivable (e.g. a lookup retried): the attachment must be whole.
          if (endpoints.length !== 1 || attached.length !== 1 || reservations().length !== 1)
            violations.push(`${label}: ADD succeeded but the attachment is not whole`);
          outcomes.push(`${label}: ADD succeeded`);
        } else {
          if (!/injected failure/.test(String(answer.doc?.msg)))
            violations.push(`${label}: the error does not say what failed: ${answer.doc?.msg}`);
          if (endpoints.length) violations.push(`${label}: the failed ADD left its endpoint in HNS`);
          if (attached.length) violations.push(`${label}: the failed ADD left the namespace attachment`);
          if (reservations().length) violations.push(`${label}: the failed ADD left its address reserved`);
          outcomes.push(`${label}: ADD failed (code ${answer.doc?.code})`);
        }
        // DEL after the failed ADD (as the runtime does) succeeds, and leaves nothing at all.
        faults.arm(-1, '');
        expect((await call('DEL', ns)).exitCode, label).toBe(0);
        expect(await hns.listEndpoints(), label).toEqual([]);
        expect(await attachedEndpoints(ns), label).toEqual([]);
        expect(reservations(), label).toEqual([]);
        expectNoLeaks(emu.hooks);
      }
      console.log(
        `windows (${scenario}): ${steps.length} injected failures over ${baseline.length} HCN operations of ADD`,
      );
      for (const outcome of outcomes) console.log(`windows:   ${outcome}`);
      const known = violations.filter((v) => KNOWN_HNS_BUGS.has(v));
      report('windows', {
        scenario,
        operations: baseline.length,
        injected: steps.length,
        knownBugs: known.length,
      });
      for (const v of known) console.log(`windows: KNOWN BUG (hns/, reported): ${v}`);
      expect(violations.filter((v) => !KNOWN_HNS_BUGS.has(v))).toEqual([]);
      expect(known).toEqual([...KNOWN_HNS_BUGS].filter((v) => v.startsWith(`${scenario}:`)));
    },
    120_000,
  );
});

describe('HCN and HCS failure at every step of ADD with CNI_NETNS not a namespace GUID', () => {
  it('container attach by ID: ADD succeeds whole or leaves nothing, and DEL then leaves nothing', async () => {
    const container = 'c0ffee42';
    const prepare = () => {
      emu.hooks.reset();
      rmSync(join(dataDir, 'winnat'), { recursive: true, force: true });
      faults.arm(-1, '');
      emu.hooks.createComputeSystem(container);
    };
    const attachedTo = async (): Promise<string[]> => {
      const endpoint = (await hns.listEndpoints())[0];
      return endpoint ? ((await hns.endpointContainers(endpoint.ID)) ?? []) : [];
    };
    prepare();
    const clean = await call('ADD', 'none');
    expect(clean.exitCode, JSON.stringify(clean.doc)).toBe(0);
    const baseline = faults.recording.slice();
    expect(baseline.map((o) => o.op)).toContain('modifyComputeSystem');
    expect(await attachedTo()).toEqual([container]);
    const steps = baseline.flatMap((o, at) => functionsOf(o).map((fn) => ({ at, fn, o })));
    const violations: string[] = [];
    for (const step of steps) {
      prepare();
      faults.arm(step.at, step.fn);
      const answer = await call('ADD', 'none');
      const label = `fail ${step.fn} in operation ${step.at} (${step.o.op})`;
      expect(faults.consumed, `${label}: the failure was not reached`).toBe(true);
      const endpoints = await hns.listEndpoints();
      if (answer.exitCode === 0) {
        if (endpoints.length !== 1 || (await attachedTo()).length !== 1 || reservations().length !== 1)
          violations.push(`${label}: ADD succeeded but the attachment is not whole`);
      } else {
        if (!/injected failure/.test(String(answer.doc?.msg)))
          violations.push(`${label}: the error does not say what failed: ${answer.doc?.msg}`);
        if (endpoints.length) violations.push(`${label}: the failed ADD left its endpoint in HNS`);
        if (reservations().length) violations.push(`${label}: the failed ADD left its address reserved`);
      }
      faults.arm(-1, '');
      expect((await call('DEL', 'none')).exitCode, label).toBe(0);
      expect(await hns.listEndpoints(), label).toEqual([]);
      expect(reservations(), label).toEqual([]);
      expectNoLeaks(emu.hooks);
    }
    report('windows', {
      scenario: 'container attach',
      operations: baseline.length,
      injected: steps.length,
      knownBugs: 0,
    });
    expect(violations).toEqual([]);
  }, 120_000);
});

describe('HCN failure at every step of DEL', () => {
  it('DEL reports it, the address is released anyway, and the retried DEL leaves nothing', async () => {
    const attach = async (): Promise<string> => {
      emu.hooks.reset();
      rmSync(join(dataDir, 'winnat'), { recursive: true, force: true });
      faults.arm(-1, '');
      const ns = await holder.platform!.createNamespace('pod');
      expect((await call('ADD', ns)).exitCode).toBe(0);
      return ns;
    };
    const ns0 = await attach();
    faults.arm(-1, '');
    expect((await call('DEL', ns0)).exitCode).toBe(0);
    const baseline = faults.recording.slice();
    const steps = baseline.flatMap((o, at) => functionsOf(o).map((fn) => ({ at, fn, o })));
    for (const step of steps) {
      const ns = await attach();
      faults.arm(step.at, step.fn);
      const first = await call('DEL', ns);
      const label = `fail ${step.fn} in operation ${step.at} (${step.o.op} ${step.o.kind}) of DEL`;
      expect(faults.consumed, `${label}: the failure was not reached`).toBe(true);
      if (first.exitCode !== 0) expect(String(first.doc?.msg), label).toMatch(/injected failure/);
      // Spec: DEL releases IPAM even when the interface could not be removed.
      expect(reservations(), label).toEqual([]);
      faults.arm(-1, '');
      expect((await call('DEL', ns)).exitCode, label).toBe(0);
      expect(await hns.listEndpoints(), label).toEqual([]);
      expect(await attachedEndpoints(ns), label).toEqual([]);
      expectNoLeaks(emu.hooks);
    }
    console.log(
      `windows (DEL): ${steps.length} injected failures over ${baseline.length} HCN operations of DEL`,
    );
    report('windows', { scenario: 'DEL', operations: baseline.length, injected: steps.length, knownBugs: 0 });
  }, 120_000);
});

describe('DEL of what HNS already lost', () => {
  async function added(): Promise<{ ns: string; result: Record<string, unknown> }> {
    const ns = await holder.platform!.createNamespace('pod');
    const answer = await call('ADD', ns);
    expect(answer.exitCode, JSON.stringify(answer.doc)).toBe(0);
    return { ns, result: answer.doc! };
  }

  it('an endpoint HNS lost (deleted behind our back): DEL succeeds and releases the address', async () => {
    const { ns, result } = await added();
    const [endpoint] = await hns.listEndpoints();
    await hns.detachEndpoint(ns, endpoint!.ID);
    await hns.deleteEndpoint(endpoint!.ID);
    expect((await call('DEL', ns, { prevResult: result })).exitCode).toBe(0);
    expect(reservations()).toEqual([]);
    expect((await call('DEL', ns, { prevResult: result })).exitCode).toBe(0);
    expectNoLeaks(emu.hooks);
  });

  it('a namespace that is gone, an empty CNI_NETNS, a network that is gone: DEL succeeds', async () => {
    const { ns } = await added();
    await holder.platform!.deleteNamespace(ns).catch(() => undefined);
    expect((await call('DEL', ns)).exitCode).toBe(0);
    expect((await call('DEL', '')).exitCode).toBe(0);
    expect(await hns.listEndpoints()).toEqual([]);
    expect(reservations()).toEqual([]);
    const again = await added();
    emu.hooks.reset();
    expect((await call('DEL', again.ns)).exitCode).toBe(0);
    expect(reservations()).toEqual([]);
    expectNoLeaks(emu.hooks);
  });
});
