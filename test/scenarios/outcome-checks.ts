/**
 * Comparing what an OS holds for an attachment (the driver's Observation) with what a
 * scenario step expects, aspect by aspect. An aspect the scenario lists as a known gap of this
 * OS must fail its check — and once it passes, the run fails so the gap leaves the table.
 * host-local's store (a file per allocated address) is read directly: the same on both OSes.
 */
import { readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { expect } from 'vitest';
import type {
  Aspect,
  AttachmentOutcome,
  CrossOsScenario,
  Forwarding,
  NetworkList,
  ScenarioRun,
} from './bridge-loopback-scenarios.ts';
import type { Attachment, ScenarioDriver } from './scenario-driver.ts';

const sorted = (xs: string[]) => [...xs].sort();
const forwardingKey = (f: Forwarding) => `${f.protocol}/${f.hostPort}->${f.containerIp}:${f.containerPort}`;

export class OutcomeChecks {
  private readonly loopback: boolean;
  private readonly usesHostLocal: boolean;

  constructor(
    private readonly scenario: CrossOsScenario,
    private readonly list: NetworkList,
    private readonly run: ScenarioRun,
    private readonly driver: ScenarioDriver,
  ) {
    this.loopback = list.plugins[0]?.type === 'loopback';
    this.usesHostLocal = (list.plugins[0]?.ipam as { type?: string } | undefined)?.type === 'host-local';
  }

  /** Runs one aspect's check, inverted where the scenario names it a known gap of this OS. */
  check(label: string, aspect: Aspect, fn: () => void): void {
    const os = this.driver.os;
    const gap = this.scenario.knownGaps?.find((g) => g.os === os && g.aspect === aspect);
    if (!gap) {
      fn();
      return;
    }
    let failed = false;
    try {
      fn();
    } catch {
      failed = true;
    }
    expect(
      failed,
      `${label}: known gap on ${os} is no longer there, take it out of the table: ${gap.why}`,
    ).toBe(true);
  }

  /** Addresses host-local holds for the network. */
  allocations(): string[] {
    if (!this.usesHostLocal) return [];
    try {
      return readdirSync(join(this.run.dataDir, this.list.name)).filter((f) => isIP(f) !== 0);
    } catch {
      return [];
    }
  }

  /** Nothing of `a` is left: no interface, no NAT, no forwardings, no allocation (loopback: lo down). */
  async gone(label: string, a: Attachment): Promise<void> {
    if (this.loopback) {
      const lo = await this.driver.observeLoopback(a);
      if (lo) this.check(label, 'gone', () => expect(lo.up, `${label}: lo is still up`).toBe(false));
      return;
    }
    const seen = await this.driver.observe(this.list, this.run, a);
    this.check(label, 'gone', () =>
      expect(
        {
          attached: seen.attached,
          addresses: seen.addresses,
          nat: seen.outboundNat,
          ports: seen.forwardings,
        },
        label,
      ).toEqual({ attached: false, addresses: [], nat: undefined, ports: [] }),
    );
    const held = this.allocations().filter((ip) => a.formerIps.includes(ip));
    this.check(label, 'allocations', () => expect(held, `${label}: allocations left`).toEqual([]));
  }

  /** What ADD must have left for `a`. */
  async outcome(label: string, a: Attachment, want: AttachmentOutcome): Promise<void> {
    const seen = await this.driver.observe(this.list, this.run, a);
    this.check(label, 'attached', () => expect(seen.attached, `${label}: attached`).toBe(true));
    this.check(label, 'addresses', () =>
      expect(sorted(seen.addresses), label).toEqual(sorted(want.ips.map((ip) => ip.address))),
    );
    this.check(label, 'routes', () => {
      for (const route of want.routes) expect(seen.routes, label).toContainEqual(route);
    });
    if (seen.dns !== null) {
      this.check(label, 'dns', () =>
        expect(seen.dns, `${label}: DNS the OS gives the container`).toEqual(want.dns),
      );
    }
    this.check(label, 'host-gateways', () =>
      expect(sorted(seen.hostGateways), label).toEqual(sorted(want.hostGateways ?? [])),
    );
    this.check(label, 'outbound-nat', () =>
      expect(seen.outboundNat && { exceptions: sorted(seen.outboundNat.exceptions) }, label).toEqual(
        want.outboundNat && { exceptions: sorted(want.outboundNat.exceptions) },
      ),
    );
    this.check(label, 'forwardings', () =>
      expect(sorted(seen.forwardings.map(forwardingKey)), label).toEqual(
        sorted((want.forwardings ?? []).map(forwardingKey)),
      ),
    );
    if (this.usesHostLocal) {
      const held = this.allocations();
      this.check(label, 'allocations', () =>
        expect(held, label).toEqual(expect.arrayContaining(a.formerIps)),
      );
    }
  }
}
