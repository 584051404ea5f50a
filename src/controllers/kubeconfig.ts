// Kubeconfig: a client certificate (username, groups, kubeconfig:<name>) signed by the RootShard's
// client CA and renewed before it expires, written with the target's address into a self-contained
// kubeconfig Secret that the Kubeconfig owns; optionally ClusterRoleBindings inside kcp, removed
// again on delete by a finalizer that waits a bounded time (kcp may be gone).
import { certManagerConflictCondition, watchCertManagerConflicts } from './cert-manager.js';
import type { FrontProxySpec } from '../api/frontproxy.js';
import type { KubeconfigSpec, KubeconfigStatus, KubeconfigTarget as TargetRefs } from '../api/kubeconfig.js';
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import type { KubeconfigPhase } from '../api/status.js';
import { Controller, type ReconcileRequest, type ReconcileResult } from '../kube/controller.js';
import { findCondition, metaTime, type Condition, type ConditionInput } from '../kube/conditions.js';
import { describeError } from '../kube/errors.js';
import type { Manager } from '../kube/manager.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import { Secrets } from '../kube/resources.js';
import { mergeCABundles } from '../pki/bundle.js';
import { kubeconfigCertificate, LABEL_ROOTSHARD, rootShardCAName, type PlannedCertificate } from '../pki/hierarchy.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { renewalTime } from '../pki/renewal.js';
import { parseCertificate } from '../pki/x509.js';
import { parseGoDuration } from '../resources/common/duration.js';
import { desiredBindings } from '../resources/kubeconfig/rbac.js';
import {
  authorizationWorkspace,
  kubeconfigSecret,
  targetName,
  type KubeconfigModel,
  type KubeconfigTarget,
} from '../resources/kubeconfig/render.js';
import { blockedSummary, reconcileCertificates } from './certificates.js';
import { controllerContext, Kubeconfigs, secretData, secretMemo, type ControllerContext, type OperatorSettings } from './context.js';
import { ensureFinalizer } from './finalizer.js';
import { kcpEndpoint, operatorKcpClient, type KcpEndpoint } from './kcp-client.js';
import { removeBindings, syncBindings } from './kubeconfig-rbac.js';
import { buildStatus, reportForbidden, writeStatus } from './status.js';
import { reconcileFederatedKubeconfig } from './federation-kubeconfig.js';
import { responseConfigMapName } from '../federation/protocol.js';
import { configMapInformer } from './watches.js';
import { certificateTemplatesFor } from './templates.js';
import { unsupportedCondition, unsupportedTemplateFields } from './unsupported.js';
import { frontProxyInformer, kubeconfigInformer, specOrDeletionChanged, watchMappedWhen } from './watches.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Kubeconfig' };
/** kcp-operator's name, so a Kubeconfig it provisioned is cleaned up the same way. */
export const RBAC_FINALIZER = 'operator.kcp.io/cleanup-rbac';
const AUTHORIZATION = 'AuthorizationReady';
const RETRY_MIN_MS = 5000;
const RETRY_MAX_MS = 300_000;

type Problem = { reason: string; message: string };
type Resolved = { target: KubeconfigTarget; caBundleRef?: string } | { problem: string; targetName: string };

