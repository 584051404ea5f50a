// The requesting side of federation, for a joining Shard and for a remote team's Kubeconfig alike:
// read the join info the sidecar replicated here, keep private keys here, publish certificate
// requests for the RootShard's cluster, check what comes back before anything is written where
// it would be used, and withdraw the request when the owner goes.
import { ORIGIN } from '../../sync/keys.js';
import type { Logger } from '../kube/log.js';
import { isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import { ConfigMaps, Secrets } from '../kube/resources.js';
import type { TlsSecretData } from '../pki/bundle.js';
import type { PlannedCertificate } from '../pki/hierarchy.js';
import { generateKeyPair } from '../pki/keys.js';
import { evaluateCertificate, type CertificateDecision } from '../pki/renewal.js';
import type { Component } from '../resources/common/labels.js';
import { pendingKeysSecret, requestConfigMap } from '../resources/federation/objects.js';
import { undelivered } from '../federation/delivery.js';
import {
  parseJoinInfo,
  parseJoinRequest,
  parseJoinResponse,
  parseOrigin,
  pendingKeysSecretName,
  ProtocolError,
  requestConfigMapName,
  responseConfigMapName,
  type JoinInfo,
  type JoinRequest,
  type JoinResponse,
  type Requester,
} from '../federation/protocol.js';
import { checkSignedResponse, issuingCA, joinInfoChainError } from '../federation/shard-side.js';
import { certificateSecret } from './certificates.js';
import { secretData, type ControllerContext } from './context.js';
import { configMapInformer } from './watches.js';

export type Failure = { reason: string; message: string };

export type JoinInfoResult =
  | { ok: true; info: JoinInfo; hubCluster: string }
  | { ok: false; reason: 'JoinInfoNotFound' | 'JoinInfoInvalid'; message: string; lastRefusal?: Failure };

/** The join info named by a joinRef, checked; when it is gone, the RootShard's last refusal (consent withdrawn) if any. */
export function readJoinInfo(ctx: ControllerContext, owner: KubeObject, requester: Requester, field: string, joinName: string): JoinInfoResult {
  const ns = owner.metadata.namespace ?? '';
  const joinObj = ctx.replicas.getByName(ns, joinName);
  if (!joinObj) {
    const refused = answerTo(ctx, owner, requester)?.refused;
    return {
      ok: false,
      reason: 'JoinInfoNotFound',
      message: `${field}: ConfigMap ${ns}/${joinName} does not exist; the RootShard's cluster publishes it and the sync sidecar replicates it here once both sides accept`,
      ...(refused ? { lastRefusal: { reason: refused.reason, message: `the RootShard's cluster refused the request: ${refused.message}` } } : {}),
    };
  }
  const hub = parseOrigin(joinObj.metadata.annotations?.[ORIGIN]);
  try {
    const info = parseJoinInfo(joinObj.data as Record<string, string> | undefined, `ConfigMap ${ns}/${joinName}`);
    const chain = joinInfoChainError(info);
    if (chain) throw new ProtocolError(`ConfigMap ${ns}/${joinName}: ${chain}`);
    if (!hub) throw new ProtocolError(`ConfigMap ${ns}/${joinName} is not a replica made by the sync sidecar`);
    return { ok: true, info, hubCluster: hub.cluster };
  } catch (err) {
    return { ok: false, reason: 'JoinInfoInvalid', message: err instanceof ProtocolError ? err.message : `ConfigMap ${ns}/${joinName} cannot be read` };
  }
}

/** The response, if it parses and answers this owner's request object (not an earlier one of the same name). */
function answerTo(ctx: ControllerContext, owner: KubeObject, requester: Requester): JoinResponse | undefined {
  const ns = owner.metadata.namespace ?? '';
  const name = owner.metadata.name ?? '';
  const requestObj = configMapInformer(ctx).getByName(ns, requestConfigMapName(name, requester));
  try {
    const responseObj = ctx.replicas.getByName(ns, responseConfigMapName(name, requester));
    const r = responseObj ? parseJoinResponse(responseObj.data as Record<string, string> | undefined) : undefined;
    return r && r.originUid === requestObj?.metadata.uid && r.shard === name ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * On the owner's deletion: withdraw the request, and say whether the RootShard's cluster has let go
 * (its response is gone), or the bounded wait is over.
 */
export async function withdrawRequest(ctx: ControllerContext, owner: KubeObject, requester: Requester, now: Date): Promise<'released' | 'waiting' | 'overdue'> {
  const ns = owner.metadata.namespace ?? '';
  const name = owner.metadata.name ?? '';
  const requestObj = configMapInformer(ctx).getByName(ns, requestConfigMapName(name, requester));
  if (requestObj) await deleteGuarded(ctx, ConfigMaps, requestObj);
  if (!ctx.replicas.getByName(ns, responseConfigMapName(name, requester))) return 'released';
  const since = Date.parse(owner.metadata.deletionTimestamp ?? '') || now.getTime();
  return now.getTime() - since >= ctx.settings.deregistrationTimeoutMs ? 'overdue' : 'waiting';
}

export interface RequestFlow {
  /** The Shard or Kubeconfig, with apiVersion and kind (the owner of everything written). */
  owner: KubeObject;
  requester: Requester;
  component: Component;
  info: JoinInfo;
  hubCluster: string;
  plans: readonly PlannedCertificate[];
  /** The request document for a generation and its keys (PEM by templateKey). */
  document(generation: number, keys: Readonly<Record<string, string>>): JoinRequest;
  log: Logger;
}

export interface RequestOutcome {
  /** Every planned Secret exists, checked and valid. */
  ready: boolean;
  /** The certificates' Secret data: what was written in this pass, else what is cached. */
  certs: Map<string, TlsSecretData>;
  failure?: Failure;
  joined: { status: 'True' | 'False'; reason: string; message: string };
  requeueAfterMs?: number;
}

export async function runRequestFlow(ctx: ControllerContext, flow: RequestFlow, now: Date = new Date()): Promise<RequestOutcome> {
  const { owner, requester, info, plans } = flow;
  const ns = owner.metadata.namespace ?? '';
  const name = owner.metadata.name ?? '';
  const hub = flow.hubCluster;
  const requestObj = configMapInformer(ctx).getByName(ns, requestConfigMapName(name, requester));
  const responseObj = ctx.replicas.getByName(ns, responseConfigMapName(name, requester));

  const caPem = (p: PlannedCertificate) => info.caCertificates[issuingCA(p, info.rootShard.name) ?? 'root'];
  const certs = new Map<string, TlsSecretData>();
  const cached = (secret: string) => certs.get(secret) ?? (secretData(ctx.secrets.getByName(ns, secret)) as TlsSecretData | undefined);
  const decide = () => plans.map((p): CertificateDecision => evaluateCertificate({ desired: p, secret: cached(p.secretName), issuerCertificatePem: caPem(p), now }));
  let decisions = decide();

  let response: JoinResponse | undefined;
  let failure: Failure | undefined;
  try {
    response = responseObj ? parseJoinResponse(responseObj.data as Record<string, string> | undefined, `ConfigMap ${ns}/${responseConfigMapName(name, requester)}`) : undefined;
  } catch (err) {
    failure = { reason: 'ResponseInvalid', message: err instanceof ProtocolError ? err.message : 'the response cannot be read' };
  }
  // A response answers our request object, not an earlier one of the same name.
  if (response && (response.originUid !== requestObj?.metadata.uid || response.shard !== name)) response = undefined;

  const pendingObj = ctx.secrets.getByName(ns, pendingKeysSecretName(name, requester));
  const pendingData = secretData(pendingObj);
  const pending = pendingData
    ? { generation: Number(pendingData.generation), keys: Object.fromEntries(Object.entries(pendingData).filter(([k]) => k.endsWith('.key')).map(([k, v]) => [k.slice(0, -4), v])) }
    : undefined;
  let published: number | undefined;
  try {
    published = requestObj ? parseJoinRequest(requestObj.data as Record<string, string> | undefined).generation : undefined;
  } catch {
    published = undefined;
  }
  const target = { cluster: hub, namespace: info.requestNamespace };
  const publish = async (generation: number, keys: Readonly<Record<string, string>>) => {
    // CSR signatures are not deterministic: a generation is written once, never re-rendered.
    if (published === generation) return;
    await ctx.applier.apply(ConfigMaps, requestConfigMap(owner, flow.document(generation, keys), target), requestObj);
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
          await ctx.applier.apply(Secrets, certificateSecret(owner, plan, data, flow.component), ctx.secrets.getByName(ns, plan.secretName));
          certs.set(plan.secretName, data);
        }
        void ctx.events.record(owner, 'Normal', 'CertificatesSigned', `generation ${pending.generation} signed by cluster ${hub}, valid until ${checked.notAfter.toISOString()}`);
        if (pendingObj) await deleteGuarded(ctx, Secrets, pendingObj);
        decisions = decide();
      } else {
        failure = { reason: 'ResponseInvalid', message: `${checked.message}; nothing was mounted` };
      }
    } else if (response?.refused?.generation === pending.generation) {
      failure = { reason: response.refused.reason, message: `cluster ${hub} refused the request: ${response.refused.message}` };
    } else {
      requeue = 5000;
    }
  } else if (decisions.some((d) => d.action === 'issue' || d.action === 'reissue')) {
    // New keys for every certificate: each generation is one set, signed or refused as a whole.
    const generation = Math.max(published ?? 0, response?.signed?.generation ?? 0, response?.refused?.generation ?? 0) + 1;
    const pairs = await Promise.all(plans.map((p) => generateKeyPair(p.key)));
    const keys = Object.fromEntries(plans.map((p, i) => [p.templateKey, pairs[i]?.privateKeyPem ?? '']));
    // The keys are stored before anything asks for them to be signed, so a crash loses nothing.
    await ctx.applier.apply(Secrets, pendingKeysSecret(owner, requester, generation, keys), pendingObj);
    await publish(generation, keys);
    flow.log.info({ generation }, 'published a certificate request');
    requeue = 2000;
  } else if (response?.refused && !response.signed) {
    failure = { reason: response.refused.reason, message: `cluster ${hub} refused the request: ${response.refused.message}` };
  } else if (!requestObj && response?.signed) {
    // Someone removed our request: publish the current keys again (same generation, nothing new to sign).
    const keys = Object.fromEntries(plans.map((p) => [p.templateKey, cached(p.secretName)?.['tls.key'] ?? '']));
    if (Object.values(keys).every((k) => k !== '')) await publish(response.signed.generation, keys);
  }

  const ready = decisions.every((d) => d.action === 'keep');
  for (const d of decisions) if (d.action === 'keep' && d.requeueAfterMs !== undefined) requeue = Math.min(requeue ?? d.requeueAfterMs, d.requeueAfterMs);
  for (const p of plans) {
    const data = cached(p.secretName);
    if (data) certs.set(p.secretName, data);
  }
  // A request that cannot reach the hub (partition, missing registration, consent) says so.
  const stuck = !ready && !failure ? undelivered(configMapInformer(ctx).getByName(ns, requestConfigMapName(name, requester)), target.cluster, target.namespace) : undefined;
  const joined: RequestOutcome['joined'] = stuck
    ? { status: 'False', reason: stuck.reason, message: `the request has not reached cluster ${hub}: ${stuck.message}` }
    : failure
      ? { status: 'False', ...failure }
      : !ready
        ? { status: 'False', reason: 'AwaitingSignature', message: `waiting for cluster ${hub} to sign the request` }
        : responseObj === undefined && requestObj
          ? { status: 'False', reason: 'JoinWithdrawn', message: `cluster ${hub} no longer answers this request; the current certificates stay until they expire` }
          : { status: 'True', reason: 'Signed', message: `certificates signed by cluster ${hub}` };
  return { ready, certs, ...(failure ? { failure } : {}), joined, ...(requeue !== undefined ? { requeueAfterMs: requeue } : {}) };
}

async function deleteGuarded(ctx: ControllerContext, r: typeof Secrets, obj: KubeObject): Promise<void> {
  try {
    await ctx.manager.client.delete(r, obj.metadata.namespace, obj.metadata.name ?? '', { uid: obj.metadata.uid });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
