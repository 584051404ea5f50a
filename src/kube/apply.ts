// Server-side apply that skips the request when nothing would change. The skip needs two facts:
// - the live object already holds every desired value (no drift), and
// - the last apply of this manager sent exactly this desired state, recorded as a hash
//   annotation, so no field we used to set has to be removed.
// Both hold → zero requests. Either fails → one SSA request.
import { createHash } from 'node:crypto';
import type { KubeClient } from './client.js';
import { absorbManagersPatch, releaseControllerPatch } from './adopt.js';
import { describeError, isConflict, isInvalid } from './errors.js';
import { isPlainObject, type KubeObject, type OwnerReference } from './object.js';
import type { ResourceType } from './resources.js';

export const APPLIED_HASH_ANNOTATION = 'ts.operator.kcp.io/applied-hash';

export interface ApplyOutcome<T extends KubeObject> {
  object: T;
  changed: boolean;
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function contentHash(v: unknown, length = 16): string {
  return createHash('sha256').update(canonicalJson(v)).digest('hex').slice(0, length);
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0);

/**
 * True if every value in `desired` is present and equal in `live`. Live may hold more (defaults,
 * other managers' fields). Empty maps and lists, and zero values, match an absent field, because
 * the server drops them.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (Array.isArray(desired) && desired.length === 0) return isEmpty(live);
  if (isPlainObject(desired) && Object.keys(desired).length === 0) return live === undefined || isPlainObject(live);
  if (desired === null || desired === undefined) return live === null || live === undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((d, i) => isSubset(d, live[i]));
  }
  if (isPlainObject(desired)) {
    if (!isPlainObject(live)) return false;
    return Object.entries(desired).every(([k, d]) => (d === undefined ? true : isSubset(d, live[k])));
  }
  // Go types drop zero values (omitempty): a desired 0, false or '' matches an absent field.
  if (live === undefined && (desired === 0 || desired === false || desired === '')) return true;
  return desired === live;
}

/** Where a write's result goes at once, so the next reconcile sees it (an Informer). */
export interface WriteObserver {
  observe(obj: KubeObject): void;
}

export interface ApplierOptions {
  /**
   * Controller references on live objects that this applier may take over when the desired object
   * names another controller (see adopt.ts). Anything else is left for the server to refuse.
   */
  takeOverFrom?: (ref: OwnerReference) => boolean;
  /** Field managers whose fields become ours the first time we apply an object they wrote (see adopt.ts). */
  absorbManagers?: (manager: string) => boolean;
}

export class Applier {
  private readonly observers = new Map<string, WriteObserver>();

  constructor(
    private readonly client: KubeClient,
    readonly fieldManager: string,
    private readonly options: ApplierOptions = {},
  ) {}

  /** Feed the results of writes to resource `r` into `observer` (its informer). */
  observeWrites(r: ResourceType, observer: WriteObserver): void {
    this.observers.set(resourceKey(r), observer);
  }

  /** Reports an object written outside apply (a create) to the resource's observer. */
  written(r: ResourceType, obj: KubeObject): void {
    this.observers.get(resourceKey(r))?.observe(obj);
  }

  /** Applies `desired` unless `live` (from the cache) shows it is already in place. */
  async apply<T extends KubeObject>(r: ResourceType, desired: KubeObject, live?: KubeObject): Promise<ApplyOutcome<T>> {
    const hash = contentHash(desired);
    const stamped: KubeObject = {
      ...desired,
      metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash } },
    };
    if (live && live.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === hash && isSubset(stamped, live)) {
      return { object: live as T, changed: false };
    }
    // Never applied by us (no hash): someone else made it, take it over first. Costs one GET, once per object.
    if (live && live.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === undefined) await this.adopt(r, desired, live);
    let object: T;
    try {
      object = await this.client.apply<T>(r, stamped, this.fieldManager);
    } catch (err) {
      // An object the cache does not show (another controller's, without our labels) may hold
      // the controller reference that makes the server refuse ours: take it over, then once more.
      if (live || !isInvalid(err) || !/ownerReferences/.test(describeError(err))) throw err;
      const current = await this.client.get(r, desired.metadata.namespace, desired.metadata.name ?? '');
      if (!(await this.adopt(r, desired, current))) throw err;
      object = await this.client.apply<T>(r, stamped, this.fieldManager);
    }
    this.written(r, object);
    return { object, changed: true };
  }

  /** Releases another controller's reference and absorbs former managers' fields; true if it changed anything. */
  private async adopt(r: ResourceType, desired: KubeObject, live: KubeObject): Promise<boolean> {
    const { takeOverFrom, absorbManagers } = this.options;
    if (!takeOverFrom && !absorbManagers) return false;
    const fresh = live.metadata.managedFields ? live : await this.client.get(r, live.metadata.namespace, live.metadata.name ?? '');
    const name = fresh.metadata.name ?? '';
    let changed = false;
    const release = takeOverFrom && releaseControllerPatch(desired, fresh, takeOverFrom);
    let current = fresh;
    if (release) {
      current = await this.client.patch(r, fresh.metadata.namespace, name, release, 'json');
      changed = true;
    }
    const absorb = absorbManagers && absorbManagersPatch(current, this.fieldManager, absorbManagers);
    if (absorb) {
      await this.client.patch(r, fresh.metadata.namespace, name, absorb, 'json');
      changed = true;
    }
    return changed;
  }

  /**
   * Applies the status subresource unless the live status already equals `status` on every field
   * given. The status is owned by this manager alone, so no hash is needed.
   */
  async applyStatus<T extends KubeObject>(
    r: ResourceType,
    live: KubeObject,
    status: Record<string, unknown>,
  ): Promise<ApplyOutcome<T>> {
    if (isSubset(status, live.status) && sameKeys(status, live.status)) return { object: live as T, changed: false };
    const body: KubeObject = {
      apiVersion: live.apiVersion,
      kind: live.kind,
      metadata: { name: live.metadata.name, namespace: live.metadata.namespace },
      status,
    };
    const object = await retryOnConflict(() =>
      this.client.apply<T>(r, body, `${this.fieldManager}-status`, { subresource: 'status' }),
    );
    this.written(r, object);
    return { object, changed: true };
  }
}

const resourceKey = (r: ResourceType) => `${r.group}/${r.plural}`;

function sameKeys(a: unknown, b: unknown): boolean {
  if (!isPlainObject(a) || !isPlainObject(b)) return true;
  return Object.keys(b).every((k) => k in a || isEmpty(b[k]));
}

/** Runs `fn` again on 409 Conflict (a stale resourceVersion), a few times with a short pause. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 10 * 2 ** i * (0.5 + Math.random())));
    }
  }
}
