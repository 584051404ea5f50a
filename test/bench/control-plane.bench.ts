// Benchmark: warm start of the test control plane (binaries cached), with and without CRDs.
//   npx tsx test/bench/control-plane.bench.ts [runs]
// Appends a section to test/bench/results/control-plane.md.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { machineFacts, stats } from './machine.js';

const runs = Number(process.argv[2] ?? 5);
const results: Record<string, number[]> = { 'etcd + kube-apiserver ready': [], 'ready + CRDs Established': [] };
for (let i = 0; i < runs; i++) {
  for (const [label, crds] of [['etcd + kube-apiserver ready', false], ['ready + CRDs Established', true]] as const) {
    const t0 = performance.now();
    const cp = await startControlPlane({ name: 'bench', crds });
    results[label]!.push(performance.now() - t0);
    await cp.stop();
  }
}
const facts = machineFacts();
const rows = Object.entries(results).map(([label, s]) => {
  const st = stats(s);
  return `| ${label} | ${runs} | ${st.min.toFixed(0)} | ${st.p50.toFixed(0)} | ${st.max.toFixed(0)} |`;
});
const section = [
  `## ${facts.date} (commit ${facts.commit})`,
  '',
  Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`).join('\n'),
  '',
  '| warm start | runs | min ms | p50 ms | max ms |',
  '|---|---|---|---|---|',
  ...rows,
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/control-plane.md'), `${section}\n`);
console.log(section);
