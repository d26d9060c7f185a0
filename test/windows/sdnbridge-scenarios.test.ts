// The sdnbridge plugin's cross-OS scenarios (test/scenarios/wcn-scenarios.ts) on the emulated HCN.
import { describeWindowsScenarios } from '../scenarios/windows-runner.ts';

describeWindowsScenarios('sdnbridge');
