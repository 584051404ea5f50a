// The soak benchmark's figures from its samples: slopes, first/last counts, p99 per 5-minute
// window, a markdown section appended to soak.md and the SVG plots (plot.ts), in one directory.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lineChartSvg, type Series } from './plot.js';
import { bucketDelta, buckets, histogramQuantile, parseMetrics, quantile, slope, sumOf, type MetricSample } from './soak-stats.js';

export interface Proc {
  name: string;
  pid: number;
  port: number;
  logFile: string;
}

/** One sampling instant: per process, its RSS and its /metrics text. */
export interface Sample {
  at: number;
  procs: Record<string, { rssMiB: number; metrics: string } | undefined>;
}

export interface SoakRun {
  out: string;
  facts: Record<string, string>;
  shape: { kubeconfigs: number; sources: number; namespaces: number; rate: number; minutes: number; warmupMinutes: number; sampleSeconds: number };
  t0: number;
  tChurn: number;
  tChurnEnd: number;
  convergedS: number;
  samples: Sample[];
  /** [epoch ms of the change, ms until the benchmark saw it applied] */
  kcLag: Array<[number, number]>;
  syncLag: Array<[number, number]>;
  changes: { total: number; failed: number; unreflected: number; superseded: number };
  leaks: { texts: number; keys: number; found: number };
  exits: string[];
  load: { atChurn: number[]; atEnd: number[] };
}

/** RSS may grow by at most this much per hour after the warm-up (the stated bound). */
export const RSS_BOUND_MIB_PER_HOUR = Number(process.env.SOAK_RSS_BOUND_MIB_PER_HOUR ?? 20);
const RECONCILE = 'controller_runtime_reconcile_time_seconds';
const WINDOW_MS = 5 * 60_000;
const PLOT_BIN_MS = 30_000;

interface Point {
  at: number;
  rss: number;
  heap: number;
  handles: number;
  resources: number;
  timers: number;
  delayed: number;
  watches: number;
  /** Old-space bytes in use: its minimum over a minute approximates the live heap after GC. */
  old: number;
  reconciles: Map<number, number>;
}

function points(samples: readonly Sample[], proc: string): Point[] {
  const out: Point[] = [];
  for (const s of samples) {
    const p = s.procs[proc];
    if (!p) continue;
    const m: MetricSample[] = parseMetrics(p.metrics);
    out.push({
      at: s.at,
      rss: p.rssMiB,
      heap: sumOf(m, 'nodejs_heap_size_used_bytes') / 2 ** 20,
      handles: sumOf(m, 'nodejs_active_handles_total'),
      resources: sumOf(m, 'nodejs_active_resources_total'),
      timers: sumOf(m, 'nodejs_active_resources', { type: 'Timeout' }),
      delayed: sumOf(m, 'kcp_operator_workqueue_delayed_items'),
      watches: sumOf(m, 'kcp_operator_informer_open_watches'),
      old: sumOf(m, 'nodejs_heap_space_size_used_bytes', { space: 'old' }) / 2 ** 20,
      reconciles: buckets(m, RECONCILE),
    });
  }
  return out;
}

const f = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
const minutes = (run: SoakRun, at: number) => (at - run.t0) / 60_000;

/** Reconcile p99 (ms) between the samples nearest to [from, to]; undefined with no reconciles. */
function reconcileP99(ps: readonly Point[], from: number, to: number): number | undefined {
  const a = [...ps].reverse().find((p) => p.at <= from) ?? ps[0];
  const b = [...ps].reverse().find((p) => p.at <= to);
  if (!a || !b || b.at <= a.at) return undefined;
  const q = histogramQuantile(0.99, bucketDelta(b.reconciles, a.reconciles));
  return q === undefined ? undefined : q * 1000;
}

function windows(run: SoakRun): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let w = run.tChurn; w < run.tChurnEnd - 1000; w += WINDOW_MS) out.push([w, Math.min(w + WINDOW_MS, run.tChurnEnd)]);
  return out;
}

