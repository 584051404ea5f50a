// `make dev`: the embedded default. A local control plane (etcd + kube-apiserver, no cluster
// needed), the operator and the sync sidecar running against it, and the kcp-operator samples. Prints
// the kubeconfig and commands to try; Ctrl-C stops everything and removes what it started.
// (Running the rendered kcp Pods themselves is the pod runner's job, which needs the kcp binaries.)
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { binaryPath, repoRoot } from '../local/binaries.js';
import { startControlPlane } from '../local/control-plane.js';
import { spawnEntry } from '../local/entry.js';
import { freePort } from '../local/ports.js';

const t0 = Date.now();
const cp = await startControlPlane({ name: 'dev' });
console.log(`control plane ready in ${Date.now() - t0} ms`);

const probePort = await freePort();
const operator = spawnEntry(
  'src/main.ts',
  [
    `--kubeconfig=${cp.kubeconfigPath}`,
    `--health-probe-bind-address=127.0.0.1:${probePort}`,
    '--leader-elect',
    '--leader-election-namespace=default',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);

// The sync sidecar beside it, as in the operator's Pod.
const syncProbePort = await freePort();
const sidecar = spawnEntry(
  'sync/main.ts',
  [
    `--kubeconfig=${cp.kubeconfigPath}`,
    '--namespace=default',
    `--health-probe-bind-address=127.0.0.1:${syncProbePort}`,
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);

// Apply the samples users already have, unchanged, with kubectl's server-side apply.
const samples = path.join(repoRoot, '..', 'shared', 'fixtures', 'kcp-operator-samples');
const local = path.join(repoRoot, 'config', 'samples');
const dir = (await readdir(samples).catch(() => undefined)) ? samples : local;
const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith('operator.kcp.io_') && f.endsWith('.yaml'));
for (const f of files.sort()) {
  const docs = parseAllDocuments(await readFile(path.join(dir, f), 'utf8')).filter((d) => d.contents);
  if (docs.length === 0) continue;
  // The RootShard sample asks for a cert-manager issuer, and this local control plane has no
  // cert-manager: use the built-in PKI so the whole sample topology can converge.
  const objs = docs.map((d) => d.toJS() as { kind?: string; spec?: { certificates?: { issuerRef?: unknown } } });
  for (const o of objs) {
    if (o.kind === 'RootShard' && o.spec?.certificates?.issuerRef) {
      delete o.spec.certificates;
      console.log(`${f}: no cert-manager here, so the RootShard uses the built-in PKI (certificates.issuerRef dropped)`);
    }
  }
  const r = spawn(binaryPath('kubectl'), ['--kubeconfig', cp.kubeconfigPath, 'apply', '--server-side', '-n', 'default', '-f', '-'], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  r.stdin.end(objs.map((o) => stringify(o)).join('---\n'));
  await new Promise((resolve) => r.once('exit', resolve));
}

const kubectl = binaryPath('kubectl');
console.log(`
kcp-operator-ts dev environment is up (${Date.now() - t0} ms).
  KUBECONFIG=${cp.kubeconfigPath}
  operator probes and metrics: http://127.0.0.1:${probePort}/readyz  /metrics
  sync sidecar probes and metrics: http://127.0.0.1:${syncProbePort}/readyz  /metrics
Try:
  ${kubectl} --kubeconfig ${cp.kubeconfigPath} get rootshards,shards,frontproxies,cacheservers,kubeconfigs -A
  ${kubectl} --kubeconfig ${cp.kubeconfigPath} explain rootshard.spec.certificates
Ctrl-C stops everything.`);

let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  for (const p of [operator, sidecar]) {
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null ? r(undefined) : p.once('exit', r)));
  }
  await cp.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
operator.once('exit', (code) => {
  if (!stopping) {
    console.error(`operator exited (${code}); stopping`);
    void stop(1);
  }
});
