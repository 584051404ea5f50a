// PodDisruptionBudgets (ours, kcp-operator issue #176) against the real API server: a FrontProxy with
// two replicas gets one, a budget deleted by hand comes back, an unchanged budget is not written
// again, scaling to one replica or `enabled: false` removes it (but never a same-named budget the
// operator did not make), and admission refuses minAvailable together with maxUnavailable. Nothing
// here runs kcp; no kube-controller-manager runs either, so PDB status stays empty (not asserted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontProxies, RootShards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, PodDisruptionBudgets } from '../../src/kube/resources.js';
import { createNamespace, eventually, quiet, sharedClient } from './helpers.js';
import { builtInPkiRootShard, fixture } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

const FP = 'frontproxy-sample';
const NAME = 'frontproxy-sample-front-proxy';
type Budget = KubeObject & { spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector: unknown } };
type Status = { observedGeneration?: number };

describe('PodDisruptionBudget', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  const pdb = async (): Promise<Budget | undefined> => {
    try {
      return (await client.get(PodDisruptionBudgets, ns, NAME)) as Budget;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  /** Patches the FrontProxy spec and waits until the operator has reconciled that generation. */
  const patchSpec = async (spec: Record<string, unknown>) => {
    const o = await client.patch(FrontProxies, ns, FP, { spec }, 'merge');
    const gen = o.metadata.generation;
    await eventually(`generation ${gen} observed`, async () => ((await client.get(FrontProxies, ns, FP)).status as Status | undefined)?.observedGeneration === gen, 30_000);
  };

  beforeAll(async () => {
    client = await sharedClient('pdb-test');
    ns = await createNamespace(client, 'pdb');
    op = await startOperator({ namespace: ns });
    const rs = builtInPkiRootShard(ns);
    await client.create(RootShards, rs);
    const fp = fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns);
    delete (fp.spec as { serviceTemplate?: unknown }).serviceTemplate; // the sample's clusterIP is for kind's range
    await client.create(FrontProxies, fp); // replicas unset: the schema defaults them to 2
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it('is applied beside a Deployment of two replicas: maxUnavailable 1, the Deployment\'s selector, owned by the FrontProxy', async () => {
    const budget = await eventually('budget', pdb, 60_000);
    const dep = await client.get(Deployments, ns, NAME);
    const fp = await client.get(FrontProxies, ns, FP);
    expect((dep.spec as { replicas: number }).replicas).toBe(2);
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(budget.spec.minAvailable).toBeUndefined();
    expect(budget.spec.selector).toEqual((dep.spec as { selector: unknown }).selector);
    expect(budget.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('kcp-operator');
    expect(budget.metadata.ownerReferences).toEqual([
      { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'FrontProxy', name: FP, uid: fp.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
  });

  it('comes back when deleted by hand', async () => {
    const before = await eventually('budget', pdb, 60_000);
    // Settled first, so that only the budget's own deletion can wake the FrontProxy.
    await quiet('operator writes', () => op.client.stats.writes);
    await client.delete(PodDisruptionBudgets, ns, NAME);
    const after = await eventually('budget restored', async () => {
      const b = await pdb();
      return b && b.metadata.uid !== before.metadata.uid ? b : undefined;
    }, 30_000);
    expect(after.spec.maxUnavailable).toBe(1);
  });

  it('is not written again while nothing changed (a reconcile at rest makes no request)', async () => {
    await quiet('operator writes', () => op.client.stats.writes);
    const writes = op.client.stats.writes;
    // A label of someone else's on the budget wakes the FrontProxy (an owned object changed) but
    // changes nothing the operator wants.
    await client.patch(PodDisruptionBudgets, ns, NAME, { metadata: { labels: { 'example.com/touched': 'yes' } } }, 'merge');
    const key = `${ns}/${FP}`;
    const reconciles = () => (op.manager as unknown as { controllers: Array<{ name: string; reconciles: Map<string, number> }> }).controllers.find((c) => c.name === 'frontproxy')?.reconciles.get(key) ?? 0;
    const n0 = reconciles();
    await eventually('reconciled', () => reconciles() > n0, 30_000);
    await quiet('operator writes', () => op.client.stats.writes);
    expect(op.client.stats.writes - writes).toBe(0);
  });

  it('takes minAvailable instead of maxUnavailable', async () => {
    await patchSpec({ podDisruptionBudget: { minAvailable: 1 } });
    const b = await eventually('minAvailable', async () => {
      const x = await pdb();
      return x?.spec.minAvailable === 1 ? x : undefined;
    });
    // Server-side apply drops the field the operator no longer sets.
    expect(b.spec.maxUnavailable).toBeUndefined();
  });

  it('is deleted when the FrontProxy scales to one replica, and back at two', async () => {
    await patchSpec({ replicas: 1 });
    await eventually('budget gone', async () => (await pdb()) === undefined, 30_000);
    expect((await client.get(Deployments, ns, NAME)).spec).toMatchObject({ replicas: 1 });
    await patchSpec({ replicas: 2 });
    await eventually('budget back', pdb, 30_000);
  });

  it('turns a budget the server refuses into a condition for its generation, not an endless retry', async () => {
    // Admission does not check label keys; the API server refuses one with a space, on the
    // Deployment and on the budget that copies its labels alike. Each refusal must end the
    // reconcile with a condition (the budget's once threw, and the generation never settled).
    const o = await client.patch(FrontProxies, ns, FP, { spec: { deploymentTemplate: { metadata: { labels: { 'bad key': 'x' } } } } }, 'merge');
    const gen = o.metadata.generation;
    const available = (x: KubeObject) => (x.status as Status & { conditions?: Array<{ type: string; status: string; reason: string; message: string }> }).conditions?.find((c) => c.type === 'Available');
    const refused = await eventually('a condition for the generation', async () => {
      const x = await client.get(FrontProxies, ns, FP);
      return (x.status as Status | undefined)?.observedGeneration === gen ? available(x) : undefined;
    }, 30_000);
    expect(refused).toMatchObject({ status: 'False', reason: expect.stringMatching(/Invalid$/) });
    expect(refused?.message).toContain('bad key');
    await patchSpec({ deploymentTemplate: { metadata: { labels: { 'bad key': null } } } });
    await eventually('recovered', async () => !available(await client.get(FrontProxies, ns, FP))?.reason.endsWith('Invalid'), 30_000);
    await eventually('budget still there', pdb);
  });

  it('is deleted with enabled: false', async () => {
    await patchSpec({ podDisruptionBudget: { enabled: false } });
    await eventually('budget gone', async () => (await pdb()) === undefined, 30_000);
  });

  it('never deletes a same-named budget the operator did not make, even one carrying its label', async () => {
    // The operator's label, no owner: someone's own budget (enabled: false is how they opt out).
    await client.create(PodDisruptionBudgets, {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: NAME, namespace: ns, labels: { 'app.kubernetes.io/managed-by': 'kcp-operator' } },
      spec: { minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/instance': FP } } },
    });
    const mine = await eventually('own budget', pdb);
    // A new generation, fully reconciled, with the budget in the cache.
    await patchSpec({ replicas: 3 });
    await patchSpec({ replicas: 1 });
    const still = await pdb();
    expect(still?.metadata.uid).toBe(mine.metadata.uid);
    await client.delete(PodDisruptionBudgets, ns, NAME);
  });

  it('refuses minAvailable together with maxUnavailable at admission, naming the field', async () => {
    const err = await client.patch(FrontProxies, ns, FP, { spec: { podDisruptionBudget: { minAvailable: 1, maxUnavailable: 1 } } }, 'merge').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/spec\.podDisruptionBudget\.minAvailable: .*cannot both be set/);
  });
});
