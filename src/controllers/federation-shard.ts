// A Shard that joins a RootShard elsewhere (spec.rootShard.joinRef): the join info gives the
// installation's CA certificates and URLs; its certificates are requested through
// federation-requests.ts (keys stay here); once they are signed and checked, the shard renders as
// any other, against the remote RootShard. Deleting the Shard withdraws the request and waits
// (bounded) until the RootShard's cluster has let it go (deregistered it from kcp).
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import type { ReconcileRequest, ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { KubeObject } from '../kube/object.js';
import { Secrets } from '../kube/resources.js';
import { federatedCASecret, federatedCASecretName } from '../resources/federation/objects.js';
import type { ShardModel } from '../resources/shard/model.js';
import { CA_KEYS, type JoinInfo } from '../federation/protocol.js';
import { buildJoinRequest, requestPlans } from '../federation/shard-side.js';
import { Shards, type ControllerContext } from './context.js';
import { setFinalizer } from './deregistration.js';
import { readJoinInfo, runRequestFlow, withdrawRequest, type Failure } from './federation-requests.js';
import { applyShardWorkload } from './shard-workload.js';
import { buildStatus, deploymentAvailable, writeStatus } from './status.js';
import { certificateTemplatesFor } from './templates.js';
import { unsupportedCondition, unsupportedShardFields } from './unsupported.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Shard' };

/** The RootShard as far as rendering a shard needs it, from the join info. */
export function joinedRootSpec(info: JoinInfo): RootShardSpec {
  return {
    external: info.external,
    shardBaseURL: info.rootShardURL,
    etcd: { endpoints: [] },
    cache: {},
    ...(info.serviceAccountAuth ? { auth: { serviceAccount: { enabled: true } } } : {}),
  } as RootShardSpec;
}

export async function reconcileFederatedShard(ctx: ControllerContext, shard: KubeObject, req: ReconcileRequest, now: Date = new Date()): Promise<ReconcileResult | void> {
  const spec = shard.spec as ShardSpec;
  const ns = shard.metadata.namespace ?? '';
  const name = shard.metadata.name ?? '';
  const gen = shard.metadata.generation;
  const owner: KubeObject = { ...API_VERSION_KIND, ...shard };

  if (shard.metadata.deletionTimestamp) {
    if (!shard.metadata.finalizers?.length) return;
    const state = await withdrawRequest(ctx, owner, 'Shard', now);
    if (state === 'waiting') {
      req.log.info('waiting for the RootShard\'s cluster to let the shard go');
      return { requeueAfterMs: 2000 };
    }
    if (state === 'overdue') void ctx.events.record(shard, 'Warning', 'DeregistrationSkipped', 'the RootShard\'s cluster did not confirm that it let the shard go; removing the finalizer anyway');
    else void ctx.events.record(shard, 'Normal', 'Deregistered', 'the RootShard\'s cluster let the shard go');
    await setFinalizer(ctx, Shards, shard, false);
    return;
  }
  await setFinalizer(ctx, Shards, shard, true);

  const conditions: ConditionInput[] = [];
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => conditions.push({ type, status, reason, message, observedGeneration: gen });
  const finish = async (failure: Failure | undefined, available: ConditionInput | undefined, requeueAfterMs?: number): Promise<ReconcileResult | void> => {
    conditions.unshift(available ?? { type: 'Available', status: 'False', reason: failure?.reason ?? 'JoinPending', message: failure?.message ?? 'waiting to join', observedGeneration: gen });
    conditions.push(...unsupportedCondition(unsupportedShardFields(spec), gen));
    await writeStatus(ctx, Shards, shard, buildStatus({ obj: shard, conditions, failure }));
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  };

  // 1. The join info, as replicated here.
  const join = readJoinInfo(ctx, owner, 'Shard', 'spec.rootShard.joinRef', spec.rootShard.joinRef?.name ?? '');
  if (!join.ok) {
    cond('RootShard', 'False', join.reason, join.message);
    if (join.lastRefusal) cond('Joined', 'False', join.lastRefusal.reason, join.lastRefusal.message);
    const failure = join.reason === 'JoinInfoInvalid' ? { reason: join.reason, message: join.message } : join.lastRefusal;
    return finish(failure, { type: 'Available', status: 'False', reason: join.reason, message: join.message, observedGeneration: gen });
  }
  const { info, hubCluster } = join;
  cond('RootShard', 'True', 'Joined', `RootShard ${info.rootShard.namespace}/${info.rootShard.name} on cluster ${hubCluster}`);

  // 2. The installation's CA certificates, without keys (there are none to copy).
  for (const k of CA_KEYS) {
    const s = federatedCASecret(owner, k, info.caCertificates[k]);
    await ctx.applier.apply(Secrets, s, ctx.secrets.getByName(ns, s.metadata.name ?? ''));
  }

  // 3. The shard's certificates, through the RootShard's cluster.
  const target = { name, namespace: ns, clusterDomain: spec.clusterDomain, shardBaseURL: spec.shardBaseURL };
  const plans = requestPlans(target, info, certificateTemplatesFor(spec.certificateTemplates));
  const flow = await runRequestFlow(
    ctx,
    { owner, requester: 'Shard', component: 'shard', info, hubCluster, plans, document: (g, keys) => buildJoinRequest(target, info, plans, g, keys), log: req.log },
    now,
  );
  cond('Joined', flow.joined.status, flow.joined.reason, flow.joined.message);
  cond('CertificatesReady', flow.ready ? 'True' : 'False', flow.ready ? 'Issued' : 'AwaitingSignature', flow.ready ? `${plans.length} certificates valid` : 'requested from the RootShard\'s cluster');
  if (!flow.ready) return finish(flow.failure, undefined, flow.requeueAfterMs);

  // 4. The workload, once every certificate is signed and checked.
  const certs = flow.certs;
  for (const k of CA_KEYS) certs.set(federatedCASecretName(name, k), { 'tls.crt': info.caCertificates[k], 'tls.key': '', 'ca.crt': info.caCertificates[k] });
  const model: ShardModel = {
    kind: 'Shard',
    owner,
    name,
    namespace: ns,
    spec,
    root: { name: info.rootShard.name, spec: joinedRootSpec(info) },
    serviceAccountPeers: [],
    federated: true,
  };
  const workload = await applyShardWorkload(ctx, model, certs, true);
  const available = workload.missing
    ? { type: 'Available', status: 'False' as const, reason: workload.missing.reason, message: workload.missing.message, observedGeneration: gen }
    : deploymentAvailable(workload.deployment, gen);
  return finish(flow.failure ?? (workload.missing && workload.missing.reason !== 'CertificatesPending' ? workload.missing : undefined), available, flow.requeueAfterMs);
}