const lagIn = (lags: ReadonlyArray<[number, number]>, from: number, to: number) => lags.filter(([at]) => at >= from && at < to).map(([, ms]) => ms);

/** Writes the report; returns what broke a bound (empty: every bound held). */
export async function report(run: SoakRun): Promise<string[]> {
  const names = ['operator', 'sidecar'];
  const per = new Map(names.map((n) => [n, points(run.samples, n)]));
  const warm = run.tChurn + run.shape.warmupMinutes * 60_000;
  const hours = (at: number) => (at - run.t0) / 3_600_000;
  const steady = (n: string) => (per.get(n) ?? []).filter((p) => p.at >= warm && p.at <= run.tChurnEnd);

  const rows: string[] = [];
  const verdicts: string[] = [];
  const failures: string[] = [];
  for (const n of names) {
    const st = steady(n);
    const rssSlope = slope(st.map((p) => [hours(p.at), p.rss]));
    const heapSlope = slope(st.map((p) => [hours(p.at), p.heap]));
    // The live heap without the garbage in it: per minute the lowest old-space figure (after a GC).
    const floors = new Map<number, number>();
    for (const p of st) {
      const minute = Math.floor((p.at - warm) / 60_000);
      floors.set(minute, Math.min(floors.get(minute) ?? Infinity, p.old));
    }
    const floorPoints = [...floors].map(([m, v]): [number, number] => [hours(warm + (m + 0.5) * 60_000), v]);
    const floorSlope = slope(floorPoints);
    const first = st[0];
    const last = st[st.length - 1];
    const span = (k: keyof Omit<Point, 'at' | 'reconciles'>) => `${f(first?.[k], 0)} → ${f(last?.[k], 0)} (min ${f(Math.min(...st.map((p) => p[k])), 0)}, max ${f(Math.max(...st.map((p) => p[k])), 0)})`;
    const within = rssSlope !== undefined && rssSlope <= RSS_BOUND_MIB_PER_HOUR;
    verdicts.push(`${n} RSS slope ${f(rssSlope)} MiB/h: ${within ? 'within' : 'OUTSIDE'} the bound of ${RSS_BOUND_MIB_PER_HOUR} MiB/h`);
    if (!within) failures.push(`${n} RSS slope`);
    // Growth of a count: its mean over the last third of the steady samples above the first
    // third's by more than 10 % plus one (in-flight requests make handles come and go).
    const third = Math.max(1, Math.floor(st.length / 3));
    const mean = (xs: Point[], k: keyof Omit<Point, 'at' | 'reconciles'>) => xs.reduce((a, p) => a + p[k], 0) / (xs.length || 1);
    for (const k of ['handles', 'resources', 'timers', 'delayed', 'watches'] as const) {
      const a = mean(st.slice(0, third), k);
      const b = mean(st.slice(-third), k);
      if (b > a * 1.1 + 1) failures.push(`${n} ${k} grew (${f(a)} → ${f(b)})`);
    }
    rows.push(
      `| ${n} | ${f(first?.rss, 0)} → ${f(last?.rss, 0)} | **${f(rssSlope)}** | ${f(first?.heap, 0)} → ${f(last?.heap, 0)} | ${f(heapSlope)} | ${f(floorPoints[0]?.[1])} → ${f(floorPoints[floorPoints.length - 1]?.[1])} | ${f(floorSlope)} | ${span('handles')} | ${span('resources')} | ${span('timers')} | ${span('delayed')} | ${span('watches')} |`,
    );
  }

  const latRows: string[] = [];
  for (const [a, b] of windows(run)) {
    const kc = lagIn(run.kcLag, a, b);
    const sy = lagIn(run.syncLag, a, b);
    latRows.push(
      `| ${f(minutes(run, a), 1)}–${f(minutes(run, b), 1)} | ${f(reconcileP99(per.get('operator') ?? [], a, b), 0)} | ${f(reconcileP99(per.get('sidecar') ?? [], a, b), 0)} | ${f(quantile(0.5, kc), 0)} / ${f(quantile(0.99, kc), 0)} (${kc.length}) | ${f(quantile(0.5, sy), 0)} / ${f(quantile(0.99, sy), 0)} (${sy.length}) |`,
    );
  }

  // ---- plots ---------------------------------------------------------------------------------------
  mkdirSync(run.out, { recursive: true });
  const line = (n: string, label: string, pick: (p: Point) => number): Series => ({ name: `${n} ${label}`, points: (per.get(n) ?? []).map((p) => [minutes(run, p.at), pick(p)]) });
  const churnNote = `churn ${f(minutes(run, run.tChurn), 1)}–${f(minutes(run, run.tChurnEnd), 1)} min, warm-up until ${f(minutes(run, warm), 1)} min`;
  const plots: Array<[string, Promise<string>]> = [
    [
      'soak-rss.svg',
      lineChartSvg({
        title: `Soak: memory of both processes (${churnNote})`,
        xTitle: 'minutes since the processes started',
        yTitle: 'MiB',
        series: names.flatMap((n) => [line(n, 'RSS', (p) => p.rss), line(n, 'heap used', (p) => p.heap)]),
      }),
    ],
    [
      'soak-latency.svg',
      lineChartSvg({
        title: `Soak: p99 latency per 30 s (${churnNote})`,
        xTitle: 'minutes since the processes started',
        yTitle: 'ms',
        points: true,
        series: latencySeries(run, per),
      }),
    ],
    [
      'soak-handles.svg',
      lineChartSvg({
        title: 'Soak: active handles, timers and open watches',
        xTitle: 'minutes since the processes started',
        yTitle: 'count',
        series: names.flatMap((n) => [line(n, 'handles', (p) => p.handles), line(n, 'ref\'d timers', (p) => p.timers), line(n, 'queue timers', (p) => p.delayed), line(n, 'watches', (p) => p.watches)]),
      }),
    ],
  ];
  for (const [file, svg] of plots) writeFileSync(path.join(run.out, file), await svg);

  // ---- markdown ------------------------------------------------------------------------------------
  const all = (xs: Array<[number, number]>, from: number) => xs.filter(([at]) => at >= from).map(([, ms]) => ms);
  const s = run.shape;
  const section = [
    `## ${run.facts.date} (commit ${run.facts.commit}), ${s.minutes} min`,
    '',
    ...Object.entries(run.facts).map(([k, v]) => `- ${k}: ${v}`),
    `- load average (1/5/15 min) at churn start: ${run.load.atChurn.map((l) => l.toFixed(2)).join(' / ')}; at the end: ${run.load.atEnd.map((l) => l.toFixed(2)).join(' / ')} (2 cores, shared with other work)`,
    `- shape: RootShard, Shard, FrontProxy, CacheServer (kcp-operator's samples, built-in PKI) and ${s.kubeconfigs} Kubeconfigs; ${s.sources} Secret sources × ${s.namespaces} namespaces = ${s.sources * s.namespaces} replicas; both processes \`node dist/...\` with shipped defaults, \`--log-level=info\``,
    `- converged ${f(run.convergedS, 0)} s after the processes started; churn ${s.rate} changes/s for ${s.minutes} min (half Kubeconfig group changes, half source data changes): ${run.changes.total} changes, ${run.changes.failed} failed writes, ${run.changes.unreflected} not reflected within 60 s after the end, ${run.changes.superseded} Kubeconfig changes superseded before they were reflected`,
    `- sampled every ${s.sampleSeconds} s; slopes by least squares over the samples from ${f(s.warmupMinutes)} min after churn start (the warm-up: V8 sizing its heap for the churn) to churn end; counts below are the first and last of those samples, with their min and max`,
    `- process exits during the run: ${run.exits.length ? run.exits.join(', ') : 'none'}; secret-leak scan: ${run.leaks.found} leaks in ${run.leaks.texts} texts (both logs, Events, statuses, annotations) against ${run.leaks.keys} private keys`,
    `- bound: RSS slope ≤ ${RSS_BOUND_MIB_PER_HOUR} MiB/h per process. ${verdicts.join('; ')}`,
    `- counts (handles, resources, timers, open watches): growth means the mean of the last third of the steady samples above the first third's by more than 10 % + 1: ${failures.filter((x) => x.includes('grew')).join('; ') || 'none grew'}`,
    '',
    '| process | RSS MiB first → last | RSS slope MiB/h | heap used MiB first → last | heap slope MiB/h | live heap MiB (old space, per-minute minimum) first → last | its slope MiB/h | active handles | active resources | ref\'d timers (`Timeout`) | queue timers (delayed items) | open watches |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'p99 per 5-minute window of churn (minutes since the processes started). Reconcile: the processes\' `controller_runtime_reconcile_time_seconds` (all controllers, interpolated in the buckets); the other two measured by the benchmark through its watches (p50 / p99, count):',
    '',
    '| window (min) | operator reconcile p99 ms | sidecar reconcile p99 ms | Kubeconfig change → its Secret, ms | source change → every replica, ms |',
    '|---|---|---|---|---|',
    ...latRows,
    `| whole churn | ${f(reconcileP99(per.get('operator') ?? [], run.tChurn, run.tChurnEnd), 0)} | ${f(reconcileP99(per.get('sidecar') ?? [], run.tChurn, run.tChurnEnd), 0)} | ${f(quantile(0.5, all(run.kcLag, 0)), 0)} / ${f(quantile(0.99, all(run.kcLag, 0)), 0)} (${run.kcLag.length}) | ${f(quantile(0.5, all(run.syncLag, 0)), 0)} / ${f(quantile(0.99, all(run.syncLag, 0)), 0)} (${run.syncLag.length}) |`,
    '',
    'Plots: [memory](soak-rss.svg), [latency](soak-latency.svg), [handles, timers, watches](soak-handles.svg).',
    '',
  ].join('\n');
  console.log(section);
  const md = path.join(run.out, 'soak.md');
  if (!existsSync(md)) {
    writeFileSync(md, '# Soak: both processes under steady churn\n\nMeasured with `make soak` (`test/bench/soak.bench.ts`; its header says what each figure means). The SVGs beside this file are the latest run\'s.\n\n');
  }
  appendFileSync(md, `${section}\n`);
  return failures;
}

