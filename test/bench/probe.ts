// A probe client in a process of its own (so the benchmark's own work does not delay it):
// sequential GETs of ConfigMap default/probe every 10 ms until SIGTERM, each printed as
// "<epoch ms at start> <duration ms>".   npx tsx test/bench/probe.ts <admin kubeconfig>
import { loadKubeconfigFile } from '../../src/kube/kubeconfig.js';
import { KubeClient } from '../../src/kube/client.js';
import { ConfigMaps } from '../../src/kube/resources.js';

const kc = loadKubeconfigFile(process.argv[2] ?? '');
const client = await KubeClient.fromKubeConfig(kc, { userAgent: 'bench-probe', qps: 0 });
let running = true;
process.on('SIGTERM', () => (running = false));
const lines: string[] = [];
while (running) {
  const t0 = performance.now();
  await client.get(ConfigMaps, 'default', 'probe').catch(() => undefined);
  lines.push(`${(performance.timeOrigin + t0).toFixed(1)} ${(performance.now() - t0).toFixed(2)}`);
  await new Promise((r) => setTimeout(r, 10));
}
client.close();
process.stdout.write(`${lines.join('\n')}\n`);
