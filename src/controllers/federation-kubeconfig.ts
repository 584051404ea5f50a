// A Kubeconfig for a team on another cluster (spec.target.joinRef): its client key is generated
// here and never leaves; the certificate is requested from the RootShard's cluster through
// federation-requests.ts, checked, and written with the installation's external address into the
// kubeconfig Secret. Deleting the Kubeconfig deletes its request with it (garbage collection), and
// the RootShard's cluster drops its answer.
import type { KubeconfigSpec } from '../api/kubeconfig.js';
import type { ReconcileRequest, ReconcileResult } from '../kube/controller.js';
import { metaTime, type ConditionInput } from '../kube/conditions.js';
import { describeError } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import { Secrets } from '../kube/resources.js';
import { mergeCABundles } from '../pki/bundle.js';
import { kubeconfigCertificate, type PlannedCertificate } from '../pki/hierarchy.js';
import { DEFAULT_KEY_SPEC } from '../pki/keys.js';
import { renewalTime } from '../pki/renewal.js';
import { parseCertificate } from '../pki/x509.js';
import { parseGoDuration } from '../resources/common/duration.js';
import { kubeconfigSecret, type KubeconfigModel } from '../resources/kubeconfig/render.js';
import type { FrontProxySpec } from '../api/frontproxy.js';
import { buildKubeconfigRequest } from '../federation/shard-side.js';
import type { ControllerContext } from './context.js';
import { readJoinInfo, runRequestFlow, type Failure } from './federation-requests.js';
import { joinedRootSpec } from './federation-shard.js';
import { buildStatus } from './status.js';

const API_VERSION_KIND = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Kubeconfig' };

export async function reconcileFederatedKubeconfig(
  ctx: ControllerContext,
  kc: KubeObject,
  req: ReconcileRequest,
  writeStatus: (status: Record<string, unknown>) => Promise<void>,
  now: Date = new Date(),
): Promise<ReconcileResult | void> {
  // Nothing to wait for on delete: the request goes with its owner, and no access in kcp was granted here.
  if (kc.metadata.deletionTimestamp) return;
  const spec = kc.spec as KubeconfigSpec;
  const ns = kc.metadata.namespace ?? '';
  const name = kc.metadata.name ?? '';
  const gen = kc.metadata.generation;
  const owner: KubeObject = { ...API_VERSION_KIND, ...kc };
  const joinName = spec.target.joinRef?.name ?? '';
  const conditions: ConditionInput[] = [];
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string) => conditions.push({ type, status, reason, message, observedGeneration: gen });
  const extra: Record<string, unknown> = { targetName: `Join/${joinName}` };
  const finish = async (failure: Failure | undefined, available: Failure | undefined, requeueAfterMs?: number): Promise<ReconcileResult | void> => {
    conditions.unshift(
      available
        ? { type: 'Available', status: 'False', ...available, observedGeneration: gen }
        : { type: 'Available', status: 'True', reason: 'SecretsReady', message: `Secret ${spec.secretRef.name} holds the kubeconfig`, observedGeneration: gen },
    );
    await writeStatus(buildStatus({ obj: kc, conditions, failure, extra }));
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  };

  const join = readJoinInfo(ctx, owner, 'Kubeconfig', 'spec.target.joinRef', joinName);
  if (!join.ok) {
    cond('ReferenceValid', 'False', join.reason, join.message);
    if (join.lastRefusal) cond('Joined', 'False', join.lastRefusal.reason, join.lastRefusal.message);
    return finish(join.reason === 'JoinInfoInvalid' ? join : join.lastRefusal, join);
  }
  const { info, hubCluster } = join;
  cond('ReferenceValid', 'True', 'ReferenceValid', `RootShard ${info.rootShard.namespace}/${info.rootShard.name} on cluster ${hubCluster}`);

  let plan: PlannedCertificate;
  try {
    plan = kubeconfigCertificate({
      name,
      rootShard: info.rootShard.name,
      username: spec.username,
      groups: spec.groups,
      // The installation signs no longer than its policy: ask for no more.
      validityMs: Math.min(parseGoDuration(spec.validity), info.maxCertificateDurationMs),
      key: DEFAULT_KEY_SPEC,
    });
  } catch (err) {
    const failure = { reason: 'InvalidCertificateSpec', message: describeError(err) };
    return finish(failure, failure);
  }
  const who = { name, namespace: ns, username: spec.username, groups: spec.groups ?? [] };
  const flow = await runRequestFlow(
    ctx,
    { owner, requester: 'Kubeconfig', component: 'kubeconfig', info, hubCluster, plans: [plan], document: (g, keys) => buildKubeconfigRequest(who, info, plan, g, keys), log: req.log },
    now,
  );
  cond('Joined', flow.joined.status, flow.joined.reason, flow.joined.message);
  const cert = flow.certs.get(plan.secretName);
  if (!flow.ready || !cert) return finish(flow.failure, flow.failure ?? { reason: 'ClientCertificateSecretNotReady', message: flow.joined.message }, flow.requeueAfterMs);

  // Another owner's Secret is never taken over (deleting this Kubeconfig would delete it).
  const foreign = ctx.secrets.getByName(ns, spec.secretRef.name)?.metadata.ownerReferences?.find((r) => r.controller && r.uid !== kc.metadata.uid);
  if (foreign) {
    const failure = { reason: 'SecretConflict', message: `Secret ${ns}/${spec.secretRef.name} belongs to ${foreign.kind} ${foreign.name}; choose another spec.secretRef.name` };
    return finish(failure, failure);
  }
  const model: KubeconfigModel = {
    owner,
    name,
    namespace: ns,
    spec,
    // The installation's front door, as the join info gives it.
    target: { kind: 'FrontProxy', name: info.rootShard.name, rootShardName: info.rootShard.name, rootShard: joinedRootSpec(info), frontProxy: {} as FrontProxySpec },
  };
  // The server CA and the root it chains to, so any verifier finds a trust anchor.
  const caPem = mergeCABundles([info.caCertificates.server, info.caCertificates.root]);
  await ctx.applier.apply(Secrets, kubeconfigSecret(model, { caPem, certificatePem: cert['tls.crt'], privateKeyPem: cert['tls.key'] }), ctx.secrets.getByName(ns, spec.secretRef.name));
  const parsed = parseCertificate(cert['tls.crt'], `Secret ${plan.secretName}`);
  extra.notAfter = metaTime(parsed.notAfter);
  extra.renewalTime = metaTime(renewalTime(parsed, plan.renewBeforeMs));
  return finish(undefined, undefined, flow.requeueAfterMs);
}
