// Opaque Secrets and ConfigMaps the operator renders (kubeconfigs, merged CA bundles, mapping
// files): owned by the CR they belong to, so deleting the CR removes them.
import type { KubeObject } from '../../kube/object.js';
import { controllerRef } from './owner.js';

export interface OwnedObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  owner: KubeObject;
}

export function ownedSecret(meta: OwnedObjectMeta, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: meta.name, namespace: meta.namespace, labels: meta.labels, ownerReferences: [controllerRef(meta.owner)] },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export function ownedConfigMap(meta: OwnedObjectMeta, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: meta.name, namespace: meta.namespace, labels: meta.labels, ownerReferences: [controllerRef(meta.owner)] },
    data,
  };
}
