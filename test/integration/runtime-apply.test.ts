// The floor: a reconcile that finds nothing to change makes zero write requests. Counted twice,
// independently: by the client's own request counter and by the API server's audit log.
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { readFile } from 'node:fs/promises';
import { Applier } from '../../src/kube/apply.js';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';

async function auditedWrites(userAgent: string): Promise<number> {
  const text = await readFile(inject('auditLogPath'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { stage: string; userAgent?: string })
    .filter((e) => e.stage === 'ResponseComplete' && e.userAgent?.startsWith(userAgent)).length;
}

describe('apply', () => {
  const ua = `zero-writes-${process.pid}`;
  let client: KubeClient;
  let ns: string;
  beforeAll(async () => {
    client = await sharedClient(ua);
    ns = await createNamespace(client, 'apply');
  });
  afterAll(() => client?.close());

  const desired = (labels: Record<string, string>): Array<[ResourceType, KubeObject]> => [
    [ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: ns, labels }, data: { a: '1' } }],
    [
      Secrets,
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sec', namespace: ns, labels },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from('cert').toString('base64'), 'tls.key': Buffer.from('key').toString('base64') },
      },
    ],
    [
      Deployments,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'app', namespace: ns, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'x' } },
          template: {
            metadata: { labels: { app: 'x' } },
            spec: {
              containers: [
                {
                  name: 'main',
                  image: 'example/app:1',
                  args: ['--a=b'],
                  ports: [{ name: 'https', containerPort: 6443, protocol: 'TCP' }],
                  resources: { requests: { cpu: '100m', memory: '128Mi' } },
                  readinessProbe: { httpGet: { path: '/readyz', port: 6443, scheme: 'HTTPS' } },
                },
              ],
            },
          },
        },
      },
    ],
  ];

  it('makes zero writes when nothing changed, one to undo drift, one to drop a removed field', async () => {
    const applier = new Applier(client, 'apply-test');
    const infs = [ConfigMaps, Secrets, Deployments].map((r) => new Informer(client, r, { namespace: ns }));
    infs.forEach((i) => i.start());
    await Promise.all(infs.map((i) => i.waitForSync()));
    const live = (r: ResourceType, o: KubeObject) => infs.find((i) => i.resource === r)?.get(`${ns}/${o.metadata.name}`);
    const reconcile = async (labels: Record<string, string>) => {
      let changed = 0;
      for (const [r, o] of desired(labels)) if ((await applier.apply(r, o, live(r, o))).changed) changed++;
      return changed;
    };
    const cached = (rv: Map<string, string>) =>
      desired({}).every(([r, o]) => {
        const l = live(r, o);
        return l && (!rv.has(o.metadata.name!) || l.metadata.resourceVersion !== rv.get(o.metadata.name!));
      });
    try {
      expect(await reconcile({ team: 'a', tier: 'x' })).toBe(3);
      await eventually('cache has the applied objects', () => cached(new Map()));
      await eventually('cache caught up', () => desired({}).every(([r, o]) => live(r, o)?.metadata.annotations?.['ts.operator.kcp.io/applied-hash']));

      const writesBefore = client.stats.writes;
      const auditBefore = await auditedWrites(ua);
      expect(await reconcile({ team: 'a', tier: 'x' })).toBe(0);
      expect(await reconcile({ team: 'a', tier: 'x' })).toBe(0);
      expect(client.stats.writes - writesBefore).toBe(0);
      expect((await auditedWrites(ua)) - auditBefore).toBe(0);

      // Drift: someone scales the Deployment by hand; one write restores it.
      const other = await sharedClient('someone-else');
      await other.patch(Deployments, ns, 'app', { spec: { replicas: 3 } }, 'merge');
      other.close();
      await eventually('drift visible', () => (live(Deployments, desired({})[2]![1])?.spec as { replicas: number }).replicas === 3);
      expect(await reconcile({ team: 'a', tier: 'x' })).toBe(1);
      expect(((await client.get(Deployments, ns, 'app')).spec as { replicas: number }).replicas).toBe(1);

      // A label dropped from the desired state: the live objects still have it, so only the
      // applied-hash tells that SSA must run to remove it.
      expect(await reconcile({ team: 'a' })).toBe(3);
      const cm = await client.get(ConfigMaps, ns, 'cfg');
      expect(cm.metadata.labels).toEqual({ team: 'a' });
    } finally {
      await Promise.all(infs.map((i) => i.stop()));
    }
  });

  it('writes status only when it changed', async () => {
    const applier = new Applier(client, 'apply-test');
    const dep = await client.get(Deployments, ns, 'app');
    const status = { observedGeneration: dep.metadata.generation, replicas: 0, conditions: [] };
    const first = await applier.applyStatus(Deployments, dep, status);
    expect(first.changed).toBe(true);
    const before = client.stats.writes;
    const second = await applier.applyStatus(Deployments, first.object, status);
    expect(second.changed).toBe(false);
    expect(client.stats.writes).toBe(before);
  });
});
