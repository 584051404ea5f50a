// The sidecar across clusters: three real control planes stand in for a hub (where the sidecar
// and the sources live) and two edges registered as kubeconfig Secrets, each edge reached under
// the remote RBAC from docs/sync.md. Covers cross-cluster consent, run-time registration, an edge
// that goes away and comes back while the other keeps converging, credential rotation, refused
// registrations, deregistration (replicas removed) and deregistration of a dead cluster (bounded).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Events, Secrets } from '../../src/kube/resources.js';
import { CLUSTER_FINALIZER, CLUSTER_STATUS_ANNOTATION, STATUS_ANNOTATION, TO_CLUSTERS } from '../../sync/keys.js';
import type { SourceStatus } from '../../sync/status.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import {
  acceptingNamespace,
  b64,
  configMapSource,
  ConfigMaps,
  decoded,
  getOrUndefined,
  localIdentity,
  registration,
  remoteIdentity,
  resyncSettled,
  secretSource,
  startSidecar,
  type RunningSidecar,
} from '../bench/sync-fixtures.js';
import { eventually, quiet } from './helpers.js';

const SYNC_NS = 'kcp-sync';
/** How long a deregistered cluster that cannot be reached keeps its registration. */
const DEREGISTER_TIMEOUT_MS = 4_000;
/** How long a write to a cluster may take: long here, so that waiting on a dead one would show. */
const WRITE_TIMEOUT_MS = 60_000;

