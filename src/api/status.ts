// The status shape every kind shares: observedGeneration, phase and metav1.Condition list.
import { CONDITION_REASON, CONDITION_TYPE } from './formats.js';
import { array, extension, integer, object, string, type JSONSchemaProps } from './schema.js';

/**
 * A metav1.Condition as it appears on the wire (times are RFC 3339 strings; client-node's
 * V1Condition uses Date, which is not what the custom-objects API returns).
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** RFC 3339 time. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** Fields every kind's status has. */
export interface CommonStatus<Phase extends string> {
  observedGeneration?: number;
  phase?: Phase;
  conditions?: Condition[];
}

/** Phases of the workload kinds: kcp-operator's three, plus our `Failed`. */
export const WORKLOAD_PHASES = ['Provisioning', 'Running', 'Deleting', 'Failed'] as const;
export type WorkloadPhase = (typeof WORKLOAD_PHASES)[number];

/** Phases of a Kubeconfig (kcp-operator's). */
export const KUBECONFIG_PHASES = ['Provisioning', 'Ready', 'Failed'] as const;
export type KubeconfigPhase = (typeof KUBECONFIG_PHASES)[number];

/** Condition types kcp-operator sets, kept so tools keyed on them keep working. */
export const ConditionType = {
  /** The component's Deployment is fully rolled out (every kind; on a Kubeconfig: its Secret is ready). */
  Available: 'Available',
  /** kcp-operator declares it but does not set it; reserved. */
  Ready: 'Ready',
  /** On Shard and FrontProxy: whether `spec.rootShard.ref` resolves. */
  RootShard: 'RootShard',
  /** On Kubeconfig: whether the target reference resolves. */
  ReferenceValid: 'ReferenceValid',
} as const;

/** Reasons kcp-operator uses on its conditions. */
export const ConditionReason = {
  DeploymentUnavailable: 'DeploymentUnavailable',
  ReplicasUp: 'ReplicasUp',
  ReplicasUnavailable: 'ReplicasUnavailable',
  RootShardRefInvalid: 'InvalidReference',
  RootShardRefNotFound: 'RootShardNotFound',
  RootShardRefValid: 'Valid',
  ReferenceValid: 'ReferenceValid',
  ReferenceNotFound: 'ReferenceNotFound',
} as const;

export function conditionsSchema(): JSONSchemaProps {
  return array(
    'Conditions of the object, one per type. `Available` says whether the component is up; other types say why not. ' +
      'Use `kubectl wait --for=condition=Available`.',
    object(
      'One aspect of the object\'s state (a metav1.Condition).',
      {
        type: string('Condition type in CamelCase, for example `Available`.', {
          pattern: CONDITION_TYPE,
          maxLength: 316,
        }),
        status: string('Whether the condition holds: `True`, `False` or `Unknown`.', {
          enum: ['True', 'False', 'Unknown'],
        }),
        observedGeneration: integer('The metadata.generation this condition was computed from.', {
          format: 'int64',
          minimum: 0,
        }),
        lastTransitionTime: string('When the status last changed (not when the condition was last checked).', {
          format: 'date-time',
        }),
        reason: string('Machine-readable CamelCase reason for the current status.', {
          pattern: CONDITION_REASON,
          minLength: 1,
          maxLength: 1024,
        }),
        message: string('Explanation for people; says what to do when something is wrong. May be empty.', {
          maxLength: 32768,
        }),
      },
      { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
    ),
    { listType: 'map', listMapKeys: ['type'] },
  );
}

/**
 * The status schema of a kind. `extensionStatus` marks observedGeneration (and, for CacheServer,
 * phase and conditions) as ours, since kcp-operator lacks them.
 */
export function statusSchema(
  description: string,
  phases: readonly string[],
  phaseDescription: string,
  extra: Record<string, JSONSchemaProps> = {},
  opts: { phaseAndConditionsAreExtensions?: boolean } = {},
): JSONSchemaProps {
  const ours = (d: string): string => (opts.phaseAndConditionsAreExtensions ? extension(d) : d);
  const conditions = conditionsSchema();
  conditions.description = ours(conditions.description ?? '');
  return object(description, {
    observedGeneration: integer(
      extension('The metadata.generation the operator last acted on. When it is lower than metadata.generation, the status is stale.'),
      { format: 'int64', minimum: 0 },
    ),
    phase: string(ours(phaseDescription), { enum: phases }),
    conditions,
    ...extra,
  });
}
