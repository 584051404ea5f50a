/** The Kubernetes core types our CRDs embed, by OpenAPI component name. */
export const CORE_ROOTS = [
  'io.k8s.api.core.v1.Affinity',
  'io.k8s.api.core.v1.HostAlias',
  'io.k8s.api.core.v1.LocalObjectReference',
  'io.k8s.api.core.v1.ResourceRequirements',
  'io.k8s.api.core.v1.Toleration',
  'io.k8s.api.core.v1.TopologySpreadConstraint',
  'io.k8s.api.core.v1.Volume',
  'io.k8s.api.core.v1.VolumeMount',
] as const;

export type CoreRoot = (typeof CORE_ROOTS)[number];
