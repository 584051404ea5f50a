// Fixtures for the src/federation tests only (imported by *.test.ts, nothing else): a RootShard's
// CA hierarchy issued in memory, the join info it publishes, and a joining shard's keys, request
// and signed response. Real keys and real signatures throughout.
import type { TlsSecretData } from '../pki/bundle.js';
import { createCsr, type CsrContent } from '../pki/csr.js';
import { rootCASecretName, rootShardCAName, rootShardCertificates, type CertificateTemplates, type PlannedCertificate } from '../pki/hierarchy.js';
import { issueAll } from '../pki/issue.js';
import { generateKeyPair, loadPrivateKey, type KeySpec } from '../pki/keys.js';
import { derToPem } from '../pki/pem.js';
import { CA_KEYS, type CAKey, type JoinInfo, type JoinRequest, type JoinResponse } from './protocol.js';
import { buildJoinRequest, requestPlans } from './shard-side.js';
import { signApproved } from './sign.js';
import { verifyJoinRequest, type Origin, type VerifyInput } from './verify.js';

export const HOUR = 3600_000;
export const YEAR = 8760 * HOUR;
export const EDGE = { name: 'edge-1', namespace: 'kcp-edge' } as const;
export const EDGE_CLUSTER = 'edge-a';

export interface Hierarchy {
  name: string;
  namespace: string;
  /** Every Secret of the RootShard's plan (CAs and the root shard's own leaves), by name. */
  secrets: Map<string, TlsSecretData>;
  info: JoinInfo;
  /** For signApproved: the Secret a plan's issuer names. */
  caSecret: (secretName: string) => TlsSecretData | undefined;
  /** The CA certificate (PEM) of one of the installation's CAs. */
  caPem: (ca: CAKey) => string;
}

/** issueAll(rootShardCertificates(...)) and the join info that RootShard would publish. */
export async function rootHierarchy(name = 'root', namespace = 'kcp', maxCertificateDurationMs = YEAR): Promise<Hierarchy> {
  const secrets = await issueAll(rootShardCertificates({ name, namespace, externalHostname: 'api.kcp.example.com' }));
  const caPem = (ca: CAKey): string => {
    const pem = secrets.get(ca === 'root' ? rootCASecretName({ name }) : rootShardCAName(name, ca))?.['tls.crt'];
    if (!pem) throw new Error(`the ${ca} CA was not issued`);
    return pem;
  };
  const info: JoinInfo = {
    kind: 'KcpJoinInfo',
    version: 1,
    rootShard: { name, namespace },
    requestNamespace: namespace,
    rootShardURL: `https://${name}-kcp.${namespace}.svc.cluster.local:6443`,
    external: { hostname: 'api.kcp.example.com', port: 443 },
    serviceAccountAuth: false,
    maxCertificateDurationMs,
    caCertificates: Object.fromEntries(CA_KEYS.map((k) => [k, caPem(k)])) as Record<CAKey, string>,
  };
  return { name, namespace, secrets, info, caSecret: (s) => secrets.get(s), caPem };
}

export interface ShardSpec {
  name: string;
  namespace: string;
  clusterDomain?: string;
  shardBaseURL?: string;
}

/** A fresh private key (PEM) per plan; `specs` overrides the key type of some templateKeys. */
export async function generateKeys(plans: readonly PlannedCertificate[], specs: Readonly<Record<string, KeySpec>> = {}): Promise<Record<string, string>> {
  const pairs = await Promise.all(plans.map((p) => generateKeyPair(specs[p.templateKey] ?? p.key)));
  return Object.fromEntries(plans.map((p, i) => [p.templateKey, pairs[i]?.privateKeyPem ?? '']));
}

export interface Joining {
  shard: ShardSpec;
  plans: PlannedCertificate[];
  keys: Record<string, string>;
  request: JoinRequest;
}

/** What the joining shard's operator publishes: plans from the join info, keys, CSRs. */
export async function joiningShard(
  info: JoinInfo,
  opts: { shard?: ShardSpec; generation?: number; templates?: CertificateTemplates; keys?: Record<string, string>; keySpecs?: Record<string, KeySpec> } = {},
): Promise<Joining> {
  const shard = opts.shard ?? EDGE;
  const plans = requestPlans(shard, info, opts.templates ?? {});
  const keys = opts.keys ?? (await generateKeys(plans, opts.keySpecs));
  return { shard, plans, keys, request: buildJoinRequest(shard, info, plans, opts.generation ?? 1, keys) };
}

/** The CSR for `content` made with a private key PEM (what a tampering shard would send). */
export function csrWith(content: CsrContent, keyPem: string): string {
  const k = loadPrivateKey(keyPem);
  return createCsr(content, { privateKey: k.privateKey, publicKey: k.publicKey });
}

/**
 * The PEM block (CERTIFICATE or CERTIFICATE REQUEST) with the last byte of its signature flipped:
 * names, key identifiers and content intact, the signature no longer verifies.
 */
export function breakSignature(pem: string, label = 'CERTIFICATE'): string {
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der.writeUInt8(der.readUInt8(der.length - 1) ^ 0x01, der.length - 1);
  return derToPem(der, label);
}

/** A plan's identity as CSR content. */
export const contentOf = (p: PlannedCertificate): CsrContent => ({
  subject: p.subject,
  dnsNames: p.dnsNames,
  ipAddresses: p.ipAddresses,
  keyUsages: p.keyUsages,
  extKeyUsages: p.extKeyUsages,
});

/** Where the sync sidecar says a request came from: `<shard>-join-request` in the shard's namespace. */
export const originOf = (shard: { name: string; namespace: string }, cluster = EDGE_CLUSTER): Origin => ({
  cluster,
  namespace: shard.namespace,
  name: `${shard.name}-join-request`,
  uid: 'uid-1',
});

/** A VerifyInput accepting everything from EDGE_CLUSTER, for the request's own origin. */
export function verifyInput(h: Hierarchy, request: JoinRequest, overrides: Partial<VerifyInput> = {}): VerifyInput {
  return {
    rootShard: { name: h.name, namespace: h.namespace },
    accept: [{ cluster: EDGE_CLUSTER, namespace: '*', shard: '*' }],
    maxDurationMs: h.info.maxCertificateDurationMs,
    origin: originOf({ name: request.shard, namespace: request.namespace }),
    request,
    holder: undefined,
    reservedHosts: new Set([`${h.name}-kcp.${h.namespace}.svc.cluster.local`, 'api.kcp.example.com']),
    previous: undefined,
    ...overrides,
  };
}

/** What the RootShard's cluster answers after verifying and signing `request` (throws unless signed). */
export async function signedResponse(h: Hierarchy, request: JoinRequest, previous?: JoinResponse): Promise<JoinResponse> {
  const verdict = verifyJoinRequest(verifyInput(h, request, { previous }));
  if (verdict.decision !== 'sign') throw new Error(`expected the request to be signed, got ${JSON.stringify(verdict)}`);
  const signed = await signApproved(verdict.certificates, h.caSecret);
  const o = originOf({ name: request.shard, namespace: request.namespace });
  return {
    kind: 'KcpShardJoinResponse',
    version: 1,
    rootShard: h.name,
    shard: request.shard,
    cluster: o.cluster,
    namespace: o.namespace,
    originUid: o.uid,
    signed: { generation: request.generation, ...signed },
    signedKeys: [...(previous?.signedKeys ?? []), ...verdict.fingerprints],
  };
}
