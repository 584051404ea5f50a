// One status shape for every kind (observedGeneration, phase, conditions) and the conditions that
// make kubectl wait, kstatus (Flux, kubectl apply-set) and people agree on what is going on:
// - Available: kcp-operator's condition, from the Deployment;
// - Reconciling / Stalled: the kstatus "abnormal-true" pair, so tools see InProgress or Failed.
import type { ResourceType } from '../kube/resources.js';
import { setConditions, type Condition, type ConditionInput } from '../kube/conditions.js';
import { describeError, isForbidden } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import { recordAvailability } from './component-metrics.js';
import type { ControllerContext } from './context.js';

export type Phase = 'Provisioning' | 'Running' | 'Deleting' | 'Failed';

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/** Available from a Deployment: every desired replica updated and available. */
export function deploymentAvailable(dep: KubeObject | undefined, generation: number | undefined): ConditionInput {
  const base = { type: 'Available', observedGeneration: generation };
  if (!dep) return { ...base, status: 'False', reason: 'DeploymentUnavailable', message: 'the Deployment does not exist yet' };
  const spec = dep.spec as { replicas?: number } | undefined;
  const st = (dep.status ?? {}) as DeploymentStatus;
  const want = spec?.replicas ?? 1;
  const available = st.availableReplicas ?? 0;
  const stale = st.observedGeneration !== undefined && dep.metadata.generation !== undefined && st.observedGeneration < dep.metadata.generation;
  if (!stale && available >= want && (st.updatedReplicas ?? 0) >= want) {
    return { ...base, status: 'True', reason: 'ReplicasUp', message: `${available}/${want} replicas available` };
  }
  const cond = st.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
  return {
    ...base,
    status: 'False',
    reason: 'ReplicasUnavailable',
    message: `${available}/${want} replicas available${cond?.message ? `: ${cond.message}` : ''}`,
  };
}

export interface StatusInput {
  obj: KubeObject;
  conditions: ConditionInput[];
  /** Something a person must fix (a bad reference, a broken CA): Stalled, phase Failed. */
  failure?: { reason: string; message: string };
  extra?: Record<string, unknown>;
  /** Work still under way although Available is True (a Kubeconfig's RBAC in kcp): Reconciling stays True. */
  inProgress?: { reason: string; message: string };
}

export function buildStatus({ obj, conditions, failure, extra, inProgress }: StatusInput, now = new Date()): Record<string, unknown> {
  const gen = obj.metadata.generation;
  const available = conditions.find((c) => c.type === 'Available')?.status === 'True';
  const deleting = !!obj.metadata.deletionTimestamp;
  const phase: Phase = deleting ? 'Deleting' : failure ? 'Failed' : available ? 'Running' : 'Provisioning';
  const notAvailable = conditions.find((c) => c.type === 'Available' && c.status !== 'True') ?? inProgress;
  const all: ConditionInput[] = [
    ...conditions,
    failure
      ? { type: 'Stalled', status: 'True', reason: failure.reason, message: failure.message, observedGeneration: gen }
      : { type: 'Stalled', status: 'False', reason: 'NoFailure', message: '', observedGeneration: gen },
    !failure && notAvailable && !deleting
      ? { type: 'Reconciling', status: 'True', reason: notAvailable.reason, message: notAvailable.message, observedGeneration: gen }
      : { type: 'Reconciling', status: 'False', reason: available ? 'Available' : failure ? 'Stalled' : 'Deleting', message: '', observedGeneration: gen },
  ];
  const previous = (obj.status as { conditions?: Condition[] } | undefined)?.conditions;
  // Conditions no longer reported are dropped rather than left stale.
  const kept = previous?.filter((c) => all.some((a) => a.type === c.type));
  return { ...extra, observedGeneration: gen, phase, conditions: setConditions(kept, all, now) };
}

/**
 * Writes the status subresource only if it differs from what the object already shows, and exports
 * its Available condition (kcp_operator_component_available) once written.
 */
export async function writeStatus(ctx: ControllerContext, r: ResourceType, obj: KubeObject, status: Record<string, unknown>): Promise<void> {
  await ctx.applier.applyStatus(r, obj, status);
  recordAvailability(r.kind, obj, status);
}

export const FORBIDDEN = 'Forbidden';

/**
 * The onError of each kind's controller. A reconcile the API server refused for want of an RBAC
 * right (403) is something a person must fix, and the log is not where they look: the object shows
 * Stalled, reason Forbidden, with the refusal (which names the verb and the resource, never a
 * body), and a Warning Event says the same. The next reconcile that gets through rewrites Stalled.
 * Best effort: the missing right may be the one to write status or Events (then the log has it).
 */
export function reportForbidden(ctx: ControllerContext, r: ResourceType, lookup: (key: string) => KubeObject | undefined): (req: { key: string }, err: unknown) => Promise<void> {
  return async (req, err) => {
    if (!isForbidden(err)) return;
    const obj = lookup(req.key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const message = `the operator lacks an RBAC right: ${describeError(err)}`;
    void ctx.events.record(obj, 'Warning', FORBIDDEN, message);
    const status = (obj.status ?? {}) as { conditions?: Condition[] };
    const stalled: ConditionInput = { type: 'Stalled', status: 'True', reason: FORBIDDEN, message, observedGeneration: obj.metadata.generation };
    await ctx.applier.applyStatus(r, obj, { ...status, conditions: setConditions(status.conditions, [stalled]) });
  };
}
