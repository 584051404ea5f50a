// The three published objects of shard federation, as data (docs/federation.md):
// - join info (`<rootshard>-federation`), on the RootShard's cluster: what a joining shard needs to
//   know. Certificates and URLs only, never a private key.
// - join request (`<shard>-join-request`), on the Shard's cluster: CSRs (public keys and the
//   identities asked for). The private keys stay in a local Secret.
// - join response (`<shard>-join-response`), on the RootShard's cluster: the signed certificates,
//   or why nothing was signed.
// Each is a ConfigMap carrying one JSON document, made a sync source by its writer and replicated
// by the sync sidecars. Everything read from another cluster is parsed defensively: bounded size,
// every field checked, and errors that quote names, never content.

/** Data key of the JSON document in each ConfigMap. */
export const JOIN_KEY = 'join.json';
export const REQUEST_KEY = 'request.json';
export const RESPONSE_KEY = 'response.json';

/** Bigger documents are refused unread: they come from another cluster. */
export const MAX_DOCUMENT_BYTES = 256 * 1024;

export const LABEL_FEDERATION = 'operator.kcp.io/federation';

/** Who asks: a Shard joining, or a Kubeconfig of a remote team (its client key stays where it was made). */
export type Requester = 'Shard' | 'Kubeconfig';
const SUFFIX: Record<Requester, string> = { Shard: 'join', Kubeconfig: 'kubeconfig' };

export const joinConfigMapName = (rootShard: string): string => `${rootShard}-federation`;
export const requestConfigMapName = (name: string, requester: Requester = 'Shard'): string => `${name}-${SUFFIX[requester]}-request`;
export const responseConfigMapName = (name: string, requester: Requester = 'Shard'): string => `${name}-${SUFFIX[requester]}-response`;
/** Requester-side Secret holding the private keys of the request being signed (never synced). */
export const pendingKeysSecretName = (name: string, requester: Requester = 'Shard'): string => `${name}-${SUFFIX[requester]}-keys`;

export const RESPONSE_KINDS: Record<Requester, JoinResponse['kind']> = { Shard: 'KcpShardJoinResponse', Kubeconfig: 'KcpKubeconfigResponse' };
export const requesterOf = (doc: { kind: JoinRequest['kind'] | JoinResponse['kind'] }): Requester =>
  doc.kind === 'KcpKubeconfigRequest' || doc.kind === 'KcpKubeconfigResponse' ? 'Kubeconfig' : 'Shard';

export type CAKey = 'root' | 'server' | 'client' | 'requestheader-client' | 'service-account';
export const CA_KEYS: readonly CAKey[] = ['root', 'server', 'client', 'requestheader-client', 'service-account'];

export interface JoinInfo {
  kind: 'KcpJoinInfo';
  version: 1;
  rootShard: { name: string; namespace: string };
  /** Where this cluster reads join requests. */
  requestNamespace: string;
  /** The root shard as shards reach it (also the embedded cache). */
  rootShardURL: string;
  external: { hostname: string; port: number; privateHostname?: string; privatePort?: number };
  serviceAccountAuth: boolean;
  maxCertificateDurationMs: number;
  /** The CA certificates (PEM), for trust and for checking what comes back. */
  caCertificates: Record<CAKey, string>;
}

export interface CertificateRequestEntry {
  /** The plan's certificateTemplates key: server, client, service-account, … */
  templateKey: string;
  csr: string;
  durationMs: number;
}

export interface JoinRequest {
  kind: 'KcpShardJoinRequest' | 'KcpKubeconfigRequest';
  version: 1;
  rootShard: string;
  /** The requester's name: the Shard's, or the Kubeconfig's. */
  shard: string;
  namespace: string;
  /** Raised for every new set of keys; a lower one than already signed is a replay. */
  generation: number;
  shardBaseURL?: string;
  clusterDomain?: string;
  /** A Kubeconfig's identity (KcpKubeconfigRequest only). */
  kubeconfig?: { username: string; groups: string[] };
  certificates: CertificateRequestEntry[];
}

export interface JoinResponse {
  kind: 'KcpShardJoinResponse' | 'KcpKubeconfigResponse';
  version: 1;
  rootShard: string;
  /** The requester's name: the Shard's, or the Kubeconfig's. */
  shard: string;
  /** The request's origin, which this response is bound to. */
  cluster: string;
  namespace: string;
  originUid: string;
  /** The last request that was signed, with its certificates (PEM, by templateKey). */
  signed?: { generation: number; certificates: Record<string, string>; notAfter: string };
  /** The last request that was refused (a newer one than `signed`, or the only one). */
  refused?: { generation: number; reason: string; message: string };
  /** SHA-256 fingerprints of every public key signed for this shard so far (bounded): never again. */
  signedKeys: string[];
}

