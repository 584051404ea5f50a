// The PodDisruptionBudget beside a component's Deployment (ours; kcp-operator issue #176). It is
// derived from the rendered Deployment itself (name, namespace, labels, selector, owner, replicas),
// so every component that renders a Deployment gets the same budget by the same call, and the
// budget's selector can never drift from the Pods it protects.
import type { PodDisruptionBudgetSpec } from '../../api/disruption.js';
import type { KubeObject, OwnerReference } from '../../kube/object.js';

/** Default budget: one Pod at a time. Unlike minAvailable it never blocks a drain, whatever the scale. */
export const DEFAULT_MAX_UNAVAILABLE = 1;

interface DeploymentShape {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: OwnerReference[] };
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
}

/**
 * Whether the component gets a budget: not with `enabled: false`, and not at one replica or none
 * (a budget over a single Pod either protects nothing or, with minAvailable, blocks every drain).
 * Replicas left unset (to an HPA; the schema defaults them, so only a caller can leave them out)
 * count as several: the default budget is safe at any scale.
 */
export function wantsPodDisruptionBudget(replicas: number | undefined, policy: PodDisruptionBudgetSpec | undefined): boolean {
  if (policy?.enabled === false) return false;
  return replicas === undefined || replicas > 1;
}

/** The desired budget for `deployment`, or undefined when there must be none. */
export function podDisruptionBudget(deployment: KubeObject, policy: PodDisruptionBudgetSpec | undefined): KubeObject | undefined {
  const d = deployment as unknown as DeploymentShape;
  if (!wantsPodDisruptionBudget(d.spec?.replicas, policy)) return undefined;
  const limit =
    policy?.minAvailable !== undefined
      ? { minAvailable: policy.minAvailable }
      : { maxUnavailable: policy?.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: d.metadata.name,
      namespace: d.metadata.namespace,
      ...(d.metadata.labels ? { labels: { ...d.metadata.labels } } : {}),
      ...(d.metadata.ownerReferences ? { ownerReferences: d.metadata.ownerReferences.map((r) => ({ ...r })) } : {}),
    },
    spec: { ...limit, selector: { matchLabels: { ...d.spec?.selector?.matchLabels } } },
  };
}
