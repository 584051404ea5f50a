// Taking over objects another controller made (kcp-operator, after a migration), so that nothing
// is left half-owned. Server-side apply alone does not get there:
// - an object has at most one controller reference, and ours cannot replace one another field
//   manager wrote (the apply is refused with 422);
// - fields another manager set with an update (kcp-operator's volumes, its revision labels on
//   the pod template) survive our apply even when we do not render them.
// Both become JSON patches, guarded by a test so that a concurrent change fails the request
// instead of being overwritten. Pure: the Applier sends them.
import type { KubeObject, ManagedFieldsEntry, OwnerReference } from './object.js';
import { isPlainObject } from './object.js';

export type JsonPatch = Array<{ op: 'test' | 'remove' | 'replace'; path: string; value?: unknown }>;

/** The patch that removes `live`'s controller reference when `desired` names another controller we may take over from. */
export function releaseControllerPatch(desired: KubeObject, live: KubeObject, mayTakeOver: (ref: OwnerReference) => boolean): JsonPatch | undefined {
  const ours = desired.metadata.ownerReferences?.find((o) => o.controller);
  const refs = live.metadata.ownerReferences ?? [];
  const i = refs.findIndex((o) => o.controller && o.uid !== ours?.uid);
  const theirs = refs[i];
  if (!ours || !theirs || !mayTakeOver(theirs)) return undefined;
  return [
    { op: 'test', path: `/metadata/ownerReferences/${i}/uid`, value: theirs.uid },
    { op: 'remove', path: `/metadata/ownerReferences/${i}` },
  ];
}

/** Union of two FieldsV1 sets (nested objects whose keys are field paths). */
export function unionFields(a: unknown, b: unknown): unknown {
  if (!isPlainObject(a)) return b ?? a;
  if (!isPlainObject(b)) return a;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? unionFields(out[k], v) : v;
  return out;
}

/**
 * The patch that hands the fields of the managers `absorb` names to our apply manager, as if we
 * had applied them: our next apply then removes those we do not render. Status (a subresource)
 * is never absorbed. Undefined when there is nothing to absorb.
 */
export function absorbManagersPatch(live: KubeObject, fieldManager: string, absorb: (manager: string) => boolean, now = new Date()): JsonPatch | undefined {
  const entries = live.metadata.managedFields ?? [];
  const isOurs = (e: ManagedFieldsEntry) => e.manager === fieldManager && e.operation === 'Apply' && !e.subresource;
  const taken = entries.filter((e) => !e.subresource && e.manager !== fieldManager && absorb(e.manager ?? ''));
  if (taken.length === 0) return undefined;
  const ours = entries.find(isOurs);
  const fieldsV1 = [...taken, ...(ours ? [ours] : [])].reduce<unknown>((acc, e) => unionFields(acc, e.fieldsV1), {});
  const merged: ManagedFieldsEntry = {
    manager: fieldManager,
    operation: 'Apply',
    apiVersion: live.apiVersion,
    time: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    fieldsType: 'FieldsV1',
    fieldsV1,
  };
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: live.metadata.resourceVersion },
    { op: 'replace', path: '/metadata/managedFields', value: [...entries.filter((e) => !taken.includes(e) && !isOurs(e)), merged] },
  ];
}
