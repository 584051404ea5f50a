// Attacks on the sidecar by a tenant, "mallory", who is admin of her own namespace (and may set
// her namespace's labels and annotations) and nothing else, acting through her own credentials on
// a real API server. Each attack tries to pull someone else's Secret into her namespace, push hers
// into a namespace that did not accept it, or redirect a replica. None may move data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfigFile } from '../../src/kube/kubeconfig.js';
import { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Namespaces, Secrets } from '../../src/kube/resources.js';
import {
  ACCEPT_FROM,
  ACCEPT_LABEL,
  CONTENT_HASH,
  ORIGIN,
  ORIGIN_CLUSTER_LABEL,
  ORIGIN_UID,
  REPLICA_NAMESPACE,
  SOURCE_LABEL,
  STATUS_ANNOTATION,
  TO_NAMESPACES,
} from '../../sync/keys.js';
import type { SourceStatus } from '../../sync/status.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { acceptingNamespace, applyAll, b64, decoded, getOrUndefined, localIdentity, secretSource, startSidecar, type RunningSidecar } from '../bench/sync-fixtures.js';
import { eventually } from './helpers.js';

const SECRET = 'the-production-db-password';

describe('sync sidecar under attack by a namespace tenant', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let mallory: KubeClient;
  let sc: RunningSidecar;
  /** Every version of every Secret in mallory's namespaces and the victim's, as the server sent them. */
  let seen: Informer;
  const observed: KubeObject[] = [];

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'sync-security', crds: false });
    admin = await cp.client('sync-test-admin');
    const kubeconfig = await localIdentity(cp, admin, 'kcp-sync');
    await acceptingNamespace(admin, 'platform', undefined);
    await acceptingNamespace(admin, 'team-good', ['platform/db-creds']);
    await acceptingNamespace(admin, 'victim', ['platform/*']);
    await acceptingNamespace(admin, 'mallory', ['platform/shared-config']);
    await acceptingNamespace(admin, 'mallory-2', undefined);
    // The crown jewels: opted in, for team-good only.
    await admin.create(Secrets, secretSource('platform', 'db-creds', { password: SECRET }, { namespaces: ['team-good'] }));
    // Something platform legitimately shares with mallory.
    await admin.create(Secrets, secretSource('platform', 'shared-config', { endpoint: 'https://db' }, { namespaces: ['mallory'] }));

    await applyAll(admin, [
      // The built-in "admin" role is aggregated by kube-controller-manager, which does not run
      // here; this Role grants what matters for these attacks: everything on her Secrets.
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'tenant-admin', namespace: 'mallory' },
        rules: [{ apiGroups: ['', 'events.k8s.io'], resources: ['secrets', 'configmaps', 'events'], verbs: ['*'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'mallory-admin', namespace: 'mallory' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant-admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'mallory-own-namespace' },
        rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: ['mallory'], verbs: ['get', 'patch', 'update'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'mallory-own-namespace' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'mallory-own-namespace' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
      },
    ]);
    const kc = loadKubeconfigFile(await cp.kubeconfigFor('mallory'));
    mallory = await KubeClient.fromKubeConfig(kc, { userAgent: 'mallory', qps: 0 });

    seen = new Informer(admin, Secrets, {});
    seen.on({ add: (o) => observed.push(o), update: (_o, n) => observed.push(n) });
    seen.start();
    await seen.waitForSync();
    sc = await startSidecar(kubeconfig, { namespace: 'kcp-sync', clusterName: 'hub' });
    await eventually('legitimate replicas', async () => (await getOrUndefined(admin, Secrets, 'team-good', 'db-creds')) && (await getOrUndefined(admin, Secrets, 'mallory', 'shared-config')));
  });
  afterAll(async () => {
    await sc?.stop();
    await seen?.stop();
    mallory?.close();
    admin?.close();
    await cp?.stop();
  });

  /** No Secret outside platform and team-good ever held the password, in any version. */
  const leaked = () =>
    observed.filter((o) => !['platform', 'team-good'].includes(o.metadata.namespace ?? '') && Object.values(decoded(o) ?? {}).includes(SECRET));

  const settle = (ms = 2000) => new Promise((r) => setTimeout(r, ms));

  it('mallory has only her own rights (the premise of every attack)', async () => {
    await expect(mallory.get(Secrets, 'platform', 'db-creds')).rejects.toMatchObject({ code: 403 });
    await expect(mallory.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'victim' } })).rejects.toMatchObject({ code: 403 });
    await expect(mallory.patch(Namespaces, undefined, 'victim', { metadata: { labels: { a: 'b' } } }, 'merge')).rejects.toMatchObject({ code: 403 });
  });

  it('pull: a namespace accepting a source that never named it receives nothing', async () => {
    await mallory.patch(
      Namespaces,
      undefined,
      'mallory',
      { metadata: { labels: { [ACCEPT_LABEL]: 'true' }, annotations: { [ACCEPT_FROM]: 'platform/db-creds,platform/*,*/*/*,*/platform/db-creds,shared-config' } } },
      'merge',
    );
    // shared-config was named: must keep working (the pattern list above still covers it).
    await settle();
    expect(await mallory.get(Secrets, 'mallory', 'shared-config')).toBeDefined();
    await expect(mallory.get(Secrets, 'mallory', 'db-creds')).rejects.toMatchObject({ code: 404 });
    expect(leaked()).toEqual([]);
  });

  it('push: a source naming a namespace that did not accept it moves nothing there', async () => {
    // victim accepts platform/* only; team-good accepts platform/db-creds only (same name as hers).
    await mallory.create(Secrets, secretSource('mallory', 'db-creds', { password: 'attacker-controlled' }, { namespaces: ['victim', 'team-good', '*'] }));
    await mallory.create(Secrets, secretSource('mallory', 'implant', { x: 'y' }, { namespaceSelector: 'kubernetes.io/metadata.name' }));
    await settle();
    expect(await getOrUndefined(admin, Secrets, 'victim', 'db-creds')).toBeUndefined();
    expect(await getOrUndefined(admin, Secrets, 'victim', 'implant')).toBeUndefined();
    expect(await getOrUndefined(admin, Secrets, 'team-good', 'implant')).toBeUndefined();
    expect(decoded(await admin.get(Secrets, 'team-good', 'db-creds'))).toEqual({ password: SECRET });
    // Her status lists only what she named literally, not which namespaces exist or accept others.
    // (Written once the sidecar has got round to her source: waited for, not assumed.)
    const st = await eventually('status on her source', async () => {
      const text = (await mallory.get(Secrets, 'mallory', 'db-creds')).metadata.annotations?.[STATUS_ANNOTATION];
      return text ? (JSON.parse(text) as SourceStatus) : undefined;
    });
    expect(st.destinations.map((d) => `${d.namespace}:${d.state}`).sort()).toEqual(['team-good:NotAccepted', 'victim:NotAccepted']);
  });

  it('push with consent for her namespace but a name already taken by another replica: conflict, no overwrite', async () => {
    // team-good now also accepts mallory's sources; her db-creds still cannot replace platform's replica.
    await admin.patch(Namespaces, undefined, 'team-good', { metadata: { annotations: { [ACCEPT_FROM]: 'platform/db-creds,mallory/*' } } }, 'merge');
    await eventually('conflict on her source', async () => {
      const st = JSON.parse((await mallory.get(Secrets, 'mallory', 'db-creds')).metadata.annotations?.[STATUS_ANNOTATION] ?? '{}') as SourceStatus;
      return st.destinations?.find((d) => d.namespace === 'team-good')?.state === 'Conflict';
    });
    await settle(1500);
    const rep = await admin.get(Secrets, 'team-good', 'db-creds');
    expect(decoded(rep)).toEqual({ password: SECRET });
    expect(rep.metadata.annotations?.[ORIGIN]).toBe('hub/platform/db-creds');
    await admin.patch(Namespaces, undefined, 'team-good', { metadata: { annotations: { [ACCEPT_FROM]: 'platform/db-creds' } } }, 'merge');
  });

  it('redirect: editing a replica she holds cannot point it at another source or onwards', async () => {
    const victimAccepts = await admin.get(Namespaces, undefined, 'victim');
    // victim accepts anything from mallory's namespace: it consents to her, not to platform's data.
    await admin.patch(Namespaces, undefined, 'victim', { metadata: { annotations: { [ACCEPT_FROM]: 'platform/*,mallory/*' } } }, 'merge');
    const rep = await mallory.get(Secrets, 'mallory', 'shared-config');
    await mallory.update(Secrets, {
      ...rep,
      metadata: {
        ...rep.metadata,
        labels: { ...rep.metadata.labels, [SOURCE_LABEL]: 'true' },
        annotations: { ...rep.metadata.annotations, [ORIGIN]: 'hub/platform/db-creds', [TO_NAMESPACES]: 'victim,mallory-2' },
      },
    });
    await eventually('her replica is shared-config again', async () => {
      const o = await getOrUndefined(mallory, Secrets, 'mallory', 'shared-config');
      return o?.metadata.annotations?.[ORIGIN] === 'hub/platform/shared-config' && !o.metadata.labels?.[SOURCE_LABEL] && !o.metadata.annotations?.[TO_NAMESPACES];
    });
    await settle();
    expect(decoded(await mallory.get(Secrets, 'mallory', 'shared-config'))).toEqual({ endpoint: 'https://db' });
    expect(await getOrUndefined(admin, Secrets, 'victim', 'shared-config')).toBeUndefined();
    expect(await getOrUndefined(admin, Secrets, 'mallory-2', 'shared-config')).toBeUndefined();
    expect(leaked()).toEqual([]);
    await admin.patch(Namespaces, undefined, 'victim', { metadata: { annotations: victimAccepts.metadata.annotations } }, 'merge');
  });

  it('forgery: a hand-made "replica" claiming the protected source is never filled with its data', async () => {
    const sourceUid = (await admin.get(Secrets, 'platform', 'db-creds')).metadata.uid ?? '';
    await mallory.create(Secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db-creds-copy',
        namespace: 'mallory',
        labels: { [ORIGIN_CLUSTER_LABEL]: 'hub' },
        annotations: { [ORIGIN]: 'hub/platform/db-creds', [ORIGIN_UID]: sourceUid, [REPLICA_NAMESPACE]: 'mallory', [CONTENT_HASH]: 'x' },
      },
      data: { password: b64('guess') },
    });
    // Named unlike its origin: not a replica, so untouched. Now the exact name as well.
    await mallory.delete(Secrets, 'mallory', 'db-creds');
    await mallory.create(Secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'db-creds',
        namespace: 'mallory',
        labels: { [ORIGIN_CLUSTER_LABEL]: 'hub' },
        annotations: { [ORIGIN]: 'hub/platform/db-creds', [ORIGIN_UID]: sourceUid, [REPLICA_NAMESPACE]: 'mallory', [CONTENT_HASH]: 'x' },
      },
      data: { password: b64('guess') },
    });
    // It claims to be a replica of a source that does not go to her namespace: the sidecar removes
    // it (as it would a real one), and never writes the source's data into it first.
    await eventually('forged replica removed', async () => !(await getOrUndefined(mallory, Secrets, 'mallory', 'db-creds')));
    await settle(1000);
    expect(decoded(await mallory.get(Secrets, 'mallory', 'db-creds-copy'))).toEqual({ password: 'guess' });
    expect(leaked()).toEqual([]);
  });

  it('chaining: a replica made a source by hand does not pass the data on', async () => {
    await admin.patch(Namespaces, undefined, 'mallory-2', { metadata: { labels: { [ACCEPT_LABEL]: 'true' }, annotations: { [ACCEPT_FROM]: 'mallory/*,platform/*' } } }, 'merge');
    const rep = await mallory.get(Secrets, 'mallory', 'shared-config');
    await mallory.patch(Secrets, 'mallory', 'shared-config', { metadata: { labels: { [SOURCE_LABEL]: 'true' }, annotations: { [TO_NAMESPACES]: 'mallory-2' } } }, 'merge');
    // The sidecar puts its replica back as it was (waited for: when is up to the machine); then a
    // while more for anything it should not do to show.
    await eventually('her replica restored', async () => (await mallory.get(Secrets, 'mallory', 'shared-config')).metadata.labels?.[SOURCE_LABEL] === undefined);
    await settle();
    expect(await getOrUndefined(admin, Secrets, 'mallory-2', 'shared-config')).toBeUndefined();
    const after = await mallory.get(Secrets, 'mallory', 'shared-config');
    expect(after.metadata.labels?.[SOURCE_LABEL]).toBeUndefined();
    expect(after.metadata.annotations?.[STATUS_ANNOTATION]).toBeUndefined();
    expect(after.metadata.uid).toBe(rep.metadata.uid);
    expect(leaked()).toEqual([]);
  });

  it('never logged, evented or annotated the secret value', async () => {
    const events = await admin.list({ group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true });
    const text = JSON.stringify(events.items) + JSON.stringify(observed.map((o) => o.metadata.annotations ?? {}));
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(b64(SECRET));
    expect(leaked()).toEqual([]);
  });
});
