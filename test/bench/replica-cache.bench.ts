// Heap per cached replica, synthetic: no API server. N replica Secrets (1 KiB payload, the marks
// the sidecar writes, one managedFields entry), N/10 sources × 10 namespaces, are parsed from JSON
// and fed to an Informer with the sidecar's replica transform and origin index, as the watch would
// (Informer.observe), and planning's state hash is taken for each. The heap after a full GC, less
// the heap before the JSON texts existed, divided by N, is the figure: it moves with what one
// cached replica costs and nothing else (no timers, no network, no other process).
//   node --expose-gc --import tsx test/bench/replica-cache.bench.ts [N=100000] [out=FILE]
// The client is a stand-in that is never called: the informer is never started.
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { Secrets } from '../../src/kube/resources.js';
import { CONTENT_HASH, ORIGIN, ORIGIN_CLUSTER_LABEL, ORIGIN_UID, REPLICA_NAMESPACE } from '../../sync/keys.js';
import { replicaStateHash, slimReplica } from '../../sync/replica.js';
import { machineFacts } from './machine.js';

const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=') as [string, string]));
const N = Number(arg.N ?? 100_000);
const NAMESPACES = 10;
const SOURCES = Math.ceil(N / NAMESPACES);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const fullGc = () => {
  gc();
  gc();
};

const inf = new Informer({} as KubeClient, Secrets, { resyncMs: 0, labelSelector: `${ORIGIN_CLUSTER_LABEL}=local`, transform: (o) => slimReplica('Secret', o) });
inf.addIndex('origin', (o) => {
  const a = o.metadata.annotations?.[ORIGIN];
  return a ? [a] : [];
});
// Informer.observe takes objects only once the informer has listed; this one never lists.
(inf as unknown as { synced: boolean }).synced = true;

const payload = Buffer.alloc(1024, 7).toString('base64');
fullGc();
const base = process.memoryUsage().heapUsed;
let texts: string[] = [];
for (let i = 0; i < N; i++) {
  const s = i % SOURCES;
  const ns = `dest-${Math.floor(i / SOURCES)}`;
  texts.push(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      data: { 'ca.crt': payload },
      metadata: {
        name: `src-${s}`,
        namespace: ns,
        uid: randomUUID(),
        resourceVersion: String(100_000 + i),
        creationTimestamp: '2026-12-03T05:00:00Z',
        labels: { [ORIGIN_CLUSTER_LABEL]: 'local' },
        annotations: { [ORIGIN]: `local/sources/src-${s}`, [ORIGIN_UID]: `00000000-0000-0000-0000-${String(s).padStart(12, '0')}`, [REPLICA_NAMESPACE]: ns, [CONTENT_HASH]: `${s}`.padStart(16, '0') },
        managedFields: [{ manager: 'kcp-sync', operation: 'Update', apiVersion: 'v1', time: '2026-12-03T05:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:ca.crt': {} } } }],
      },
    }),
  );
}
const started = performance.now();
for (const t of texts) inf.observe(JSON.parse(t));
for (const o of inf.list()) replicaStateHash('Secret', o);
const ms = performance.now() - started;
texts = [];
fullGc();
const used = process.memoryUsage().heapUsed - base;
const f = machineFacts();
const line = `| ${f.date} | ${f.commit} | ${inf.size} | ${Math.round(used / inf.size)} B | ${(used / 2 ** 20).toFixed(1)} MiB | ${((ms * 1000) / inf.size).toFixed(1)} µs | ${f.node} |`;
console.log(line);
if (arg.out) appendFileSync(arg.out, `${line}\n`);
