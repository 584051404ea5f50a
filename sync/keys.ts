// Every label and annotation the sidecar reads or writes. One prefix, ours alone, so that a person
// can tell at a glance which keys belong to the sync sidecar and so that it can strip any key of
// its own from a replica that it did not put there.

export const PREFIX = 'sync.operator.kcp.io/';

// ---- on a source ConfigMap or Secret (written by whoever owns the source) ----------------------

/** Label: `"true"` opts the object in as a source. Informers select on it, so nothing else is watched. */
export const SOURCE_LABEL = `${PREFIX}enabled`;
/** Annotation: comma list of destination namespace names or globs (`team-*`). */
export const TO_NAMESPACES = `${PREFIX}to-namespaces`;
/** Annotation: label selector over destination namespaces (OR'd with to-namespaces). */
export const TO_NAMESPACE_SELECTOR = `${PREFIX}to-namespace-selector`;
/** Annotation: comma list of cluster names or globs; absent means the source's own cluster only. */
export const TO_CLUSTERS = `${PREFIX}to-clusters`;
/** Annotation: label selector over cluster labels (OR'd with to-clusters). */
export const TO_CLUSTER_SELECTOR = `${PREFIX}to-cluster-selector`;

// ---- on a source, written by the sidecar --------------------------------------------------------

/** Annotation: JSON status per destination; written only when it changes. */
export const STATUS_ANNOTATION = `${PREFIX}status`;

// ---- on a source namespace (written by whoever owns the namespace) -------------------------------

/**
 * Label: `"true"` marks the namespace as holding Secret sources. Where Secret reads are granted per
 * namespace (the default install), the sidecar asks only about marked, accepting and its own
 * namespaces, and reports a marked one it may not read.
 */
export const SOURCE_NAMESPACE_LABEL = `${PREFIX}sources`;

// ---- on a destination namespace (written by whoever owns the namespace) --------------------------

/** Label: `"true"` makes the namespace visible to the sidecar at all (informers select on it). */
export const ACCEPT_LABEL = `${PREFIX}accept`;
/** Annotation: comma list of `[cluster/]namespace/name` globs naming the sources this namespace accepts. */
export const ACCEPT_FROM = `${PREFIX}accept-from`;

// ---- on a replica, written by the sidecar: the ownership record ---------------------------------

/** Label: the cluster name of the sidecar that made the replica; replica informers select on it. */
export const ORIGIN_CLUSTER_LABEL = `${PREFIX}origin-cluster`;
/** Annotation: `<cluster>/<namespace>/<name>` of the source. */
export const ORIGIN = `${PREFIX}origin`;
/** Annotation: the source's uid when the replica was last written. */
export const ORIGIN_UID = `${PREFIX}origin-uid`;
/** Annotation: the namespace the replica was made for; a copy moved elsewhere by hand is not ours. */
export const REPLICA_NAMESPACE = `${PREFIX}replica-namespace`;
/** Annotation: hash of what was copied (type, data, binaryData). */
export const CONTENT_HASH = `${PREFIX}content-hash`;

// ---- on a cluster registration Secret (in the sidecar's namespace on the local cluster) ---------

/** Label: `"true"` registers the Secret's `kubeconfig` as a destination cluster named after the Secret. */
export const CLUSTER_LABEL = `${PREFIX}cluster`;
/** Data key holding the kubeconfig. */
export const KUBECONFIG_KEY = 'kubeconfig';
/** Finalizer: replicas on the cluster are removed before the registration goes away. */
export const CLUSTER_FINALIZER = `${PREFIX}cleanup`;
/** Annotation on the registration Secret: the cluster's state, written only when it changes. */
export const CLUSTER_STATUS_ANNOTATION = `${PREFIX}status`;

export const isSyncKey = (k: string): boolean => k.startsWith(PREFIX);

/** Field manager and Event reporter name. */
export const FIELD_MANAGER = 'kcp-sync';
