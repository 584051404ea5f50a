// The RootShard's side of federation (spec.federation): publish the join info, answer join
// requests that the sync sidecar brought in, trust the service-account keys of joined shards, and
// let shards go (deregistered from kcp, keys dropped) when their request is withdrawn or no longer
// accepted. Runs inside the RootShard reconcile, so one writer owns the RootShard's status.
import type { FederatedShardStatus, RootShardSpec } from '../api/rootshard.js';
import { ORIGIN, ORIGIN_UID, REPLICA_NAMESPACE } from '../../sync/keys.js';
import type { ConditionInput } from '../kube/conditions.js';
import { isNotFound } from '../kube/errors.js';
import type { Logger } from '../kube/log.js';
import type { KubeObject } from '../kube/object.js';
import { ConfigMaps, Secrets } from '../kube/resources.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { hostFromURL, LABEL_ROOTSHARD, LABEL_SHARD, rootCASecretName, rootShardCAName, rootShardServiceHost, shardServiceHost } from '../pki/hierarchy.js';
import { parseCertificate } from '../pki/x509.js';
import { parseGoDuration } from '../resources/common/duration.js';
import { joinConfigMap, LABEL_REMOTE_KUBECONFIG, remoteServiceAccountSecret, responseConfigMap } from '../resources/federation/objects.js';
import { baseURL } from '../resources/shard/model.js';
import {
  CA_KEYS,
  joinConfigMapName,
  LABEL_FEDERATION,
  MAX_SIGNED_KEYS,
  parseJoinRequest,
  parseJoinResponse,
  parseOrigin,
  ProtocolError,
  REQUEST_KEY,
  responseConfigMapName,
  RESPONSE_KINDS,
  requesterOf,
  type CAKey,
  type Requester,
  type JoinInfo,
  type JoinResponse,
} from '../federation/protocol.js';
import { undelivered } from '../federation/delivery.js';
import { signApproved } from '../federation/sign.js';
import { verifyJoinRequest, type Origin } from '../federation/verify.js';
import { secretData, type ControllerContext } from './context.js';
import { deregisterShard } from './deregistration.js';
import { configMapInformer, kubeconfigInformer } from './watches.js';

export const DEFAULT_MAX_CERTIFICATE_DURATION_MS = 8760 * 3600_000;
/** When the RootShard's cluster first saw a joined shard's request gone (bounds deregistration). */
const WITHDRAWN_AT = 'operator.kcp.io/withdrawn-at';

/** Responses and claims are per requester kind: a Shard and a Kubeconfig may share a name. */
const responseKey = (requester: Requester, name: string) => `${requester}/${name}`;
const splitKey = (key: string): [Requester, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i) as Requester, key.slice(i + 1)];
};

/** A local object already has the name: a Shard in the RootShard's namespace, or a Kubeconfig anywhere (its group kubeconfig:<name> would be shared). */
function localHolds(ctx: ControllerContext, ns: string, requester: Requester, name: string): boolean {
  return requester === 'Shard' ? !!ctx.shards.getByName(ns, name) : kubeconfigInformer(ctx).list().some((k) => k.metadata.name === name);
}

export interface FederationOutcome {
  conditions: ConditionInput[];
  federatedShards: FederatedShardStatus[];
  requeueAfterMs?: number;
}

/** Names of the remote shards whose service-account keys this RootShard's installation trusts. */
export function federatedShardsOf(ctx: ControllerContext, namespace: string | undefined, rootShard: string): string[] {
  return ctx.secrets
    .list(namespace)
    .filter((s) => s.metadata.labels?.[LABEL_FEDERATION] === 'remote-service-account' && s.metadata.labels[LABEL_ROOTSHARD] === rootShard)
    .map((s) => s.metadata.labels?.[LABEL_SHARD] ?? '')
    .filter((n) => n !== '');
}

/** Join requests (replicas the sidecar made) in `namespace`. */
export function joinRequestsIn(ctx: ControllerContext, namespace: string): KubeObject[] {
  return ctx.replicas.list(namespace).filter((cm) => (cm.data as Record<string, string> | undefined)?.[REQUEST_KEY] !== undefined && cm.metadata.annotations?.[REPLICA_NAMESPACE] === namespace);
}

