/**
 * Cross-OS scenarios of the nat and sdnbridge plugins: sample configs in the dialect of
 * microsoft/windows-container-networking (WCN), each with the state an operator should observe
 * on either OS (wcn-scenario-types.ts). One expectation serves both runners: the CNI result must
 * be identical on Linux and Windows; the `linux` block says what the kernel must show and do
 * (linux-runner.ts), the `windows` block what HNS must hold (windows-runner.ts).
 */
import { NAT_SCENARIOS } from './nat-samples.ts';
import { SDNBRIDGE_SCENARIOS } from './sdnbridge-samples.ts';
import type { WcnScenario } from './wcn-scenario-types.ts';

export type { TcpProbe, WcnScenario } from './wcn-scenario-types.ts';

export const WCN_SCENARIOS: WcnScenario[] = [...NAT_SCENARIOS, ...SDNBRIDGE_SCENARIOS];

export function scenariosOf(plugin: WcnScenario['plugin']): WcnScenario[] {
  return WCN_SCENARIOS.filter((s) => s.plugin === plugin);
}
