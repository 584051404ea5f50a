// `make control-plane`: a local etcd + kube-apiserver with the CRDs installed, until Ctrl-C.
// Prints the admin kubeconfig path (also for benchmarks: `--print-env` prints KUBECONFIG=...).
import { startControlPlane } from '../local/control-plane.js';

const t0 = Date.now();
const cp = await startControlPlane({ name: 'dev', keepDir: process.argv.includes('--keep') });
const ms = Date.now() - t0;
console.log(`control plane ready in ${ms} ms`);
console.log(`KUBECONFIG=${cp.kubeconfigPath}`);
console.log(`try: kubectl --kubeconfig ${cp.kubeconfigPath} get crds`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
await new Promise(() => {});
