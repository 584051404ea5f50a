// The only writes the sidecar makes to destination clusters. Each is guarded so that it cannot
// touch an object the sidecar does not own, even when its cache is stale: creation never replaces
// (POST fails on an existing object), updates carry the resourceVersion of the replica that was
// checked (PUT fails if anyone changed it since), deletes carry its uid and resourceVersion as
// preconditions. A failed guard is retried after the cache catches up, never forced.
//
// Not the runtime's Applier (server-side apply with force): a forced apply would merge into an
// object that appeared after the cache was read, and it cannot drop data keys that another field
// manager added by hand; a replica must equal its source exactly. The Applier's idea is kept: the
// engine compares content hashes (apply.ts's contentHash) and writes nothing when they are equal.
import type { KubeClient } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/object.js';
import { resourcePath, type ResourceType } from '../src/kube/resources.js';
import { FIELD_MANAGER } from './keys.js';

export class ReplicaWriter {
  constructor(
    private readonly client: KubeClient,
    private readonly timeoutMs: number,
  ) {}

  create(r: ResourceType, obj: KubeObject): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'POST',
      path: resourcePath(r, obj.metadata.namespace),
      body: obj,
      verb: 'create',
      query: { fieldManager: FIELD_MANAGER },
      timeoutMs: this.timeoutMs,
    });
  }

  /** `obj` must carry the resourceVersion of the replica it replaces. */
  update(r: ResourceType, obj: KubeObject): Promise<KubeObject> {
    if (!obj.metadata.resourceVersion) throw new Error('refusing an unguarded update');
    return this.client.request<KubeObject>({
      method: 'PUT',
      path: resourcePath(r, obj.metadata.namespace, obj.metadata.name ?? ''),
      body: obj,
      verb: 'update',
      query: { fieldManager: FIELD_MANAGER },
      timeoutMs: this.timeoutMs,
    });
  }

  delete(r: ResourceType, namespace: string, name: string, uid: string, resourceVersion: string): Promise<unknown> {
    if (!uid || !resourceVersion) throw new Error('refusing an unguarded delete');
    return this.client.request({
      method: 'DELETE',
      path: resourcePath(r, namespace, name),
      verb: 'delete',
      body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid, resourceVersion }, propagationPolicy: 'Background' },
      timeoutMs: this.timeoutMs,
    });
  }

  get(r: ResourceType, namespace: string, name: string): Promise<KubeObject> {
    return this.client.request<KubeObject>({
      method: 'GET',
      path: resourcePath(r, namespace, name),
      verb: 'get',
      timeoutMs: this.timeoutMs,
    });
  }
}
