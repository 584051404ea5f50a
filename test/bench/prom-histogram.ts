// One histogram read from a process's Prometheus text (its /metrics), and quantiles estimated from
// it the way PromQL's histogram_quantile() does: linearly within the bucket the rank falls in. Two
// scrapes subtracted give what happened between them, so a benchmark can report a process's own
// timings (a client's request durations, say) for one phase of a run.

/** Cumulative counts by upper bound (`le`), summed over every series whose labels include `match`. */
export type Cumulative = Map<number, number>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function histogramOf(text: string, name: string, match: Record<string, string> = {}): Cumulative {
  const out: Cumulative = new Map();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m || m[1] !== `${name}_bucket`) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1], l[2]]));
    if (Object.entries(match).some(([k, v]) => labels[k] !== v)) continue;
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    out.set(le, (out.get(le) ?? 0) + Number(m[3]));
  }
  return out;
}

/** `later` minus `earlier`, bucket by bucket: the observations made between the two scrapes. */
export function since(later: Cumulative, earlier: Cumulative): Cumulative {
  return new Map([...later].map(([le, n]) => [le, n - (earlier.get(le) ?? 0)]));
}

export function countOf(h: Cumulative): number {
  return h.get(Infinity) ?? 0;
}

/**
 * The q-quantile (0 < q ≤ 1), or NaN without observations. A rank in the +Inf bucket answers the
 * highest finite bound, as histogram_quantile() does; the first bucket starts at 0.
 */
export function quantile(q: number, h: Cumulative): number {
  const bounds = [...h.keys()].sort((a, b) => a - b);
  const total = countOf(h);
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const n = h.get(le) ?? 0;
    if (n >= rank) {
      if (le === Infinity) return lower;
      return n === below ? le : lower + ((le - lower) * (rank - below)) / (n - below);
    }
    lower = le;
    below = n;
  }
  return lower;
}
