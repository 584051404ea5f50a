// What a replica is: the copied content plus the ownership record, and how to tell whether one
// made by us is still right. Pure functions.
import { canonicalJson, contentHash } from '../src/kube/apply.js';
import { StringInterner } from '../src/kube/intern.js';
import type { KubeObject, ObjectMeta } from '../src/kube/object.js';
import {
  CONTENT_HASH,
  ORIGIN,
  ORIGIN_CLUSTER_LABEL,
  ORIGIN_UID,
  REPLICA_NAMESPACE,
  isSyncKey,
} from './keys.js';

export type SyncKind = 'ConfigMap' | 'Secret';
export const SYNC_KINDS: readonly SyncKind[] = ['ConfigMap', 'Secret'];

export interface Origin {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
}

/** `Kind/namespace/name` of a source on the local cluster: the work-queue key. */
export const sourceKey = (kind: SyncKind, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

export function parseSourceKey(key: string): { kind: SyncKind; namespace: string; name: string } | undefined {
  const [kind, namespace, ...rest] = key.split('/');
  if ((kind !== 'ConfigMap' && kind !== 'Secret') || !namespace || rest.length !== 1 || !rest[0]) return undefined;
  return { kind, namespace, name: rest[0] };
}

const nonEmpty = (m: unknown): Record<string, string> | undefined =>
  m && typeof m === 'object' && Object.keys(m).length > 0 ? (m as Record<string, string>) : undefined;

/** The copied part of an object: type and data for a Secret, data and binaryData for a ConfigMap. */
export function copiedContent(kind: SyncKind, obj: KubeObject): Record<string, unknown> {
  if (kind === 'Secret') return { type: (obj.type as string | undefined) ?? 'Opaque', data: nonEmpty(obj.data) };
  return { data: nonEmpty(obj.data), binaryData: nonEmpty(obj.binaryData) };
}

const pickSync = (m: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => isSyncKey(k)));
const dropSync = (m: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !isSyncKey(k)));

/** The replica of `source` for namespace `namespace`, as the sidecar of cluster `own` writes it. */
export function desiredReplica(kind: SyncKind, source: KubeObject, namespace: string, own: string): KubeObject {
  const content = copiedContent(kind, source);
  const hash = sourceContentHash(source, content);
  const metadata: ObjectMeta = {
    name: source.metadata.name,
    namespace,
    labels: { [ORIGIN_CLUSTER_LABEL]: own },
    annotations: {
      [ORIGIN]: `${own}/${source.metadata.namespace}/${source.metadata.name}`,
      [ORIGIN_UID]: source.metadata.uid ?? '',
      [REPLICA_NAMESPACE]: namespace,
      [CONTENT_HASH]: hash,
    },
  };
  // Every desired replica of one source version has the same state hash (the namespace it is
  // made for is folded out, see stateHash), so it is computed once per source, not per namespace.
  let memo = desiredStates.get(source);
  if (memo?.own !== own) desiredStates.set(source, (memo = { own, hash: stateHash(hash, { metadata }) }));
  return new HashedObject({ apiVersion: 'v1', kind, metadata, ...content }, memo.hash);
}

/**
 * An object the sidecar built (a desired replica, or a cached one, slimReplica) with its state
 * hash in a private field: 100,000 cached replicas kept their hashes in a WeakMap whose table
 * alone took 8 MiB. A private field is not copied by spread and not serialized, so a copy (an
 * update body, a test's edit) has no hash and is hashed from its own fields, as any other object.
 * Objects are never changed in place (caches replace them on update), so the hash stays true.
 */
class HashedObject implements KubeObject {
  [field: string]: unknown;
  readonly #stateHash: string;
  declare apiVersion: string;
  declare kind: string;
  declare metadata: ObjectMeta;

  constructor(fields: KubeObject, stateHash: string) {
    this.#stateHash = stateHash;
    Object.assign(this, fields);
  }

  static stateHashOf(obj: KubeObject): string | undefined {
    return #stateHash in obj ? obj.#stateHash : undefined;
  }
}

