// The soak benchmark's arithmetic, kept pure so that it is unit-tested: Prometheus text parsing,
// histogram quantiles from bucket deltas (as PromQL's histogram_quantile), least-squares slopes.

/** One sample line of the Prometheus text format: name, labels, value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const hit = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!hit) continue;
    const labels: Record<string, string> = {};
    for (const m of (hit[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] as string] = m[2] as string;
    out.push({ name: hit[1] as string, labels, value: Number(hit[3]) });
  }
  return out;
}

/** Sum of every series of `name` whose labels include `where`. */
export function sumOf(samples: readonly MetricSample[], name: string, where: Record<string, string> = {}): number {
  let n = 0;
  for (const s of samples) if (s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)) n += s.value;
  return n;
}

/** Cumulative bucket counts of histogram `name`, summed over its series: upper bound → count. */
export function buckets(samples: readonly MetricSample[], name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    out.set(le, (out.get(le) ?? 0) + s.value);
  }
  return out;
}

/** later − earlier, per bucket: the observations made between two scrapes. */
export function bucketDelta(later: Map<number, number>, earlier: Map<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, n] of later) out.set(le, n - (earlier.get(le) ?? 0));
  return out;
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly inside the bucket it falls in (as
 * histogram_quantile does); undefined with no observations. In the +Inf bucket: the highest bound.
 */
export function histogramQuantile(q: number, cumulative: Map<number, number>): number | undefined {
  const sorted = [...cumulative].sort(([a], [b]) => a - b);
  const total = sorted[sorted.length - 1]?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevLe + ((le - prevLe) * (rank - prevCount)) / inBucket : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** Least-squares slope of y over x; undefined with fewer than two distinct x. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? undefined : sxy / sxx;
}

/** The q-quantile of raw samples (nearest rank); undefined when there are none. */
export function quantile(q: number, xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
