// The per-source status a person reads: one JSON annotation on the source listing every
// destination (cluster, namespace) with its state, the last time the sidecar wrote it, and what is
// wrong if something is. Composed deterministically (sorted, no "last checked" times), so that it
// changes only when something a person would care about changed, and is only then written.
import type { DestinationResult, DestinationState } from './plan.js';
import { StringInterner } from '../src/kube/intern.js';
import { byCodeUnit } from './order.js';

export type StatusState = DestinationState | 'Error' | 'Unreachable' | 'Connecting' | 'NotRegistered';

export interface DestinationStatus {
  cluster: string;
  namespace?: string;
  state: StatusState;
  message?: string;
  lastSync?: string;
}

export interface SourceStatus {
  summary: string;
  error?: string;
  destinations: DestinationStatus[];
}

/** What one cluster's last reconcile of a source found. */
export interface ClusterOutcome {
  invalid?: string;
  results: Array<DestinationResult | { namespace: string; state: 'Error'; message: string }>;
  /** Namespaces written (in that reconcile or, while still Synced, an earlier one), and when. */
  written: WrittenTimes;
}

/**
 * Namespace → time written, as a plain object made by writtenTimes: one per source and cluster is
 * kept as long as the sidecar runs. A Map of ten took about 500 bytes (10,000 sources: 4.7 MiB of
 * hash tables); an object with its keys always added in namespace order shares its shape with
 * every other of the same namespaces. Read it with writtenAt (a namespace may be "constructor").
 */
export type WrittenTimes = Readonly<Record<string, string>>;

export function writtenTimes(entries: Iterable<readonly [string, string]>): WrittenTimes {
  const out: Record<string, string> = {};
  for (const [ns, t] of [...entries].sort(([a], [b]) => byCodeUnit(a, b))) out[ns] = t;
  return out;
}

/** Nothing written (one shared frozen object). */
export const NONE_WRITTEN: WrittenTimes = Object.freeze({});

export const writtenAt = (w: WrittenTimes, namespace: string): string | undefined => (Object.hasOwn(w, namespace) ? w[namespace] : undefined);

export interface ClusterContext {
  name: string;
  state: 'Connecting' | 'Ready' | 'Unreachable';
  lastError: string | undefined;
  /** Whether the source's rules send it to this cluster (for clusters without an outcome yet). */
  targeted: boolean;
}

const MAX_LISTED = 100;

/**
 * Composes a source's status from each cluster's outcome. `previousSync` holds the lastSync times
 * of the status currently on the source (lastSyncTimes): a destination still Synced keeps its
 * time from there (also across restarts).
 */
export function composeStatus(
  outcomes: ReadonlyMap<string, ClusterOutcome>,
  clusters: readonly ClusterContext[],
  unregistered: readonly string[],
  previousSync: WrittenTimes,
): SourceStatus {
  const invalid = [...outcomes.values()].find((o) => o.invalid)?.invalid;
  if (invalid) return { summary: 'invalid sync rules; existing replicas are left as they are', error: invalid, destinations: [] };

  const out: DestinationStatus[] = [];
  for (const c of clusters) {
    const outcome = outcomes.get(c.name);
    if (c.state !== 'Ready' && (c.targeted || outcome)) {
      out.push(withMessage({ cluster: c.name, state: c.state }, c.lastError));
      continue;
    }
    if (!outcome) continue;
    for (const r of outcome.results) {
      const d: DestinationStatus = { cluster: c.name, namespace: r.namespace, state: r.state };
      if (r.message) d.message = r.message;
      const written = writtenAt(outcome.written, r.namespace);
      const lastSync = written ?? writtenAt(previousSync, `${c.name}/${r.namespace}`);
      if (r.state === 'Synced' && lastSync) d.lastSync = lastSync;
      out.push(d);
    }
  }
  for (const name of unregistered) out.push({ cluster: name, state: 'NotRegistered', message: 'no cluster of this name is registered' });
  out.sort((a, b) => byCodeUnit(a.cluster, b.cluster) || byCodeUnit(a.namespace ?? '', b.namespace ?? ''));

  const counts = new Map<string, number>();
  for (const d of out) counts.set(d.state, (counts.get(d.state) ?? 0) + 1);
  const summary =
    out.length === 0
      ? 'no destinations'
      : [...counts]
          .sort(([a], [b]) => byCodeUnit(a, b))
          .map(([s, n]) => `${n} ${s}`)
          .join(', ');
  const listed = out.slice(0, MAX_LISTED);
  return { summary: out.length > MAX_LISTED ? `${summary} (first ${MAX_LISTED} listed)` : summary, destinations: listed };
}

function withMessage(d: DestinationStatus, message: string | undefined): DestinationStatus {
  return message ? { ...d, message } : d;
}

export function parseStatus(text: string | undefined): SourceStatus | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as SourceStatus;
    return Array.isArray(v.destinations) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Now, as the status writes times: RFC 3339 to the second, as Kubernetes writes its own (metav1.Time).
 * Within one second every caller gets the same string, so the times the outcomes keep for
 * 100,000 destinations written in a burst are a few hundred strings, not 100,000.
 */
export function statusTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTime = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return lastTime;
}
let lastSecond = -1;
let lastTime = '';

export const formatStatus = (s: SourceStatus): string => JSON.stringify(s);

/** The lastSync times a status lists, by `cluster/namespace` (the times as one shared string each). */
export function lastSyncTimes(s: SourceStatus | undefined): WrittenTimes {
  const times: Array<[string, string]> = [];
  for (const d of s?.destinations ?? []) if (typeof d.lastSync === 'string') times.push([`${d.cluster}/${d.namespace ?? ''}`, timeStrings.intern(d.lastSync)]);
  return times.length > 0 ? writtenTimes(times) : NONE_WRITTEN;
}
const timeStrings = new StringInterner(10_000);