export async function reconcileKubeconfig(ctx: ControllerContext, req: ReconcileRequest): Promise<ReconcileResult | void> {
  const kc = kubeconfigInformer(ctx).get(req.key);
  if (!kc) return;
  const spec = kc.spec as KubeconfigSpec;
  if (spec.target.joinRef) return reconcileFederatedKubeconfig(ctx, kc, req, (status) => writeKubeconfigStatus(ctx, kc, status));
  const ns = kc.metadata.namespace ?? '';
  const gen = kc.metadata.generation;
  const resolved = resolveTarget(ctx, ns, spec.target);
  if (kc.metadata.deletionTimestamp) return finalizeKubeconfig(ctx, kc, resolved, req);
  const previous = kc.status as KubeconfigStatus | undefined;

  if ('problem' in resolved) {
    const conditions: ConditionInput[] = [
      { type: 'Available', status: 'False', reason: 'ReferenceNotFound', message: resolved.problem, observedGeneration: gen },
      { type: 'ReferenceValid', status: 'False', reason: 'ReferenceNotFound', message: resolved.problem, observedGeneration: gen },
    ];
    const extra = { targetName: resolved.targetName, ...keepAuthorization(previous) };
    await writeKubeconfigStatus(ctx, kc, buildStatus({ obj: kc, conditions, failure: { reason: 'ReferenceNotFound', message: resolved.problem }, extra }));
    return;
  }
  const { target } = resolved;
  const model: KubeconfigModel = { owner: { ...API_VERSION_KIND, ...kc }, name: kc.metadata.name ?? '', namespace: ns, spec, target };
  const conditions: ConditionInput[] = [
    { type: 'ReferenceValid', status: 'True', reason: 'ReferenceValid', message: `target ${targetName(target)}`, observedGeneration: gen },
  ];
  const extra: Record<string, unknown> = { targetName: targetName(target) };
  let failure: Problem | undefined;
  let available: Problem | undefined;
  let requeueAfterMs: number | undefined;

  let plan: PlannedCertificate | undefined;
  try {
    plan = kubeconfigCertificate({
      name: model.name,
      rootShard: target.rootShardName,
      username: spec.username,
      groups: spec.groups,
      validityMs: parseGoDuration(spec.validity),
      key: DEFAULT_KEY_SPEC,
      template: spec.certificateTemplate ? certificateTemplatesFor({ kubeconfig: spec.certificateTemplate }).kubeconfig : undefined,
    });
  } catch (err) {
    failure = available = { reason: 'InvalidCertificateSpec', message: describeError(err) };
  }
  if (plan) {
    const certs = await reconcileCertificates(ctx, kc, [plan], 'kubeconfig');
    conditions.push(...certManagerConflictCondition(ctx, kc, [plan]));
    for (const n of certs.renewed) void ctx.events.record(kc, 'Normal', 'CertificateRenewed', `renewed ${n}`);
    requeueAfterMs = certs.ready ? certs.requeueAfterMs : (certs.requeueAfterMs ?? 30_000);
    const cert = certs.data.get(plan.secretName);
    const serverCAObject = ctx.secrets.getByName(ns, rootShardCAName(target.rootShardName, 'server'));
    const bundleObject = resolved.caBundleRef ? ctx.secrets.getByName(ns, resolved.caBundleRef) : undefined;
    const serverCA = secretData(serverCAObject);
    const bundle = secretData(bundleObject)?.['tls.crt'];
    // Another owner's Secret is never taken over (deleting this Kubeconfig would delete it). One
    // without owners is: that is how kcp-operator left the Secrets it wrote.
    const foreign = ctx.secrets.getByName(ns, spec.secretRef.name)?.metadata.ownerReferences?.find((r) => r.controller && r.uid !== kc.metadata.uid);
    if (foreign) {
      failure = available = {
        reason: 'SecretConflict',
        message: `Secret ${ns}/${spec.secretRef.name} belongs to ${foreign.kind} ${foreign.name}; choose another spec.secretRef.name`,
      };
    } else if (!certs.ready || !cert) {
      available = { reason: 'ClientCertificateSecretNotReady', message: blockedSummary(certs.blocked) || 'the client certificate is being issued' };
    } else if (!serverCA?.['tls.crt']) {
      available = { reason: 'ServerCASecretNotReady', message: `waiting for Secret ${ns}/${rootShardCAName(target.rootShardName, 'server')}` };
    } else if (resolved.caBundleRef && !bundle) {
      failure = available = { reason: 'SecretNotFound', message: `caBundleSecretRef of ${targetName(target)}: Secret ${ns}/${resolved.caBundleRef} does not exist or has no tls.crt` };
    } else {
      // The server CA and the root it chains to, so any verifier finds a trust anchor. Every
      // Kubeconfig of a RootShard merges the same Secrets: parsed once while they stay as they are.
      const caPem = secretMemo<string>(ctx, 'kubeconfig-ca-bundles', 256).get([serverCAObject, bundleObject], () =>
        mergeCABundles([serverCA['tls.crt'], serverCA['ca.crt'], bundle]),
      );
      const desired = kubeconfigSecret(model, { caPem, certificatePem: cert['tls.crt'], privateKeyPem: cert['tls.key'] });
      await ctx.applier.apply(Secrets, desired, ctx.secrets.getByName(ns, spec.secretRef.name));
      // Known from the look reconcileCertificates took; parsed again only if it could not say.
      const validity = certs.validity.get(plan.secretName) ?? validityOf(cert['tls.crt'], plan);
      extra.notAfter = metaTime(validity.notAfter);
      extra.renewalTime = metaTime(validity.renewAt);
    }
  }
  conditions.unshift(
    available
      ? { type: 'Available', status: 'False', reason: available.reason, message: available.message, observedGeneration: gen }
      : { type: 'Available', status: 'True', reason: 'SecretsReady', message: `Secret ${spec.secretRef.name} holds the kubeconfig`, observedGeneration: gen },
  );

  const rbac = await reconcileAuthorization(ctx, kc, model, async (provisionedCluster) => {
    // Recorded before anything is created in kcp, so a crash cannot leave bindings nobody knows of.
    const early = { ...extra, authorization: { provisionedCluster } };
    await writeKubeconfigStatus(ctx, kc, buildStatus({ obj: kc, conditions, failure, extra: early }));
  });
  if (rbac.condition) conditions.push(rbac.condition);
  conditions.push(...unsupportedCondition(unsupportedTemplateFields('spec.certificateTemplate', spec.certificateTemplate), gen));
  if (rbac.provisionedCluster) extra.authorization = { provisionedCluster: rbac.provisionedCluster };
  const inProgress = rbac.condition?.status === 'True' ? undefined : rbac.condition;
  await writeKubeconfigStatus(ctx, kc, buildStatus({ obj: kc, conditions, failure, extra, inProgress }));
  const next = [requeueAfterMs, rbac.requeueAfterMs].filter((x): x is number => x !== undefined);
  return next.length ? { requeueAfterMs: Math.min(...next) } : undefined;
}

