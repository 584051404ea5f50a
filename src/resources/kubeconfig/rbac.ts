// The ClusterRoleBindings a Kubeconfig's `authorization` asks for, created inside kcp (kcp-operator's
// names and labels, so bindings it made are recognised): `<kc.UID>:<clusterRole>`, labelled
// operator.kcp.io/kubeconfig=<UID>, binding the group every certificate of the Kubeconfig carries.
import type { KubeconfigSpec } from '../../api/kubeconfig.js';
import type { KubeObject } from '../../kube/object.js';
import { kubeconfigGroup, LABEL_KUBECONFIG } from '../../pki/hierarchy.js';
import type { ResourceType } from '../../kube/resources.js';

export const ClusterRoleBindings: ResourceType = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  namespaced: false,
};

export function bindingSelector(uid: string): string {
  return `${LABEL_KUBECONFIG}=${uid}`;
}

export function desiredBindings(kc: { name: string; uid: string; spec: KubeconfigSpec }): KubeObject[] {
  const roles = [...new Set(kc.spec.authorization?.clusterRoleBindings.clusterRoles ?? [])].sort();
  return roles.map((role) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `${kc.uid}:${role}`, labels: { [LABEL_KUBECONFIG]: kc.uid } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: kubeconfigGroup(kc.name) }],
  }));
}
