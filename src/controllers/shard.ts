// Shard: an additional kcp shard joining a RootShard: certificates signed by the root's CAs,
// kubeconfigs to reach the root shard and the cache, Deployment, Service, and deregistration on
// delete.
import { certManagerConflictCondition, watchCertManagerConflicts } from './cert-manager.js';
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import { Controller, generationChanged, type ReconcileRequest, type ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { Manager } from '../kube/manager.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { LABEL_CACHE_SERVER, LABEL_ROOTSHARD, LABEL_SHARD, shardCertificates } from '../pki/hierarchy.js';
import { baseURL, deploymentName } from '../resources/shard/model.js';
import { withRelease } from '../resources/release.js';
import { grantsOf, releaseFor } from './rollout.js';
import { onlyNeedsAPerson, reconcileCertificates } from './certificates.js';
import { certificatesCondition, rootShardRefConditions } from './component-status.js';
import { controllerContext, Shards, type ControllerContext, type OperatorSettings } from './context.js';
import { deregisterShard, setFinalizer } from './deregistration.js';
import { shardsOf } from './rootshard.js';
import { applyShardWorkload } from './shard-workload.js';
import { unsupportedCondition, unsupportedShardFields } from './unsupported.js';
import { buildStatus, reportForbidden, deploymentAvailable, writeStatus } from './status.js';
import { certificateTemplatesFor } from './templates.js';
import { reconcileFederatedShard } from './federation-shard.js';
import { configMapInformer, podDisruptionBudgetInformer, specOrDeletionChanged, watchMappedWhen } from './watches.js';
import { watchKcpVirtualWorkspaces } from './virtualworkspace.js';
import { responseConfigMapName } from '../federation/protocol.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Shard' };