function resolveTarget(ctx: ControllerContext, ns: string, t: TargetRefs): Resolved {
  const rootOf = (owner: string, ref: string | undefined): { problem: string } | { name: string; spec: RootShardSpec } => {
    const rs = ref ? ctx.rootShards.getByName(ns, ref) : undefined;
    if (!rs) return { problem: ref ? `${owner} refers to RootShard ${ns}/${ref}, which does not exist` : `${owner} has no spec.rootShard.ref` };
    return { name: rs.metadata.name ?? '', spec: rs.spec as RootShardSpec };
  };
  if (t.rootShardRef) {
    const name = t.rootShardRef.name;
    const root = rootOf('spec.target.rootShardRef', name);
    if ('problem' in root) return { problem: root.problem, targetName: `RootShard/${name}` };
    return { target: { kind: 'RootShard', name, rootShardName: name, rootShard: root.spec }, caBundleRef: root.spec.caBundleSecretRef?.name };
  }
  // A Shard or FrontProxy target: its RootShard signs the certificate; its CA bundle (else the root's) goes in.
  const viaParent = (kind: 'Shard' | 'FrontProxy', field: string, name: string, obj: KubeObject | undefined): Resolved => {
    if (!obj) return { problem: `spec.target.${field}: ${kind} ${ns}/${name} does not exist`, targetName: `${kind}/${name}` };
    const spec = obj.spec as ShardSpec & FrontProxySpec;
    const root = rootOf(`${kind} ${name}`, spec.rootShard?.ref?.name);
    if ('problem' in root) return { problem: root.problem, targetName: `${kind}/${name}` };
    const base = { name, rootShardName: root.name, rootShard: root.spec };
    return {
      target: kind === 'Shard' ? { kind, ...base, shard: spec } : { kind, ...base, frontProxy: spec },
      caBundleRef: spec.caBundleSecretRef?.name ?? root.spec.caBundleSecretRef?.name,
    };
  };
  if (t.shardRef) return viaParent('Shard', 'shardRef', t.shardRef.name, ctx.shards.getByName(ns, t.shardRef.name));
  if (t.frontProxyRef) return viaParent('FrontProxy', 'frontProxyRef', t.frontProxyRef.name, frontProxyInformer(ctx).getByName(ns, t.frontProxyRef.name));
  return { problem: 'spec.target names no RootShard, Shard or FrontProxy', targetName: '' };
}