export const MAX_SIGNED_KEYS = 256;

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

// --- parsing --------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function document(data: Record<string, string> | undefined, key: string, what: string): Json {
  const text = data?.[key];
  if (text === undefined) throw new ProtocolError(`${what} has no ${key}`);
  if (Buffer.byteLength(text) > MAX_DOCUMENT_BYTES) throw new ProtocolError(`${what} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${what}: ${key} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`${what}: ${key} is not an object`);
  return v as Json;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function str(o: Json, field: string, what: string, opts: { optional?: boolean; pattern?: RegExp; max?: number } = {}): string {
  const v = o[field];
  if (v === undefined && opts.optional) return '';
  if (typeof v !== 'string' || v === '') throw new ProtocolError(`${what}: ${field} must be a non-empty string`);
  if (v.length > (opts.max ?? 253)) throw new ProtocolError(`${what}: ${field} is too long`);
  if (opts.pattern && !opts.pattern.test(v)) throw new ProtocolError(`${what}: ${field} is not a valid name`);
  return v;
}

function int(o: Json, field: string, what: string, min: number, optional = false): number {
  const v = o[field];
  if (v === undefined && optional) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ProtocolError(`${what}: ${field} must be an integer ≥ ${min}`);
  return v;
}

function kindAndVersion<K extends string>(o: Json, kinds: readonly K[], what: string): K {
  if (!kinds.includes(o.kind as K)) throw new ProtocolError(`${what}: kind must be ${kinds.join(' or ')}`);
  // Only a number is quoted: any other value is content from another cluster (possibly a key).
  if (o.version !== 1) throw new ProtocolError(`${what}: version ${typeof o.version === 'number' ? o.version : '(not a number)'} is not supported (1 is)`);
  return o.kind as K;
}

const PEM_MAX = 16 * 1024;
function pem(v: unknown, label: string, what: string, field: string): string {
  if (typeof v !== 'string' || !v.includes(`-----BEGIN ${label}-----`) || v.length > PEM_MAX) {
    throw new ProtocolError(`${what}: ${field} must be a PEM ${label}`);
  }
  if (/PRIVATE KEY/.test(v)) throw new ProtocolError(`${what}: ${field} contains a private key`);
  return v;
}

export function parseJoinInfo(data: Record<string, string> | undefined, what = 'join info'): JoinInfo {
  const o = document(data, JOIN_KEY, what);
  kindAndVersion(o, ['KcpJoinInfo'], what);
  const rs = o.rootShard as Json | undefined;
  if (typeof rs !== 'object' || rs === null) throw new ProtocolError(`${what}: rootShard is missing`);
  const ext = o.external as Json | undefined;
  if (typeof ext !== 'object' || ext === null) throw new ProtocolError(`${what}: external is missing`);
  const cas = o.caCertificates as Json | undefined;
  if (typeof cas !== 'object' || cas === null) throw new ProtocolError(`${what}: caCertificates is missing`);
  const caCertificates = Object.fromEntries(CA_KEYS.map((k) => [k, pem(cas[k], 'CERTIFICATE', what, `caCertificates.${k}`)])) as Record<CAKey, string>;
  const url = (field: string) => {
    const v = str(o, field, what, { max: 2048 });
    if (!/^https:\/\/[^\s/]+(:\d+)?\/?$/.test(v)) throw new ProtocolError(`${what}: ${field} must be an https URL without a path`);
    return v.replace(/\/$/, '');
  };
  const privateHostname = str(ext, 'privateHostname', what, { optional: true });
  const privatePort = int(ext, 'privatePort', what, 1, true);
  return {
    kind: 'KcpJoinInfo',
    version: 1,
    rootShard: { name: str(rs, 'name', what, { pattern: NAME }), namespace: str(rs, 'namespace', what, { pattern: NAME }) },
    requestNamespace: str(o, 'requestNamespace', what, { pattern: NAME }),
    rootShardURL: url('rootShardURL'),
    external: {
      hostname: str(ext, 'hostname', what),
      port: int(ext, 'port', what, 1),
      ...(privateHostname ? { privateHostname } : {}),
      ...(privatePort ? { privatePort } : {}),
    },
    serviceAccountAuth: o.serviceAccountAuth === true,
    maxCertificateDurationMs: int(o, 'maxCertificateDurationMs', what, 1),
    caCertificates,
  };
}

export function parseJoinRequest(data: Record<string, string> | undefined, what = 'join request'): JoinRequest {
  const o = document(data, REQUEST_KEY, what);
  const kind = kindAndVersion(o, ['KcpShardJoinRequest', 'KcpKubeconfigRequest'] as const, what);
  const certs = o.certificates;
  if (!Array.isArray(certs) || certs.length === 0 || certs.length > 32) throw new ProtocolError(`${what}: certificates must list 1 to 32 requests`);
  const certificates = certs.map((c: unknown, i): CertificateRequestEntry => {
    if (typeof c !== 'object' || c === null) throw new ProtocolError(`${what}: certificates[${i}] is not an object`);
    const e = c as Json;
    return {
      templateKey: str(e, 'templateKey', what, { pattern: NAME, max: 63 }),
      csr: pem(e.csr, 'CERTIFICATE REQUEST', what, `certificates[${i}].csr`),
      durationMs: int(e, 'durationMs', what, 1),
    };
  });
  const shardBaseURL = str(o, 'shardBaseURL', what, { optional: true, max: 2048 });
  const clusterDomain = str(o, 'clusterDomain', what, { optional: true, pattern: NAME });
  let kubeconfig: JoinRequest['kubeconfig'];
  if (kind === 'KcpKubeconfigRequest') {
    const k = o.kubeconfig as Json | undefined;
    if (typeof k !== 'object' || k === null) throw new ProtocolError(`${what}: kubeconfig is missing`);
    const groups = k.groups ?? [];
    if (!Array.isArray(groups) || groups.length > 64 || groups.some((g) => typeof g !== 'string' || g === '' || g.length > 256)) {
      throw new ProtocolError(`${what}: kubeconfig.groups must be a list of up to 64 group names`);
    }
    kubeconfig = { username: str(k, 'username', what, { max: 256 }), groups: groups as string[] };
  }
  return {
    kind,
    version: 1,
    rootShard: str(o, 'rootShard', what, { pattern: NAME }),
    shard: str(o, 'shard', what, { pattern: NAME }),
    namespace: str(o, 'namespace', what, { pattern: NAME }),
    generation: int(o, 'generation', what, 1),
    ...(shardBaseURL ? { shardBaseURL } : {}),
    ...(clusterDomain ? { clusterDomain } : {}),
    ...(kubeconfig ? { kubeconfig } : {}),
    certificates,
  };
}

export function parseJoinResponse(data: Record<string, string> | undefined, what = 'join response'): JoinResponse {
  const o = document(data, RESPONSE_KEY, what);
  const kind = kindAndVersion(o, ['KcpShardJoinResponse', 'KcpKubeconfigResponse'] as const, what);
  const out: JoinResponse = {
    kind,
    version: 1,
    rootShard: str(o, 'rootShard', what, { pattern: NAME }),
    shard: str(o, 'shard', what, { pattern: NAME }),
    cluster: str(o, 'cluster', what, { max: 253 }),
    namespace: str(o, 'namespace', what, { pattern: NAME }),
    originUid: str(o, 'originUid', what, { max: 64 }),
    signedKeys: Array.isArray(o.signedKeys) ? o.signedKeys.filter((k): k is string => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)).slice(-MAX_SIGNED_KEYS) : [],
  };
  const s = o.signed as Json | undefined;
  if (s !== undefined) {
    if (typeof s !== 'object' || s === null || typeof s.certificates !== 'object' || s.certificates === null) {
      throw new ProtocolError(`${what}: signed is malformed`);
    }
    const certs = s.certificates as Json;
    out.signed = {
      generation: int(s, 'generation', what, 1),
      certificates: Object.fromEntries(Object.keys(certs).slice(0, 32).map((k) => [k, pem(certs[k], 'CERTIFICATE', what, `signed.certificates.${k}`)])),
      notAfter: str(s, 'notAfter', what, { max: 64 }),
    };
  }
  const r = o.refused as Json | undefined;
  if (r !== undefined) {
    if (typeof r !== 'object' || r === null) throw new ProtocolError(`${what}: refused is malformed`);
    out.refused = { generation: int(r, 'generation', what, 0), reason: str(r, 'reason', what, { max: 128 }), message: str(r, 'message', what, { max: 1024 }) };
  }
  return out;
}

/** `cluster/namespace/name` of a replica's source, from the sync sidecar's origin annotation. */
export function parseOrigin(origin: string | undefined): { cluster: string; namespace: string; name: string } | undefined {
  const parts = origin?.split('/');
  if (!parts || parts.length !== 3 || parts.some((p) => p === '')) return undefined;
  const [cluster, namespace, name] = parts as [string, string, string];
  return { cluster, namespace, name };
}