export async function reconcileShard(ctx: ControllerContext, req: ReconcileRequest): Promise<ReconcileResult | void> {
  const shard = ctx.shards.get(req.key);
  if (!shard) return;
  const spec = shard.spec as ShardSpec;
  const ns = shard.metadata.namespace ?? '';
  const gen = shard.metadata.generation;
  if (spec.rootShard?.joinRef) return reconcileFederatedShard(ctx, shard, req);
  const rootName = spec.rootShard?.ref?.name;
  const root = rootName ? ctx.rootShards.getByName(ns, rootName) : undefined;
  const rootSpec = root?.spec as RootShardSpec | undefined;

  if (shard.metadata.deletionTimestamp) {
    if (!shard.metadata.finalizers?.length) return;
    const res = await deregisterShard(ctx, shard, root && rootSpec ? { name: root.metadata.name ?? '', baseURL: baseURL({ kind: 'RootShard', name: root.metadata.name ?? '', namespace: ns, spec: rootSpec }) } : undefined);
    if (!res.done) {
      req.log.info({ detail: res.detail }, 'waiting to deregister the shard from kcp');
      return { requeueAfterMs: 2000 };
    }
    if (res.how === 'gave-up') void ctx.events.record(shard, 'Warning', 'DeregistrationSkipped', `removing the finalizer without deregistering: ${res.detail}`);
    else void ctx.events.record(shard, 'Normal', 'Deregistered', res.how === 'deregistered' ? 'removed the shard from kcp' : 'kcp had no registration for this shard');
    await setFinalizer(ctx, Shards, shard, false);
    return;
  }
  await setFinalizer(ctx, Shards, shard, true);

  const ref = rootShardRefConditions(ns, rootName, !!root && !!rootSpec, gen);
  if (!ref.ok || !root || !rootSpec) {
    const failure = ref.ok ? undefined : ref.failure;
    await writeStatus(ctx, Shards, shard, buildStatus({ obj: shard, conditions: ref.conditions, failure }));
    return;
  }
  const conditions: ConditionInput[] = [...ref.conditions];
  let failure: { reason: string; message: string } | undefined;

  const plans = shardCertificates({
    name: shard.metadata.name ?? '',
    namespace: ns,
    clusterDomain: spec.clusterDomain,
    shardBaseURL: spec.shardBaseURL,
    rootShard: { name: rootName ?? '', caSecretRef: rootSpec.certificates?.caSecretRef?.name },
    key: DEFAULT_KEY_SPEC,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  const certs = await reconcileCertificates(ctx, shard, plans, 'shard');
  for (const name of certs.renewed) void ctx.events.record(shard, 'Normal', 'CertificateRenewed', `renewed ${name}`);
  conditions.push(certificatesCondition(certs, plans.length, gen));
  conditions.push(...certManagerConflictCondition(ctx, shard, plans));

  const cacheServer = spec.cache?.ref?.name ?? rootSpec.cache?.ref?.name;
  if (cacheServer && !ctx.cacheServers.getByName(ns, cacheServer)) {
    conditions.push({ type: 'CacheServer', status: 'False', reason: 'CacheServerNotFound', message: `CacheServer ${ns}/${cacheServer} does not exist`, observedGeneration: gen });
  }
  const peers = rootSpec.auth?.serviceAccount?.enabled || spec.auth?.serviceAccount?.enabled
    ? [rootName ?? '', ...shardsOf(ctx, root).filter((s) => s !== shard.metadata.name)]
    : [];
  // The RootShard's release, once its rollout has come to this shard (rollout.ts).
  const release = releaseFor(root, 'Shard', shard.metadata.name ?? '', spec, ctx.deployments.getByName(ns, deploymentName('Shard', shard.metadata.name ?? '')));
  const workload = await applyShardWorkload(
    ctx,
    {
      kind: 'Shard',
      owner: { ...API_VERSION_KIND, ...shard },
      name: shard.metadata.name ?? '',
      namespace: ns,
      spec: withRelease(spec, release),
      ...(release ? { release } : {}),
      root: { name: rootName ?? '', spec: rootSpec },
      cacheServer,
      serviceAccountPeers: peers,
    },
    certs.data,
    certs.ready,
  );
  if (workload.missing && workload.missing.reason !== 'CertificatesPending') failure = workload.missing;
  conditions.unshift(
    workload.missing
      ? { type: 'Available', status: 'False', reason: workload.missing.reason, message: workload.missing.message, observedGeneration: gen }
      : deploymentAvailable(workload.deployment, gen),
  );
  conditions.push(...unsupportedCondition(unsupportedShardFields(spec), gen));
  await writeStatus(ctx, Shards, shard, buildStatus({ obj: shard, conditions, failure }));
  if (!certs.ready) {
    // Soon while something may still arrive; rarely when only a person can fix what blocks it,
    // or when the RootShard does not exist (its creation is a watch event that wakes this Shard).
    const poll = !root || onlyNeedsAPerson(certs) ? 60_000 : 2000;
    return { requeueAfterMs: Math.min(certs.requeueAfterMs ?? poll, poll) };
  }
  return certs.requeueAfterMs !== undefined ? { requeueAfterMs: certs.requeueAfterMs } : undefined;
}

/** The other Shards of `s`'s RootShard that mount its service-account key (theirs or their RootShard's auth.serviceAccount.enabled). */
export function peersOf(ctx: ControllerContext, s: KubeObject): string[] {
  const ns = s.metadata.namespace;
  const rootName = (s.spec as ShardSpec | undefined)?.rootShard?.ref?.name;
  if (!rootName) return [];
  const rootTrusts = !!(ctx.rootShards.getByName(ns, rootName)?.spec as RootShardSpec | undefined)?.auth?.serviceAccount?.enabled;
  return ctx.shards
    .byIndex('rootShard', `${ns}/${rootName}`)
    .filter((o) => o.metadata.name !== s.metadata.name && (rootTrusts || !!(o.spec as ShardSpec | undefined)?.auth?.serviceAccount?.enabled))
    .map(objectKey);
}

export function setupShardController(manager: Manager, settings: OperatorSettings, ctx = controllerContext(manager, settings)): Controller {
  const c = new Controller('shard', (req) => reconcileShard(ctx, req), { logger: manager.log, concurrency: settings.concurrency, onError: reportForbidden(ctx, Shards, (k) => ctx.shards.get(k)) });
  const rootOf = (s: KubeObject) => (s.spec as ShardSpec | undefined)?.rootShard?.ref?.name;
  // Finalizer edits and deletion change metadata only; those must still wake the controller.
  c.watchFor(ctx.shards, (o, n) => generationChanged(o, n) || !!n.metadata.deletionTimestamp);
  watchCertManagerConflicts(c, ctx, ctx.shards);
  for (const inf of [ctx.secrets, ctx.deployments, ctx.services, podDisruptionBudgetInformer(ctx)]) c.watchOwned(inf, API_VERSION_KIND);
  ctx.shards.addIndex('rootShard', (s) => (rootOf(s) ? [`${s.metadata.namespace}/${rootOf(s)}`] : []));
  const shardsOfRoot = (ns: string | undefined, rs: string) => ctx.shards.byIndex('rootShard', `${ns}/${rs}`).map(objectKey);
  // The RootShard's spec and existence, and its rollout telling shards to move; not the rest of its
  // status, which every step of a rollout writes (waking every shard for each would make a rollout
  // cost O(shards) reconciles per step).
  watchMappedWhen(c, ctx.rootShards, (o, n) => specOrDeletionChanged(o, n) || grantsOf(o) !== grantsOf(n), (rs) => shardsOfRoot(rs.metadata.namespace, rs.metadata.name ?? ''));
  // The root's CA Secrets appearing or changing (they carry the rootshard label, not an owner).
  c.watchMapped(ctx.secrets, (s) => {
    const rs = s.metadata.labels?.[LABEL_ROOTSHARD];
    return rs && !s.metadata.labels?.[LABEL_SHARD] ? shardsOfRoot(s.metadata.namespace, rs) : [];
  });
  // Peers joining or leaving change the service-account keys a shard trusts, when it trusts its
  // peers at all. A peer's status writes change nothing here: reacting to them made every Shard
  // reconcile every other one (n² reconciles while a topology converges).
  watchMappedWhen(c, ctx.shards, specOrDeletionChanged, (s) => peersOf(ctx, s));
  // Shards whose effective cache (their own reference, else their RootShard's) is `cs`.
  const usingCache = (ns: string | undefined, cs: string | undefined) =>
    cs
      ? ctx.shards
          .list(ns)
          .filter((s) => {
            const own = (s.spec as ShardSpec | undefined)?.cache?.ref?.name;
            const root = rootOf(s) ? ctx.rootShards.getByName(ns, rootOf(s) ?? '') : undefined;
            return (own ?? (root?.spec as RootShardSpec | undefined)?.cache?.ref?.name) === cs;
          })
          .map(objectKey)
      : [];
  c.watchMapped(ctx.cacheServers, (cs) => usingCache(cs.metadata.namespace, cs.metadata.name));
  // The CacheServer's mounted Secrets: a renewal re-renders the shard so its Pods roll.
  c.watchMapped(ctx.secrets, (s) => usingCache(s.metadata.namespace, s.metadata.labels?.[LABEL_CACHE_SERVER]));
  // Federation: the join info and the join response (replicas), and our own join request.
  ctx.shards.addIndex('joinRef', (s) => {
    const ref = (s.spec as ShardSpec | undefined)?.rootShard?.joinRef?.name;
    return ref ? [`${s.metadata.namespace}/${ref}`, `${s.metadata.namespace}/${responseConfigMapName(s.metadata.name ?? '')}`] : [];
  });
  c.watchMapped(ctx.replicas, (cm) => ctx.shards.byIndex('joinRef', objectKey(cm)).map(objectKey));
  c.watchOwned(configMapInformer(ctx), API_VERSION_KIND);
  watchKcpVirtualWorkspaces(c, ctx, ctx.shards);
  manager.add(c);
  return c;
}
