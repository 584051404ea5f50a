// The RootShard's side of a join request: decide, without I/O, whether to sign it. A request is
// signed only when every check passes; otherwise nothing is signed and the reason names the check:
// - NotAccepted: no spec.federation.accept rule matches (cluster, namespace, shard);
// - RequestTampered: the document disagrees with where the sidecar says it came from, or a
//   generation already signed now carries other keys;
// - ShardNameTaken: a local Shard, the root shard, or a remote shard from elsewhere has the name;
// - StaleRequest / KeyReused: a replay of an older request or of a key signed before;
// - InvalidCSR: a CSR that does not parse or whose signature (proof of possession) fails;
// - IdentityMismatch: a CSR asks for anything but exactly what a shard of that name gets here;
// - DurationTooLong: a validity beyond spec.federation.maxCertificateDuration;
// - ForeignHostname: a shardBaseURL host that names another component of the installation.
import type { KeyObject } from 'node:crypto';
import type { FederationAcceptRule, KubeconfigAcceptRule } from '../api/federation.js';
import { globMatch } from '../../sync/patterns.js';
import { parseCsr, type ParsedCsr } from '../pki/csr.js';
import { PkiError } from '../pki/errors.js';
import { hostFromURL, kubeconfigCertificate, shardCertificates, type PlannedCertificate } from '../pki/hierarchy.js';
import { normalizeIp } from '../pki/ip.js';
import { DEFAULT_KEY_SPEC, publicKeyFingerprint } from '../pki/keys.js';
import { requestConfigMapName, requesterOf, type JoinRequest, type JoinResponse } from './protocol.js';

