// The permissions the sidecar needs, as objects: docs/sync.md shows the same YAML (a unit test
// keeps them equal) and the integration tests run the sidecar under exactly these, never as admin.
import type { KubeObject } from '../src/kube/object.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Each rule with the reason it is needed. */
export const LOCAL_RULES: ReadonlyArray<{ why: string; rule: PolicyRule }> = [
  {
    why: 'watch opted-in sources and its own replicas (label-selected, cluster-wide), and look at a foreign object that blocks a destination',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get', 'list', 'watch'] },
  },
  {
    why: 'create, update and delete replicas in accepting namespaces of this cluster',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'update', 'delete'] },
  },
  {
    why: 'write the status annotation on sources, and the finalizer and status on cluster registrations',
    rule: { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['patch'] },
  },
  {
    why: 'see which namespaces accept what (only namespaces with the accept label are listed)',
    rule: { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  },
  {
    why: 'report conflicts and failures as Events on sources and registrations',
    rule: { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
  },
];

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

/** RBAC for the cluster the sidecar runs on: a ClusterRole and binding, and a Role for the Lease. */
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
