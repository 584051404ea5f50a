// The permissions the sidecar needs, as objects: docs/sync.md shows the same YAML (a unit test
// keeps them equal) and the integration tests run the sidecar under exactly these, never as admin.
import type { KubeObject } from '../src/kube/object.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * Bound cluster-wide (kcp-sync-reader). Secrets are not among them: RBAC cannot filter by label,
 * so a cluster-wide Secret read would let the sidecar read every Secret, marked or not.
 * ConfigMaps stay cluster-wide: they hold no secrets by contract, and the informers select only
 * labelled ones.
 */
export const READER_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [
  {
    why: 'watch opted-in ConfigMap sources and its own ConfigMap replicas (label-selected, cluster-wide), and look at a foreign ConfigMap that blocks a destination',
    rule: { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
  },
  {
    why: 'see which namespaces accept what, and which are marked as Secret source namespaces',
    rule: { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  },
  {
    why: 'report conflicts and failures as Events on sources, registrations and namespaces',
    rule: { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
  },
];

/** Bound per namespace (kcp-sync-writer): destinations and the sidecar's own namespace. */
export const WRITER_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [
  {
    why: 'watch its own Secret replicas and the cluster registrations, look at a foreign Secret that blocks a destination, and read Secret sources here',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
  },
  {
    why: 'create, update and delete replicas in accepting namespaces of this cluster',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'update', 'delete'] },
  },
  {
    why: 'write the status annotation on sources, and the finalizer and status on cluster registrations',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['patch'] },
  },
];

/** Bound per namespace (kcp-sync-source): a namespace whose Secrets may be sources, read only. */
export const SOURCE_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [
  {
    why: 'read the Secret sources of a source namespace (only labelled ones are listed)',
    rule: { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
  },
];

/** Everything on the local cluster but the Lease: what localRbac grants cluster-wide. */
export const LOCAL_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [...READER_RULES, ...WRITER_RULES];

export const LEASE_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [
  {
    why: 'leader election (--leader-elect), in the sidecar namespace only',
    rule: { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  },
];

export const REMOTE_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [
  {
    why: 'see which namespaces accept what',
    rule: { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
  },
  {
    why: 'watch its own replicas (label-selected) and look at a foreign object that blocks a destination',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] },
  },
  {
    why: 'create, update and delete replicas',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'update', 'delete'] },
  },
];

export type Subject = { kind: 'User' | 'Group' | 'ServiceAccount'; name: string; namespace?: string };

const subjectOf = (s: Subject) => (s.kind === 'ServiceAccount' ? s : { ...s, apiGroup: 'rbac.authorization.k8s.io' });

/**
 * RBAC for the cluster the sidecar runs on, every rule cluster-wide (as deploy/overlays/sync-cluster-wide
 * grants them): a ClusterRole and binding, and a Role for the Lease. deploy/ grants Secret reads
 * per namespace instead; the install and chaos tests run under deploy/ itself.
 */
export function localRbac(namespace: string, subject: Subject, name = 'kcp-sync'): KubeObject[] {
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: LOCAL_RULES.map((r) => r.rule) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [subjectOf(subject)],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules: LEASE_RULES.map((r) => r.rule) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [subjectOf(subject)],
    },
  ];
}

/** RBAC on a destination cluster for the identity in its registration kubeconfig. */
export function remoteRbac(subject: Subject, name = 'kcp-sync-remote'): KubeObject[] {
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: REMOTE_RULES.map((r) => r.rule) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [subjectOf(subject)],
    },
  ];
}