/** Content hashes of sources (one per source version, not one per destination). */
const contentHashes = new WeakMap<KubeObject, string>();
/** The state hash of a source version's desired replicas, for the cluster name it was made with (a source object is of one kind). */
const desiredStates = new WeakMap<KubeObject, { own: string; hash: string }>();

function sourceContentHash(source: KubeObject, content: Record<string, unknown>): string {
  let h = contentHashes.get(source);
  if (h === undefined) contentHashes.set(source, (h = contentHash(content)));
  return h;
}

/**
 * A live replica as the replica caches keep it: without data and binaryData, which can be large
 * and of which planning needs only the hash, computed here once when the object arrives. The
 * object keeps everything an update needs (metadata, type, immutable); an update body takes its
 * content from the source. A copy of the slim object has no hash and compares as changed (an
 * extra write, never a missed one).
 */
/** Shared by every replica cache of the process (one table, bounded). */
const replicaStrings = new StringInterner();

export function slimReplica(kind: SyncKind, obj: KubeObject): KubeObject {
  const hash = computeStateHash(kind, obj);
  const { data: _data, binaryData: _binaryData, metadata: md, apiVersion, kind: objKind, type, ...others } = obj;
  // The metadata every replica of ours has is laid out in one literal (one object shape, fields
  // in the object itself); anything else (finalizers, owner references added by others) is kept
  // too. creationTimestamp: nothing reads it, and an update need not send it. The strings every
  // replica of a source repeats (names, namespaces, origins, hashes) are shared, and so is each
  // distinct set of labels (frozen: nothing changes a cached object in place).
  const { name, namespace, uid, resourceVersion, labels, annotations, creationTimestamp: _ct, managedFields: _mf, ...extra } = md;
  const metadata: ObjectMeta = {
    name: replicaStrings.intern(name),
    namespace: replicaStrings.intern(namespace),
    uid,
    resourceVersion,
    labels: replicaStrings.sharedRecord(labels) as Record<string, string> | undefined,
    annotations: replicaStrings.record(annotations),
  };
  Object.assign(metadata, extra);
  const fields: KubeObject = { apiVersion: replicaStrings.intern(apiVersion), kind: replicaStrings.intern(objKind), metadata };
  if (type !== undefined) fields.type = replicaStrings.intern(type as string);
  return new HashedObject(Object.assign(fields, others), hash);
}

/**
 * Hash of everything the sidecar decides on a replica: the copied content, `immutable`, and every
 * label and annotation under our prefix (so a hand-added `enabled` label or an edited origin
 * differs too). Equal hashes mean no write; resourceVersions play no part. Objects the sidecar
 * built carry theirs; others (copies) are hashed each time.
 */
export function replicaStateHash(kind: SyncKind, obj: KubeObject): string {
  return HashedObject.stateHashOf(obj) ?? computeStateHash(kind, obj);
}

const computeStateHash = (kind: SyncKind, obj: KubeObject): string => stateHash(contentHash(copiedContent(kind, obj)), obj);

/**
 * The replica-namespace annotation enters as "the namespace the object is in" when it says so, so
 * the ten replicas of a source share one hash (one string in the caches, one computation per
 * source). Objects are only ever compared with others at the same place, where this is the same
 * comparison as with the namespace spelled out.
 */
const SAME_NAMESPACE = '\u0000here';

function stateHash(content: string, obj: { metadata: ObjectMeta; immutable?: unknown }): string {
  const annotations = pickSync(obj.metadata.annotations);
  if (annotations[REPLICA_NAMESPACE] !== undefined && annotations[REPLICA_NAMESPACE] === obj.metadata.namespace) annotations[REPLICA_NAMESPACE] = SAME_NAMESPACE;
  return replicaStrings.intern(
    contentHash({
      content,
      immutable: obj.immutable === true ? true : undefined,
      labels: pickSync(obj.metadata.labels),
      annotations,
    }),
  );
}

/** The update of a live replica of ours: content and our keys replaced, anyone else's metadata kept. */
export function updatedReplica(kind: SyncKind, live: KubeObject, desired: KubeObject): KubeObject {
  const { immutable: _immutable, data: _data, binaryData: _binaryData, stringData: _stringData, ...rest } = live;
  const out: KubeObject = {
    ...rest,
    metadata: {
      ...live.metadata,
      labels: { ...dropSync(live.metadata.labels), ...desired.metadata.labels },
      annotations: { ...dropSync(live.metadata.annotations), ...desired.metadata.annotations },
    },
  };
  for (const [k, v] of Object.entries(copiedContent(kind, desired))) if (v !== undefined) out[k] = v;
  return out;
}