describe('sync sidecar across clusters', () => {
  let hub: ControlPlane;
  let edge1: ControlPlane;
  let edge2: ControlPlane;
  let admin: { hub: KubeClient; edge1: KubeClient; edge2: KubeClient };
  let sc: RunningSidecar;

  beforeAll(async () => {
    [hub, edge1, edge2] = await Promise.all([
      startControlPlane({ name: 'sync-hub', crds: false }),
      startControlPlane({ name: 'sync-edge1', crds: false }),
      startControlPlane({ name: 'sync-edge2', crds: false }),
    ]);
    admin = { hub: await hub.client('sync-test-admin'), edge1: await edge1.client('sync-test-admin'), edge2: await edge2.client('sync-test-admin') };
    const kubeconfig = await localIdentity(hub, admin.hub, SYNC_NS);
    await admin.hub.create(Secrets, registration(SYNC_NS, 'edge-1', await remoteIdentity(edge1, admin.edge1), { region: 'eu' }));
    for (const c of [admin.hub, admin.edge1, admin.edge2]) {
      await acceptingNamespace(c, 'src', undefined);
      await acceptingNamespace(c, 'app', ['hub/src/*', 'src/*']);
      await acceptingNamespace(c, 'app-local-only', ['src/*']); // no cluster part: same cluster only
    }
    sc = await startSidecar(kubeconfig, { namespace: SYNC_NS, clusterName: 'hub', deregisterTimeoutMs: DEREGISTER_TIMEOUT_MS, writeTimeoutMs: WRITE_TIMEOUT_MS });
  });
  afterAll(async () => {
    await sc?.stop();
    for (const c of Object.values(admin ?? {})) c.close();
    await Promise.all([hub?.stop(), edge1?.stop(), edge2?.stop()]);
  });

  const sourceStatus = async (name: string, r = Secrets): Promise<SourceStatus | undefined> => {
    const t = (await getOrUndefined(admin.hub, r, 'src', name))?.metadata.annotations?.[STATUS_ANNOTATION];
    return t ? (JSON.parse(t) as SourceStatus) : undefined;
  };
  const clusterStatus = async (name: string): Promise<{ state: string; message?: string } | undefined> => {
    const t = (await getOrUndefined(admin.hub, Secrets, SYNC_NS, name))?.metadata.annotations?.[CLUSTER_STATUS_ANNOTATION];
    return t ? (JSON.parse(t) as { state: string; message?: string }) : undefined;
  };

  it('replicates to a remote namespace that accepts the source by cluster-qualified name', async () => {
    await admin.hub.create(Secrets, secretSource('src', 'ca', { 'ca.crt': 'PEM-1' }, { clusters: ['edge-1'], namespaces: ['app', 'app-local-only'] }));
    const rep = await eventually('replica on edge-1', () => getOrUndefined(admin.edge1, Secrets, 'app', 'ca'));
    expect(decoded(rep)).toEqual({ 'ca.crt': 'PEM-1' });
    expect(rep.metadata.annotations?.['sync.operator.kcp.io/origin']).toBe('hub/src/ca');
    // "src/*" without a cluster part accepts only sources of the same cluster; the hub was not named.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await getOrUndefined(admin.edge1, Secrets, 'app-local-only', 'ca')).toBeUndefined();
    expect(await getOrUndefined(admin.hub, Secrets, 'app', 'ca')).toBeUndefined();
    expect(await getOrUndefined(admin.edge2, Secrets, 'app', 'ca')).toBeUndefined();

    // Merge patches, not read-modify-write: the sidecar writes status onto sources and registrations
    // whenever it likes, and a loaded machine widens the window in which an update would conflict.
    await admin.hub.patch(Secrets, 'src', 'ca', { data: { 'ca.crt': b64('PEM-2') } }, 'merge');
    await eventually('update on edge-1', async () => decoded(await getOrUndefined(admin.edge1, Secrets, 'app', 'ca'))?.['ca.crt'] === 'PEM-2');

    // Registration is visible on its Secret: finalizer and a readable state.
    const reg = await admin.hub.get(Secrets, SYNC_NS, 'edge-1');
    expect(reg.metadata.finalizers).toContain(CLUSTER_FINALIZER);
    expect(await clusterStatus('edge-1')).toMatchObject({ state: 'Ready' });
  });

  it('sends replicas to a cluster registered at run time (selected by cluster labels)', async () => {
    await admin.hub.create(ConfigMaps, configMapSource('src', 'endpoints', { url: 'https://root' }, { clusterSelector: 'region=us', namespaces: ['app'] }));
    await new Promise((r) => setTimeout(r, 500));
    const st0 = await eventually('status before edge-2 exists', () => sourceStatus('endpoints', ConfigMaps));
    expect(st0.destinations).toEqual([]);
    await admin.hub.create(Secrets, registration(SYNC_NS, 'edge-2', await remoteIdentity(edge2, admin.edge2), { region: 'us' }));
    const rep = await eventually('replica on edge-2', () => getOrUndefined(admin.edge2, ConfigMaps, 'app', 'endpoints'));
    expect(rep.data).toEqual({ url: 'https://root' });
    expect(await getOrUndefined(admin.edge1, ConfigMaps, 'app', 'endpoints')).toBeUndefined();
    await eventually('status lists edge-2', async () => (await sourceStatus('endpoints', ConfigMaps))?.destinations.some((d) => d.cluster === 'edge-2' && d.state === 'Synced'));
  });

  it('keeps converging on the other clusters while one is unreachable, and converges it when it returns', async () => {
    await admin.hub.create(Secrets, secretSource('src', 'fanout', { v: '1' }, { clusters: ['hub', 'edge-*'], namespaces: ['app'] }));
    await admin.hub.create(Secrets, secretSource('src', 'doomed', { v: '1' }, { clusters: ['hub', 'edge-*'], namespaces: ['app'] }));
    for (const c of [admin.hub, admin.edge1, admin.edge2]) {
      await eventually('fan-out', async () => (await getOrUndefined(c, Secrets, 'app', 'fanout')) && (await getOrUndefined(c, Secrets, 'app', 'doomed')));
    }

    await edge1.stopApiServer();
    try {
      // While edge-1 is down: an update, a new source and a deletion.
      const t0 = Date.now();
      await admin.hub.patch(Secrets, 'src', 'fanout', { data: { v: b64('2') } }, 'merge');
      await admin.hub.create(Secrets, secretSource('src', 'newcomer', { v: '1' }, { clusters: ['edge-*'], namespaces: ['app'] }));
      await admin.hub.delete(Secrets, 'src', 'doomed');
      // Edge-1 stays down until the end of this block, so converging here is converging without
      // it. The deadline leaves a loaded machine plenty of time and still ends well before a write
      // to edge-1 could time out: a sidecar that waited on the dead cluster would miss it.
      for (const [name, c] of [['hub', admin.hub], ['edge-2', admin.edge2]] as const) {
        await eventually(`${name} converges while edge-1 is down`, async () => {
          const f = decoded(await getOrUndefined(c, Secrets, 'app', 'fanout'));
          const gone = !(await getOrUndefined(c, Secrets, 'app', 'doomed'));
          const newcomer = name === 'hub' || (await getOrUndefined(c, Secrets, 'app', 'newcomer'));
          return f?.v === '2' && gone && newcomer;
        }, WRITE_TIMEOUT_MS - 15_000 - (Date.now() - t0));
      }
      console.log(`hub and edge-2 converged ${Date.now() - t0} ms after the changes, edge-1 down`);
      const st = await eventually('edge-1 reported unreachable on the source', async () => {
        const x = await sourceStatus('fanout');
        return x?.destinations.find((d) => d.cluster === 'edge-1' && d.state === 'Unreachable') ? x : undefined;
      });
      expect(st.destinations.find((d) => d.cluster === 'edge-2')).toMatchObject({ state: 'Synced' });
      await eventually('edge-1 registration says Unreachable', async () => (await clusterStatus('edge-1'))?.state === 'Unreachable');
    } finally {
      await edge1.startApiServer();
    }
    const back = Date.now();
    await eventually('edge-1 converges after it returns', async () => {
      const f = decoded(await getOrUndefined(admin.edge1, Secrets, 'app', 'fanout'));
      const gone = !(await getOrUndefined(admin.edge1, Secrets, 'app', 'doomed'));
      const newcomer = await getOrUndefined(admin.edge1, Secrets, 'app', 'newcomer');
      return f?.v === '2' && gone && newcomer;
    }, 60_000);
    console.log(`edge-1 converged ${Date.now() - back} ms after its API server returned`);
    await eventually('edge-1 Ready again', async () => (await clusterStatus('edge-1'))?.state === 'Ready', 30_000);
    await eventually('source status all Synced', async () => (await sourceStatus('fanout'))?.summary === '3 Synced', 30_000);
  });

  it('picks up a changed registration (rotated credentials) without a restart', async () => {
    const rotated = await remoteIdentity(edge1, admin.edge1, 'kcp-sync-rotated');
    await admin.hub.patch(Secrets, SYNC_NS, 'edge-1', { data: { kubeconfig: b64(rotated) } }, 'merge');
    const since = new Date();
    await admin.hub.patch(Secrets, 'src', 'ca', { data: { 'ca.crt': b64('PEM-3') } }, 'merge');
    await eventually('update through the new identity', async () => decoded(await getOrUndefined(admin.edge1, Secrets, 'app', 'ca'))?.['ca.crt'] === 'PEM-3');
    const writes = await edge1.auditedWrites({ userAgent: 'kcp-sync', since });
    expect(writes.some((w) => w.user.username === 'kcp-sync-rotated' && w.objectRef?.name === 'ca')).toBe(true);
  });

  it('refuses a registration that would run a command or read a local file', async () => {
    const evil = [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}}]',
      'contexts: [{name: c, context: {cluster: c, user: u}}]',
      'current-context: c',
    ].join('\n');
    const exec = evil.replace('{tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token}', '{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ["-c", "touch /tmp/pwned"]}}');
    await admin.hub.create(Secrets, registration(SYNC_NS, 'evil-file', evil));
    await admin.hub.create(Secrets, registration(SYNC_NS, 'evil-exec', exec));
    for (const name of ['evil-file', 'evil-exec']) {
      const st = await eventually(`${name} refused`, async () => {
        const s = await clusterStatus(name);
        return s?.state === 'Invalid' ? s : undefined;
      });
      expect(st.message).toMatch(/refuses|only inline/);
      expect(sc.sidecar.engine.clusters.has(name)).toBe(false);
    }
    const events = await admin.hub.list(Events, { namespace: SYNC_NS });
    expect(events.items.filter((e) => e.reason === 'InvalidRegistration').length).toBeGreaterThanOrEqual(2);
    for (const name of ['evil-file', 'evil-exec']) await admin.hub.delete(Secrets, SYNC_NS, name);
  });

  it('makes zero writes at rest on every cluster', async () => {
    const writes = async () => [sc.sidecar.requestStats().writes, ...(await Promise.all([hub, edge1, edge2].map(async (c) => (await c.auditedWrites({ userAgent: 'kcp-sync' })).length)))];
    // At rest first (the previous tests' last writes have landed, however slowly), then three
    // full resyncs, each awaited until every reconcile it caused has finished.
    const before = await quiet('sidecar writes', writes);
    for (let i = 0; i < 3; i++) await resyncSettled(sc.sidecar);
    expect(await writes()).toEqual(before);
  });

  it('removes its replicas from a deregistered cluster, which then receives nothing', async () => {
    expect(await getOrUndefined(admin.edge2, ConfigMaps, 'app', 'endpoints')).toBeDefined();
    expect(await getOrUndefined(admin.edge2, Secrets, 'app', 'fanout')).toBeDefined();
    // Someone else's object on edge-2 with a similar name is not ours and stays.
    await admin.edge2.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bystander', namespace: 'app' }, data: { k: b64('v') } });
    await admin.hub.delete(Secrets, SYNC_NS, 'edge-2');
    await eventually('registration gone once cleaned up', async () => !(await getOrUndefined(admin.hub, Secrets, SYNC_NS, 'edge-2')), 20_000);
    const left = [...(await admin.edge2.list(Secrets, { namespace: 'app' })).items, ...(await admin.edge2.list(ConfigMaps, { namespace: 'app' })).items];
    expect(left.filter((o) => o.metadata.labels?.['sync.operator.kcp.io/origin-cluster'])).toEqual([]);
    expect(left.map((o) => o.metadata.name)).toContain('bystander');
    // A new source for every edge reaches edge-1 but not the deregistered edge-2.
    await admin.hub.create(Secrets, secretSource('src', 'after-deregistration', { v: '1' }, { clusters: ['edge-*'], namespaces: ['app'] }));
    await eventually('reaches edge-1', () => getOrUndefined(admin.edge1, Secrets, 'app', 'after-deregistration'));
    await new Promise((r) => setTimeout(r, 1000));
    expect(await getOrUndefined(admin.edge2, Secrets, 'app', 'after-deregistration')).toBeUndefined();
    expect(sc.sidecar.engine.clusters.has('edge-2')).toBe(false);
  });

  it('lets go of a deregistered cluster that cannot be reached, after the timeout, and says so', async () => {
    await edge1.stopApiServer();
    try {
      const t0 = Date.now();
      await admin.hub.delete(Secrets, SYNC_NS, 'edge-1');
      await eventually('registration released', async () => !(await getOrUndefined(admin.hub, Secrets, SYNC_NS, 'edge-1')), 30_000);
      // The wait counts from the deletionTimestamp, which has whole seconds: up to 1 s is lost.
      const waited = Date.now() - t0;
      expect(waited).toBeGreaterThanOrEqual(DEREGISTER_TIMEOUT_MS - 1000);
      const ev = (await admin.hub.list(Events, { namespace: SYNC_NS })).items.find(
        (e: KubeObject) => e.reason === 'ReplicasLeftBehind' && (e.regarding as { name: string }).name === 'edge-1',
      );
      expect(ev?.note).toMatch(/left on cluster edge-1/);
      expect(sc.sidecar.engine.clusters.has('edge-1')).toBe(false);
    } finally {
      await edge1.startApiServer();
    }
    // As documented: the replicas stay where they were, and are no longer touched.
    expect(await getOrUndefined(admin.edge1, Secrets, 'app', 'fanout')).toBeDefined();
    const st = await eventually('edge-1 no longer in the status', async () => {
      const x = await sourceStatus('fanout');
      return x && !x.destinations.some((d) => d.cluster === 'edge-1') ? x : undefined;
    });
    expect(st.destinations.map((d) => d.cluster)).toEqual(['hub']);
  });

  it('does not touch the source status of clusters it does not know (to-clusters names an unregistered one)', async () => {
    await admin.hub.create(Secrets, secretSource('src', 'to-nowhere', { v: '1' }, { clusters: ['mars'], namespaces: ['app'] }));
    const st = await eventually('status', () => sourceStatus('to-nowhere'));
    expect(st.destinations).toEqual([{ cluster: 'mars', state: 'NotRegistered', message: 'no cluster of this name is registered' }]);
    const src = await admin.hub.get(Secrets, 'src', 'to-nowhere');
    expect(src.metadata.annotations?.[TO_CLUSTERS]).toBe('mars');
  });
});
