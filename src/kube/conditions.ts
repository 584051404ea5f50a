// metav1.Condition semantics (apimachinery's meta.SetStatusCondition): lastTransitionTime moves
// only when status flips; reason, message and observedGeneration are refreshed in place.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** RFC 3339 at second precision, as the API server stores metav1.Time. */
export function metaTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as metav1.MicroTime requires (Lease renewTime, Event eventTime). */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const existing = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    observedGeneration: input.observedGeneration,
    lastTransitionTime:
      existing && existing.status === input.status ? existing.lastTransitionTime : metaTime(now),
    reason: input.reason,
    message: input.message,
  };
  if (next.observedGeneration === undefined) delete next.observedGeneration;
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** Sets several conditions at once, keeping the order of first appearance stable. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  inputs: readonly ConditionInput[],
  now: Date = new Date(),
): Condition[] {
  return inputs.reduce<Condition[]>((acc, c) => setCondition(acc, c, now), [...(conditions ?? [])]);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}
