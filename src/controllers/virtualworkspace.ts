// VirtualWorkspace: a standalone virtual-workspace server for a RootShard or a Shard. Certificates
// signed by the RootShard's CAs, the merged client CA, Deployment and Service, and a status with
// kcp-operator's ReferenceValid (is the target there?) and Available (is the Deployment up?).
import type { LocalObjectReference } from '../api/common.js';
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import type { CommonShardSpec } from '../api/shard-common.js';
import type { VirtualWorkspaceSpec } from '../api/virtualworkspace.js';
import { Controller, type ReconcileRequest, type ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { Informer } from '../kube/informer.js';
import type { Manager } from '../kube/manager.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { LABEL_ROOTSHARD, LABEL_SHARD, virtualWorkspaceCertificates } from '../pki/hierarchy.js';
import { virtualWorkspaceExternalURL, virtualWorkspaceNames, type VirtualWorkspaceModel } from '../resources/virtualworkspace/model.js';
import {
  mergedClientCASecret,
  virtualWorkspaceDeployment,
  virtualWorkspaceMounts,
  virtualWorkspaceService,
} from '../resources/virtualworkspace/render.js';
import { reconcileCertificates } from './certificates.js';
import { applyComponent } from './component-workload.js';
import { certificatesCondition, unsupportedTemplates } from './component-status.js';
import { controllerContext, secretData, VirtualWorkspaces, type ControllerContext, type OperatorSettings } from './context.js';
import { buildStatus, reportForbidden, deploymentAvailable, writeStatus } from './status.js';
import { certificateTemplatesFor } from './templates.js';
import { unsupportedCondition } from './unsupported.js';
import { specOrDeletionChanged, virtualWorkspaceInformer, watchMappedWhen } from './watches.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'VirtualWorkspace' };

type Problem = { reason: string; message: string };

type Target = Pick<VirtualWorkspaceModel, 'root' | 'target' | 'cacheServer'>;

/** The shard a VirtualWorkspace serves, its RootShard and effective cache; or why they cannot be found. */
function resolveTarget(ctx: ControllerContext, ns: string, spec: VirtualWorkspaceSpec): Target | Problem {
  const notFound = (message: string): Problem => ({ reason: 'ReferenceNotFound', message });
  const rootRef = spec.target?.rootShardRef?.name;
  const shardRef = spec.target?.shardRef?.name;
  if (rootRef) {
    const root = ctx.rootShards.getByName(ns, rootRef);
    if (!root) return notFound(`spec.target.rootShardRef: RootShard ${ns}/${rootRef} does not exist; create it or fix the reference`);
    const rootSpec = root.spec as RootShardSpec;
    return { root: { name: rootRef, spec: rootSpec }, target: { kind: 'RootShard', name: rootRef }, cacheServer: rootSpec.cache?.ref?.name };
  }
  if (!shardRef) return notFound('spec.target names neither a RootShard nor a Shard');
  const shard = ctx.shards.getByName(ns, shardRef);
  if (!shard) return notFound(`spec.target.shardRef: Shard ${ns}/${shardRef} does not exist; create it or fix the reference`);
  const shardSpec = shard.spec as ShardSpec;
  const rootName = shardSpec.rootShard?.ref?.name;
  if (!rootName) {
    // A Shard joined from another cluster (rootShard.joinRef) holds no CA of its installation here.
    return notFound(`spec.target.shardRef: Shard ${ns}/${shardRef} does not reference a RootShard in this namespace (spec.rootShard.ref)`);
  }
  const root = ctx.rootShards.getByName(ns, rootName);
  if (!root) return notFound(`spec.target.shardRef: the RootShard ${ns}/${rootName} of Shard ${shardRef} does not exist`);
  const rootSpec = root.spec as RootShardSpec;
  return {
    root: { name: rootName, spec: rootSpec },
    target: { kind: 'Shard', name: shardRef },
    cacheServer: shardSpec.cache?.ref?.name ?? rootSpec.cache?.ref?.name,
  };
}

export async function reconcileVirtualWorkspace(ctx: ControllerContext, req: ReconcileRequest): Promise<ReconcileResult | void> {
  const vw = virtualWorkspaceInformer(ctx).get(req.key);
  if (!vw || vw.metadata.deletionTimestamp) return;
  const spec = vw.spec as VirtualWorkspaceSpec;
  const name = vw.metadata.name ?? '';
  const ns = vw.metadata.namespace ?? '';
  const gen = vw.metadata.generation;

  const target = resolveTarget(ctx, ns, spec);
  if ('reason' in target) {
    const conditions: ConditionInput[] = [
      { type: 'Available', status: 'False', reason: target.reason, message: target.message, observedGeneration: gen },
      { type: 'ReferenceValid', status: 'False', reason: target.reason, message: target.message, observedGeneration: gen },
    ];
    const before = (vw.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions;
    if (!before?.some((c) => c.type === 'ReferenceValid' && c.status === 'False')) void ctx.events.record(vw, 'Warning', target.reason, target.message);
    await writeStatus(ctx, VirtualWorkspaces, vw, buildStatus({ obj: vw, conditions, failure: target }));
    return;
  }
  const conditions: ConditionInput[] = [
    { type: 'ReferenceValid', status: 'True', reason: 'ReferenceValid', message: `${target.target.kind}/${target.target.name}`, observedGeneration: gen },
  ];

  const plans = virtualWorkspaceCertificates({
    name,
    namespace: ns,
    clusterDomain: spec.clusterDomain,
    rootShard: { name: target.root.name },
    key: DEFAULT_KEY_SPEC,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  const certs = await reconcileCertificates(ctx, vw, plans, 'virtual-workspace');
  for (const n of certs.renewed) void ctx.events.record(vw, 'Normal', 'CertificateRenewed', `renewed ${n}`);
  conditions.push(certificatesCondition(certs, plans.length, gen));

  const model: VirtualWorkspaceModel = { owner: { ...API_VERSION_KIND, ...vw }, name, namespace: ns, spec, ...target };
  let failure: Problem | undefined;
  let pending: Problem | undefined = certs.ready ? undefined : { reason: 'CertificatesPending', message: 'certificates are being issued' };
  let deployment: KubeObject | undefined;
  if (!pending) {
    const out = await applyVirtualWorkspaceWorkload(ctx, model, certs.data);
    if ('problem' in out) {
      pending = out.problem;
      // Waiting for the operator's own output is progress; a Secret only a person can create is not.
      if (!/Pending$/.test(out.problem.reason)) failure = out.problem;
    } else deployment = out.deployment;
  }
  conditions.unshift(
    pending
      ? { type: 'Available', status: 'False', reason: pending.reason, message: pending.message, observedGeneration: gen }
      : deploymentAvailable(deployment, gen),
  );
  if (failure) void ctx.events.record(vw, 'Warning', failure.reason, failure.message);
  const unsupported = unsupportedTemplates(spec.certificateTemplates);
  if (spec.external.privateHostname || spec.external.privatePort) unsupported.push('spec.external.privateHostname/privatePort (kcp publishes external.hostname and external.port)');
  conditions.push(...unsupportedCondition(unsupported, gen));
  await writeStatus(ctx, VirtualWorkspaces, vw, buildStatus({ obj: vw, conditions, failure }));
  if (!certs.ready) return { requeueAfterMs: certs.requeueAfterMs ?? 30_000 };
  return certs.requeueAfterMs !== undefined ? { requeueAfterMs: certs.requeueAfterMs } : undefined;
}

async function applyVirtualWorkspaceWorkload(
  ctx: ControllerContext,
  m: VirtualWorkspaceModel,
  certs: ReadonlyMap<string, TlsSecretData>,
): Promise<{ deployment: KubeObject | undefined } | { problem: Problem }> {
  const ns = m.namespace;
  const n = virtualWorkspaceNames(m);
  const cached = (s: string) => secretData(ctx.secrets.getByName(ns, s));
  const clientCA = cached(n.clientCA)?.['tls.crt'];
  if (!clientCA) return { problem: { reason: 'CertificatesPending', message: `the RootShard's client CA (${n.clientCA}) is not issued yet` } };
  const extraClientCAs: string[] = [];
  const refs: Array<[string, string | undefined]> = [
    ['RootShard clientCABundleRef', m.root.spec.clientCABundleRef?.name],
    ['clientCABundleRef', m.spec.clientCABundleRef?.name],
  ];
  for (const [field, secret] of refs) {
    if (!secret) continue;
    const crt = cached(secret)?.['tls.crt'];
    if (!crt) return { problem: { reason: 'SecretNotFound', message: `${field}: Secret ${ns}/${secret} does not exist or has no tls.crt` } };
    extraClientCAs.push(crt);
  }
  const userKubeconfigs: Array<[string, LocalObjectReference | undefined]> = [
    ['kubeconfigSecretRef', m.spec.kubeconfigSecretRef],
    ...(m.spec.initContainers ?? []).map((ic): [string, LocalObjectReference | undefined] => [`initContainers[${ic.name}].kubeconfigSecretRef`, ic.kubeconfigSecretRef]),
  ];
  for (const [field, ref] of userKubeconfigs) {
    if (ref?.name && !cached(ref.name)?.['kubeconfig']) {
      return { problem: { reason: 'SecretNotFound', message: `${field}: Secret ${ns}/${ref.name} does not exist or has no kubeconfig key` } };
    }
  }
  // A container without a kubeconfig of its own borrows the target's; until the target has
  // rendered it (and the bundle it names), the Pods would only wait.
  const borrowed = userKubeconfigs.some(([, ref]) => !ref?.name) ? [n.targetKubeconfig, n.targetCABundle] : [];
  const missing = borrowed.filter((s) => !ctx.secrets.getByName(ns, s));
  if (missing.length) {
    return { problem: { reason: 'TargetPending', message: `waiting for ${m.target.kind} ${m.target.name} to render ${missing.join(', ')}` } };
  }
  const out = await applyComponent(ctx, {
    namespace: ns,
    secrets: [mergedClientCASecret(m, clientCA, extraClientCAs)],
    mounts: virtualWorkspaceMounts(m),
    certs,
    deployment: (hash) => virtualWorkspaceDeployment(m, hash),
    service: virtualWorkspaceService(m),
    podDisruptionBudget: m.spec.podDisruptionBudget,
  });
  return out.rejected ? { problem: out.rejected } : { deployment: out.deployment };
}

/**
 * For a RootShard or Shard with spec.kcpVirtualWorkspace: the URL kcp publishes for its virtual
 * workspaces, or why there is none yet. Only the VirtualWorkspace's existence and spec.external
 * matter; its Pods may come up after the shard's.
 */
export function shardVirtualWorkspace(ctx: ControllerContext, namespace: string, ref: LocalObjectReference | undefined): { url: string } | Problem | undefined {
  if (!ref?.name) return undefined;
  const vw = virtualWorkspaceInformer(ctx).getByName(namespace, ref.name);
  if (!vw) {
    return {
      reason: 'VirtualWorkspaceNotFound',
      message: `spec.kcpVirtualWorkspace: VirtualWorkspace ${namespace}/${ref.name} does not exist; create it or remove the reference (the shard is not started without it, since it would serve no virtual workspaces)`,
    };
  }
  return { url: virtualWorkspaceExternalURL(vw.spec as VirtualWorkspaceSpec) };
}

/** Wakes the objects of `owners` (RootShards, Shards) whose spec.kcpVirtualWorkspace names a VirtualWorkspace that changed. */
export function watchKcpVirtualWorkspaces(c: Controller, ctx: ControllerContext, owners: Informer<KubeObject>): void {
  watchMappedWhen(c, virtualWorkspaceInformer(ctx), specOrDeletionChanged, (vw) =>
    owners
      .list(vw.metadata.namespace)
      .filter((o) => (o.spec as CommonShardSpec | undefined)?.kcpVirtualWorkspace?.name === vw.metadata.name)
      .map(objectKey),
  );
}

export function setupVirtualWorkspaceController(manager: Manager, settings: OperatorSettings, ctx = controllerContext(manager, settings)): Controller {
  const c = new Controller('virtualworkspace', (req) => reconcileVirtualWorkspace(ctx, req), { logger: manager.log, concurrency: settings.concurrency, onError: reportForbidden(ctx, VirtualWorkspaces, (k) => virtualWorkspaceInformer(ctx).get(k)) });
  const vws = virtualWorkspaceInformer(ctx);
  c.watchFor(vws, specOrDeletionChanged);
  for (const inf of [ctx.secrets, ctx.deployments, ctx.services]) c.watchOwned(inf, API_VERSION_KIND);
  const spec = (o: KubeObject) => o.spec as VirtualWorkspaceSpec | undefined;
  vws.addIndex('target', (o) => {
    const t = spec(o)?.target;
    return [t?.rootShardRef?.name ? `RootShard/${t.rootShardRef.name}` : undefined, t?.shardRef?.name ? `Shard/${t.shardRef.name}` : undefined]
      .filter((k): k is string => !!k)
      .map((k) => `${o.metadata.namespace}/${k}`);
  });
  vws.addIndex('secretRefs', (o) => {
    const s = spec(o);
    return [s?.clientCABundleRef?.name, s?.kubeconfigSecretRef?.name, ...(s?.initContainers ?? []).map((ic) => ic.kubeconfigSecretRef?.name)]
      .filter((n): n is string => !!n)
      .map((n) => `${o.metadata.namespace}/${n}`);
  });
  const targeting = (ns: string | undefined, kind: 'RootShard' | 'Shard', name: string | undefined) =>
    name ? vws.byIndex('target', `${ns}/${kind}/${name}`).map(objectKey) : [];
  // Every VirtualWorkspace whose target belongs to RootShard `rs` (directly or through a Shard).
  const ofRoot = (ns: string | undefined, rs: string | undefined) =>
    rs
      ? [
          ...targeting(ns, 'RootShard', rs),
          ...ctx.shards
            .list(ns)
            .filter((s) => (s.spec as ShardSpec | undefined)?.rootShard?.ref?.name === rs)
            .flatMap((s) => targeting(ns, 'Shard', s.metadata.name)),
        ]
      : [];
  // The target appearing, going or changing (its cache reference, its RootShard).
  watchMappedWhen(c, ctx.rootShards, specOrDeletionChanged, (rs) => ofRoot(rs.metadata.namespace, rs.metadata.name));
  watchMappedWhen(c, ctx.shards, specOrDeletionChanged, (s) => targeting(s.metadata.namespace, 'Shard', s.metadata.name));
  // The installation's CAs, and the kubeconfig and bundle borrowed from the target shard.
  c.watchMapped(ctx.secrets, (s) => {
    const l = s.metadata.labels ?? {};
    if (l[LABEL_SHARD]) return targeting(s.metadata.namespace, 'Shard', l[LABEL_SHARD]);
    return ofRoot(s.metadata.namespace, l[LABEL_ROOTSHARD]);
  });
  c.watchMapped(ctx.secrets, (s) => {
    const m = /^(.+)-(logical-cluster-admin-kubeconfig|merged-ca-bundle)$/.exec(s.metadata.name ?? '');
    return m ? [...targeting(s.metadata.namespace, 'RootShard', m[1]), ...targeting(s.metadata.namespace, 'Shard', m[1])] : [];
  });
  c.watchMapped(ctx.secrets, (s) => vws.byIndex('secretRefs', objectKey(s)).map(objectKey));
  manager.add(c);
  return c;
}
