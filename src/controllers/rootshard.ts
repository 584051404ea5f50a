// RootShard: the whole PKI of an installation, the root shard's Secrets, Deployment and Service,
// its internal proxy (rootshard-proxy.ts), and a status that lists its shards.
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import { Controller, generationChanged, type ReconcileRequest, type ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { Manager } from '../kube/manager.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { LABEL_CACHE_SERVER, LABEL_ROOTSHARD, rootShardCertificates } from '../pki/hierarchy.js';
import { onlyNeedsAPerson, reconcileCertificates } from './certificates.js';
import { certificatesCondition } from './component-status.js';
import { ensureCertManagerCertificate, certManagerConflictCondition, watchCertManagerConflicts } from './cert-manager.js';
import { controllerContext, RootShards, type ControllerContext, type OperatorSettings } from './context.js';
import { certificateTemplatesFor } from './templates.js';
import { federatedShardsOf, reconcileRootFederation } from './federation-root.js';
import { configMapInformer, podDisruptionBudgetInformer, specOrDeletionChanged, watchMappedWhen } from './watches.js';
import { watchKcpVirtualWorkspaces } from './virtualworkspace.js';
import { REQUEST_KEY } from '../federation/protocol.js';
import { applyShardWorkload } from './shard-workload.js';
import { reconcileRootShardProxy, rootShardProxyCertificates } from './rootshard-proxy.js';
import { unsupportedCondition, unsupportedShardFields } from './unsupported.js';
import { buildStatus, reportForbidden, deploymentAvailable, writeStatus } from './status.js';
import { forgetRollout, releaseFor, stepRollout, watchRolloutComponents } from './rollout.js';
import { withRelease } from '../resources/release.js';
import { deploymentName } from '../resources/shard/model.js';
import { rootShardProxyName } from '../resources/rootshard-proxy/model.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'RootShard' };

/** The Shard objects of this RootShard's namespace that join it. */
export function localShardsOf(ctx: ControllerContext, rs: KubeObject): string[] {
  return ctx.shards
    .list(rs.metadata.namespace)
    .filter((s) => (s.spec as ShardSpec | undefined)?.rootShard?.ref?.name === rs.metadata.name)
    .map((s) => s.metadata.name ?? '')
    .sort();
}

/** Every shard of the installation besides the root: local ones and those joined from elsewhere (federation). */
export function shardsOf(ctx: ControllerContext, rs: KubeObject): string[] {
  const local = localShardsOf(ctx, rs);
  const remote = federatedShardsOf(ctx, rs.metadata.namespace, rs.metadata.name ?? '').filter((n) => !local.includes(n));
  return [...local, ...remote].sort();
}

export async function reconcileRootShard(ctx: ControllerContext, req: ReconcileRequest): Promise<ReconcileResult | void> {
  const rs = ctx.rootShards.get(req.key);
  if (!rs || rs.metadata.deletionTimestamp) {
    const [ns, name] = req.key.split('/');
    forgetRollout(ns ?? '', name ?? '');
    return;
  }
  const spec = rs.spec as RootShardSpec;
  const ns = rs.metadata.namespace ?? '';
  const gen = rs.metadata.generation;
  const conditions: ConditionInput[] = [];
  let failure: { reason: string; message: string } | undefined;

  const plans = rootShardCertificates({
    name: rs.metadata.name ?? '',
    namespace: ns,
    clusterDomain: spec.clusterDomain,
    externalHostname: spec.external.hostname,
    privateHostname: spec.external.privateHostname,
    shardBaseURL: spec.shardBaseURL,
    caSecretRef: spec.certificates?.caSecretRef?.name,
    issuerRef: spec.certificates?.issuerRef,
    key: DEFAULT_KEY_SPEC,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  // The internal proxy's leaves after the CAs that sign them: issued and renewed with the rest.
  plans.push(...rootShardProxyCertificates({ name: rs.metadata.name ?? '', namespace: ns, spec }, DEFAULT_KEY_SPEC, certificateTemplatesFor(spec.proxy?.certificateTemplates)));
  const certs = await reconcileCertificates(ctx, rs, plans, 'rootshard');
  for (const name of certs.issued) req.log.info({ secret: name }, 'issued certificate');
  for (const name of certs.renewed) void ctx.events.record(rs, 'Normal', 'CertificateRenewed', `renewed ${name}`);
  if (certs.issued.some((n) => plans.find((p) => p.secretName === n)?.isCA)) {
    void ctx.events.record(rs, 'Normal', 'CAIssued', `issued the CA hierarchy of ${rs.metadata.name}`);
  }
  const rootPlan = plans[0];
  if (rootPlan && rootPlan.issuer.type === 'certManager' && certs.blocked.some((b) => b.secretName === rootPlan.secretName)) {
    const cm = await ensureCertManagerCertificate(ctx, rs, rootPlan);
    if (!cm.installed) failure = { reason: 'CertManagerNotInstalled', message: cm.message };
  }
  const caProblem = certs.blocked.find((b) => !b.external && b.reason.startsWith('CA'));
  if (caProblem && !failure) failure = { reason: caProblem.reason, message: caProblem.message };
  conditions.push(certificatesCondition(certs, plans.length, gen, failure));
  conditions.push(...certManagerConflictCondition(ctx, rs, plans));
  if (failure) void ctx.events.record(rs, 'Warning', failure.reason, failure.message);

  const cacheServer = spec.cache?.ref?.name;
  if (cacheServer && !ctx.cacheServers.getByName(ns, cacheServer)) {
    conditions.push({ type: 'CacheServer', status: 'False', reason: 'CacheServerNotFound', message: `CacheServer ${ns}/${cacheServer} does not exist`, observedGeneration: gen });
  }
  const shards = shardsOf(ctx, rs);
  // The release rollout decides which release the root shard and the internal proxy render now.
  const rollout = stepRollout(ctx, rs);
  conditions.push(...rollout.conditions);
  const rsName = rs.metadata.name ?? '';
  const release = releaseFor(rs, 'RootShard', rsName, spec, ctx.deployments.getByName(ns, deploymentName('RootShard', rsName)), rollout.plan?.granted);
  const proxyName = rootShardProxyName({ name: rsName, spec });
  const proxyRelease = releaseFor(rs, 'RootShardProxy', proxyName, spec, ctx.deployments.getByName(ns, proxyName), rollout.plan?.granted);
  const model = {
    kind: 'RootShard' as const,
    owner: { ...API_VERSION_KIND, ...rs },
    name: rsName,
    namespace: ns,
    spec: withRelease(spec, release),
    ...(release ? { release } : {}),
    proxyRelease,
    root: { name: rs.metadata.name ?? '', spec },
    cacheServer,
    serviceAccountPeers: spec.auth?.serviceAccount?.enabled ? shards : [],
  };
  const workload = await applyShardWorkload(ctx, model, certs.data, certs.ready);
  if (workload.missing && !failure && workload.missing.reason !== 'CertificatesPending') failure = workload.missing;
  conditions.unshift(
    workload.missing
      ? { type: 'Available', status: 'False', reason: workload.missing.reason, message: workload.missing.message, observedGeneration: gen }
      : deploymentAvailable(workload.deployment, gen),
  );
  const proxy = await reconcileRootShardProxy(ctx, model, certs.data, certs.ready, gen);
  conditions.push(proxy.condition);
  if (proxy.failure && !failure) failure = proxy.failure;
  conditions.push(...unsupportedCondition(unsupportedShardFields(spec), gen));
  const federation = await reconcileRootFederation(ctx, model.owner, spec, certs.data, req.log);
  conditions.push(...federation.conditions);
  const extra: Record<string, unknown> = { shards: localShardsOf(ctx, rs).map((name) => ({ name })) };
  if (spec.federation || federation.federatedShards.length > 0) extra.federatedShards = federation.federatedShards;
  if (rollout.plan) extra.rollout = rollout.plan.status;
  const status = buildStatus({ obj: rs, conditions, failure, extra });
  await writeStatus(ctx, RootShards, rs, status);
  if (federation.requeueAfterMs !== undefined) return { requeueAfterMs: Math.min(federation.requeueAfterMs, certs.requeueAfterMs ?? Infinity, rollout.plan?.requeueAfterMs ?? Infinity) };
  // cert-manager may be installed later; nothing we watch would tell us, so look again now and then.
  if (failure?.reason === 'CertManagerNotInstalled') return { requeueAfterMs: 60_000 };
  if (!certs.ready && !failure) {
    // Soon while something may still arrive; rarely when only a person can fix what blocks it.
    const poll = onlyNeedsAPerson(certs) ? 60_000 : 5000;
    return { requeueAfterMs: Math.min(certs.requeueAfterMs ?? poll, poll) };
  }
  const after = Math.min(certs.requeueAfterMs ?? Infinity, rollout.plan?.requeueAfterMs ?? Infinity);
  return after !== Infinity ? { requeueAfterMs: after } : undefined;
}

export function setupRootShardController(manager: Manager, settings: OperatorSettings, ctx = controllerContext(manager, settings)): Controller {
  const c = new Controller('rootshard', (req) => reconcileRootShard(ctx, req), { logger: manager.log, concurrency: settings.concurrency, onError: reportForbidden(ctx, RootShards, (k) => ctx.rootShards.get(k)) });
  c.watchFor(ctx.rootShards, generationChanged);
  watchCertManagerConflicts(c, ctx, ctx.rootShards);
  for (const inf of [ctx.secrets, ctx.deployments, ctx.services, podDisruptionBudgetInformer(ctx)]) c.watchOwned(inf, API_VERSION_KIND);
  // CA Secrets have no owner (they must outlive it); they carry the rootshard label instead.
  c.watchMapped(ctx.secrets, (s) => {
    const rs = s.metadata.labels?.[LABEL_ROOTSHARD];
    return rs && !s.metadata.labels?.['operator.kcp.io/shard'] ? [`${s.metadata.namespace}/${rs}`] : [];
  });
  ctx.rootShards.addIndex('secretRefs', (o) => secretRefsOf(o));
  c.watchMapped(ctx.secrets, (s) => ctx.rootShards.byIndex('secretRefs', objectKey(s)).map(objectKey));
  // Shards joining or leaving change status.shards and the service-account keys, and their spec
  // the rollout; their status writes do not (with 100 Shards, reacting to those reconciled the
  // RootShard hundreds of times while the topology converged).
  watchMappedWhen(c, ctx.shards, specOrDeletionChanged, (s) => {
    const ref = (s.spec as ShardSpec | undefined)?.rootShard?.ref?.name;
    return ref ? [`${s.metadata.namespace}/${ref}`] : [];
  });
  // Federation: join requests arriving (replicas, in a RootShard's request namespace) and our own
  // published documents changing.
  c.watchMapped(ctx.replicas, (cm) => {
    if ((cm.data as Record<string, string> | undefined)?.[REQUEST_KEY] === undefined) return [];
    const fed = (rs: KubeObject) => (rs.spec as RootShardSpec).federation;
    return ctx.rootShards
      .list()
      .filter((rs) => fed(rs) && (fed(rs)?.requestNamespace ?? rs.metadata.namespace) === cm.metadata.namespace)
      .map(objectKey);
  });
  c.watchOwned(configMapInformer(ctx), API_VERSION_KIND);
  const usingCache = (ns: string | undefined, cs: string | undefined) =>
    cs ? ctx.rootShards.list(ns).filter((rs) => (rs.spec as RootShardSpec).cache?.ref?.name === cs).map(objectKey) : [];
  c.watchMapped(ctx.cacheServers, (cs) => usingCache(cs.metadata.namespace, cs.metadata.name));
  // The CacheServer's Secrets (kubeconfig, CA, client certificate) are mounted by the root shard:
  // a renewal must re-render it so its Pods roll.
  c.watchMapped(ctx.secrets, (s) => usingCache(s.metadata.namespace, s.metadata.labels?.[LABEL_CACHE_SERVER]));
  watchKcpVirtualWorkspaces(c, ctx, ctx.rootShards);
  watchRolloutComponents(c, ctx);
  manager.add(c);
  return c;
}

/** `namespace/name` of every Secret a RootShard's spec refers to. */
export function secretRefsOf(o: KubeObject): string[] {
  const s = o.spec as RootShardSpec | undefined;
  const ns = o.metadata.namespace;
  return [
    s?.certificates?.caSecretRef?.name,
    s?.caBundleSecretRef?.name,
    s?.clientCABundleRef?.name,
    s?.etcd?.tlsConfig?.secretRef?.name,
  ]
    .filter((n): n is string => !!n)
    .map((n) => `${ns}/${n}`);
}