function latencySeries(run: SoakRun, per: Map<string, Point[]>): Series[] {
  const bins: number[] = [];
  for (let a = run.tChurn; a < run.tChurnEnd; a += PLOT_BIN_MS) bins.push(a);
  const mid = (a: number) => minutes(run, a + PLOT_BIN_MS / 2);
  const fromLags = (name: string, lags: Array<[number, number]>): Series => ({
    name,
    points: bins.flatMap((a): Array<[number, number]> => {
      const q = quantile(0.99, lagIn(lags, a, a + PLOT_BIN_MS));
      return q === undefined ? [] : [[mid(a), q]];
    }),
  });
  const fromHistogram = (proc: string): Series => ({
    name: `${proc} reconcile`,
    points: bins.flatMap((a): Array<[number, number]> => {
      const q = reconcileP99(per.get(proc) ?? [], a, a + PLOT_BIN_MS);
      return q === undefined ? [] : [[mid(a), q]];
    }),
  });
  return [fromHistogram('operator'), fromHistogram('sidecar'), fromLags('Kubeconfig change → Secret', run.kcLag), fromLags('source change → every replica', run.syncLag)];
}

// Run as a script with the raw samples a soak wrote: makes the report again from them.
//   npx tsx test/bench/soak-report.ts /tmp/kcp-soak-<time>.json [out dir]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const run = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as SoakRun;
  await report({ ...run, out: process.argv[3] ?? run.out });
}
