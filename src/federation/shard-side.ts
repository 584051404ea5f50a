// The joining Shard's side, without I/O: which certificates to ask for, the request for a set of
// local keys, and checking what comes back before anything is mounted.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { tlsSecretData, type TlsSecretData } from '../pki/bundle.js';
import { createCsr } from '../pki/csr.js';
import { shardCertificates, type CertificateTemplates, type PlannedCertificate } from '../pki/hierarchy.js';
import { DEFAULT_KEY_SPEC, publicKeyFingerprint } from '../pki/keys.js';
import { specDifferences } from '../pki/renewal.js';
import { parseCertificate } from '../pki/x509.js';
import { CA_KEYS, type CAKey, type JoinInfo, type JoinRequest, type JoinResponse } from './protocol.js';

/** Which CA of the installation signs a plan, by the plan's issuer Secret name (`<rs>-<ca>-ca`). */
export function issuingCA(plan: PlannedCertificate, rootShard: string): CAKey | undefined {
  if (plan.issuer.type !== 'ca') return undefined;
  return CA_KEYS.find((k) => k !== 'root' && plan.issuer.type === 'ca' && plan.issuer.secretName === `${rootShard}-${k}-ca`);
}

/**
 * The certificates a joining shard asks for: what the RootShard's cluster will compare the requests
 * against (expectedPlans). Of the Shard's own certificateTemplates only validity and key type
 * apply; names and groups are the installation's to decide.
 */
export function requestPlans(shard: { name: string; namespace: string; clusterDomain?: string; shardBaseURL?: string }, info: JoinInfo, templates: CertificateTemplates): PlannedCertificate[] {
  const limited: CertificateTemplates = Object.fromEntries(
    Object.entries(templates).map(([k, t]) => [
      k,
      t && {
        ...(t.durationMs !== undefined ? { durationMs: Math.min(t.durationMs, info.maxCertificateDurationMs) } : {}),
        ...(t.renewBeforeMs !== undefined ? { renewBeforeMs: t.renewBeforeMs } : {}),
        ...(t.privateKey ? { privateKey: t.privateKey } : {}),
      },
    ]),
  );
  const plans = shardCertificates({ ...shard, rootShard: { name: info.rootShard.name }, key: DEFAULT_KEY_SPEC, templates: limited });
  // Defaults longer than the installation signs (a year, unless lowered there) are capped.
  return plans.map((p) => (p.durationMs > info.maxCertificateDurationMs ? { ...p, durationMs: info.maxCertificateDurationMs, renewBeforeMs: Math.min(p.renewBeforeMs, info.maxCertificateDurationMs / 3) } : p));
}

export function buildJoinRequest(
  shard: { name: string; namespace: string; clusterDomain?: string; shardBaseURL?: string },
  info: JoinInfo,
  plans: readonly PlannedCertificate[],
  generation: number,
  keys: Readonly<Record<string, string>>,
): JoinRequest {
  return {
    kind: 'KcpShardJoinRequest',
    version: 1,
    rootShard: info.rootShard.name,
    shard: shard.name,
    namespace: shard.namespace,
    generation,
    ...(shard.shardBaseURL ? { shardBaseURL: shard.shardBaseURL } : {}),
    ...(shard.clusterDomain ? { clusterDomain: shard.clusterDomain } : {}),
    certificates: csrEntries(plans, keys),
  };
}

/** One CSR per planned certificate, each signed with its key (proof of possession). */
function csrEntries(plans: readonly PlannedCertificate[], keys: Readonly<Record<string, string>>): JoinRequest['certificates'] {
  return plans.map((p) => {
    const pem = keys[p.templateKey];
    if (!pem) throw new Error(`no key for the ${p.templateKey} certificate`);
    const privateKey = createPrivateKey(pem);
    return {
      templateKey: p.templateKey,
      csr: createCsr(
        { subject: p.subject, dnsNames: p.dnsNames, ipAddresses: p.ipAddresses, keyUsages: p.keyUsages, extKeyUsages: p.extKeyUsages },
        { privateKey, publicKey: createPublicKey(privateKey) },
      ),
      durationMs: p.durationMs,
    };
  });
}