function validityOf(pem: string, plan: PlannedCertificate): { notAfter: Date; renewAt: Date } {
  const parsed = parseCertificate(pem, `Secret ${plan.secretName}`);
  return { notAfter: parsed.notAfter, renewAt: renewalTime(parsed, plan.renewBeforeMs) };
}

const readyReplicas = (d: KubeObject) => ((d.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0) > 0;

/** KcpUnreachable, or ProxyUnreachable naming the RootShard's internal proxy when the way to kcp goes through it. */
function unreachable(endpoint: KcpEndpoint, err: unknown): Problem {
  if (endpoint.proxy) {
    return { reason: 'ProxyUnreachable', message: `cannot reach kcp through the RootShard's internal proxy ${endpoint.proxy} (${endpoint.url}): ${describeError(err)}` };
  }
  return { reason: 'KcpUnreachable', message: `cannot reach kcp at ${endpoint.url}: ${describeError(err)}` };
}

interface AuthorizationOutcome {
  condition?: ConditionInput;
  provisionedCluster?: string;
  requeueAfterMs?: number;
}

async function reconcileAuthorization(
  ctx: ControllerContext,
  kc: KubeObject,
  m: KubeconfigModel,
  recordProvisioned: (cluster: string) => Promise<void>,
): Promise<AuthorizationOutcome> {
  const previous = kc.status as KubeconfigStatus | undefined;
  const desired = m.spec.authorization ? authorizationWorkspace(m.spec) : undefined;
  let provisioned = previous?.authorization?.provisionedCluster || undefined;
  if (!desired && !provisioned) {
    await ensureFinalizer(ctx, Kubeconfigs, kc, RBAC_FINALIZER, false);
    return {};
  }
  const gen = kc.metadata.generation;
  const condition = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({ type: AUTHORIZATION, status, reason, message, observedGeneration: gen });
  if (desired) await ensureFinalizer(ctx, Kubeconfigs, kc, RBAC_FINALIZER, true);
  const endpoint = kcpEndpoint(m.target, m.namespace);
  const conn = await operatorKcpClient(ctx, m.namespace, m.target.rootShardName, endpoint.url, 'kcp-operator-ts/kubeconfig-rbac');
  if ('missing' in conn) return { provisionedCluster: provisioned, condition: condition('False', 'CredentialsPending', conn.missing), requeueAfterMs: 30_000 };
  const uid = kc.metadata.uid ?? '';
  try {
    if (provisioned && provisioned !== desired) {
      await removeBindings(conn.client, provisioned, uid);
      provisioned = undefined;
    }
    if (!desired) {
      await ensureFinalizer(ctx, Kubeconfigs, kc, RBAC_FINALIZER, false);
      return {};
    }
    if (provisioned !== desired) {
      await recordProvisioned(desired);
      provisioned = desired;
    }
    const bindings = desiredBindings({ name: m.name, uid, spec: m.spec });
    await syncBindings(conn.client, desired, uid, bindings);
    const roles = bindings.map((b) => (b.roleRef as { name: string }).name).join(', ');
    return { provisionedCluster: desired, condition: condition('True', 'Provisioned', `ClusterRoleBindings for ${roles || 'no roles'} in workspace ${desired}`) };
  } catch (err) {
    const { reason, message } = unreachable(endpoint, err);
    const before = findCondition((previous?.conditions ?? []) as Condition[], AUTHORIZATION);
    const failing = before?.status === 'False' && before.reason === reason;
    if (!failing) void ctx.events.record(kc, 'Warning', reason, message);
    // Stateless backoff: wait about as long as it has been failing (5 s, 5 s, 10 s, 20 s … 5 min).
    const since = failing ? Date.now() - Date.parse(before.lastTransitionTime) : 0;
    return {
      provisionedCluster: provisioned,
      condition: condition('False', reason, `${message}; retrying`),
      requeueAfterMs: Math.min(Math.max(since, RETRY_MIN_MS), RETRY_MAX_MS),
    };
  } finally {
    conn.client.close();
  }
}

/**
 * Removes the bindings from kcp before the Kubeconfig goes. kcp may be unreachable or gone with
 * the namespace, so after deregistrationTimeoutMs the finalizer lets go with a Warning: a
 * namespace deletion never wedges on it (kcp-operator's can).
 */
async function finalizeKubeconfig(ctx: ControllerContext, kc: KubeObject, resolved: Resolved, req: ReconcileRequest): Promise<ReconcileResult | void> {
  if (!kc.metadata.finalizers?.includes(RBAC_FINALIZER)) return;
  const ns = kc.metadata.namespace ?? '';
  const cluster = (kc.status as KubeconfigStatus | undefined)?.authorization?.provisionedCluster;
  const overdue = Date.now() - (Date.parse(kc.metadata.deletionTimestamp ?? '') || Date.now()) >= ctx.settings.deregistrationTimeoutMs;
  let detail: string | undefined;
  let giveUp = overdue;
  if (cluster && 'problem' in resolved) {
    detail = `${resolved.problem}, so kcp cannot be reached`;
    giveUp = true;
  } else if (cluster && 'target' in resolved) {
    const endpoint = kcpEndpoint(resolved.target, ns);
    const conn = await operatorKcpClient(ctx, ns, resolved.target.rootShardName, endpoint.url, 'kcp-operator-ts/kubeconfig-rbac');
    if ('missing' in conn) detail = conn.missing;
    else {
      try {
        await removeBindings(conn.client, cluster, kc.metadata.uid ?? '');
      } catch (err) {
        detail = unreachable(endpoint, err).message;
      } finally {
        conn.client.close();
      }
    }
  }
  if (detail && !giveUp) {
    req.log.info({ detail }, 'waiting to remove the ClusterRoleBindings from kcp');
    return { requeueAfterMs: 2000 };
  }
  if (detail) void ctx.events.record(kc, 'Warning', 'UnprovisioningSkipped', `removing the finalizer without removing the ClusterRoleBindings in ${cluster}: ${detail}`);
  else if (cluster) void ctx.events.record(kc, 'Normal', 'Unprovisioned', `removed the ClusterRoleBindings from workspace ${cluster}`);
  await ensureFinalizer(ctx, Kubeconfigs, kc, RBAC_FINALIZER, false);
}

function keepAuthorization(status: KubeconfigStatus | undefined): Record<string, unknown> {
  const cluster = status?.authorization?.provisionedCluster;
  return cluster ? { authorization: { provisionedCluster: cluster } } : {};
}

/** buildStatus speaks the workload kinds' phases; a Kubeconfig is `Ready` where they are `Running`. */
async function writeKubeconfigStatus(ctx: ControllerContext, kc: KubeObject, status: Record<string, unknown>): Promise<void> {
  const phase = status.phase as string;
  const previous = (kc.status as KubeconfigStatus | undefined)?.phase;
  const mapped: KubeconfigPhase = phase === 'Running' ? 'Ready' : phase === 'Failed' ? 'Failed' : phase === 'Deleting' ? (previous ?? 'Provisioning') : 'Provisioning';
  await writeStatus(ctx, Kubeconfigs, kc, { ...status, phase: mapped });
}

export function setupKubeconfigController(manager: Manager, settings: OperatorSettings, ctx = controllerContext(manager, settings)): Controller {
  const c = new Controller('kubeconfig', (req) => reconcileKubeconfig(ctx, req), { logger: manager.log, concurrency: settings.concurrency, onError: reportForbidden(ctx, Kubeconfigs, (k) => kubeconfigInformer(ctx).get(k)) });
  const kubeconfigs = kubeconfigInformer(ctx);
  const frontProxies = frontProxyInformer(ctx);
  c.watchFor(kubeconfigs, specOrDeletionChanged);
  watchCertManagerConflicts(c, ctx, kubeconfigs);
  c.watchOwned(ctx.secrets, API_VERSION_KIND);
  kubeconfigs.addIndex('target', (o) => {
    const t = (o.spec as KubeconfigSpec | undefined)?.target;
    const ref = t?.rootShardRef ? `RootShard/${t.rootShardRef.name}` : t?.shardRef ? `Shard/${t.shardRef.name}` : t?.frontProxyRef ? `FrontProxy/${t.frontProxyRef.name}` : undefined;
    return ref ? [`${o.metadata.namespace}/${ref}`] : [];
  });
  const targeting = (ns: string | undefined, kind: string, name: string | undefined) => (name ? kubeconfigs.byIndex('target', `${ns}/${kind}/${name}`).map(objectKey) : []);
  const rootRef = (o: KubeObject) => (o.spec as ShardSpec | FrontProxySpec | undefined)?.rootShard?.ref?.name;
  // Every Kubeconfig whose certificate the RootShard's CAs sign: direct targets, and through its Shards and FrontProxies.
  const ofRoot = (ns: string | undefined, rs: string) => [
    ...targeting(ns, 'RootShard', rs),
    ...ctx.shards.list(ns).filter((s) => rootRef(s) === rs).flatMap((s) => targeting(ns, 'Shard', s.metadata.name)),
    ...frontProxies.list(ns).filter((f) => rootRef(f) === rs).flatMap((f) => targeting(ns, 'FrontProxy', f.metadata.name)),
  ];
  watchMappedWhen(c, ctx.rootShards, specOrDeletionChanged, (rs) => ofRoot(rs.metadata.namespace, rs.metadata.name ?? ''));
  watchMappedWhen(c, ctx.shards, specOrDeletionChanged, (s) => targeting(s.metadata.namespace, 'Shard', s.metadata.name));
  watchMappedWhen(c, frontProxies, specOrDeletionChanged, (f) => targeting(f.metadata.namespace, 'FrontProxy', f.metadata.name));
  // Of the RootShard's Secrets only the client CA (issuer), the server CA (trust) and the
  // operator's own certificate (RBAC in kcp) matter here.
  c.watchMapped(ctx.secrets, (s) => {
    const rs = s.metadata.labels?.[LABEL_ROOTSHARD];
    const relevant = rs && [rootShardCAName(rs, 'client'), rootShardCAName(rs, 'server'), `${rs}-kcp-operator`].includes(s.metadata.name ?? '');
    return relevant ? ofRoot(s.metadata.namespace, rs) : [];
  });
  // The RootShard's internal proxy coming (back) up: Kubeconfigs that could not reach kcp through
  // it retry at once rather than after their backoff.
  c.watchMapped(ctx.deployments, (d) => {
    const l = d.metadata.labels ?? {};
    const rs = l['app.kubernetes.io/component'] === 'rootshard-proxy' ? l['app.kubernetes.io/instance'] : undefined;
    if (!rs || !readyReplicas(d)) return [];
    const waiting = (key: string) => {
      const cond = findCondition(((kubeconfigs.get(key)?.status as KubeconfigStatus | undefined)?.conditions ?? []) as Condition[], AUTHORIZATION);
      return cond?.reason === 'ProxyUnreachable';
    };
    return frontProxies
      .list(d.metadata.namespace)
      .filter((f) => rootRef(f) === rs)
      .flatMap((f) => targeting(d.metadata.namespace, 'FrontProxy', f.metadata.name))
      .filter(waiting);
  });
  // A remote target (joinRef): its join info and response (replicas), and its own request.
  kubeconfigs.addIndex('joinRef', (o) => {
    const ref = (o.spec as KubeconfigSpec | undefined)?.target?.joinRef?.name;
    return ref ? [`${o.metadata.namespace}/${ref}`, `${o.metadata.namespace}/${responseConfigMapName(o.metadata.name ?? '', 'Kubeconfig')}`] : [];
  });
  c.watchMapped(ctx.replicas, (cm) => kubeconfigs.byIndex('joinRef', objectKey(cm)).map(objectKey));
  c.watchOwned(configMapInformer(ctx), API_VERSION_KIND);
  // caBundleSecretRef of a target (or of its RootShard) goes into the kubeconfig.
  c.watchMapped(ctx.secrets, (s) => {
    const ns = s.metadata.namespace;
    const refers = (o: KubeObject) => (o.spec as { caBundleSecretRef?: { name?: string } } | undefined)?.caBundleSecretRef?.name === s.metadata.name;
    return [
      ...ctx.rootShards.list(ns).filter(refers).flatMap((rs) => ofRoot(ns, rs.metadata.name ?? '')),
      ...ctx.shards.list(ns).filter(refers).flatMap((x) => targeting(ns, 'Shard', x.metadata.name)),
      ...frontProxies.list(ns).filter(refers).flatMap((x) => targeting(ns, 'FrontProxy', x.metadata.name)),
    ];
  });
  manager.add(c);
  return c;
}
