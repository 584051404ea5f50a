// Migration from kcp-operator: the state kcp-operator v0.9.0 with cert-manager v1.20.2 left in a
// namespace for a standard topology (../shared/fixtures/migration/, captured from a real run) is
// applied to a real API server, without either of them running, and this operator is started on
// the same CRs. What the harness stands in for:
// - cert-manager: only its CRDs, with permissive schemas (we store its objects, nobody acts on them);
// - kcp-operator: only what it left behind (it is not running);
// - kube-controller-manager: absent, so no garbage collector (deleting an owner deletes nothing)
//   and no Deployment controller (no ReplicaSets, no Deployment status, no Pods).
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import { APPLIED_HASH_ANNOTATION } from '../../src/kube/apply.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, CustomResourceDefinitions, Deployments, Events, Namespaces, Secrets, Services, type ResourceType } from '../../src/kube/resources.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { startOperator, type RunningOperator } from './operator.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../../../shared/fixtures/migration/kcp-operator-v0.9.0-standard-topology.yaml');

const cm = (kind: string, plural: string): ResourceType => ({ group: 'cert-manager.io', version: 'v1', kind, plural, namespaced: true });
const Certificates = cm('Certificate', 'certificates');
const Issuers = cm('Issuer', 'issuers');

const TYPES: Record<string, ResourceType> = {
  Issuer: Issuers,
  Certificate: Certificates,
  Secret: Secrets,
  ConfigMap: ConfigMaps,
  Service: Services,
  Deployment: Deployments,
  RootShard: RootShards,
  Shard: Shards,
  FrontProxy: FrontProxies,
  Kubeconfig: Kubeconfigs,
};
const CR_KINDS = ['RootShard', 'Shard', 'FrontProxy', 'Kubeconfig'];