export interface Origin {
  cluster: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface VerifyInput {
  rootShard: { name: string; namespace: string; caSecretRef?: string };
  accept: readonly FederationAcceptRule[];
  acceptKubeconfigs?: readonly KubeconfigAcceptRule[];
  maxDurationMs: number;
  origin: Origin;
  request: JoinRequest;
  /** Who already holds the shard name in this installation, if anyone else. */
  holder: 'root' | 'local' | { cluster: string; namespace: string } | undefined;
  /** Hosts of the installation's own components, which no remote shard may claim. */
  reservedHosts: ReadonlySet<string>;
  /** The response already published for this shard (same origin), if any. */
  previous: JoinResponse | undefined;
}

export interface ToSign {
  plan: PlannedCertificate;
  publicKey: KeyObject;
  durationMs: number;
}

export type Verdict =
  | { decision: 'sign'; certificates: ToSign[]; fingerprints: string[] }
  | { decision: 'unchanged' }
  | { decision: 'refuse'; reason: string; message: string };

const refuse = (reason: string, message: string): Verdict => ({ decision: 'refuse', reason, message });

export function acceptedBy(rules: readonly FederationAcceptRule[], o: { cluster: string; namespace: string; shard: string }): boolean {
  return rules.some((r) => globMatch(r.cluster, o.cluster) && globMatch(r.namespace, o.namespace) && globMatch(r.shard, o.shard));
}

/** A `system:` name is admitted only by a pattern that names `system:` itself, never by a bare glob such as `*`. */
const admits = (pattern: string, value: string) => globMatch(pattern, value) && (!value.startsWith('system:') || pattern.startsWith('system:'));

export function kubeconfigAcceptedBy(rules: readonly KubeconfigAcceptRule[], o: { cluster: string; namespace: string; name: string; username: string; groups: readonly string[] }): boolean {
  return rules.some(
    (r) =>
      globMatch(r.cluster, o.cluster) &&
      globMatch(r.namespace, o.namespace) &&
      globMatch(r.name, o.name) &&
      r.usernames.some((u) => admits(u, o.username)) &&
      o.groups.every((g) => (r.groups ?? []).some((p) => admits(p, g))),
  );
}

/**
 * What the requester gets from this RootShard: for a shard of this name in that namespace, the
 * local plan, untemplated; for a Kubeconfig, the client certificate a local Kubeconfig of that name
 * and identity gets, for the validity asked.
 */
export function expectedPlans(input: Pick<VerifyInput, 'rootShard' | 'request'>): PlannedCertificate[] {
  const r = input.request;
  if (r.kubeconfig) {
    return [
      kubeconfigCertificate({
        name: r.shard,
        rootShard: input.rootShard.name,
        username: r.kubeconfig.username,
        groups: r.kubeconfig.groups,
        validityMs: r.certificates.find((c) => c.templateKey === 'kubeconfig')?.durationMs ?? 0,
        key: DEFAULT_KEY_SPEC,
      }),
    ];
  }
  return shardCertificates({
    name: r.shard,
    namespace: r.namespace,
    clusterDomain: r.clusterDomain,
    shardBaseURL: r.shardBaseURL,
    rootShard: { name: input.rootShard.name, caSecretRef: input.rootShard.caSecretRef },
    key: DEFAULT_KEY_SPEC,
  });
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

/** The first way `csr` differs from `plan`, or undefined when it asks for exactly the plan. */
export function identityDifference(csr: ParsedCsr, plan: PlannedCertificate): string | undefined {
  const what = `${plan.templateKey} certificate`;
  if ((csr.subject.commonName ?? '') !== (plan.subject.commonName ?? '')) return `${what}: the common name differs from what a shard of this name gets`;
  if (!sameSet(csr.subject.organizations, plan.subject.organizations)) return `${what}: the organizations (groups) differ from what a shard of this name gets`;
  if (!sameSet(csr.subject.organizationalUnits, plan.subject.organizationalUnits)) return `${what}: the organizational units differ`;
  if (csr.otherSubjectAttributes.length > 0) return `${what}: the subject has attributes other than CN, O and OU`;
  if (!sameSet(csr.dnsNames, plan.dnsNames)) return `${what}: the DNS names differ from what a shard of this name gets`;
  let ips: string[];
  try {
    ips = csr.ipAddresses.map((ip) => normalizeIp(ip));
  } catch {
    return `${what}: an IP address does not parse`;
  }
  if (!sameSet(ips, plan.ipAddresses)) return `${what}: the IP addresses differ`;
  if (csr.otherNames.length > 0) return `${what}: subject alternative names other than DNS and IP are not signed`;
  if (csr.requestsCA) return `${what}: asks to be a CA`;
  if (csr.otherExtensions.length > 0) return `${what}: asks for extensions other than SAN, key usage and extended key usage`;
  if (csr.otherExtKeyUsages.length > 0 || csr.otherAttributes.length > 0) return `${what}: asks for usages or attributes a shard does not get`;
  if (!sameSet(csr.keyUsages, plan.keyUsages)) return `${what}: the key usages differ`;
  if (!sameSet(csr.extKeyUsages, plan.extKeyUsages)) return `${what}: the extended key usages differ`;
  return undefined;
}

export function verifyJoinRequest(input: VerifyInput): Verdict {
  const { request: r, origin, previous } = input;
  const requester = requesterOf(r);
  const what = requester === 'Shard' ? 'shard' : 'Kubeconfig';
  // 1. The document must agree with where the sidecar says it came from.
  if (origin.name !== requestConfigMapName(r.shard, requester) || origin.namespace !== r.namespace || (requester === 'Kubeconfig') !== !!r.kubeconfig) {
    return refuse('RequestTampered', `the request from ${origin.cluster}/${origin.namespace}/${origin.name} names ${what} ${r.namespace}/${r.shard}`);
  }
  if (r.rootShard !== input.rootShard.name) return refuse('RequestTampered', `the request names RootShard ${r.rootShard}`);
  // 2. Consent.
  if (r.kubeconfig) {
    const o = { cluster: origin.cluster, namespace: origin.namespace, name: r.shard, ...r.kubeconfig };
    if (!kubeconfigAcceptedBy(input.acceptKubeconfigs ?? [], o)) {
      return refuse(
        'NotAccepted',
        `no spec.federation.acceptKubeconfigs rule admits cluster ${o.cluster}, namespace ${o.namespace}, Kubeconfig ${o.name} as user ${o.username} with groups [${o.groups.join(', ')}]`,
      );
    }
  } else if (!acceptedBy(input.accept, { cluster: origin.cluster, namespace: origin.namespace, shard: r.shard })) {
    return refuse('NotAccepted', `no spec.federation.accept rule matches cluster ${origin.cluster}, namespace ${origin.namespace}, shard ${r.shard}`);
  }
  // 3. One name, one holder.
  const h = input.holder;
  const taken = requester === 'Shard' ? 'ShardNameTaken' : 'NameTaken';
  if (h === 'root') return refuse(taken, `${r.shard} is the root shard's name`);
  if (h === 'local') return refuse(taken, `a ${requester} named ${r.shard} already belongs to this installation`);
  if (h) return refuse(taken, `${what} ${r.shard} has already joined from ${h.cluster}/${h.namespace}`);
  // 4. Replays.
  if (previous?.signed && r.generation < previous.signed.generation) {
    return refuse('StaleRequest', `generation ${r.generation} is older than the signed generation ${previous.signed.generation}`);
  }
  // 5. Every CSR: well-formed, proven, and exactly the planned identity, for no longer than allowed.
  let plans: PlannedCertificate[];
  try {
    plans = expectedPlans(input);
  } catch (err) {
    return refuse('IdentityMismatch', err instanceof PkiError ? err.message : 'the shard\'s certificates cannot be planned');
  }
  const byKey = new Map(r.certificates.map((c) => [c.templateKey, c]));
  if (byKey.size !== r.certificates.length) return refuse('IdentityMismatch', 'a certificate is requested twice');
  const extra = [...byKey.keys()].filter((k) => !plans.some((p) => p.templateKey === k));
  if (extra.length > 0) return refuse('IdentityMismatch', `certificates a shard does not get were requested: ${extra.join(', ')}`);
  const missing = plans.filter((p) => !byKey.has(p.templateKey)).map((p) => p.templateKey);
  if (missing.length > 0) return refuse('IdentityMismatch', `certificates are missing from the request: ${missing.join(', ')}`);

  const host = hostFromURL(r.shardBaseURL);
  if (r.shardBaseURL && !host) return refuse('IdentityMismatch', 'shardBaseURL is not a URL');
  if (host && input.reservedHosts.has(host.toLowerCase())) {
    return refuse('ForeignHostname', `shardBaseURL names ${host}, which belongs to another component of this installation`);
  }

  const out: ToSign[] = [];
  const fingerprints: string[] = [];
  for (const plan of plans) {
    const entry = byKey.get(plan.templateKey);
    if (!entry) continue;
    let csr: ParsedCsr;
    try {
      csr = parseCsr(entry.csr);
    } catch (err) {
      return refuse('InvalidCSR', `${plan.templateKey} certificate: ${err instanceof PkiError ? err.message : 'the CSR does not parse'}`);
    }
    const diff = identityDifference(csr, plan);
    if (diff) return refuse('IdentityMismatch', diff);
    if (plan.templateKey === 'service-account' && csr.publicKey.asymmetricKeyType === 'ed25519') {
      return refuse('IdentityMismatch', 'service-account certificate: Kubernetes cannot sign tokens with an Ed25519 key');
    }
    if (entry.durationMs > input.maxDurationMs) {
      return refuse('DurationTooLong', `${plan.templateKey} certificate: ${Math.round(entry.durationMs / 3600_000)}h asked, at most ${Math.round(input.maxDurationMs / 3600_000)}h allowed`);
    }
    out.push({ plan, publicKey: csr.publicKey, durationMs: entry.durationMs });
    fingerprints.push(publicKeyFingerprint(csr.publicKey));
  }
  if (new Set(fingerprints).size !== fingerprints.length) return refuse('IdentityMismatch', 'two certificates ask for the same key');

  // 6. The same generation again: nothing to do if it carries the keys already signed.
  if (previous?.signed && r.generation === previous.signed.generation) {
    const last = previous.signedKeys.slice(-fingerprints.length);
    if (sameSet(last, fingerprints)) return { decision: 'unchanged' };
    return refuse('RequestTampered', `generation ${r.generation} was signed with other keys`);
  }
  const reused = fingerprints.filter((f) => previous?.signedKeys.includes(f));
  if (reused.length > 0) return refuse('KeyReused', `${reused.length} key(s) were signed for an earlier generation; a new generation needs new keys`);
  return { decision: 'sign', certificates: out, fingerprints };
}
