/**
 * Plays one scenario of bridge-loopback-scenarios.ts on one OS: runs each step's command
 * through the network list (chain.ts), checks the CNI result, asks the OS driver what the OS
 * now holds (in the table's OS-neutral terms) and compares it with the step's outcome. The
 * driver (scenario-driver.ts) is the only OS-specific part: test/linux/scenarios-linux.test.ts
 * and test/windows/scenarios-windows.test.ts each provide one; outcome-checks.ts compares.
 */
import { expect } from 'vitest';
import {
  type AttachmentName,
  type CrossOsScenario,
  isLoopbackOutcome,
  type ScenarioRun,
} from './bridge-loopback-scenarios.ts';
import { runChain } from './chain.ts';
import { OutcomeChecks } from './outcome-checks.ts';
import type { Attachment, ScenarioDriver } from './scenario-driver.ts';

const plainIp = (cidr: string) => cidr.slice(0, cidr.indexOf('/') >>> 0);

export async function runScenario(
  scenario: CrossOsScenario,
  run: ScenarioRun,
  driver: ScenarioDriver,
): Promise<void> {
  const list = scenario.list(run);
  const checks = new OutcomeChecks(scenario, list, run, driver);
  const check = checks.check.bind(checks);
  const attachments = new Map<AttachmentName, Attachment>();

  const attachment = async (name: AttachmentName): Promise<Attachment> => {
    let found = attachments.get(name);
    if (!found) {
      const containerId = `scen-${name}-${Math.random().toString(16).slice(2, 10)}`;
      const netns = await driver.createNamespace(name);
      found = { name, containerId, ifname: scenario.ifname, netns, formerIps: [] };
      attachments.set(name, found);
    }
    return found;
  };

  const call = (
    a: Attachment,
    command: 'ADD' | 'CHECK' | 'DEL',
    extra: { netns?: string; prev?: boolean } = {},
  ) =>
    runChain(
      list,
      {
        command,
        containerId: a.containerId,
        ifname: a.ifname,
        netns: extra.netns ?? a.netns,
        cniPath: driver.cniPath,
        prevResult: extra.prev === false ? undefined : a.result,
        capabilityArgs: scenario.capabilityArgs,
      },
      driver.invoke,
    );

  for (const [index, step] of scenario.steps.entries()) {
    const label = `${driver.os} step ${index + 1} (${step.command}${'attachment' in step ? ` ${step.attachment}` : ''})`;
    if (step.command === 'GC') {
      const lost = await Promise.all(step.lost.map(attachment));
      for (const a of lost) await driver.loseNamespace(a.netns);
      const valid = await Promise.all(step.valid.map(attachment));
      const gc = await runChain(
        list,
        {
          command: 'GC',
          cniPath: driver.cniPath,
          valid: valid.map((a) => ({ containerID: a.containerId, ifname: a.ifname })),
        },
        driver.invoke,
      );
      expect(gc.exitCode, `${label}: ${gc.plugin} ${JSON.stringify(gc.doc)} ${gc.stderr}`).toBe(0);
      for (const a of lost) await checks.gone(`${label}: lost ${a.name}`, a);
      for (const a of valid)
        expect((await driver.observe(list, run, a)).attached, `${label}: ${a.name} survives GC`).toBe(true);
      continue;
    }
    const a = await attachment(step.attachment);
    if (step.command === 'ADD' && 'given' in step) {
      await driver.establish(step.given, list, run);
      const failed = await call(a, 'ADD');
      expect(failed.exitCode, `${label}: must fail`).not.toBe(0);
      check(label, 'result', () =>
        expect(failed.doc).toMatchObject({
          code: step.expectError.code,
          msg: expect.stringMatching(step.expectError.msg),
        }),
      );
      check(label, 'allocations', () =>
        expect(checks.allocations(), `${label}: allocation rolled back`).toEqual([]),
      );
      await checks.gone(label, a);
      continue;
    }
    if (step.command === 'ADD') {
      const added = await call(a, 'ADD');
      expect(added.exitCode, `${label}: ${added.plugin} ${JSON.stringify(added.doc)} ${added.stderr}`).toBe(
        0,
      );
      const result = added.doc as {
        interfaces?: Array<{ name: string; sandbox?: string }>;
        ips?: Array<{ address: string; gateway?: string; interface?: number }>;
        routes?: unknown[];
        dns?: unknown;
      };
      a.result = added.doc;
      a.formerIps = (result.ips ?? []).map((ip) => plainIp(ip.address));
      const want = step.expect;
      if (isLoopbackOutcome(want)) {
        check(label, 'result', () => {
          expect(result.interfaces).toEqual([expect.objectContaining({ name: a.ifname, sandbox: a.netns })]);
          expect((result.ips ?? []).map((ip) => ip.address)).toEqual(want.loopback.addresses);
        });
        const lo = await driver.observeLoopback(a);
        if (lo)
          check(label, 'loopback', () =>
            expect(lo).toEqual({ up: true, addresses: expect.arrayContaining(want.loopback.addresses) }),
          );
        continue;
      }
      check(label, 'result', () => {
        expect(
          (result.ips ?? []).map(({ address, gateway }) => (gateway ? { address, gateway } : { address })),
        ).toEqual(want.ips);
        expect(result.routes ?? []).toEqual(want.routes);
        expect(result.dns).toEqual(want.dns);
        // Every address belongs to the container interface, which lives in the namespace.
        for (const ip of result.ips ?? []) {
          expect(result.interfaces?.[ip.interface ?? -1]).toMatchObject({ name: a.ifname, sandbox: a.netns });
        }
      });
      await checks.outcome(label, a, want);
      continue;
    }
    if (step.command === 'CHECK') {
      const checked = await call(a, 'CHECK');
      expect(
        checked.exitCode,
        `${label}: ${checked.plugin} ${JSON.stringify(checked.doc)} ${checked.stderr}`,
      ).toBe(0);
      continue;
    }
    const deleted = step.withoutNamespace
      ? await call(a, 'DEL', { netns: '', prev: false })
      : await call(a, 'DEL');
    expect(
      deleted.exitCode,
      `${label}: ${deleted.plugin} ${JSON.stringify(deleted.doc)} ${deleted.stderr}`,
    ).toBe(0);
    a.result = undefined;
    await checks.gone(label, a);
  }
}
