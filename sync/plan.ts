// The desired-set computation: for one source and one destination cluster, which replicas must
// exist, which must change, which must go, and which places are taken by someone else. Pure: the
// caller passes in what its caches hold, and executes (or, in dry-run, prints) the actions.
import type { KubeObject } from '../src/kube/object.js';
import { isOptedIn, literalNamespaces, parseSourceRules, accepts, targetsCluster, targetsNamespace, type Acceptance } from './rules.js';
import { desiredReplica, hasReplicaMarks, isTamperedReplicaOf, needsRecreate, ownership, replicaStateHash, updatedReplica, type SyncKind } from './replica.js';
import { byCodeUnit } from './order.js';

export interface NamespaceView {
  name: string;
  labels: Record<string, string>;
  acceptance: Acceptance;
  terminating: boolean;
}

export interface ClusterView {
  name: string;
  labels: Record<string, string>;
  /** Being deregistered: nothing is wanted there any more. */
  draining: boolean;
}

export interface PlanInput {
  kind: SyncKind;
  /** The source's identity (also when the source is gone). */
  namespace: string;
  name: string;
  /** Name of the cluster this sidecar runs on: every source is from it. */
  own: string;
  cluster: ClusterView;
  /** The source from the cache; undefined when it is gone or no longer opted in. */
  source: KubeObject | undefined;
  /** Accepting namespaces on the destination cluster. */
  namespaces: readonly NamespaceView[];
  /** The cached object named like the source in `namespace` (only objects carrying our label are cached). */
  objectAt: (namespace: string) => KubeObject | undefined;
  /** Cached objects whose origin annotation names this source. */
  replicasOf: readonly KubeObject[];
}

export type Action =
  | { op: 'create'; namespace: string; object: KubeObject }
  | { op: 'update'; namespace: string; object: KubeObject }
  | { op: 'recreate'; namespace: string; uid: string; resourceVersion: string; object: KubeObject }
  | { op: 'delete'; namespace: string; name: string; uid: string; resourceVersion: string };

export type DestinationState = 'Synced' | 'Conflict' | 'NotAccepted' | 'Skipped';

export interface DestinationResult {
  namespace: string;
  state: DestinationState;
  message?: string;
}

/**
 * The result "Synced in `namespace`", one frozen object per namespace: outcomes keep one per
 * destination of every source (100,000 at 10,000 sources × 10 namespaces), all alike. Bounded; past
 * the bound the table starts over, which only costs sharing.
 */
export function syncedResult(namespace: string): DestinationResult {
  let r = syncedResults.get(namespace);
  if (r === undefined) {
    if (syncedResults.size >= 10_000) syncedResults.clear();
    syncedResults.set(namespace, (r = Object.freeze({ namespace, state: 'Synced' as const })));
  }
  return r;
}
const syncedResults = new Map<string, DestinationResult>();

export interface Plan {
  /** Set when the source's rules do not parse: nothing is touched, the error is reported. */
  invalid?: string;
  /** Whether the source (still) wants this cluster at all. */
  targeted: boolean;
  actions: Action[];
  /** Per destination namespace, for the status (actions pending count as not yet Synced). */
  results: DestinationResult[];
}

export function planCluster(input: PlanInput): Plan {
  const { kind, own, cluster, source } = input;
  const ref = { cluster: own, namespace: input.namespace, name: input.name };
  const isOurs = (o: KubeObject) => {
    const w = ownership(o, cluster.name, own);
    return w.owned && w.origin.namespace === ref.namespace && w.origin.name === ref.name;
  };

  let wanted = new Map<string, KubeObject>();
  const results: DestinationResult[] = [];
  let targeted = false;
  const live = source && !source.metadata.deletionTimestamp && isOptedIn(source.metadata.labels) && !hasReplicaMarks(source);
  if (live) {
    const rules = parseSourceRules(source.metadata.annotations);
    if (typeof rules === 'string') return { invalid: rules, targeted: false, actions: [], results: [] };
    targeted = !cluster.draining && targetsCluster(rules, cluster, own);
    if (targeted) {
      wanted = new Map();
      for (const ns of input.namespaces) {
        if (ns.terminating || !targetsNamespace(rules, ns)) continue;
        if (cluster.name === own && ns.name === ref.namespace) continue;
        if (!accepts(ns.acceptance, ref, cluster.name)) continue;
        wanted.set(ns.name, desiredReplica(kind, source, ns.name, own));
      }
      for (const n of literalNamespaces(rules)) {
        if (wanted.has(n)) continue;
        if (cluster.name === own && n === ref.namespace) {
          results.push({ namespace: n, state: 'Skipped', message: 'a source is never its own replica' });
        } else {
          results.push({ namespace: n, state: 'NotAccepted', message: 'the namespace does not accept this source' });
        }
      }
    }
  }

  const actions: Action[] = [];
  for (const [namespace, desired] of [...wanted].sort(([a], [b]) => byCodeUnit(a, b))) {
    const found = input.objectAt(namespace);
    if (!found) {
      actions.push({ op: 'create', namespace, object: desired });
      continue;
    }
    const w = ownership(found, cluster.name, own);
    const mine = w.owned ? w.origin.namespace === ref.namespace && w.origin.name === ref.name : false;
    if (!mine && !(source && isTamperedReplicaOf(found, source, own))) {
      const message = w.owned
        ? `the name is taken by a replica of ${w.origin.namespace}/${w.origin.name}`
        : `an object of the same name exists that the sidecar did not create (${w.reason})`;
      results.push({ namespace, state: 'Conflict', message });
      continue;
    }
    if (replicaStateHash(kind, found) === replicaStateHash(kind, desired)) {
      results.push(syncedResult(namespace));
    } else if (needsRecreate(kind, found, desired)) {
      actions.push({
        op: 'recreate',
        namespace,
        uid: found.metadata.uid ?? '',
        resourceVersion: found.metadata.resourceVersion ?? '',
        object: desired,
      });
    } else {
      actions.push({ op: 'update', namespace, object: updatedReplica(kind, found, desired) });
    }
  }
  for (const r of input.replicasOf) {
    const ns = r.metadata.namespace ?? '';
    if (wanted.has(ns) || !isOurs(r)) continue;
    actions.push({
      op: 'delete',
      namespace: ns,
      name: r.metadata.name ?? '',
      uid: r.metadata.uid ?? '',
      resourceVersion: r.metadata.resourceVersion ?? '',
    });
  }
  return { targeted, actions, results };
}
