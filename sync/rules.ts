// The two halves of consent, parsed from annotations: where a source may go (its rules) and what a
// destination namespace accepts. Pure functions; everything here is unit tested.
import {
  ACCEPT_FROM,
  ACCEPT_LABEL,
  SOURCE_LABEL,
  TO_CLUSTERS,
  TO_CLUSTER_SELECTOR,
  TO_NAMESPACES,
  TO_NAMESPACE_SELECTOR,
} from './keys.js';
import { globMatch, isValidSegment, parseSourcePattern, splitList, type SourcePattern } from './patterns.js';
import { matchesSelector, parseSelector, type Selector } from './selector.js';

export interface SourceRules {
  /** Namespace names or globs. */
  namespaces: string[];
  namespaceSelector: Selector | undefined;
  /** Cluster names or globs; undefined (with no selector either) means the source's own cluster. */
  clusters: string[] | undefined;
  clusterSelector: Selector | undefined;
}

export interface Labelled {
  name: string;
  labels?: Record<string, string> | undefined;
}

type Annotations = Record<string, string> | undefined;

/**
 * A source's rules, or the reason they are invalid. Any invalid entry invalidates the whole set:
 * the engine then leaves existing replicas alone rather than guessing what a typo meant (dropping
 * the entry could delete replicas someone relies on).
 */
export function parseSourceRules(annotations: Annotations): SourceRules | string {
  const a = annotations ?? {};
  const namespaces = splitList(a[TO_NAMESPACES]);
  for (const n of namespaces) if (!isValidSegment(n)) return `${TO_NAMESPACES}: "${n}" is not a namespace name or glob`;
  const clusterList = a[TO_CLUSTERS] === undefined ? undefined : splitList(a[TO_CLUSTERS]);
  for (const c of clusterList ?? []) if (!isValidSegment(c)) return `${TO_CLUSTERS}: "${c}" is not a cluster name or glob`;
  const nsSel = optionalSelector(a[TO_NAMESPACE_SELECTOR], TO_NAMESPACE_SELECTOR);
  if (typeof nsSel === 'string') return nsSel;
  const clSel = optionalSelector(a[TO_CLUSTER_SELECTOR], TO_CLUSTER_SELECTOR);
  if (typeof clSel === 'string') return clSel;
  return { namespaces, namespaceSelector: nsSel, clusters: clusterList, clusterSelector: clSel };
}

/** An empty or absent selector selects nothing (never everything). */
function optionalSelector(text: string | undefined, key: string): Selector | undefined | string {
  if (text === undefined || text.trim() === '') return undefined;
  const s = parseSelector(text);
  return typeof s === 'string' ? `${key}: ${s}` : s;
}

/** Whether the rules send the source to `cluster`; `own` is the name of the source's cluster. */
export function targetsCluster(rules: SourceRules, cluster: Labelled, own: string): boolean {
  if (rules.clusters === undefined && rules.clusterSelector === undefined) return cluster.name === own;
  if (rules.clusters?.some((p) => globMatch(p, cluster.name))) return true;
  return rules.clusterSelector !== undefined && matchesSelector(rules.clusterSelector, cluster.labels);
}

/** Whether the rules name this namespace (by name, glob or selector). Consent is checked apart. */
export function targetsNamespace(rules: SourceRules, ns: Labelled): boolean {
  if (rules.namespaces.some((p) => globMatch(p, ns.name))) return true;
  return rules.namespaceSelector !== undefined && matchesSelector(rules.namespaceSelector, ns.labels);
}

/** Namespace names the rules spell out literally; the status reports which of them did not accept. */
export function literalNamespaces(rules: SourceRules): string[] {
  return rules.namespaces.filter((n) => !n.includes('*') && !n.includes('?'));
}

export function literalClusters(rules: SourceRules): string[] {
  return (rules.clusters ?? []).filter((n) => !n.includes('*') && !n.includes('?'));
}

export interface Acceptance {
  patterns: SourcePattern[];
  /** Entries that did not parse; they are ignored (ignoring one only narrows consent). */
  errors: string[];
}

/** What a namespace accepts: nothing unless it carries both the label and the annotation. */
export function parseAcceptance(ns: { labels?: Record<string, string> | undefined; annotations?: Annotations }): Acceptance {
  if (ns.labels?.[ACCEPT_LABEL] !== 'true') return { patterns: [], errors: [] };
  const patterns: SourcePattern[] = [];
  const errors: string[] = [];
  for (const entry of splitList(ns.annotations?.[ACCEPT_FROM])) {
    const p = parseSourcePattern(entry);
    if (typeof p === 'string') errors.push(p);
    else patterns.push(p);
  }
  return { patterns, errors };
}

export interface SourceRef {
  cluster: string;
  namespace: string;
  name: string;
}

/**
 * Whether a namespace on `destCluster` accepts `source`. A pattern without a cluster part only
 * matches sources from the destination's own cluster, so a namespace that accepts `team/db` never
 * receives a `team/db` from some other cluster by accident.
 */
export function accepts(acceptance: Acceptance, source: SourceRef, destCluster: string): boolean {
  return acceptance.patterns.some(
    (p) =>
      (p.cluster === undefined ? source.cluster === destCluster : globMatch(p.cluster, source.cluster)) &&
      globMatch(p.namespace, source.namespace) &&
      globMatch(p.name, source.name),
  );
}

export const isOptedIn = (labels: Record<string, string> | undefined): boolean => labels?.[SOURCE_LABEL] === 'true';
