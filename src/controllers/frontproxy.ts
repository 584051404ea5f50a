// FrontProxy: a kcp-front-proxy for users. Certificates signed by its RootShard's CAs, the merged
// client CA and backend CA bundle, the path-mapping ConfigMap, the dynamic kubeconfig, Deployment
// and Service, and a status with the RootShard reference, CertificatesReady and Available.
import { certManagerConflictCondition, watchCertManagerConflicts } from './cert-manager.js';
import type { FrontProxySpec } from '../api/frontproxy.js';
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import { Controller, type ReconcileRequest, type ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { Manager } from '../kube/manager.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { frontProxyCertificates, LABEL_ROOTSHARD, LABEL_SHARD } from '../pki/hierarchy.js';
import { pathMappingConfigMap } from '../resources/frontproxy/config.js';
import { frontProxyDeployment, frontProxyMounts, frontProxyService } from '../resources/frontproxy/deployment.js';
import { frontProxyHostname, frontProxyNames, type FrontProxyModel } from '../resources/frontproxy/model.js';
import { frontProxySecrets } from '../resources/frontproxy/secrets.js';
import { stampRelease, withRelease } from '../resources/release.js';
import { grantsOf, releaseFor } from './rollout.js';
import { reconcileCertificates } from './certificates.js';
import { applyComponent } from './component-workload.js';
import { certificatesCondition, rootShardRefConditions, unsupportedTemplates } from './component-status.js';
import { controllerContext, FrontProxies, secretData, type ControllerContext, type OperatorSettings } from './context.js';
import { shardsOf } from './rootshard.js';
import { buildStatus, reportForbidden, deploymentAvailable, writeStatus } from './status.js';
import { certificateTemplatesFor } from './templates.js';
import { unsupportedCondition } from './unsupported.js';
import { configMapInformer, frontProxyInformer, podDisruptionBudgetInformer, specOrDeletionChanged, virtualWorkspaceInformer, watchMappedWhen } from './watches.js';
import { virtualWorkspaceServiceURL } from '../resources/virtualworkspace/model.js';
import type { VirtualWorkspaceSpec } from '../api/virtualworkspace.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'FrontProxy' };
/** How long a new shard's service-account key is waited for before the front-proxy goes on without it. */
const NEW_SHARD_GRACE_MS = 60_000;

type Missing = { reason: string; message: string };

export async function reconcileFrontProxy(ctx: ControllerContext, req: ReconcileRequest): Promise<ReconcileResult | void> {
  const fp = frontProxyInformer(ctx).get(req.key);
  if (!fp || fp.metadata.deletionTimestamp) return;
  const spec = fp.spec as FrontProxySpec;
  const ns = fp.metadata.namespace ?? '';
  const gen = fp.metadata.generation;
  const rootName = spec.rootShard?.ref?.name;
  const root = rootName ? ctx.rootShards.getByName(ns, rootName) : undefined;
  const ref = rootShardRefConditions(ns, rootName, !!root, gen);
  if (!ref.ok || !root || !rootName) {
    const failure = ref.ok ? undefined : ref.failure;
    await writeStatus(ctx, FrontProxies, fp, buildStatus({ obj: fp, conditions: ref.conditions, failure }));
    return;
  }
  const rootSpec = root.spec as RootShardSpec;
  const conditions: ConditionInput[] = [...ref.conditions];

  const plans = frontProxyCertificates({
    name: fp.metadata.name ?? '',
    rootShard: {
      name: rootName,
      namespace: ns,
      externalHostname: rootSpec.external.hostname,
      privateHostname: rootSpec.external.privateHostname,
      clusterDomain: rootSpec.clusterDomain,
    },
    externalHostname: frontProxyHostname(spec),
    key: DEFAULT_KEY_SPEC,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  const certs = await reconcileCertificates(ctx, fp, plans, 'front-proxy');
  for (const name of certs.renewed) void ctx.events.record(fp, 'Normal', 'CertificateRenewed', `renewed ${name}`);
  conditions.push(certificatesCondition(certs, plans.length, gen));
  conditions.push(...certManagerConflictCondition(ctx, fp, plans));

  // kcp-front-proxy validates ServiceAccount tokens itself, so it needs every shard's key. A key
  // that is about to be issued (its shard is new) is waited for, so the Deployment is written
  // once; a shard whose key stays missing is left out rather than holding the front-proxy back.
  const peers = spec.auth?.serviceAccount?.enabled ? [rootName, ...shardsOf(ctx, root)] : [];
  const keyed = peers.filter((p) => ctx.secrets.getByName(ns, `${p}-service-account`));
  const unkeyed = peers.filter((p) => !keyed.includes(p));
  const age = (p: string) => {
    const o = p === rootName ? root : ctx.shards.getByName(ns, p);
    return Date.now() - (Date.parse(o?.metadata.creationTimestamp ?? '') || 0);
  };
  const waitMs = Math.max(0, ...unkeyed.map((p) => NEW_SHARD_GRACE_MS - age(p)));
  const keysPending = unkeyed.length
    ? { reason: 'ServiceAccountKeysPending', message: `not trusted yet, no service-account key issued: ${unkeyed.join(', ')}` }
    : undefined;
  if (keysPending) conditions.push({ type: 'ServiceAccountKeys', status: 'False', ...keysPending, observedGeneration: gen });
  // The RootShard's release, once its rollout has come to this front-proxy (rollout.ts).
  const release = releaseFor(root, 'FrontProxy', fp.metadata.name ?? '', spec, ctx.deployments.getByName(ns, frontProxyNames({ name: fp.metadata.name ?? '', root: { name: rootName, spec: rootSpec } }).deployment));
  const model: FrontProxyModel = {
    owner: { ...API_VERSION_KIND, ...fp },
    name: fp.metadata.name ?? '',
    namespace: ns,
    spec: withRelease(spec, release),
    ...(release ? { release } : {}),
    root: { name: rootName, spec: rootSpec },
    serviceAccountPeers: keyed,
    virtualWorkspaceURL: rootVirtualWorkspaceURL(ctx, ns, rootSpec),
  };
  let failure: Missing | undefined;
  let missing: Missing | undefined = !certs.ready
    ? { reason: 'CertificatesPending', message: 'certificates are being issued' }
    : waitMs > 0 && keysPending
      ? keysPending
      : undefined;
  let deployment: KubeObject | undefined;
  if (!missing) {
    const out = await applyFrontProxyWorkload(ctx, model, certs.data);
    if ('missing' in out) {
      missing = out.missing;
      // Waiting for the operator's own output is progress; a Secret only a person can create is not.
      if (!/Pending$/.test(out.missing.reason)) failure = out.missing;
    } else deployment = out.deployment;
  }
  conditions.unshift(
    missing
      ? { type: 'Available', status: 'False', reason: missing.reason, message: missing.message, observedGeneration: gen }
      : deploymentAvailable(deployment, gen),
  );
  const unsupported = unsupportedTemplates(spec.certificateTemplates);
  if (spec.external?.privateHostname || spec.external?.privatePort) unsupported.push('spec.external.privateHostname/privatePort (only a RootShard\'s are used)');
  conditions.push(...unsupportedCondition(unsupported, gen));
  await writeStatus(ctx, FrontProxies, fp, buildStatus({ obj: fp, conditions, failure, inProgress: keysPending }));
  // Missing issuers, keys and referenced Secrets arrive as watch events; the requeues are backstops.
  if (!certs.ready) return { requeueAfterMs: certs.requeueAfterMs ?? 30_000 };
  if (waitMs > 0 && keysPending) return { requeueAfterMs: waitMs };
  return certs.requeueAfterMs !== undefined ? { requeueAfterMs: certs.requeueAfterMs } : undefined;
}

/** Renders and applies a front-proxy's Secrets, mapping file, Deployment and Service (also the RootShard's internal proxy). */
export async function applyFrontProxyWorkload(
  ctx: ControllerContext,
  m: FrontProxyModel,
  certs: ReadonlyMap<string, TlsSecretData>,
): Promise<{ deployment: KubeObject | undefined } | { missing: Missing }> {
  const ns = m.namespace;
  const n = frontProxyNames(m);
  const cached = (name: string) => secretData(ctx.secrets.getByName(ns, name));
  const pem = (name: string) => certs.get(name)?.['tls.crt'] ?? cached(name)?.['tls.crt'];
  const [rootCA, serverCA, clientCA] = [pem(n.rootCA), pem(n.serverCA), pem(n.clientCA)];
  if (!rootCA || !serverCA || !clientCA) return { missing: { reason: 'CertificatesPending', message: 'the RootShard\'s CA certificates are not issued yet' } };
  const refs = {
    caBundle: [['RootShard caBundleSecretRef', m.root.spec.caBundleSecretRef?.name], ['caBundleSecretRef', m.spec.caBundleSecretRef?.name]],
    clientCA: [['RootShard clientCABundleRef', m.root.spec.clientCABundleRef?.name], ['clientCABundleRef', m.spec.clientCABundleRef?.name]],
  } as const;
  const read = (list: ReadonlyArray<readonly [string, string | undefined]>): string[] | Missing => {
    const out: string[] = [];
    for (const [field, name] of list) {
      if (!name) continue;
      const crt = cached(name)?.['tls.crt'];
      if (!crt) return { reason: 'SecretNotFound', message: `${field}: Secret ${ns}/${name} does not exist or has no tls.crt` };
      out.push(crt);
    }
    return out;
  };
  const extraCABundles = read(refs.caBundle);
  if (!Array.isArray(extraCABundles)) return { missing: extraCABundles };
  const extraClientCAs = read(refs.clientCA);
  if (!Array.isArray(extraClientCAs)) return { missing: extraClientCAs };
  const out = await applyComponent(ctx, {
    namespace: ns,
    secrets: frontProxySecrets(m, { rootCA, serverCA, clientCA, extraCABundles, extraClientCAs }),
    configMaps: [pathMappingConfigMap(m)],
    mounts: frontProxyMounts(m),
    certs,
    deployment: (hash) => stampRelease(frontProxyDeployment(m, hash), m.release),
    service: frontProxyService(m),
    podDisruptionBudget: m.spec.podDisruptionBudget,
  });
  return out.rejected ? { missing: out.rejected } : { deployment: out.deployment };
}

export function setupFrontProxyController(manager: Manager, settings: OperatorSettings, ctx = controllerContext(manager, settings)): Controller {
  const c = new Controller('frontproxy', (req) => reconcileFrontProxy(ctx, req), { logger: manager.log, concurrency: settings.concurrency, onError: reportForbidden(ctx, FrontProxies, (k) => frontProxyInformer(ctx).get(k)) });
  const frontProxies = frontProxyInformer(ctx);
  c.watchFor(frontProxies, specOrDeletionChanged);
  watchCertManagerConflicts(c, ctx, frontProxies);
  for (const inf of [ctx.secrets, ctx.deployments, ctx.services, podDisruptionBudgetInformer(ctx), configMapInformer(ctx)]) c.watchOwned(inf, API_VERSION_KIND);
  const rootOf = (o: KubeObject) => (o.spec as FrontProxySpec | ShardSpec | undefined)?.rootShard?.ref?.name;
  frontProxies.addIndex('rootShard', (o) => (rootOf(o) ? [`${o.metadata.namespace}/${rootOf(o)}`] : []));
  frontProxies.addIndex('secretRefs', (o) => secretRefsOf(o));
  const ofRoot = (ns: string | undefined, rs: string | undefined) => (rs ? frontProxies.byIndex('rootShard', `${ns}/${rs}`).map(objectKey) : []);
  // The RootShard's spec (addresses, CA bundle references) and existence, and its rollout telling
  // components to move; not the rest of its status.
  watchMappedWhen(c, ctx.rootShards, (o, n) => specOrDeletionChanged(o, n) || grantsOf(o) !== grantsOf(n), (rs) => ofRoot(rs.metadata.namespace, rs.metadata.name));
  // The RootShard's external VirtualWorkspace appearing or moving changes where /services/ goes.
  watchMappedWhen(c, virtualWorkspaceInformer(ctx), specOrDeletionChanged, (vw) =>
    ctx.rootShards
      .list(vw.metadata.namespace)
      .filter((rs) => (rs.spec as RootShardSpec).kcpVirtualWorkspace?.name === vw.metadata.name)
      .flatMap((rs) => ofRoot(rs.metadata.namespace, rs.metadata.name)),
  );
  // Shards joining or leaving change the service-account keys the front-proxy trusts.
  watchMappedWhen(c, ctx.shards, specOrDeletionChanged, (s) => ofRoot(s.metadata.namespace, rootOf(s)));
  // The installation's CAs (labelled with their RootShard), and the shards' service-account keys
  // for front-proxies that trust them. Not a Shard's other Secrets: ten per Shard, each woke every
  // FrontProxy (about 2,000 reconciles of 3 FrontProxies while 100 Shards converged).
  c.watchMapped(ctx.secrets, (s) => {
    const l = s.metadata.labels ?? {};
    const shard = l[LABEL_SHARD];
    if (!shard) return ofRoot(s.metadata.namespace, l[LABEL_ROOTSHARD]);
    if (s.metadata.name !== `${shard}-service-account`) return [];
    return ofRoot(s.metadata.namespace, l[LABEL_ROOTSHARD]).filter((k) => (frontProxies.get(k)?.spec as FrontProxySpec | undefined)?.auth?.serviceAccount?.enabled);
  });
  c.watchMapped(ctx.secrets, (s) => frontProxies.byIndex('secretRefs', objectKey(s)).map(objectKey));
  // A RootShard's own references matter too (its caBundleSecretRef and clientCABundleRef).
  c.watchMapped(ctx.secrets, (s) =>
    ctx.rootShards
      .list(s.metadata.namespace)
      .filter((rs) => rootSecretRefs(rs).includes(s.metadata.name ?? ''))
      .flatMap((rs) => ofRoot(rs.metadata.namespace, rs.metadata.name)),
  );
  manager.add(c);
  return c;
}

/** Where /services/ goes when the RootShard has an external VirtualWorkspace (and it exists; else the RootShard is not running either). */
function rootVirtualWorkspaceURL(ctx: ControllerContext, ns: string, rootSpec: RootShardSpec): string | undefined {
  const ref = rootSpec.kcpVirtualWorkspace?.name;
  const vw = ref ? virtualWorkspaceInformer(ctx).getByName(ns, ref) : undefined;
  return vw ? virtualWorkspaceServiceURL(ref ?? '', ns, (vw.spec as VirtualWorkspaceSpec | undefined)?.clusterDomain) : undefined;
}

function rootSecretRefs(rs: KubeObject): string[] {
  const s = rs.spec as RootShardSpec | undefined;
  return [s?.caBundleSecretRef?.name, s?.clientCABundleRef?.name].filter((n): n is string => !!n);
}

/** `namespace/name` of every Secret a FrontProxy's spec refers to. */
function secretRefsOf(o: KubeObject): string[] {
  const s = o.spec as FrontProxySpec | undefined;
  return [
    s?.caBundleSecretRef?.name,
    s?.clientCABundleRef?.name,
    s?.auth?.oidc?.caFileRef?.name,
    s?.auth?.webhook?.configSecretName,
    s?.auth?.tokenAuthFile?.secretName,
  ]
    .filter((n): n is string => !!n)
    .map((n) => `${o.metadata.namespace}/${n}`);
}
