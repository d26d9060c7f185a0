// Entry of the `bandwidth` executable: VERSION is answered without loading the plugin.
import { runPluginMain } from '../sdk/main.ts';

void runPluginMain(async () => (await import('./plugin.ts')).bandwidthPlugin);