type Cond = { type: string; status: string; reason: string; message: string };
const conditionOf = (o: KubeObject, type: string) => ((o.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const pem = (s: KubeObject, key: string) => Buffer.from((s.data as Record<string, string>)[key] ?? '', 'base64').toString();
const fingerprint = (s: KubeObject) => new X509Certificate(pem(s, 'tls.crt')).fingerprint256;
const keyHash = (s: KubeObject) => createHash('sha256').update(pem(s, 'tls.key')).digest('hex');
const selector = (o: KubeObject) => (o.spec as { selector?: unknown }).selector;
/** Applied by this operator: its apply stamps the desired state's hash. */
const appliedByUs = (o: KubeObject) => o.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== undefined;

/** cert-manager's CRDs as far as the API server needs them to store the fixture: no schema. */
function certManagerCrd(kind: string, plural: string): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.cert-manager.io` },
    spec: {
      group: 'cert-manager.io',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/** kcp-operator v0.9.0's field manager (its image runs /manager); the capture dropped managedFields, so the fixture is written under it. */
const KCP_OPERATOR_MANAGER = 'manager';

const CA_SECRETS = ['root-ca', 'root-server-ca', 'root-client-ca', 'root-requestheader-client-ca', 'root-service-account-ca'];

describe('migration from kcp-operator v0.9.0', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let op: RunningOperator | undefined;
  // The namespace of the captured run: its certificates' SANs and the shards' --shard-base-url name
  // it, and a migration happens in place. The control plane is fresh, so the namespace is too.
  const ns = 'bench-0';
  const fixture = parseAllDocuments(readFileSync(FIXTURE, 'utf8'))
    .map((d) => d.toJSON() as KubeObject | null)
    .filter((d): d is KubeObject => !!d);
  const before = new Map<string, KubeObject>();
  const uids = new Map<string, string>();

  beforeAll(async () => {
    // A control plane of its own: cert-manager's CRDs must not leak into other tests' world.
    cp = await startControlPlane({ name: 'migration' });
    admin = await cp.client('migration-test');
    for (const [kind, plural] of [
      ['Certificate', 'certificates'],
      ['Issuer', 'issuers'],
    ] as const) {
      await admin.apply(CustomResourceDefinitions, certManagerCrd(kind, plural), 'test');
    }
    await eventually('cert-manager CRDs served', async () => (await admin.list(Certificates)).items && (await admin.list(Issuers)).items, 30_000);
    await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

    // The CRs first: the other objects' ownerReferences need their uids, which the capture dropped.
    const ordered = [...fixture.filter((o) => CR_KINDS.includes(o.kind ?? '')), ...fixture.filter((o) => !CR_KINDS.includes(o.kind ?? ''))];
    for (const o of ordered) {
      const type = TYPES[o.kind ?? ''];
      if (!type) throw new Error(`fixture kind ${o.kind} has no resource type here`);
      const { status, ...rest } = o as KubeObject & { status?: unknown };
      const obj: KubeObject = {
        ...rest,
        metadata: {
          ...o.metadata,
          namespace: ns,
          // The API server refuses an ownerReference without a uid. The CRs' real uids are known
          // now; the uids of kcp-operator's internal Compiled* objects are made up (they do not
          // exist here either way, and there is no garbage collector to act on them).
          ownerReferences: o.metadata.ownerReferences?.map((r) => ({ ...r, uid: uids.get(`${r.kind}/${r.name}`) ?? '00000000-0000-4000-8000-000000000000' })),
        },
      };
      const created = await admin.create(type, obj, { fieldManager: KCP_OPERATOR_MANAGER });
      uids.set(`${o.kind}/${o.metadata.name}`, created.metadata.uid ?? '');
      // Status as kcp-operator and cert-manager wrote it (a create drops it).
      if (status && (CR_KINDS.includes(o.kind ?? '') || o.kind === 'Certificate' || o.kind === 'Issuer')) {
        await admin.update(type, { ...created, status } as KubeObject, 'status');
      }
      before.set(`${o.kind}/${o.metadata.name}`, created);
    }
    op = await startOperator({ namespace: ns }, cp.kubeConfig());
  }, 120_000);

  afterAll(async () => {
    await op?.stop();
    admin?.close();
    await cp?.stop();
  });

  const get = (kind: string, name: string) => admin.get(TYPES[kind] as ResourceType, ns, name);

  it('adopts the CA hierarchy: same certificates, same keys', async () => {
    await eventually(
      'RootShard certificates ready',
      async () => conditionOf(await get('RootShard', 'root'), 'CertificatesReady')?.status === 'True',
      60_000,
    );
    for (const name of CA_SECRETS) {
      const was = before.get(`Secret/${name}`) as KubeObject;
      const now = await get('Secret', name);
      expect(fingerprint(now), name).toBe(fingerprint(was));
      expect(keyHash(now), name).toBe(keyHash(was));
    }
  });

  it('updates Deployments and Services in place, selectors unchanged, now rendered by this operator', async () => {
    for (const kind of ['Deployment', 'Service']) {
      for (const name of ['root-kcp', 'second-shard-kcp', 'fp-front-proxy', 'root-proxy']) {
        const now = await eventually(`${kind} ${name} applied by this operator`, async () => {
          const o = await get(kind, name);
          return appliedByUs(o) ? o : undefined;
        }, 60_000);
        const was = before.get(`${kind}/${name}`) as KubeObject;
        expect(now.metadata.uid, `${kind} ${name} not deleted`).toBe(was.metadata.uid);
        expect(selector(now), `${kind} ${name} selector`).toEqual(selector(was));
      }
    }
  });

  it('leaves nothing half-owned: no kcp-operator controller references, fields or finalizers', async () => {
    const fp = await eventually('fp-front-proxy taken over', async () => {
      const o = await get('Deployment', 'fp-front-proxy');
      return appliedByUs(o) ? o : undefined;
    }, 60_000);
    // kcp-operator's controller was its internal CompiledFrontProxy: now it is the FrontProxy.
    expect(fp.metadata.ownerReferences?.filter((r) => r.controller).map((r) => `${r.kind}/${r.name}`)).toEqual(['FrontProxy/fp']);
    for (const kind of ['Deployment', 'Service']) {
      for (const name of ['root-kcp', 'second-shard-kcp', 'fp-front-proxy', 'root-proxy']) {
        const o = await eventually(`${kind} ${name} applied`, async () => {
          const x = await get(kind, name);
          return appliedByUs(x) ? x : undefined;
        }, 60_000);
        // Every field is ours (or the API server's): kcp-operator's manager is gone...
        expect(o.metadata.managedFields?.map((f) => f.manager).filter((m) => m === KCP_OPERATOR_MANAGER), `${kind} ${name}`).toEqual([]);
        // kcp-operator's port 6444, which kcp v0.32 does not listen on, went with its fields.
        if (kind === 'Service') expect((o.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), `${name} ports`).not.toContain(6444);
        if (kind === 'Deployment') {
          // ...and so is what only it rendered: its revision labels and its volume names.
          const tmpl = (o.spec as { template: { metadata: { labels: Record<string, string> }; spec: { volumes: Array<{ name: string }> } } }).template;
          expect(Object.keys(tmpl.metadata.labels).filter((l) => l.endsWith('-rev')), `${name} template labels`).toEqual([]);
          expect(tmpl.spec.volumes.map((v) => v.name), `${name} volumes`).not.toContain('kcp-ca');
        }
      }
    }
    // kcp-operator's Shard finalizer would hold a deletion forever: ours does its job.
    const shard = await eventually('Shard finalizer taken over', async () => {
      const o = await get('Shard', 'second');
      return o.metadata.finalizers?.includes('operator.kcp.io/cleanup-shard') ? undefined : o;
    });
    expect(shard.metadata.finalizers).toEqual(['operator.kcp.io/shard-deregistration']);
  });

  it('keeps the adopted leaf certificates: kcp Pods keep trusting each other and service-account tokens stay valid', async () => {
    for (const name of ['root-server', 'root-service-account', 'second-service-account', 'root-client', 'second-client', 'root-fp-server', 'root-proxy-server', 'root-proxy-kubeconfig', 'kubeconfig-cert-admin']) {
      const was = before.get(`Secret/${name}`) as KubeObject;
      expect(keyHash(await get('Secret', name)), name).toBe(keyHash(was));
    }
  });

  it('reports the cert-manager Certificates that would fight over its Secrets, and clears when they are gone', async () => {
    const leftovers = fixture.filter((o) => o.kind === 'Certificate').map((o) => o.metadata.name ?? '');
    const expected: Record<string, string[]> = {
      // root-ca is left out: the RootShard asks cert-manager for it (certificates.issuerRef).
      'RootShard/root': ['root-client', 'root-client-ca', 'root-external-logical-cluster-admin', 'root-kcp-operator', 'root-logical-cluster-admin', 'root-proxy-server', 'root-proxy-kubeconfig', 'root-proxy-requestheader'],
      'Shard/second': ['second-client', 'second-external-logical-cluster-admin'],
      'FrontProxy/fp': ['root-fp-kubeconfig', 'root-fp-requestheader', 'root-fp-server'],
      'Kubeconfig/admin': ['kubeconfig-cert-admin'],
    };
    for (const [key, names] of Object.entries(expected)) {
      const [kind, name] = key.split('/') as [string, string];
      const cond = await eventually(`${key} CertManagerConflict`, async () => conditionOf(await get(kind, name), 'CertManagerConflict'), 60_000);
      expect(cond).toMatchObject({ status: 'True', reason: 'CertManagerConflict' });
      for (const n of names) expect(cond.message, key).toContain(n);
      expect(cond.message).toContain('docs/migration.md');
    }
    const events = (await admin.list(Events, { namespace: ns })).items as Array<KubeObject & { reason?: string; type?: string }>;
    expect(events.some((e) => e.reason === 'CertManagerConflict' && e.type === 'Warning')).toBe(true);
    // Nothing was deleted on the user's behalf.
    expect((await admin.list(Certificates, { namespace: ns })).items.map((c) => c.metadata.name).sort()).toEqual([...leftovers].sort());

    // The documented step: delete kcp-operator's Certificates and Issuers; the Secrets stay.
    for (const n of leftovers) await admin.delete(Certificates, ns, n);
    for (const o of fixture.filter((x) => x.kind === 'Issuer')) await admin.delete(Issuers, ns, o.metadata.name ?? '');
    for (const key of Object.keys(expected)) {
      const [kind, name] = key.split('/') as [string, string];
      await eventually(`${key} conflict cleared`, async () => !conditionOf(await get(kind, name), 'CertManagerConflict'), 60_000);
    }
    for (const name of CA_SECRETS) expect(fingerprint(await get('Secret', name))).toBe(fingerprint(before.get(`Secret/${name}`) as KubeObject));
  });
});

describe('upgrading from an earlier version of this operator', () => {
  it('keeps a Deployment’s immutable three-label selector and applies without error', async () => {
    const client = await sharedClient('migration-upgrade-test');
    const ns = await createNamespace(client, 'upgrade');
    const threeLabels = { 'app.kubernetes.io/name': 'kcp', 'app.kubernetes.io/instance': 'rs', 'app.kubernetes.io/component': 'rootshard' };
    const fourLabels = { ...threeLabels, 'app.kubernetes.io/managed-by': 'kcp-operator' };
    // What an earlier version left: the root shard's Deployment selecting on three labels.
    const old = await client.create<KubeObject>(Deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'rs-kcp', namespace: ns, labels: fourLabels },
      spec: {
        selector: { matchLabels: threeLabels },
        template: { metadata: { labels: fourLabels }, spec: { containers: [{ name: 'kcp', image: 'ghcr.io/kcp-dev/kcp:v0.32.3' }] } },
      },
    });
    const op = await startOperator({ namespace: ns });
    try {
      await client.create(RootShards, {
        apiVersion: 'operator.kcp.io/v1alpha1',
        kind: 'RootShard',
        metadata: { name: 'rs', namespace: ns },
        spec: { external: { hostname: 'kcp.example.test', port: 6443 }, cache: { embedded: { enabled: true } }, etcd: { endpoints: ['http://etcd:2379'] } },
      });
      const dep = await eventually('Deployment applied by the operator', async () => {
        const o = await client.get(Deployments, ns, 'rs-kcp');
        return appliedByUs(o) ? o : undefined;
      }, 60_000);
      expect(dep.metadata.uid).toBe(old.metadata.uid);
      expect(selector(dep)).toEqual({ matchLabels: threeLabels });
      expect((dep.spec as { template: { metadata: { labels: unknown } } }).template.metadata.labels).toMatchObject(fourLabels);
      // The Service (mutable) selects on all four.
      const svc = await eventually('Service', () => client.get(Services, ns, 'rs-kcp'));
      expect(selector(svc)).toEqual(fourLabels);
      const rs = await client.get(RootShards, ns, 'rs');
      expect(conditionOf(rs, 'Stalled')?.status).not.toBe('True');
    } finally {
      await op.stop();
      client.close();
    }
  });
});
