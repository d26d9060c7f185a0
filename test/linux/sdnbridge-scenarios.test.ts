// The sdnbridge plugin's cross-OS scenarios (test/scenarios/wcn-scenarios.ts) on the real kernel.
import { describeLinuxScenarios } from '../scenarios/linux-runner.ts';

describeLinuxScenarios('sdnbridge');
