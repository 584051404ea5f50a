// Prints the top items of a V8 CPU profile (.cpuprofile, from node --cpu-prof) and of a heap
// snapshot (.heapsnapshot, from --heapsnapshot-signal): self time by function, and for the heap
// the constructors with the most self size and the objects that retain the most (dominator tree),
// with the path that holds them. Used for issue 16 part 4; the profiles themselves are not committed.
//   node --max-old-space-size=4096 --import tsx test/bench/profile-summary.ts FILE... [--top=20] [--callers=FUNCTION]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 20);
const files = args.filter((a) => !a.startsWith('--'));
// --callers=NAME: for a CPU profile, where NAME's self time comes from (its call chains, 6 deep).
const callersOf = args.find((a) => a.startsWith('--callers='))?.slice(10);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function cpu(file: string): void {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    if (!f) return;
    const where = f.url ? `${shorten(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  if (callersOf) return callers(p, byId, callersOf);
  const idle = self.get('(idle)') ?? 0;
  console.log(`\n## CPU ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${((total - idle) / 1e6).toFixed(1)} s busy`);
  console.log('| self ms | % of busy | function |\n|---|---|---|');
  for (const [k, v] of [...self].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| ${(v / 1000).toFixed(0)} | ${((100 * v) / (total - idle)).toFixed(1)} | \`${k}\` |`);
  }
}

