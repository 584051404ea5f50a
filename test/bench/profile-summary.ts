// Prints what a profile says, in a few lines a result file can quote: for a CPU profile
// (node --cpu-prof) the functions with the most self time; for a heap snapshot
// (node --heapsnapshot-signal) the object kinds with the most shallow size and, for each, what
// holds them (parent kind and the property they hang from, weighted by the size held).
//   NODE_OPTIONS=--max-old-space-size=8192 npx tsx test/bench/profile-summary.ts <file or dir>... [top=15]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  samples: number[];
  timeDeltas: number[];
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('top='))?.slice(4) ?? 15);
const files = args
  .filter((a) => !a.startsWith('top='))
  .flatMap((a) => (statSync(a).isDirectory() ? readdirSync(a).map((f) => path.join(a, f)) : [a]))
  .filter((f) => f.endsWith('.cpuprofile') || f.endsWith('.heapsnapshot'))
  .sort();

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
const short = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*\/kcp-sync-scale-[^/]+\//, '');

function cpu(file: string): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byNode = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    byNode.set(id, (byNode.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const byFn = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const us = byNode.get(n.id) ?? 0;
    total += us;
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
    byFn.set(name, (byFn.get(name) ?? 0) + us);
  }
  console.log(`\n### CPU ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, top ${top} by self time\n`);
  console.log('| self ms | % | function |\n|---|---|---|');
  for (const [name, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${(us / 1000).toFixed(0)} | ${((us / total) * 100).toFixed(1)} | \`${name}\` |`);
  }
}

function heap(file: string): void {
  const h = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const m = h.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const [fType, fName, fSize, fEdges] = ['type', 'name', 'self_size', 'edge_count'].map((k) => m.node_fields.indexOf(k)) as [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((k) => m.edge_fields.indexOf(k)) as [number, number, number];
  const nodeTypes = m.node_types[0];
  const edgeTypes = m.edge_types[0];
  const count = h.nodes.length / nf;
  // Group: objects by constructor name, strings together, code and the rest by type.
  const group = (i: number): string => {
    const t = nodeTypes[h.nodes[i * nf + fType] as number] ?? '?';
    if (t === 'object' || t === 'closure' || t === 'native') return `${t === 'object' ? '' : `(${t}) `}${h.strings[h.nodes[i * nf + fName] as number] ?? '?'}`;
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') return '(string)';
    return `(${t})`;
  };
  const groups = new Map<string, { n: number; size: number }>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const size = h.nodes[i * nf + fSize] as number;
    total += size;
    const g = group(i);
    const e = groups.get(g) ?? { n: 0, size: 0 };
    e.n++;
    e.size += size;
    groups.set(g, e);
  }
  const topGroups = [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top);
  const wanted = new Set(topGroups.map(([g]) => g));
  // Retainers: for every edge into a node of a top group, parent group + edge name, by child size.
  const retainers = new Map<string, Map<string, number>>();
  let edge = 0;
  for (let i = 0; i < count; i++) {
    const edges = h.nodes[i * nf + fEdges] as number;
    const parent = group(i);
    for (let k = 0; k < edges; k++, edge++) {
      const to = (h.edges[edge * ef + eTo] as number) / nf;
      const g = group(to);
      if (!wanted.has(g)) continue;
      const et = edgeTypes[h.edges[edge * ef + eType] as number];
      if (et === 'weak' || et === 'shortcut') continue;
      const nameOrIndex = h.edges[edge * ef + eName] as number;
      const via = et === 'element' || et === 'hidden' ? '[]' : (h.strings[nameOrIndex] ?? '?');
      const key = `${parent}.${via}`;
      const r = retainers.get(g) ?? new Map<string, number>();
      r.set(key, (r.get(key) ?? 0) + (h.nodes[to * nf + fSize] as number));
      retainers.set(g, r);
    }
  }
  console.log(`\n### Heap ${path.basename(file)}: ${mib(total)} in ${count} nodes, top ${top} kinds by shallow size\n`);
  console.log('| kind | count | shallow | held mostly by (parent.property, shallow size held) |\n|---|---|---|---|');
  for (const [g, e] of topGroups) {
    const held = [...(retainers.get(g) ?? new Map<string, number>())]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, s]) => `\`${k.replace(/\|/g, '\\|').slice(0, 60)}\` ${mib(s)}`)
      .join('; ');
    console.log(`| \`${g.replace(/\|/g, '\\|').slice(0, 50)}\` | ${e.n} | ${mib(e.size)} | ${held} |`);
  }
}

for (const f of files) (f.endsWith('.cpuprofile') ? cpu : heap)(f);
