// A Kubeconfig's ClusterRoleBindings inside kcp, reached with the operator's own certificate:
// list by label, delete what is no longer asked for, apply what is missing or differs. Nothing
// is written when the bindings are already right.
import { isSubset } from '../kube/apply.js';
import type { KubeClient } from '../kube/client.js';
import { isNotFound } from '../kube/errors.js';
import type { KubeList, KubeObject } from '../kube/object.js';
import { resourcePath } from '../kube/resources.js';
import { bindingSelector, ClusterRoleBindings } from '../resources/kubeconfig/rbac.js';
import { FIELD_MANAGER } from './context.js';

const TIMEOUT_MS = 5000;

const bindingsPath = (workspace: string, name?: string) => `/clusters/${workspace}${resourcePath(ClusterRoleBindings, undefined, name)}`;

async function listBindings(client: KubeClient, workspace: string, uid: string): Promise<KubeObject[]> {
  const list = await client.request<KubeList>({
    method: 'GET',
    path: bindingsPath(workspace),
    query: { labelSelector: bindingSelector(uid) },
    verb: 'list',
    timeoutMs: TIMEOUT_MS,
  });
  return list.items ?? [];
}

async function deleteBinding(client: KubeClient, workspace: string, name: string): Promise<void> {
  try {
    await client.request({ method: 'DELETE', path: bindingsPath(workspace, name), verb: 'delete', timeoutMs: TIMEOUT_MS });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Makes the bindings in `workspace` exactly `desired`; returns how many writes it made. */
export async function syncBindings(client: KubeClient, workspace: string, uid: string, desired: readonly KubeObject[]): Promise<number> {
  const existing = await listBindings(client, workspace, uid);
  const wanted = new Map(desired.map((b) => [b.metadata.name ?? '', b]));
  let writes = 0;
  for (const b of existing) {
    if (!wanted.has(b.metadata.name ?? '')) {
      await deleteBinding(client, workspace, b.metadata.name ?? '');
      writes++;
    }
  }
  for (const [name, b] of wanted) {
    const live = existing.find((e) => e.metadata.name === name);
    // List items carry no apiVersion/kind; compare what a binding means.
    if (live && isSubset({ metadata: { labels: b.metadata.labels }, roleRef: b.roleRef, subjects: b.subjects }, live)) continue;
    await client.request({
      method: 'PATCH',
      path: bindingsPath(workspace, name),
      body: b,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
      verb: 'patch',
      timeoutMs: TIMEOUT_MS,
    });
    writes++;
  }
  return writes;
}

/** Removes every binding of the Kubeconfig from `workspace`. */
export async function removeBindings(client: KubeClient, workspace: string, uid: string): Promise<void> {
  for (const b of await listBindings(client, workspace, uid)) await deleteBinding(client, workspace, b.metadata.name ?? '');
}
