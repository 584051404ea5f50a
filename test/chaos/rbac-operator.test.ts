// Least privilege, checked from the other side (issue 14, item 9): every PolicyRule of the
// operator's ClusterRole and leader-election Role, as deploy/ renders them, is needed. For each rule
// (and a few single verbs) the operator runs as a real process under a ServiceAccount of its own
// whose roles are deploy/'s minus that rule, scoped to a namespace of its own (--namespace, and its
// Lease there), and the scenario that needs the rule shows what then fails to happen and that the
// operator said which right it lacked. One more run holds exactly deploy/'s rules: every scenario
// succeeds there. A rule without a case (or a case whose rule deploy/ no longer has) fails the test.
//
// The shared control plane stands in for a cluster: no kubelet or kube-controller-manager runs, so
// Deployments are only rendered, and cert-manager is only its Certificate API (a CRD, installed
// here if absent), with nobody acting on Certificates. The operator's own process logs (JSON on
// stdout) are where it says what was forbidden; they and every case namespace's Events and
// statuses are scanned for private keys at the end.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CertManagerCertificates } from '../../src/controllers/cert-manager.js';
import { CacheServers, FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, CustomResourceDefinitions, Deployments, Events, PodDisruptionBudgets, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { freePort } from '../../local/ports.js';
import { builtInPkiRootShard, fixture } from '../integration/fixtures.js';
import { createNamespace, eventually, sharedClient } from '../integration/helpers.js';
import {
  bindServiceAccount,
  renderedOperatorRules,
  ruleId,
  runOperator,
  tokenKubeconfig,
  unbindServiceAccount,
  withoutRule,
  withoutVerb,
  type OperatorProcess,
  type Rule,
} from '../integration/rbac-fixtures.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks, type Text } from './leak-scan.js';

/** How many operators run at once (2 cores, shared): enough to stay in the CI budget. */
const BATCH = Number(process.env.RBAC_BATCH ?? 7);
const WAIT = 120_000;

// The sample topology (kcp-operator's samples, built-in PKI): RootShard, Shard, FrontProxy (two
// replicas by the schema default, so it gets a PodDisruptionBudget), CacheServer, Kubeconfig.
const ROOT = 'shard-sample';
const SHARD = 'secondary-shard';
const FP = 'frontproxy-sample';
const DEPLOYMENTS = ['shard-sample-kcp', 'secondary-shard-shard-kcp', 'frontproxy-sample-front-proxy', 'cacheserver-sample-cache-server'];
const FP_DEPLOYMENT = 'frontproxy-sample-front-proxy';
const KUBECONFIG_SECRET = 'sample-kubeconfig';
/** A Kubeconfig with `authorization`: bindings inside kcp, removed on delete behind a finalizer. */
const AUTHZ = 'kubeconfig-authz';

type Extra = 'federation' | 'scaleDown' | 'certManager' | 'authorization';
type Cond = { type: string; status: string; reason?: string };

/** A 403 the API server answered, as the operator logs it (JSON-escaped quotes). */
const forbidden = (verbs: string, resource: string) => new RegExp(`cannot (${verbs}) resource \\\\?"${resource}\\\\?"`);

interface Case {
  name: string;
  /** The rule removed (ruleId), or one verb taken off one resource. */
  remove: { rule: string } | { group: string; resource: string; verb: string; lease?: boolean };
  extras?: Extra[];
  /** What the operator says (in its log) about the right it lacks. */
  says: RegExp;
  /** The object that shows it (Stalled, reason Forbidden), where the operator can still write status. */
  reports?: [ResourceType, string];
  /** The broken state, checked once the operator has said so. */
  broken: (c: Ctx) => Promise<boolean>;
}

interface Ctx {
  admin: KubeClient;
  ns: string;
}

const get = async (admin: KubeClient, r: ResourceType, ns: string, name: string): Promise<KubeObject | undefined> => {
  try {
    return await admin.get(r, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
};
const conditionOf = (o: KubeObject | undefined, type: string) => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const count = async (admin: KubeClient, r: ResourceType, ns: string) => (await admin.list(r, { namespace: ns })).items.length;
/** The operator never got to reconcile: no Secret, no Deployment, no status. */
const nothingReconciled = async ({ admin, ns }: Ctx) =>
  (await count(admin, Secrets, ns)) === 0 && (await count(admin, Deployments, ns)) === 0 && (await get(admin, RootShards, ns, ROOT))?.status === undefined;
const certificatesReady = async ({ admin, ns }: Ctx) => conditionOf(await get(admin, RootShards, ns, ROOT), 'CertificatesReady')?.status === 'True';

const CASES: Case[] = [
  {
    name: 'operator.kcp.io read: it cannot see its own kinds, so nothing is reconciled',
    remove: { rule: 'operator.kcp.io rootshards,shards,frontproxies,cacheservers,kubeconfigs,virtualworkspaces: get,list,watch' },
    says: forbidden('list', 'rootshards'),
    broken: nothingReconciled,
  },
  {
    name: 'status patch: workloads are rendered, but no object reports a status',
    remove: { rule: 'operator.kcp.io rootshards/status,shards/status,frontproxies/status,cacheservers/status,kubeconfigs/status,virtualworkspaces/status: patch' },
    says: forbidden('patch', 'rootshards/status'),
    broken: async ({ admin, ns }) =>
      !!(await get(admin, Deployments, ns, 'shard-sample-kcp')) && (await get(admin, RootShards, ns, ROOT))?.status === undefined && (await get(admin, FrontProxies, ns, FP))?.status === undefined,
  },
  {
    name: 'shards/kubeconfigs patch: no Shard finalizer, so the Shard is not rendered (it could not be deregistered)',
    remove: { rule: 'operator.kcp.io shards,kubeconfigs: patch' },
    says: forbidden('patch', 'shards'),
    reports: [Shards, SHARD],
    broken: async ({ admin, ns }) =>
      !!(await get(admin, Deployments, ns, 'shard-sample-kcp')) && !(await get(admin, Deployments, ns, 'secondary-shard-shard-kcp')) && !(await get(admin, Shards, ns, SHARD))?.metadata.finalizers?.length,
  },
  {
    // The rule's other half alone: the Shard keeps its finalizer, the Kubeconfig gets none. Without
    // it, deleting the Kubeconfig would leave its ClusterRoleBindings inside kcp, so nothing is
    // provisioned before it is in place.
    name: 'kubeconfigs patch (verb): a Kubeconfig with authorization gets no cleanup finalizer (the Shard still gets its own)',
    remove: { group: 'operator.kcp.io', resource: 'kubeconfigs', verb: 'patch' },
    extras: ['authorization'],
    says: forbidden('patch', 'kubeconfigs'),
    reports: [Kubeconfigs, AUTHZ],
    broken: async ({ admin, ns }) => !!(await get(admin, Shards, ns, SHARD))?.metadata.finalizers?.length && !(await get(admin, Kubeconfigs, ns, AUTHZ))?.metadata.finalizers?.length,
  },
  {
    name: 'secrets read/write: its Secret cache never fills, so nothing is reconciled',
    remove: { rule: 'core secrets: get,list,watch,create,patch' },
    says: forbidden('list', 'secrets'),
    broken: nothingReconciled,
  },
  {
    name: 'configmaps read/write: its ConfigMap cache never fills, so nothing is reconciled',
    remove: { rule: 'core configmaps: get,list,watch,create,patch' },
    says: forbidden('list', 'configmaps'),
    broken: nothingReconciled,
  },
  {
    name: 'configmaps/secrets delete: federation switched off, its join ConfigMap stays published',
    remove: { rule: 'core configmaps,secrets: delete' },
    extras: ['federation'],
    says: forbidden('delete', 'configmaps'),
    reports: [RootShards, 'fed'],
    broken: async ({ admin, ns }) => !!(await get(admin, ConfigMaps, ns, 'fed-federation')),
  },
  {
    name: 'deployments read/write: its Deployment cache never fills, so nothing is reconciled',
    remove: { rule: 'apps deployments: get,list,watch,create,patch' },
    says: forbidden('list', 'deployments'),
    broken: nothingReconciled,
  },
  {
    name: 'services read/write: its Service cache never fills, so nothing is reconciled',
    remove: { rule: 'core services: get,list,watch,create,patch' },
    says: forbidden('list', 'services'),
    broken: nothingReconciled,
  },
  {
    // Pods gate spec.release rollouts (container restarts); the cache is part of startup, as in
    // controller-runtime, so without it nothing starts at all.
    name: 'pods read: its Pod cache (release rollouts) never fills, so nothing is reconciled',
    remove: { rule: 'core pods: get,list,watch' },
    says: forbidden('list', 'pods'),
    broken: nothingReconciled,
  },
  {
    name: 'poddisruptionbudgets read/write: its budget cache never fills, so nothing is reconciled',
    remove: { rule: 'policy poddisruptionbudgets: get,list,watch,create,patch' },
    says: forbidden('list', 'poddisruptionbudgets'),
    broken: nothingReconciled,
  },
  {
    name: 'poddisruptionbudgets delete: scaled to one replica, the FrontProxy keeps its budget',
    remove: { rule: 'policy poddisruptionbudgets: delete' },
    extras: ['scaleDown'],
    says: forbidden('delete', 'poddisruptionbudgets'),
    reports: [FrontProxies, FP],
    broken: async ({ admin, ns }) => !!(await get(admin, PodDisruptionBudgets, ns, FP_DEPLOYMENT)),
  },
  {
    name: 'events create: the topology converges, but nobody is told (no Event)',
    remove: { rule: 'events.k8s.io events: create' },
    says: forbidden('create', 'events'),
    broken: async (c) => (await certificatesReady(c)) && (await count(c.admin, Events, c.ns)) === 0,
  },
  {
    name: 'cert-manager certificates: a RootShard with issuerRef gets no Certificate, so no root CA',
    remove: { rule: 'cert-manager.io certificates: get,list,watch,create,patch' },
    extras: ['certManager'],
    says: forbidden('patch', 'certificates'),
    reports: [RootShards, 'cm'],
    broken: async ({ admin, ns }) => !(await get(admin, CertManagerCertificates, ns, 'cm-ca')) && !(await get(admin, Secrets, ns, 'cm-client-ca')),
  },
  {
    name: 'leases: it never leads, so nothing is reconciled',
    remove: { rule: 'coordination.k8s.io leases: get,create,update' },
    says: forbidden('get', 'leases'),
    broken: nothingReconciled,
  },
  // Single verbs (from the install test): a right missing inside a rule that otherwise stays.
  {
    name: 'secrets create (verb): no CA can be issued',
    remove: { group: '', resource: 'secrets', verb: 'create' },
    says: forbidden('create', 'secrets'),
    reports: [RootShards, ROOT],
    broken: async ({ admin, ns }) => !(await get(admin, Secrets, ns, 'shard-sample-ca')) && (await count(admin, Deployments, ns)) === 0,
  },
  {
    name: 'deployments create (verb): certificates are issued, but no workload',
    remove: { group: 'apps', resource: 'deployments', verb: 'create' },
    says: forbidden('create', 'deployments'),
    reports: [RootShards, ROOT],
    broken: async ({ admin, ns }) => !!(await get(admin, Secrets, ns, 'shard-sample-ca')) && (await count(admin, Deployments, ns)) === 0,
  },
  {
    name: 'poddisruptionbudgets create (verb): Deployments, but no budget',
    remove: { group: 'policy', resource: 'poddisruptionbudgets', verb: 'create' },
    says: forbidden('create', 'poddisruptionbudgets'),
    reports: [FrontProxies, FP],
    broken: async ({ admin, ns }) => !!(await get(admin, Deployments, ns, FP_DEPLOYMENT)) && (await count(admin, PodDisruptionBudgets, ns)) === 0,
  },
  {
    name: 'rootshards/status patch (verb): the Shard reports, the RootShard does not',
    remove: { group: 'operator.kcp.io', resource: 'rootshards/status', verb: 'patch' },
    says: forbidden('patch', 'rootshards/status'),
    broken: async ({ admin, ns }) => (await get(admin, Shards, ns, SHARD))?.status !== undefined && (await get(admin, RootShards, ns, ROOT))?.status === undefined,
  },
  {
    // A fresh install has no Lease yet: taking it is a create.
    name: 'leases create (verb): it never leads, so nothing is reconciled',
    remove: { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', lease: true },
    says: forbidden('create', 'leases'),
    broken: nothingReconciled,
  },
];

/** Every extra scenario at once: the full-rules run proves each of them works. */
const ALL_EXTRAS: Extra[] = ['federation', 'scaleDown', 'certManager', 'authorization'];

function topology(ns: string): Array<[ResourceType, KubeObject]> {
  const fp = fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns);
  delete (fp.spec as { serviceTemplate?: unknown }).serviceTemplate; // one pinned clusterIP cannot serve every namespace
  return [
    [RootShards, builtInPkiRootShard(ns)],
    [Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns)],
    [FrontProxies, fp],
    [CacheServers, fixture('operator.kcp.io_v1alpha1_cacheserver.yaml', ns)],
    [Kubeconfigs, fixture('operator.kcp.io_v1alpha1_kubeconfig.yaml', ns)],
  ];
}

const rootShard = (ns: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'RootShard',
  metadata: { name, namespace: ns },
  spec: { external: { hostname: `${name}.example.com`, port: 6443 }, cache: { embedded: { enabled: true } }, etcd: { endpoints: [`http://etcd-${name}:2379`] }, ...spec },
});

/** Creates the extra scenario's objects (its first step). */
async function startExtra({ admin, ns }: Ctx, e: Extra): Promise<void> {
  if (e === 'federation') await admin.create(RootShards, rootShard(ns, 'fed', { federation: { accept: [{ cluster: 'edge', namespace: 'kcp-edge', shard: 'edge-1' }] } }));
  if (e === 'certManager') await admin.create(RootShards, rootShard(ns, 'cm', { certificates: { issuerRef: { name: 'selfsigned', kind: 'Issuer', group: 'cert-manager.io' } } }));
  if (e === 'authorization') {
    const kc = fixture('operator.kcp.io_v1alpha1_kubeconfig.yaml', ns);
    kc.metadata.name = AUTHZ;
    Object.assign(kc.spec as Record<string, unknown>, { secretRef: { name: `${AUTHZ}-secret` }, authorization: { clusterRoleBindings: { clusterRoles: ['view'] } } });
    await admin.create(Kubeconfigs, kc);
  }
}

/**
 * Its second step, once the operator did the first: federation switched off (the join ConfigMap
 * must go), the FrontProxy scaled to one replica (its budget must go). Waiting for the first
 * step's result is also what the full run asserts of it.
 */
async function advanceExtra({ admin, ns }: Ctx, e: Extra): Promise<void> {
  if (e === 'federation') {
    await eventually('join ConfigMap published', () => get(admin, ConfigMaps, ns, 'fed-federation'), WAIT);
    await admin.patch(RootShards, ns, 'fed', { spec: { federation: null } }, 'merge');
  }
  if (e === 'scaleDown') {
    await eventually('FrontProxy budget', () => get(admin, PodDisruptionBudgets, ns, FP_DEPLOYMENT), WAIT);
    await admin.patch(FrontProxies, ns, FP, { spec: { replicas: 1 } }, 'merge');
  }
}

/** Everything the full-rules run must reach. */
async function allSucceeded({ admin, ns }: Ctx): Promise<true> {
  for (const d of DEPLOYMENTS) if (!(await get(admin, Deployments, ns, d))) throw new Error(`no Deployment ${d}`);
  if (!(await get(admin, Secrets, ns, KUBECONFIG_SECRET))) throw new Error('no kubeconfig Secret');
  if (!(await certificatesReady({ admin, ns }))) throw new Error('RootShard certificates not ready');
  if (!(await get(admin, Shards, ns, SHARD))?.metadata.finalizers?.length) throw new Error('no Shard finalizer');
  if ((await get(admin, FrontProxies, ns, FP))?.status === undefined) throw new Error('no FrontProxy status');
  if ((await count(admin, Events, ns)) === 0) throw new Error('no Event');
  if (await get(admin, ConfigMaps, ns, 'fed-federation')) throw new Error('join ConfigMap still published');
  if (await get(admin, PodDisruptionBudgets, ns, FP_DEPLOYMENT)) throw new Error('budget still there at one replica');
  if (!(await get(admin, CertManagerCertificates, ns, 'cm-ca'))) throw new Error('no cert-manager Certificate');
  if (!(await get(admin, Kubeconfigs, ns, AUTHZ))?.metadata.finalizers?.length) throw new Error('no finalizer on the Kubeconfig with authorization');
  return true;
}

interface Run {
  name: string;
  ns: string;
  role: string;
  op?: OperatorProcess;
}

describe('the operator under deploy/\'s RBAC minus one rule', () => {
  let admin: KubeClient;
  let dir: string;
  let rules: { cluster: Rule[]; lease: Rule[] };
  let createdCrd = false;
  const runs: Run[] = [];
  const seed = process.env.CHAOS_SEED ?? randomBytes(4).toString('hex');
  const t0 = Date.now();
  const took = new Map<string, number>();

  beforeAll(async () => {
    console.log(`rbac-operator: seed ${seed} (names only; the cases are not random), batch ${BATCH}`);
    admin = await sharedClient('rbac-operator-test');
    dir = await mkdtemp(path.join(tmpdir(), 'rbac-operator-'));
    rules = renderedOperatorRules();
    const crd = await admin.get(CustomResourceDefinitions, undefined, 'certificates.cert-manager.io').catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!crd) {
      createdCrd = true;
      await admin.apply(
        CustomResourceDefinitions,
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'certificates.cert-manager.io' },
          spec: {
            group: 'cert-manager.io',
            names: { kind: 'Certificate', plural: 'certificates', singular: 'certificate', listKind: 'CertificateList' },
            scope: 'Namespaced',
            versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
          },
        },
        'rbac-operator-test',
      );
      await eventually('Certificate API served', async () => (await admin.list(CertManagerCertificates)).items !== undefined, 30_000);
    }
  });

  afterAll(async () => {
    for (const r of runs) await r.op?.stop();
    for (const r of runs) await unbindServiceAccount(admin, r.role);
    if (createdCrd) await admin.delete(CustomResourceDefinitions, undefined, 'certificates.cert-manager.io').catch(() => undefined);
    admin?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('has a case for every rule deploy/ gives the operator, and no case for a rule it lacks', () => {
    const rendered = [...rules.cluster, ...rules.lease].map(ruleId).sort();
    const covered = CASES.flatMap((c) => ('rule' in c.remove ? [c.remove.rule] : [])).sort();
    expect(covered).toEqual(rendered);
    console.log(`rbac-operator: ${rendered.length} rules in deploy/, ${CASES.length} cases (${CASES.length - rendered.length} single verbs)`);
  });

  /** One operator in its own namespace under `roles`, with the topology and `extras`. */
  async function start(name: string, roles: { cluster: Rule[]; lease: Rule[] }, extras: Extra[]): Promise<Run & Ctx> {
    const ns = await createNamespace(admin, `rbac-${seed.slice(0, 4)}`);
    const run: Run = { name, ns, role: `rbac-operator-${ns}` };
    runs.push(run);
    await bindServiceAccount(admin, ns, 'kcp-operator', run.role, roles);
    const kubeconfig = await tokenKubeconfig(admin, inject('kubeconfigPath'), ns, 'kcp-operator', path.join(dir, `${ns}.kubeconfig`));
    run.op = runOperator(kubeconfig, await freePort(), 'src/main.ts', [`--namespace=${ns}`], { POD_NAMESPACE: ns });
    const ctx = { admin, ns };
    for (const [r, o] of topology(ns)) await admin.create(r, o);
    for (const e of extras) await startExtra(ctx, e);
    return { ...run, ...ctx };
  }

  async function runCase(c: Case): Promise<void> {
    const t = Date.now();
    const lease = 'rule' in c.remove ? rules.lease.some((r) => ruleId(r) === (c.remove as { rule: string }).rule) : !!c.remove.lease;
    const roles = { ...rules };
    if ('rule' in c.remove) roles[lease ? 'lease' : 'cluster'] = withoutRule(rules[lease ? 'lease' : 'cluster'], c.remove.rule);
    else roles[lease ? 'lease' : 'cluster'] = withoutVerb(rules[lease ? 'lease' : 'cluster'], c.remove.group, c.remove.resource, c.remove.verb);
    const run = await start(c.name, roles, c.extras ?? []);
    // The extras' second step only where the first can happen under this role (it waits for it).
    for (const e of c.extras ?? []) await advanceExtra(run, e);
    await eventually(`${c.name}: the operator says what is forbidden`, () => c.says.test(run.op?.output() ?? ''), WAIT);
    if (c.reports) {
      const [r, name] = c.reports;
      await eventually(`${c.name}: ${r.kind} ${name} Stalled, reason Forbidden`, async () => {
        const stalled = conditionOf(await get(run.admin, r, run.ns, name), 'Stalled') as (Cond & { message?: string }) | undefined;
        return stalled?.status === 'True' && stalled.reason === 'Forbidden' && c.says.test(JSON.stringify(stalled.message));
      }, WAIT);
    }
    // Said once, it failed at least once; what it could not do must not have happened by other means.
    await eventually(`${c.name}: broken`, () => c.broken(run), 30_000);
    expect(run.op?.child.exitCode ?? null, `${c.name}: the operator keeps running`).toBe(null);
    await run.op?.stop();
    took.set(c.name, Date.now() - t);
  }

  it('with exactly deploy/\'s rules every scenario succeeds, and taking any one rule away breaks its scenario', async () => {
    const full = (async () => {
      const t = Date.now();
      const run = await start('full', rules, ALL_EXTRAS);
      for (const e of ALL_EXTRAS) await advanceExtra(run, e);
      await eventually('every scenario under deploy/\'s rules', () => allSucceeded(run), WAIT);
      expect(run.op?.output() ?? '').not.toMatch(/forbidden/i);
      await run.op?.stop();
      took.set('full', Date.now() - t);
    })();
    const failures: string[] = [];
    const queue = [...CASES];
    await Promise.all(
      Array.from({ length: BATCH - 1 }, async () => {
        for (let c = queue.shift(); c; c = queue.shift()) {
          try {
            await runCase(c);
          } catch (err) {
            failures.push(`${c.name}: ${String(err)}`);
          }
        }
      }),
    );
    await full;
    for (const [n, ms] of took) console.log(`rbac-operator: ${String(Math.round(ms / 1000)).padStart(4)} s  ${n}`);
    console.log(`rbac-operator: ${CASES.length + 1} runs in ${Math.round((Date.now() - t0) / 1000)} s`);
    expect(failures).toEqual([]);
  });

  it('leaves no private key in any log, Event or status', async () => {
    const namespaces = runs.map((r) => r.ns);
    const keys = await collectPrivateKeys(admin, namespaces);
    const texts: Text[] = [...runs.map((r) => ({ source: `operator log (${r.name})`, text: r.op?.output() ?? '' })), ...(await collectClusterTexts(admin, namespaces))];
    const leaks = findLeaks(texts, keys);
    console.log(`rbac-operator: leak scan: ${texts.length} texts, ${keys.length} private keys, ${leaks.length} leaks`);
    expect(keys.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