function responsesOf(ctx: ControllerContext, ns: string, rootShard: string): Map<string, { obj: KubeObject; doc: JoinResponse | undefined }> {
  const out = new Map<string, { obj: KubeObject; doc: JoinResponse | undefined }>();
  for (const cm of configMapInformer(ctx).list(ns)) {
    const l = cm.metadata.labels ?? {};
    const requester: Requester | undefined = l[LABEL_SHARD] ? 'Shard' : l[LABEL_REMOTE_KUBECONFIG] ? 'Kubeconfig' : undefined;
    if (l[LABEL_FEDERATION] !== 'response' || l[LABEL_ROOTSHARD] !== rootShard || !requester) continue;
    let doc: JoinResponse | undefined;
    try {
      doc = parseJoinResponse(cm.data as Record<string, string> | undefined);
    } catch {
      doc = undefined;
    }
    out.set(responseKey(requester, l[LABEL_SHARD] ?? l[LABEL_REMOTE_KUBECONFIG] ?? ''), { obj: cm, doc });
  }
  return out;
}

function joinInfo(rs: KubeObject, spec: RootShardSpec, certs: ReadonlyMap<string, TlsSecretData>, requestNamespace: string, maxMs: number): JoinInfo | undefined {
  const name = rs.metadata.name ?? '';
  const ns = rs.metadata.namespace ?? '';
  const caName = (k: CAKey) => (k === 'root' ? rootCASecretName({ name, caSecretRef: spec.certificates?.caSecretRef?.name }) : rootShardCAName(name, k));
  const cas: Partial<Record<CAKey, string>> = {};
  for (const k of CA_KEYS) {
    const pem = certs.get(caName(k))?.['tls.crt'];
    if (!pem) return undefined;
    cas[k] = pem;
  }
  const e = spec.external;
  return {
    kind: 'KcpJoinInfo',
    version: 1,
    rootShard: { name, namespace: ns },
    requestNamespace,
    rootShardURL: baseURL({ kind: 'RootShard', name, namespace: ns, spec }),
    external: {
      hostname: e.hostname,
      port: e.port,
      ...(e.privateHostname ? { privateHostname: e.privateHostname, ...(e.privatePort ? { privatePort: e.privatePort } : {}) } : {}),
    },
    serviceAccountAuth: !!spec.auth?.serviceAccount?.enabled,
    maxCertificateDurationMs: maxMs,
    caCertificates: cas as Record<CAKey, string>,
  };
}

/**
 * Hosts no remote shard may claim: the installation's own (the root shard's, the front door's, the
 * local shards') and those of each remote shard's signed server certificate, by response key. Read
 * once per reconcile; a request is checked against all of them but its own.
 */
function installationHosts(ctx: ControllerContext, rs: KubeObject, spec: RootShardSpec, responses: Map<string, { doc: JoinResponse | undefined }>): { own: string[]; remote: Map<string, string[]> } {
  const ns = rs.metadata.namespace ?? '';
  const own = [rootShardServiceHost(rs.metadata.name ?? '', ns, spec.clusterDomain), spec.external.hostname, spec.external.privateHostname, hostFromURL(spec.shardBaseURL)];
  for (const s of ctx.shards.list(ns)) {
    const ss = s.spec as { clusterDomain?: string; shardBaseURL?: string } | undefined;
    own.push(shardServiceHost(s.metadata.name ?? '', ns, ss?.clusterDomain), hostFromURL(ss?.shardBaseURL));
  }
  const remote = new Map<string, string[]>();
  for (const [key, r] of responses) {
    const server = r.doc?.signed?.certificates.server;
    if (!server) continue;
    try {
      remote.set(key, parseCertificate(server).dnsNames.filter((h) => h !== 'localhost'));
    } catch {
      // a response we cannot read reserves nothing
    }
  }
  const lower = (hs: Array<string | undefined>) => hs.filter((h): h is string => !!h).map((h) => h.toLowerCase());
  return { own: lower(own), remote: new Map([...remote].map(([k, hs]) => [k, lower(hs)])) };
}