/** A remote team's Kubeconfig asks for its client certificate (the plan of kubeconfigCertificate). */
export function buildKubeconfigRequest(
  kc: { name: string; namespace: string; username: string; groups: readonly string[] },
  info: JoinInfo,
  plan: PlannedCertificate,
  generation: number,
  keys: Readonly<Record<string, string>>,
): JoinRequest {
  return {
    kind: 'KcpKubeconfigRequest',
    version: 1,
    rootShard: info.rootShard.name,
    shard: kc.name,
    namespace: kc.namespace,
    generation,
    kubeconfig: { username: kc.username, groups: [...kc.groups] },
    certificates: csrEntries([plan], keys),
  };
}

/** Every intermediate CA of the join info is signed by its root CA. */
export function joinInfoChainError(info: JoinInfo): string | undefined {
  try {
    const root = parseCertificate(info.caCertificates.root).x509;
    for (const k of CA_KEYS) {
      if (k === 'root') continue;
      const ca = parseCertificate(info.caCertificates[k]).x509;
      if (!ca.ca || !ca.checkIssued(root) || !ca.verify(root.publicKey)) return `the ${k} CA is not signed by the root CA`;
    }
    return undefined;
  } catch {
    return 'a CA certificate does not parse';
  }
}

export type CheckedResponse = { ok: true; secrets: Map<string, TlsSecretData>; notAfter: Date } | { ok: false; message: string };

/**
 * The signed certificates of `response` for the pending keys: each must carry the key we hold,
 * be issued by the installation's CA that the plan names, and be exactly the planned identity.
 * Anything else (a tampered or stale response) is refused, and nothing is mounted.
 */
export function checkSignedResponse(
  response: JoinResponse,
  info: JoinInfo,
  plans: readonly PlannedCertificate[],
  keys: Readonly<Record<string, string>>,
): CheckedResponse {
  const signed = response.signed;
  if (!signed) return { ok: false, message: 'nothing is signed yet' };
  const secrets = new Map<string, TlsSecretData>();
  let notAfter = Infinity;
  for (const plan of plans) {
    const pem = signed.certificates[plan.templateKey];
    const keyPem = keys[plan.templateKey];
    const ca = issuingCA(plan, info.rootShard.name);
    if (!pem || !keyPem || !ca) return { ok: false, message: `the ${plan.templateKey} certificate is missing from the response` };
    let cert;
    try {
      cert = parseCertificate(pem);
    } catch {
      return { ok: false, message: `the ${plan.templateKey} certificate does not parse` };
    }
    if (cert.publicKeyFingerprint !== publicKeyFingerprint(createPublicKey(createPrivateKey(keyPem)))) {
      return { ok: false, message: `the ${plan.templateKey} certificate is not for the key this cluster holds` };
    }
    const caPem = info.caCertificates[ca];
    const caCert = parseCertificate(caPem).x509;
    if (!cert.x509.checkIssued(caCert) || !cert.x509.verify(caCert.publicKey)) {
      return { ok: false, message: `the ${plan.templateKey} certificate is not signed by the installation's ${ca} CA` };
    }
    const diffs = specDifferences(cert, { ...plan, durationMs: cert.notAfter.getTime() - cert.notBefore.getTime() });
    if (diffs.length > 0) return { ok: false, message: `the ${plan.templateKey} certificate differs from what was asked: ${diffs[0]}` };
    // Laid out as locally issued Secrets are (tls.crt carries the intermediate, ca.crt the root), so
    // peers that trust only the root CA can build the path to this shard's certificates.
    secrets.set(plan.secretName, tlsSecretData(pem, keyPem, { 'tls.crt': caPem, 'ca.crt': info.caCertificates.root }));
    notAfter = Math.min(notAfter, cert.notAfter.getTime());
  }
  return { ok: true, secrets, notAfter: new Date(notAfter) };
}
