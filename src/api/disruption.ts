// Ours (kcp-operator issue #176): the PodDisruptionBudget the operator renders beside a component's
// Deployment. One shape for every kind that runs Pods, so a new kind reuses it by one call.
import { boolean, extension, object, rule, type JSONSchemaProps } from './schema.js';

/** A count of Pods or a percentage of the Deployment's replicas, as in policy/v1. */
export type IntOrPercent = number | string;

export interface PodDisruptionBudgetSpec {
  /** Defaults to true: a PDB whenever the component runs more than one replica. */
  enabled?: boolean;
  minAvailable?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
}

// policy/v1 accepts integers >= 0 and percentages up to 100%; anything else would be a 422 on apply,
// so admission refuses it first, naming the field.
function intOrPercent(description: string, field: string): JSONSchemaProps {
  return {
    description,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
    'x-kubernetes-validations': [
      rule(
        "type(self) == int ? self >= 0 : self.matches('^(100|[1-9]?[0-9])%$')",
        `podDisruptionBudget.${field} must be a number of Pods (0 or more) or a percentage from 0% to 100%`,
        { reason: 'FieldValueInvalid' },
      ),
    ],
  };
}

export function podDisruptionBudget(what: string): JSONSchemaProps {
  return object(
    extension(
      `The PodDisruptionBudget for the ${what} Pods, named like the Deployment. By default it exists whenever more than ` +
        'one replica runs, with `maxUnavailable: 1`, so node drains and cluster upgrades evict one Pod at a time; at one ' +
        'replica (or with `enabled: false`) there is none, and one the operator made earlier is deleted.',
    ),
    {
      enabled: boolean(
        'Set to false to have no PodDisruptionBudget (for example to manage your own: two budgets over the same Pods ' +
          'make every eviction fail). Defaults to true.',
      ),
      minAvailable: intOrPercent(
        'Pods that must stay available during a voluntary disruption, as a number or a percentage such as `50%`. ' +
          'Cannot be combined with `maxUnavailable`.',
        'minAvailable',
      ),
      maxUnavailable: intOrPercent(
        'Pods that may be unavailable during a voluntary disruption, as a number or a percentage such as `25%`. ' +
          'Defaults to 1 when `minAvailable` is unset.',
        'maxUnavailable',
      ),
    },
    {
      rules: [
        rule(
          '!(has(self.minAvailable) && has(self.maxUnavailable))',
          'podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable cannot both be set; keep one',
          { fieldPath: '.minAvailable', reason: 'FieldValueForbidden' },
        ),
      ],
    },
  );
}