export async function reconcileRootFederation(
  ctx: ControllerContext,
  owner: KubeObject,
  spec: RootShardSpec,
  certs: ReadonlyMap<string, TlsSecretData>,
  log: Logger,
  now: Date = new Date(),
): Promise<FederationOutcome> {
  const ns = owner.metadata.namespace ?? '';
  const name = owner.metadata.name ?? '';
  const gen = owner.metadata.generation;
  const fed = spec.federation;
  const responses = responsesOf(ctx, ns, name);
  const out: FederationOutcome = { conditions: [], federatedShards: [] };
  const requeue = (ms: number) => (out.requeueAfterMs = Math.min(out.requeueAfterMs ?? ms, ms));
  const condition = (status: 'True' | 'False', reason: string, message: string) =>
    out.conditions.push({ type: 'Federation', status, reason, message, observedGeneration: gen });

  const accept = fed?.accept ?? [];
  const requestNamespace = fed?.requestNamespace ?? ns;
  const maxMs = fed?.maxCertificateDuration ? parseGoDuration(fed.maxCertificateDuration) : DEFAULT_MAX_CERTIFICATE_DURATION_MS;

  // Without federation, or without a usable configuration, nothing is published and every shard that
  // had joined is let go.
  let info: JoinInfo | undefined;
  if (fed) {
    if (spec.cache?.ref?.name) condition('False', 'CacheServerUnsupported', 'federation needs the embedded cache: remote shards cannot reach a CacheServer\'s PKI yet');
    else if (!(info = joinInfo(owner, spec, certs, requestNamespace, maxMs))) condition('False', 'CertificatesPending', 'the CA certificates are not issued yet');
  }
  const joinName = joinConfigMapName(name);
  if (info && accept.length > 0) {
    await ctx.applier.apply(ConfigMaps, joinConfigMap(owner, info, accept), configMapInformer(ctx).getByName(ns, joinName));
  } else if (configMapInformer(ctx).getByName(ns, joinName)) {
    await deleteIfPresent(ctx, ConfigMaps, ns, joinName);
  }

  const seen = new Set<string>();
  const claimed = new Map<string, { cluster: string; namespace: string }>();
  const refusals: string[] = [];
  if (info) {
    const hosts = installationHosts(ctx, owner, spec, responses);
    const requests = joinRequestsIn(ctx, requestNamespace).sort(
      (a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
    for (const cm of requests) {
      const o = parseOrigin(cm.metadata.annotations?.[ORIGIN]);
      const uid = cm.metadata.annotations?.[ORIGIN_UID] ?? '';
      if (!o || !uid) continue;
      const origin: Origin = { ...o, uid };
      let request;
      try {
        request = parseJoinRequest(cm.data as Record<string, string> | undefined, `join request ${o.cluster}/${o.namespace}/${o.name}`);
      } catch (err) {
        const message = err instanceof ProtocolError ? err.message : 'unreadable';
        refusals.push(`${o.cluster}/${o.namespace}/${o.name}: MalformedRequest`);
        const shardName = o.name.replace(/-join-request$/, '');
        if (shardName !== o.name && !responses.has(responseKey('Shard', shardName)) && !claimed.has(responseKey('Shard', shardName))) {
          claimed.set(responseKey('Shard', shardName), { cluster: o.cluster, namespace: o.namespace });
          out.federatedShards.push({ name: shardName, cluster: o.cluster, namespace: o.namespace, state: 'Refused', reason: 'MalformedRequest', message });
        }
        void ctx.events.record(owner, 'Warning', 'ShardJoinRefused', `${o.cluster}/${o.namespace}/${o.name}: ${message}`);
        continue;
      }
      if (request.rootShard !== name) continue;
      const requester = requesterOf(request);
      const key = responseKey(requester, request.shard);
      const prior = responses.get(key);
      // The first origin to hold a name keeps it: from an earlier response, or from this very pass.
      const claim = claimed.get(key) ?? (prior?.doc ? { cluster: prior.doc.cluster, namespace: prior.doc.namespace } : undefined);
      const other = claim && (claim.cluster !== o.cluster || claim.namespace !== o.namespace) ? claim : undefined;
      const holder = requester === 'Shard' && request.shard === name ? 'root' : localHolds(ctx, ns, requester, request.shard) ? 'local' : other;
      if (!holder) {
        seen.add(key);
        claimed.set(key, { cluster: o.cluster, namespace: o.namespace });
      }
      // A Shard deleted and created again on its cluster starts over at generation 1, but may never reuse a key.
      const same = holder ? undefined : prior?.doc;
      const previous = same && same.originUid !== uid ? { ...same, signed: undefined } : same;
      const verdict = verifyJoinRequest({
        rootShard: { name, namespace: ns, caSecretRef: spec.certificates?.caSecretRef?.name },
        accept,
        acceptKubeconfigs: fed?.acceptKubeconfigs ?? [],
        maxDurationMs: maxMs,
        origin,
        request,
        holder,
        reservedHosts: new Set([...hosts.own, ...[...hosts.remote].filter(([k]) => k !== key).flatMap(([, hs]) => hs)]),
        previous,
      });
      const base: JoinResponse = {
        kind: RESPONSE_KINDS[requester],
        version: 1,
        rootShard: name,
        shard: request.shard,
        cluster: o.cluster,
        namespace: o.namespace,
        originUid: uid,
        signedKeys: previous?.signedKeys ?? [],
        ...(previous?.signed ? { signed: previous.signed } : {}),
      };
      const entry = { name: request.shard, cluster: o.cluster, namespace: o.namespace };
      if (verdict.decision === 'refuse') {
        refusals.push(`${o.cluster}/${o.namespace}/${request.shard}: ${verdict.reason}`);
        // status.federatedShards is keyed by name: a claim on a name someone else holds shows in the
        // condition and an Event, not as a second entry.
        if (!holder && requester === 'Shard') out.federatedShards.push({ ...entry, state: 'Refused', reason: verdict.reason, message: verdict.message });
        void ctx.events.record(owner, 'Warning', requester === 'Shard' ? 'ShardJoinRefused' : 'KubeconfigRefused', `${o.cluster}/${o.namespace}/${request.shard}: ${verdict.message}`);
        log.info({ shard: request.shard, cluster: o.cluster, reason: verdict.reason }, 'refused a join request');
        if (holder) continue; // the response's name belongs to someone else: status and Event only
        const withdrawn = verdict.reason === 'NotAccepted';
        const resp: JoinResponse = { ...base, refused: { generation: request.generation, reason: verdict.reason, message: verdict.message } };
        if (withdrawn) delete resp.signed;
        if (withdrawn && requester === 'Shard' && previous?.signed && !(await letGo(ctx, owner, spec, request.shard, prior?.obj, now, log))) {
          requeue(5000); // answer once kcp has let it go, so that this is retried
          continue;
        }
        await ctx.applier.apply(ConfigMaps, responseConfigMap(owner, resp), prior?.obj);
        continue;
      }
      let resp = base;
      if (verdict.decision === 'sign') {
        const signed = await signApproved(verdict.certificates, (secret) => certs.get(secret) ?? (secretData(ctx.secrets.getByName(ns, secret)) as TlsSecretData | undefined), now);
        resp = {
          ...base,
          signed: { generation: request.generation, certificates: signed.certificates, notAfter: signed.notAfter },
          signedKeys: [...base.signedKeys, ...verdict.fingerprints].slice(-MAX_SIGNED_KEYS),
        };
        void ctx.events.record(owner, 'Normal', requester === 'Shard' ? 'ShardJoinSigned' : 'KubeconfigSigned', `signed generation ${request.generation} for ${o.cluster}/${o.namespace}/${request.shard}`);
        log.info({ shard: request.shard, cluster: o.cluster, generation: request.generation }, 'signed a join request');
      }
      await ctx.applier.apply(ConfigMaps, responseConfigMap(owner, resp), prior?.obj);
      if (requester === 'Kubeconfig') continue;
      const sa = resp.signed?.certificates['service-account'];
      if (sa) await ctx.applier.apply(Secrets, remoteServiceAccountSecret(owner, request.shard, sa), ctx.secrets.getByName(ns, `${request.shard}-service-account`));
      const stuck = undelivered(configMapInformer(ctx).getByName(ns, responseConfigMapName(request.shard)), o.cluster, o.namespace);
      out.federatedShards.push({
        ...entry,
        state: resp.signed ? 'Joined' : 'Pending',
        ...(resp.signed ? { generation: resp.signed.generation, notAfter: resp.signed.notAfter } : {}),
        ...(stuck ? { reason: stuck.reason, message: `the response has not reached the shard's cluster: ${stuck.message}` } : {}),
      });
    }
  }

  // Responses whose request is gone (withdrawn by its cluster, or federation turned off): let go.
  for (const [key, r] of responses) {
    if (seen.has(key)) continue;
    const [requester, shard] = splitKey(key);
    if (requester === 'Shard' && r.doc?.signed && !(await letGo(ctx, owner, spec, shard, r.obj, now, log))) {
      requeue(5000);
      out.federatedShards.push({ name: shard, cluster: r.doc.cluster, namespace: r.doc.namespace, state: 'Pending', reason: 'Deregistering', message: 'the request was withdrawn; removing the shard from kcp' });
      continue;
    }
    await deleteIfPresent(ctx, ConfigMaps, ns, responseConfigMapName(shard, requester));
  }

  if (fed && out.conditions.length === 0) {
    const joined = out.federatedShards.filter((s) => s.state === 'Joined').length;
    if (refusals.length > 0) {
      condition('False', out.federatedShards.find((s) => s.state === 'Refused')?.reason ?? 'Refused', `refused: ${refusals.slice(0, 5).join('; ')}${refusals.length > 5 ? ` (and ${refusals.length - 5} more)` : ''}; ${joined} joined`);
    } else {
      condition('True', accept.length > 0 ? 'Published' : 'NoneAccepted', accept.length > 0 ? `join info published; ${joined} shard(s) joined` : 'spec.federation.accept is empty: no shard may join');
    }
  }
  out.federatedShards.sort((a, b) => a.name.localeCompare(b.name));
  return out;
}

/**
 * A joined shard leaves: deregistered from kcp (bounded, as for a local Shard), its service-account
 * key no longer trusted. True once done; false while kcp has not confirmed yet.
 */
async function letGo(ctx: ControllerContext, owner: KubeObject, spec: RootShardSpec, shard: string, response: KubeObject | undefined, now: Date, log: Logger): Promise<boolean> {
  const ns = owner.metadata.namespace ?? '';
  const name = owner.metadata.name ?? '';
  let since = response?.metadata.annotations?.[WITHDRAWN_AT];
  if (response && !since) {
    since = now.toISOString();
    const patched = await ctx.manager.client.patch<KubeObject>(ConfigMaps, ns, response.metadata.name ?? '', { metadata: { annotations: { [WITHDRAWN_AT]: since } } }, 'merge');
    ctx.applier.written(ConfigMaps, patched);
  }
  const res = await deregisterShard(ctx, { metadata: { name: shard, namespace: ns, deletionTimestamp: since ?? now.toISOString() } }, { name, baseURL: baseURL({ kind: 'RootShard', name, namespace: ns, spec }) }, now.getTime());
  if (!res.done) {
    log.info({ shard, detail: res.detail }, 'waiting to deregister a remote shard from kcp');
    return false;
  }
  if (res.how === 'gave-up') void ctx.events.record(owner, 'Warning', 'DeregistrationSkipped', `remote shard ${shard}: ${res.detail ?? ''}`);
  else void ctx.events.record(owner, 'Normal', 'ShardLeft', `remote shard ${shard} ${res.how === 'deregistered' ? 'was removed from kcp' : 'was not registered in kcp'}; its service-account key is no longer trusted`);
  await deleteIfPresent(ctx, Secrets, ns, `${shard}-service-account`, (s) => s.metadata.labels?.[LABEL_FEDERATION] === 'remote-service-account');
  return true;
}

/** Deletes an object this operator made, guarded by uid so a newer object of the same name survives. */
async function deleteIfPresent(ctx: ControllerContext, r: typeof ConfigMaps, ns: string, name: string, ours: (o: KubeObject) => boolean = () => true): Promise<void> {
  const cached = (r === Secrets ? ctx.secrets : configMapInformer(ctx)).getByName(ns, name);
  if (!cached || !ours(cached)) return;
  try {
    await ctx.manager.client.delete(r, ns, name, { uid: cached.metadata.uid });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

