// Helpers for whoever creates sources and destinations (the operator marks its generated objects
// with these): pure functions that return the labels and annotations to merge into an object.
import { ACCEPT_FROM, ACCEPT_LABEL, SOURCE_LABEL, TO_CLUSTERS, TO_CLUSTER_SELECTOR, TO_NAMESPACES, TO_NAMESPACE_SELECTOR } from './keys.js';
import { isValidSegment, parseSourcePattern } from './patterns.js';
import { parseSelector } from './selector.js';

export interface SyncTargets {
  /** Namespace names or globs. */
  namespaces?: readonly string[];
  /** Label selector over namespaces. */
  namespaceSelector?: string;
  /** Cluster names or globs; leave out (with clusterSelector) for the source's own cluster only. */
  clusters?: readonly string[];
  /** Label selector over cluster labels. */
  clusterSelector?: string;
}

export interface Marks {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Labels and annotations that make an object a sync source for `targets`. Throws on invalid input. */
export function sourceMarks(targets: SyncTargets): Marks {
  const annotations: Record<string, string> = {};
  const list = (key: string, values: readonly string[] | undefined) => {
    if (!values) return;
    for (const v of values) if (!isValidSegment(v)) throw new Error(`${key}: "${v}" is not a name or glob`);
    annotations[key] = values.join(',');
  };
  const selector = (key: string, text: string | undefined) => {
    if (text === undefined) return;
    const s = parseSelector(text);
    if (typeof s === 'string') throw new Error(`${key}: ${s}`);
    annotations[key] = s.text;
  };
  list(TO_NAMESPACES, targets.namespaces);
  selector(TO_NAMESPACE_SELECTOR, targets.namespaceSelector);
  list(TO_CLUSTERS, targets.clusters);
  selector(TO_CLUSTER_SELECTOR, targets.clusterSelector);
  return { labels: { [SOURCE_LABEL]: 'true' }, annotations };
}

/** Labels and annotations that make a namespace accept the sources matching `patterns`. */
export function acceptMarks(patterns: readonly string[]): Marks {
  for (const p of patterns) {
    const parsed = parseSourcePattern(p);
    if (typeof parsed === 'string') throw new Error(`${ACCEPT_FROM}: ${parsed}`);
  }
  return { labels: { [ACCEPT_LABEL]: 'true' }, annotations: { [ACCEPT_FROM]: patterns.join(',') } };
}

/** Merges marks into an object's metadata without mutating it. */
export function withMarks<T extends { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } }>(
  obj: T,
  marks: Marks,
): T {
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      labels: { ...obj.metadata.labels, ...marks.labels },
      annotations: { ...obj.metadata.annotations, ...marks.annotations },
    },
  };
}
