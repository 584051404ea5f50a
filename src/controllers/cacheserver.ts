// CacheServer: a standalone kcp cache server with a PKI of its own (built in, cert-manager, or the
// user's CA), its Deployment and Service, and the `<cs>-kubeconfig` Secret the shards that use it
// mount. Status as on the other kinds (kcp-operator's CacheServer has none).
import type { CacheServerSpec } from '../api/cacheserver.js';
import { Controller, type ReconcileRequest, type ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { Manager } from '../kube/manager.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import { cacheServerCertificates, LABEL_CACHE_SERVER } from '../pki/hierarchy.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { cacheServerNames, type CacheServerModel } from '../resources/cacheserver/model.js';
import {
  cacheServerDeployment,
  cacheServerKubeconfigSecret,
  cacheServerMounts,
  cacheServerService,
  publishedCASecret,
} from '../resources/cacheserver/render.js';
import { reconcileCertificates } from './certificates.js';
import { ensureCertManagerCertificate, certManagerConflictCondition, watchCertManagerConflicts } from './cert-manager.js';
import { applyComponent } from './component-workload.js';
import { certificatesCondition, unsupportedTemplates } from './component-status.js';
import { CacheServers, controllerContext, secretData, type ControllerContext, type OperatorSettings } from './context.js';
import { buildStatus, reportForbidden, deploymentAvailable, writeStatus } from './status.js';
import { certificateTemplatesFor } from './templates.js';
import { unsupportedCondition } from './unsupported.js';
import { podDisruptionBudgetInformer, specOrDeletionChanged } from './watches.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'CacheServer' };

type Problem = { reason: string; message: string };

export async function reconcileCacheServer(ctx: ControllerContext, req: ReconcileRequest): Promise<ReconcileResult | void> {
  const cs = ctx.cacheServers.get(req.key);
  if (!cs || cs.metadata.deletionTimestamp) return;
  const spec = (cs.spec ?? {}) as CacheServerSpec;
  const name = cs.metadata.name ?? '';
  const ns = cs.metadata.namespace ?? '';
  const gen = cs.metadata.generation;
  const caSecretRef = spec.certificates?.caSecretRef?.name;
  const names = cacheServerNames(name, caSecretRef);
  let failure: Problem | undefined;

  const plans = cacheServerCertificates({
    name,
    namespace: ns,
    clusterDomain: spec.clusterDomain,
    caSecretRef,
    issuerRef: spec.certificates?.issuerRef,
    key: DEFAULT_KEY_SPEC,
    templates: certificateTemplatesFor(spec.certificateTemplates),
  });
  const certs = await reconcileCertificates(ctx, cs, plans, 'cache-server');
  const certManagerConflicts = certManagerConflictCondition(ctx, cs, plans);
  for (const n of certs.renewed) void ctx.events.record(cs, 'Normal', 'CertificateRenewed', `renewed ${n}`);
  if (certs.issued.includes(names.caSource)) void ctx.events.record(cs, 'Normal', 'CAIssued', `issued the CA of cache server ${name}`);
  const rootPlan = plans[0];
  if (rootPlan?.issuer.type === 'certManager' && certs.blocked.some((b) => b.secretName === rootPlan.secretName)) {
    const cm = await ensureCertManagerCertificate(ctx, cs, rootPlan);
    if (!cm.installed) failure = { reason: 'CertManagerNotInstalled', message: cm.message };
  }
  const caProblem = certs.blocked.find((b) => !b.external && b.reason.startsWith('CA'));
  if (caProblem && !failure) failure = { reason: caProblem.reason, message: caProblem.message };
  if (failure) void ctx.events.record(cs, 'Warning', failure.reason, failure.message);
  const conditions: ConditionInput[] = [certificatesCondition(certs, plans.length, gen, failure), ...certManagerConflicts];

  const model: CacheServerModel = { owner: { ...API_VERSION_KIND, ...cs }, name, namespace: ns, spec };
  let pending: Problem | undefined = certs.ready ? undefined : { reason: 'CertificatesPending', message: 'certificates are being issued' };
  let deployment: KubeObject | undefined;
  if (!pending) {
    const secrets = [cacheServerKubeconfigSecret(model)];
    const published = publishCA(ctx, model, names, certs.data.get(names.caSource)?.['tls.crt']);
    if ('problem' in published) failure = pending = published.problem;
    else if (published.secret) secrets.push(published.secret);
    const etcdSecret = spec.etcd?.tlsConfig?.secretRef?.name;
    if (!pending && etcdSecret && !ctx.secrets.getByName(ns, etcdSecret)) {
      failure = pending = { reason: 'SecretNotFound', message: `etcd.tlsConfig.secretRef: Secret ${ns}/${etcdSecret} does not exist` };
    }
    if (!pending) {
      const out = await applyComponent(ctx, {
        namespace: ns,
        secrets,
        mounts: cacheServerMounts(model),
        certs: certs.data,
        deployment: (hash) => cacheServerDeployment(model, hash),
        service: cacheServerService(model),
        podDisruptionBudget: spec.podDisruptionBudget,
      });
      deployment = out.deployment;
      if (out.rejected) failure = pending = out.rejected;
    }
  }
  conditions.unshift(
    pending
      ? { type: 'Available', status: 'False', reason: pending.reason, message: pending.message, observedGeneration: gen }
      : deploymentAvailable(deployment, gen),
  );
  conditions.push(...unsupportedCondition(unsupportedTemplates(spec.certificateTemplates), gen));
  await writeStatus(ctx, CacheServers, cs, buildStatus({ obj: cs, conditions, failure }));
  // cert-manager may be installed later; nothing we watch would tell us, so look again now and then.
  if (failure?.reason === 'CertManagerNotInstalled') return { requeueAfterMs: 60_000 };
  if (!certs.ready) return { requeueAfterMs: certs.requeueAfterMs ?? 30_000 };
  return certs.requeueAfterMs !== undefined ? { requeueAfterMs: certs.requeueAfterMs } : undefined;
}

/**
 * Shards mount `<cs>-ca`. With a CA of the user's under another name, publish its certificate
 * there; but never write over a Secret that holds a CA key (one our built-in PKI made before
 * caSecretRef was set): that is a CA, and CAs are never replaced automatically.
 */
function publishCA(
  ctx: ControllerContext,
  m: CacheServerModel,
  names: ReturnType<typeof cacheServerNames>,
  caCertificate: string | undefined,
): { secret?: KubeObject } | { problem: Problem } {
  if (names.caSource === names.ca) return {};
  const existing = ctx.secrets.getByName(m.namespace, names.ca);
  const ours = existing?.metadata.ownerReferences?.some((r) => r.controller && r.uid === m.owner.metadata.uid);
  if (existing && !ours && secretData(existing)?.['tls.key']) {
    return {
      problem: {
        reason: 'CASecretConflict',
        message:
          `Secret ${m.namespace}/${names.ca} holds a CA key, but certificates.caSecretRef names ${names.caSource}; shards mount ` +
          `${names.ca}, so it must hold the CA in use. Move that CA away (it is never overwritten) to let the operator publish ${names.caSource}'s certificate there.`,
      },
    };
  }
  return caCertificate ? { secret: publishedCASecret(m, caCertificate) } : {};
}

export function setupCacheServerController(manager: Manager, settings: OperatorSettings, ctx = controllerContext(manager, settings)): Controller {
  const c = new Controller('cacheserver', (req) => reconcileCacheServer(ctx, req), { logger: manager.log, concurrency: settings.concurrency, onError: reportForbidden(ctx, CacheServers, (k) => ctx.cacheServers.get(k)) });
  c.watchFor(ctx.cacheServers, specOrDeletionChanged);
  watchCertManagerConflicts(c, ctx, ctx.cacheServers);
  for (const inf of [ctx.secrets, ctx.deployments, ctx.services, podDisruptionBudgetInformer(ctx)]) c.watchOwned(inf, API_VERSION_KIND);
  // The built-in CA has no owner (it must outlive the CacheServer); it carries the label instead.
  c.watchMapped(ctx.secrets, (s) => {
    const cs = s.metadata.labels?.[LABEL_CACHE_SERVER];
    return cs ? [`${s.metadata.namespace}/${cs}`] : [];
  });
  ctx.cacheServers.addIndex('secretRefs', (o) => {
    const s = o.spec as CacheServerSpec | undefined;
    return [s?.certificates?.caSecretRef?.name, s?.etcd?.tlsConfig?.secretRef?.name, o.metadata.name ? `${o.metadata.name}-ca` : undefined]
      .filter((n): n is string => !!n)
      .map((n) => `${o.metadata.namespace}/${n}`);
  });
  c.watchMapped(ctx.secrets, (s) => ctx.cacheServers.byIndex('secretRefs', objectKey(s)).map(objectKey));
  manager.add(c);
  return c;
}