function callers(p: CpuProfile, byId: Map<number, CpuNode>, name: string): void {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  p.samples.forEach((id, i) => selfById.set(id, (selfById.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const chains = new Map<string, number>();
  for (const n of p.nodes) {
    if (n.callFrame.functionName !== name) continue;
    const parts: string[] = [];
    for (let x = parent.get(n.id), i = 0; x !== undefined && i < 6; x = parent.get(x), i++) {
      const f = byId.get(x)?.callFrame;
      if (f) parts.push(`${f.functionName || '(anonymous)'} ${shorten(f.url)}:${f.lineNumber + 1}`);
    }
    const k = parts.join(' ← ');
    chains.set(k, (chains.get(k) ?? 0) + (selfById.get(n.id) ?? 0));
  }
  console.log(`\n## Callers of ${name}\n| self ms | called from |\n|---|---|`);
  for (const [k, v] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`| ${(v / 1000).toFixed(0)} | \`${k}\` |`);
}

function shorten(url: string): string {
  const m = /(node_modules\/.*|dist\/.*|src\/.*)$/.exec(url.replace(/^file:\/\//, ''));
  return m?.[1] ?? url.replace(/^node:/, 'node:');
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function heap(file: string): void {
  const h = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const { meta } = h.snapshot;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSelf = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const N = h.nodes.length / NF;
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += h.nodes[i * NF + nEdges]! * EF;
    firstEdge[i + 1] = e;
  }
  const typeOf = (i: number) => nodeTypes[h.nodes[i * NF + nType]!] ?? '?';
  const nameOf = (i: number) => h.strings[h.nodes[i * NF + nName]!] ?? '?';
  const selfOf = (i: number) => h.nodes[i * NF + nSelf]!;
  const label = (i: number) => {
    const t = typeOf(i);
    return t === 'object' || t === 'closure' ? nameOf(i) : `(${t}) ${nameOf(i).slice(0, 40)}`;
  };
  const strong = (e: number) => {
    const t = h.edges[e + eType]!;
    return t !== weak && t !== shortcut;
  };
  // Post-order from the root (node 0), strong edges only.
  const post = new Int32Array(N).fill(-1);
  const order: number[] = [];
  const stack: number[] = [0];
  const cursor = new Uint32Array(N);
  const seen = new Uint8Array(N);
  seen[0] = 1;
  for (let i = 0; i < N; i++) cursor[i] = firstEdge[i]!;
  while (stack.length) {
    const n = stack[stack.length - 1]!;
    let pushed = false;
    while (cursor[n]! < firstEdge[n + 1]!) {
      const e = cursor[n]!;
      cursor[n] = e + EF;
      if (!strong(e)) continue;
      const to = h.edges[e + eTo]! / NF;
      if (!seen[to]) {
        seen[to] = 1;
        stack.push(to);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      post[n] = order.length;
      order.push(n);
    }
  }
  // Predecessors (reachable nodes only), then Cooper–Harvey–Kennedy iterative dominators.
  const predCount = new Uint32Array(N + 1);
  for (const n of order) for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) if (strong(e)) predCount[h.edges[e + eTo]! / NF]!++;
  const predStart = new Uint32Array(N + 1);
  for (let i = 0; i < N; i++) predStart[i + 1] = predStart[i]! + predCount[i]!;
  const preds = new Int32Array(predStart[N]!);
  const fill = predStart.slice(0, N);
  const predEdge = new Int32Array(predStart[N]!);
  for (const n of order) {
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e += EF) {
      if (!strong(e)) continue;
      const to = h.edges[e + eTo]! / NF;
      predEdge[fill[to]!] = e;
      preds[fill[to]!++] = n;
    }
  }
  const idom = new Int32Array(N).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number) => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = order.length - 2; k >= 0; k--) {
      const n = order[k]!;
      let d = -1;
      for (let p = predStart[n]!; p < predStart[n + 1]!; p++) {
        const q = preds[p]!;
        if (idom[q] === -1) continue;
        d = d === -1 ? q : intersect(q, d);
      }
      if (d !== -1 && idom[n] !== d) {
        idom[n] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(N);
  for (const n of order) retained[n] = selfOf(n);
  for (const n of order) if (n !== 0) retained[idom[n]!] = retained[idom[n]!]! + retained[n]!;
  // The edge name by which a node's dominator (or any predecessor) holds it.
  const edgeName = (e: number) => {
    const t = edgeTypes[h.edges[e + eType]!];
    const nm = h.edges[e + eName]!;
    return t === 'element' || t === 'hidden' ? `[${nm}]` : `.${h.strings[nm]}`;
  };
  // The edge by which its dominator holds a node; else (held from several places) the first holder.
  const heldAs = (n: number) => {
    for (let p = predStart[n]!; p < predStart[n + 1]!; p++) if (preds[p] === idom[n]) return edgeName(predEdge[p]!);
    const p = predStart[n]!;
    return p < predStart[n + 1]! ? ` (one of: ${label(preds[p]!)}${edgeName(predEdge[p]!)})` : '';
  };
  const pathOf = (n: number) => {
    const parts: string[] = [];
    for (let x = n, i = 0; x !== 0 && i < 6; x = idom[x]!, i++) parts.unshift(`${label(x)}${heldAs(x)}`);
    return parts.join(' ← ').slice(0, 220);
  };
  let total = 0;
  const byCtor = new Map<string, { count: number; self: number }>();
  for (const n of order) {
    total += selfOf(n);
    const k = label(n);
    const c = byCtor.get(k) ?? { count: 0, self: 0 };
    c.count++;
    c.self += selfOf(n);
    byCtor.set(k, c);
  }
  console.log(`\n## Heap ${path.basename(file)}: ${mib(total)} reachable in ${order.length} nodes`);
  console.log('\nBy constructor (self size):\n| self | count | constructor |\n|---|---|---|');
  for (const [k, v] of [...byCtor].sort((a, b) => b[1].self - a[1].self).slice(0, top)) console.log(`| ${mib(v.self)} | ${v.count} | \`${k.slice(0, 60)}\` |`);
  // Biggest retainers: objects whose retained size is large, skipping synthetic roots and the
  // chains where a single child holds nearly all of it (show the holder, not every link).
  const cands = order.filter((n) => typeOf(n) !== 'synthetic' && retained[n]! > total / 200).sort((a, b) => retained[b]! - retained[a]!);
  console.log('\nBiggest retainers (retained size; path from the GC roots, dominators only):\n| retained | object | held by |\n|---|---|---|');
  let shown = 0;
  for (const n of cands) {
    if (shown >= top) break;
    const d = idom[n]!;
    if (d !== 0 && retained[d]! < retained[n]! * 1.05 && typeOf(d) !== 'synthetic') continue;
    console.log(`| ${mib(retained[n]!)} | \`${label(n)}\` | \`${pathOf(n)}\` |`);
    shown++;
  }
}

for (const f of files) {
  if (f.endsWith('.cpuprofile')) cpu(f);
  else if (f.endsWith('.heapsnapshot')) heap(f);
  else console.error(`skipping ${f}: neither .cpuprofile nor .heapsnapshot`);
}
