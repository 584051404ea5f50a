// A Shard that joins a RootShard elsewhere (spec.rootShard.joinRef): it reads the join info the
// sync sidecar replicated here, keeps its private keys here, publishes certificate requests for
// the RootShard's cluster to sign, checks what comes back, and only then mounts it. Deleting the
// Shard withdraws the request and waits (bounded) until the RootShard's cluster has let it go.
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import { ORIGIN } from '../../sync/keys.js';
import type { ReconcileRequest, ReconcileResult } from '../kube/controller.js';
import type { ConditionInput } from '../kube/conditions.js';
import { isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import { ConfigMaps, Secrets } from '../kube/resources.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { generateKeyPair } from '../pki/keys.js';
import { evaluateCertificate, type CertificateDecision } from '../pki/renewal.js';
import { federatedCASecret, federatedCASecretName, pendingKeysSecret, requestConfigMap } from '../resources/federation/objects.js';
import type { ShardModel } from '../resources/shard/model.js';
import {
  CA_KEYS,
  parseJoinInfo,
  parseJoinRequest,
  parseJoinResponse,
  parseOrigin,
  pendingKeysSecretName,
  ProtocolError,
  requestConfigMapName,
  responseConfigMapName,
  type JoinInfo,
  type JoinResponse,
} from '../federation/protocol.js';
import { undelivered } from '../federation/delivery.js';
import { buildJoinRequest, checkSignedResponse, issuingCA, joinInfoChainError, requestPlans } from '../federation/shard-side.js';
import { certificateSecret } from './certificates.js';
import { secretData, Shards, type ControllerContext } from './context.js';
import { setFinalizer } from './deregistration.js';
import { applyShardWorkload } from './shard-workload.js';
import { buildStatus, deploymentAvailable, writeStatus } from './status.js';
import { certificateTemplatesFor } from './templates.js';
import { unsupportedCondition, unsupportedShardFields } from './unsupported.js';
import { configMapInformer } from './watches.js';

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

type Failure = { reason: string; message: string };

export async function reconcileFederatedShard(ctx: ControllerContext, shard: KubeObject, req: ReconcileRequest, now: Date = new Date()): Promise<ReconcileResult | void> {
  const spec = shard.spec as ShardSpec;
  const ns = shard.metadata.namespace ?? '';
  const name = shard.metadata.name ?? '';
  const gen = shard.metadata.generation;
  const owner: KubeObject = { ...API_VERSION_KIND, ...shard };
  const cms = configMapInformer(ctx);
  const requestObj = cms.getByName(ns, requestConfigMapName(name));
  const responseObj = ctx.replicas.getByName(ns, responseConfigMapName(name));

  if (shard.metadata.deletionTimestamp) {
    if (!shard.metadata.finalizers?.length) return;
    if (requestObj) await deleteGuarded(ctx, ConfigMaps, requestObj);
    const overdue = now.getTime() - (Date.parse(shard.metadata.deletionTimestamp) || now.getTime()) >= ctx.settings.deregistrationTimeoutMs;
    if (responseObj && !overdue) {
      req.log.info('waiting for the RootShard\'s cluster to let the shard go');
      return { requeueAfterMs: 2000 };
    }
    if (responseObj) void ctx.events.record(shard, 'Warning', 'DeregistrationSkipped', 'the RootShard\'s cluster did not confirm that it let the shard go; removing the finalizer anyway');
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
  const joinName = spec.rootShard.joinRef?.name ?? '';
  const joinObj = ctx.replicas.getByName(ns, joinName);
  if (!joinObj) {
    const message = `spec.rootShard.joinRef: ConfigMap ${ns}/${joinName} does not exist; the RootShard's cluster publishes it and the sync sidecar replicates it here once both sides accept`;
    cond('RootShard', 'False', 'JoinInfoNotFound', message);
    // The RootShard's cluster may have withdrawn its consent: its last answer says so.
    const refused = answer(responseObj, requestObj)?.refused;
    if (refused) cond('Joined', 'False', refused.reason, `the RootShard's cluster refused the join request: ${refused.message}`);
    return finish(refused ? { reason: refused.reason, message: refused.message } : undefined, { type: 'Available', status: 'False', reason: 'JoinInfoNotFound', message, observedGeneration: gen });
  }
  const hub = parseOrigin(joinObj.metadata.annotations?.[ORIGIN]);
  let info: JoinInfo;
  try {
    info = parseJoinInfo(joinObj.data as Record<string, string> | undefined, `ConfigMap ${ns}/${joinName}`);
    const chain = joinInfoChainError(info);
    if (chain) throw new ProtocolError(`ConfigMap ${ns}/${joinName}: ${chain}`);
    if (!hub) throw new ProtocolError(`ConfigMap ${ns}/${joinName} is not a replica made by the sync sidecar`);
  } catch (err) {
    const failure = { reason: 'JoinInfoInvalid', message: err instanceof ProtocolError ? err.message : `ConfigMap ${ns}/${joinName} cannot be read` };
    cond('RootShard', 'False', failure.reason, failure.message);
    return finish(failure, undefined);
  }
  cond('RootShard', 'True', 'Joined', `RootShard ${info.rootShard.namespace}/${info.rootShard.name} on cluster ${hub.cluster}`);

  // 2. The installation's CA certificates, without keys (there are none to copy).
  for (const k of CA_KEYS) {
    const s = federatedCASecret(owner, k, info.caCertificates[k]);
    await ctx.applier.apply(Secrets, s, ctx.secrets.getByName(ns, s.metadata.name ?? ''));
  }

  // 3. Where each certificate stands.
  const plans = requestPlans({ name, namespace: ns, clusterDomain: spec.clusterDomain, shardBaseURL: spec.shardBaseURL }, info, certificateTemplatesFor(spec.certificateTemplates));
  const caPem = (p: (typeof plans)[number]) => info.caCertificates[issuingCA(p, info.rootShard.name) ?? 'root'];
  const decide = (data: Map<string, TlsSecretData>) =>
    plans.map((p): CertificateDecision => evaluateCertificate({ desired: p, secret: data.get(p.secretName) ?? secretData(ctx.secrets.getByName(ns, p.secretName)), issuerCertificatePem: caPem(p), now }));
  const certs = new Map<string, TlsSecretData>();
  let decisions = decide(certs);

  let response: JoinResponse | undefined;
  let failure: Failure | undefined;
  try {
    response = responseObj ? parseJoinResponse(responseObj.data as Record<string, string> | undefined, `ConfigMap ${ns}/${responseConfigMapName(name)}`) : undefined;
  } catch (err) {
    failure = { reason: 'ResponseInvalid', message: err instanceof ProtocolError ? err.message : 'the join response cannot be read' };
  }
  // A response answers our request object, not an earlier one of the same name.
  if (response && (response.originUid !== requestObj?.metadata.uid || response.shard !== name)) response = undefined;

  const pendingObj = ctx.secrets.getByName(ns, pendingKeysSecretName(name));
  const pendingData = secretData(pendingObj);
  const pending = pendingData ? { generation: Number(pendingData.generation), keys: Object.fromEntries(Object.entries(pendingData).filter(([k]) => k.endsWith('.key')).map(([k, v]) => [k.slice(0, -4), v])) } : undefined;
  let published: number | undefined;
  try {
    published = requestObj ? parseJoinRequest(requestObj.data as Record<string, string> | undefined).generation : undefined;
  } catch {
    published = undefined;
  }
  const hubTarget = { cluster: hub.cluster, namespace: info.requestNamespace };
  const publish = async (generation: number, keys: Record<string, string>) => {
    if (published === generation) return;
    const request = buildJoinRequest({ name, namespace: ns, clusterDomain: spec.clusterDomain, shardBaseURL: spec.shardBaseURL }, info, plans, generation, keys);
    await ctx.applier.apply(ConfigMaps, requestConfigMap(owner, request, hubTarget), requestObj);
  };

  let requeue: number | undefined;
  if (pending && Number.isSafeInteger(pending.generation) && pending.generation > 0) {
    await publish(pending.generation, pending.keys);
    if (response?.signed?.generation === pending.generation) {
      const checked = checkSignedResponse(response, info, plans, pending.keys);
      if (checked.ok) {
        for (const plan of plans) {
          const data = checked.secrets.get(plan.secretName);
          if (!data) continue;
          await ctx.applier.apply(Secrets, certificateSecret(owner, plan, data, 'shard'), ctx.secrets.getByName(ns, plan.secretName));
          certs.set(plan.secretName, data);
        }
        void ctx.events.record(shard, 'Normal', 'CertificatesSigned', `generation ${pending.generation} signed by cluster ${hub.cluster}, valid until ${checked.notAfter.toISOString()}`);
        if (pendingObj) await deleteGuarded(ctx, Secrets, pendingObj);
        decisions = decide(certs);
      } else {
        failure = { reason: 'ResponseInvalid', message: `${checked.message}; nothing was mounted` };
      }
    } else if (response?.refused?.generation === pending.generation) {
      failure = { reason: response.refused.reason, message: `cluster ${hub.cluster} refused the join request: ${response.refused.message}` };
    } else {
      requeue = 5000;
    }
  } else if (decisions.some((d) => d.action === 'issue' || d.action === 'reissue')) {
    // New keys for every certificate: each generation is one set, signed or refused as a whole.
    const generation = Math.max(published ?? 0, response?.signed?.generation ?? 0, response?.refused?.generation ?? 0) + 1;
    const pairs = await Promise.all(plans.map((p) => generateKeyPair(p.key)));
    const keys = Object.fromEntries(plans.map((p, i) => [p.templateKey, pairs[i]?.privateKeyPem ?? '']));
    // The keys are stored before anything asks for them to be signed, so a crash loses nothing.
    await ctx.applier.apply(Secrets, pendingKeysSecret(owner, generation, keys), pendingObj);
    await publish(generation, keys);
    req.log.info({ generation }, 'published a join request');
    requeue = 2000;
  } else if (response?.refused && !response.signed) {
    failure = { reason: response.refused.reason, message: `cluster ${hub.cluster} refused the join request: ${response.refused.message}` };
  } else if (!requestObj && response?.signed) {
    // Someone removed our request: publish the current keys again (same generation, nothing new to sign).
    const keys = Object.fromEntries(plans.map((p) => [p.templateKey, secretData(ctx.secrets.getByName(ns, p.secretName))?.['tls.key'] ?? '']));
    if (Object.values(keys).every((k) => k !== '')) await publish(response.signed.generation, keys);
  }

  const ready = decisions.every((d) => d.action === 'keep');
  // A request that cannot reach the hub (partition, missing registration, consent) says so.
  const stuck = !ready && !failure ? undelivered(cms.getByName(ns, requestConfigMapName(name)), hubTarget.cluster, hubTarget.namespace) : undefined;
  if (stuck) cond('Joined', 'False', stuck.reason, `the join request has not reached cluster ${hub.cluster}: ${stuck.message}`);
  else if (!ready && !failure) cond('Joined', 'False', 'AwaitingSignature', `waiting for cluster ${hub.cluster} to sign the join request`);
  else if (failure) cond('Joined', 'False', failure.reason, failure.message);
  else if (responseObj === undefined && requestObj) cond('Joined', 'False', 'JoinWithdrawn', `cluster ${hub.cluster} no longer answers this shard's request; its current certificates stay until they expire`);
  else cond('Joined', 'True', 'Signed', `certificates signed by cluster ${hub.cluster}`);
  cond('CertificatesReady', ready ? 'True' : 'False', ready ? 'Issued' : 'AwaitingSignature', ready ? `${plans.length} certificates valid` : 'requested from the RootShard\'s cluster');
  for (const d of decisions) if (d.action === 'keep' && d.requeueAfterMs !== undefined) requeue = Math.min(requeue ?? d.requeueAfterMs, d.requeueAfterMs);

  // 4. The workload, once every certificate is signed and checked.
  if (!ready) return finish(failure, undefined, requeue);
  for (const k of CA_KEYS) certs.set(federatedCASecretName(name, k), { 'tls.crt': info.caCertificates[k], 'tls.key': '', 'ca.crt': info.caCertificates[k] });
  for (const p of plans) if (!certs.has(p.secretName)) certs.set(p.secretName, secretData(ctx.secrets.getByName(ns, p.secretName)) as unknown as TlsSecretData);
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
  return finish(failure ?? (workload.missing && workload.missing.reason !== 'CertificatesPending' ? workload.missing : undefined), available, requeue);
}

/** The join response, if it parses and answers this request object (not an earlier one of the same name). */
function answer(responseObj: KubeObject | undefined, requestObj: KubeObject | undefined): JoinResponse | undefined {
  try {
    const r = responseObj ? parseJoinResponse(responseObj.data as Record<string, string> | undefined) : undefined;
    return r && r.originUid === requestObj?.metadata.uid ? r : undefined;
  } catch {
    return undefined;
  }
}

async function deleteGuarded(ctx: ControllerContext, r: typeof Secrets, obj: KubeObject): Promise<void> {
  try {
    await ctx.manager.client.delete(r, obj.metadata.namespace, obj.metadata.name ?? '', { uid: obj.metadata.uid });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