/** Type and immutability cannot change in place: such a replica is deleted and created again. */
export function needsRecreate(kind: SyncKind, live: KubeObject, desired: KubeObject): boolean {
  if (live.immutable === true) return true;
  return kind === 'Secret' && ((live.type as string | undefined) ?? 'Opaque') !== ((desired.type as string | undefined) ?? 'Opaque');
}

export type Ownership = { owned: true; origin: Origin } | { owned: false; reason: string };

/**
 * Whether `obj`, found on cluster `destCluster`, is a replica made by the sidecar of cluster `own`.
 * All marks must agree: our origin-cluster label, an origin naming our cluster, a uid, and the
 * namespace it was made for being the one it is in (a copy moved by hand is not ours). An object
 * whose origin is itself is never a replica, whatever its marks say.
 */
export function ownership(obj: KubeObject, destCluster: string, own: string): Ownership {
  const labels = obj.metadata.labels ?? {};
  const ann = obj.metadata.annotations ?? {};
  if (labels[ORIGIN_CLUSTER_LABEL] !== own) return { owned: false, reason: 'not made by this sidecar' };
  const origin = parseOrigin(ann[ORIGIN]);
  if (!origin || origin.cluster !== own) return { owned: false, reason: 'no valid origin annotation' };
  const uid = ann[ORIGIN_UID];
  if (!uid) return { owned: false, reason: 'no origin uid' };
  if (ann[REPLICA_NAMESPACE] !== obj.metadata.namespace) return { owned: false, reason: 'made for another namespace' };
  if (origin.name !== obj.metadata.name) return { owned: false, reason: 'named unlike its origin' };
  if (destCluster === own && origin.namespace === obj.metadata.namespace && origin.name === obj.metadata.name) {
    return { owned: false, reason: 'its origin is itself' };
  }
  return { owned: true, origin: { ...origin, uid } };
}

/**
 * Whether `obj`, at a place where `source` wants its replica, is that replica with its origin
 * annotation edited by hand: our label, made for this namespace, and the source's uid. Such a
 * replica is restored rather than reported, so an edited annotation cannot take it over.
 */
export function isTamperedReplicaOf(obj: KubeObject, source: KubeObject, own: string): boolean {
  const ann = obj.metadata.annotations ?? {};
  return (
    obj.metadata.labels?.[ORIGIN_CLUSTER_LABEL] === own &&
    ann[REPLICA_NAMESPACE] === obj.metadata.namespace &&
    obj.metadata.name === source.metadata.name &&
    !!source.metadata.uid &&
    ann[ORIGIN_UID] === source.metadata.uid
  );
}

export function parseOrigin(v: string | undefined): Omit<Origin, 'uid'> | undefined {
  const parts = (v ?? '').split('/');
  if (parts.length !== 3 || parts.some((p) => !p)) return undefined;
  return { cluster: parts[0] ?? '', namespace: parts[1] ?? '', name: parts[2] ?? '' };
}

/** Anything carrying replica marks is never a source, so replicas cannot be chained onwards. */
export function hasReplicaMarks(obj: KubeObject): boolean {
  return obj.metadata.labels?.[ORIGIN_CLUSTER_LABEL] !== undefined || obj.metadata.annotations?.[ORIGIN] !== undefined;
}

/** Source fields whose change matters to replicas (everything but our own status annotation). */
export function sourceRelevantHash(obj: KubeObject): string {
  const ann = { ...obj.metadata.annotations };
  for (const k of Object.keys(ann)) if (isSyncKey(k) && k.endsWith('/status')) delete ann[k];
  return canonicalJson({
    uid: obj.metadata.uid,
    deleting: obj.metadata.deletionTimestamp !== undefined,
    labels: pickSync(obj.metadata.labels),
    annotations: pickSync(ann),
    content: contentHash({ type: obj.type, data: obj.data, binaryData: obj.binaryData }),
  });
}

