/**
 * The certificate plan of a kcp installation as plain data, mirroring kcp-operator's Certificates
 * (names, subjects, usages, SANs, issuers, durations; see shared/reference/kcp-operator.md §3) so
 * that Secret names and identities anything else keys on keep working. No I/O, no crypto: the
 * controllers issue what this says, in array order (issuers before what they sign).
 *
 * Deliberate differences from kcp-operator, each documented where it happens:
 * - the proxies' server certificates use the given clusterDomain (kcp-operator hard-codes cluster.local);
 * - the default key is ours (DEFAULT_KEY_SPEC), not RSA 4096;
 * - a service-account key cannot be Ed25519 (Kubernetes signs tokens only with RSA or ECDSA).
 */
import { isIP } from 'node:net';
import { PkiError } from './errors.js';
import { DEFAULT_KEY_SPEC, resolveKeySpec } from './keys.js';
import type { KeySpec, ResolvedKeySpec } from './keys.js';
import { normalizeIp } from './ip.js';
import type { ExtKeyUsage, KeyUsage } from './x509.js';

const HOUR = 3600_000;
export const DEFAULT_CA_DURATION_MS = 87_600 * HOUR; // 10 years of 365 days
export const DEFAULT_CA_RENEW_BEFORE_MS = 720 * HOUR; // 30 days
export const DEFAULT_LEAF_DURATION_MS = 8_760 * HOUR; // 1 year
export const DEFAULT_LEAF_RENEW_BEFORE_MS = 168 * HOUR; // 7 days
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export const LABEL_ROOTSHARD = 'operator.kcp.io/rootshard';
export const LABEL_SHARD = 'operator.kcp.io/shard';
export const LABEL_FRONT_PROXY = 'operator.kcp.io/front-proxy';
export const LABEL_KUBECONFIG = 'operator.kcp.io/kubeconfig';
export const LABEL_CACHE_SERVER = 'operator.kcp.io/cache-server';
export const LABEL_VIRTUAL_WORKSPACE = 'operator.kcp.io/virtual-workspace';

/** Identities kcp and its proxies check by name (--requestheader-allowed-names and RBAC). */
export const FRONT_PROXY_COMMON_NAME = 'kcp-front-proxy';
export const ROOT_SHARD_PROXY_COMMON_NAME = 'kcp-root-shard-proxy';
export const MOUNTS_PROXY_COMMON_NAME = 'kcp-mounts-proxy';
export const OPERATOR_USERNAME = 'system:kcp-operator';

export const SECRET_TYPE_TLS = 'kubernetes.io/tls';

/** Usages in cert-manager's vocabulary, which is what kcp-operator specifies. */
export type CertificateUsage = 'server auth' | 'client auth' | 'digital signature' | 'key encipherment' | 'cert sign' | 'crl sign';

export type CAName = 'root' | 'server' | 'client' | 'requestheader-client' | 'service-account';
export const INTERMEDIATE_CAS: readonly Exclude<CAName, 'root'>[] = ['server', 'requestheader-client', 'client', 'service-account'];

/** The subset of kcp-operator's certificateTemplates.<key>.spec we honour. */
export interface CertificateTemplate {
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  organizations?: readonly string[];
  organizationalUnits?: readonly string[];
  durationMs?: number;
  renewBeforeMs?: number;
  privateKey?: Partial<KeySpec>;
}
/** Keyed like kcp-operator: certificate kinds ("server", "client", …) or "<ca>-ca" ("root-ca", "server-ca", …). */
export type CertificateTemplates = Readonly<Record<string, CertificateTemplate | undefined>>;

export type PlannedIssuer =
  /** Our own self-signed root. */
  | { readonly type: 'selfSigned' }
  /** Signed by the CA whose kubernetes.io/tls Secret is named here. */
  | { readonly type: 'ca'; readonly secretName: string }
  /** A user-supplied CA Secret (certificates.caSecretRef): never issued, only read. */
  | { readonly type: 'provided' }
  /** Requested from a cert-manager issuer (certificates.issuerRef). */
  | { readonly type: 'certManager'; readonly issuerRef: IssuerRef };

export interface IssuerRef {
  name: string;
  kind?: string;
  group?: string;
}

export interface PlannedCertificate {
  /** certificateTemplates key this certificate reads (e.g. "server", "root-ca"). */
  readonly templateKey: string;
  /** Also the Certificate's name in kcp-operator. */
  readonly secretName: string;
  readonly secretType: typeof SECRET_TYPE_TLS;
  readonly issuer: PlannedIssuer;
  readonly isCA: boolean;
  readonly subject: { readonly commonName?: string; readonly organizations: readonly string[]; readonly organizationalUnits: readonly string[] };
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly usages: readonly CertificateUsage[];
  /** What goes into the certificate, derived from usages as cert-manager does. */
  readonly keyUsages: readonly KeyUsage[];
  readonly extKeyUsages: readonly ExtKeyUsage[];
  readonly durationMs: number;
  readonly renewBeforeMs: number;
  readonly key: ResolvedKeySpec;
  /**
   * The key is our default, not one a certificateTemplate asks for. A valid certificate with
   * another key (kcp-operator's RSA 4096, say) is then kept rather than reissued: reissuing every
   * adopted leaf would change the service-account keys and void the tokens they signed.
   */
  readonly keyIsDefault: boolean;
  /** Labels for the Secret (kcp-operator's secretTemplate labels). */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * cert-manager's mapping: a CA always gets keyCertSign; an empty usage list means
 * digital signature + key encipherment; client/server auth are extended key usages.
 */
export function x509Usages(usages: readonly CertificateUsage[], isCA: boolean): { keyUsages: KeyUsage[]; extKeyUsages: ExtKeyUsage[] } {
  const effective = usages.length === 0 ? (['digital signature', 'key encipherment'] as const) : usages;
  const ku = new Set<KeyUsage>(isCA ? ['keyCertSign'] : []);
  const eku: ExtKeyUsage[] = [];
  for (const u of effective) {
    if (u === 'digital signature') ku.add('digitalSignature');
    else if (u === 'key encipherment') ku.add('keyEncipherment');
    else if (u === 'cert sign') ku.add('keyCertSign');
    else if (u === 'crl sign') ku.add('cRLSign');
    else if (u === 'server auth') eku.push('serverAuth');
    else if (u === 'client auth') eku.push('clientAuth');
  }
  const order: KeyUsage[] = ['digitalSignature', 'keyEncipherment', 'keyCertSign', 'cRLSign'];
  return { keyUsages: order.filter((u) => ku.has(u)), extKeyUsages: eku };
}

/** Sorted, de-duplicated: kcp-operator builds these lists with sets.List. */
function sortedSet(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** The host of a URL such as spec.shardBaseURL, or undefined when it has none. */
export function hostFromURL(url: string | undefined): string | undefined {
  if (url === undefined || url === '') return undefined;
  try {
    const host = new URL(url).hostname;
    return host === '' ? undefined : host.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
}

interface Draft {
  templateKey: string;
  secretName: string;
  issuer: PlannedIssuer;
  isCA: boolean;
  commonName?: string;
  organizations?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  usages: readonly CertificateUsage[];
  durationMs: number;
  renewBeforeMs: number;
  labels: Record<string, string>;
}

function build(d: Draft, templates: CertificateTemplates | undefined, defaultKey: KeySpec | undefined): PlannedCertificate {
  const t = templates?.[d.templateKey];
  const union = (base: readonly string[] | undefined, extra: readonly string[] | undefined): readonly string[] =>
    extra !== undefined && extra.length > 0 ? sortedSet([...(base ?? []), ...extra]) : [...(base ?? [])];

  const base = defaultKey ?? DEFAULT_KEY_SPEC;
  const keySpec: KeySpec = {
    algorithm: t?.privateKey?.algorithm ?? base.algorithm,
    // A size only carries over when the algorithm does; RSA 4096 means nothing for ECDSA.
    size: t?.privateKey?.size ?? (t?.privateKey?.algorithm === undefined || t.privateKey.algorithm === base.algorithm ? base.size : undefined),
    encoding: t?.privateKey?.encoding ?? base.encoding,
  };
  let key: ResolvedKeySpec;
  try {
    key = resolveKeySpec(keySpec);
  } catch (err) {
    throw new PkiError(err instanceof PkiError ? err.message : 'invalid private key template', `certificate ${d.secretName}`);
  }
  if (d.templateKey === 'service-account' && key.algorithm === 'Ed25519') {
    throw new PkiError('service-account keys must be RSA or ECDSA: Kubernetes cannot sign tokens with Ed25519', `certificate ${d.secretName}`);
  }

  // A host that is an IP literal (an IP in shardBaseURL or external.hostname) is an IP SAN: as a
  // DNS SAN no TLS client would match it.
  const hosts = union(d.dnsNames, t?.dnsNames);
  const ipHosts = hosts.filter((h) => isIP(h) !== 0);
  const ipAddresses = union([...(d.ipAddresses ?? []), ...ipHosts], t?.ipAddresses).map((ip) => {
    try {
      return normalizeIp(ip);
    } catch {
      throw new PkiError(`invalid IP address ${JSON.stringify(ip)} in template`, `certificate ${d.secretName}`);
    }
  });
  const durationMs = t?.durationMs ?? d.durationMs;
  const { keyUsages, extKeyUsages } = x509Usages(d.usages, d.isCA);
  return {
    templateKey: d.templateKey,
    secretName: d.secretName,
    secretType: SECRET_TYPE_TLS,
    issuer: d.issuer,
    isCA: d.isCA,
    subject: {
      ...(d.commonName === undefined ? {} : { commonName: d.commonName }),
      organizations: union(d.organizations, t?.organizations),
      organizationalUnits: union([], t?.organizationalUnits),
    },
    dnsNames: hosts.filter((h) => isIP(h) === 0),
    ipAddresses: [...new Set(ipAddresses)],
    usages: d.usages,
    keyUsages,
    extKeyUsages,
    durationMs,
    renewBeforeMs: t?.renewBeforeMs ?? d.renewBeforeMs,
    key,
    keyIsDefault: t?.privateKey?.algorithm === undefined && t?.privateKey?.size === undefined,
    labels: d.labels,
  };
}

/** The leaf certificate defaults (1 year, renewed 7 days ahead) with the given Secret labels. */
function leafBase(labels: Record<string, string>): Pick<Draft, 'isCA' | 'durationMs' | 'renewBeforeMs' | 'labels'> {
  return { isCA: false, durationMs: DEFAULT_LEAF_DURATION_MS, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS, labels };
}

type IntermediateIssuer = (ca: Exclude<CAName, 'root'>) => PlannedIssuer;

/** Serving, service-account and virtual-workspaces certificates of a shard `owner` (root or not). */
function shardServingDrafts(owner: string, labels: Record<string, string>, ca: IntermediateIssuer, serverDNS: string[], vwDNS: string[]): Draft[] {
  const leaf = leafBase(labels);
  return [
    { ...leaf, templateKey: 'server', secretName: `${owner}-server`, issuer: ca('server'), usages: ['server auth', 'key encipherment', 'digital signature'], dnsNames: serverDNS },
    { ...leaf, templateKey: 'service-account', secretName: `${owner}-service-account`, commonName: `${owner}-service-account`, issuer: ca('service-account'), usages: ['digital signature', 'key encipherment'] },
    { ...leaf, templateKey: 'virtual-workspaces', secretName: `${owner}-virtual-workspaces`, issuer: ca('server'), usages: ['server auth'], dnsNames: vwDNS },
  ];
}

/** The logical-cluster-admin pair of a shard; `cnSuffix` tells shards' identities apart (kcp-operator's names). */
function logicalClusterAdminDrafts(owner: string, labels: Record<string, string>, ca: IntermediateIssuer, cnSuffix: string): Draft[] {
  const leaf = leafBase(labels);
  return (['logical-cluster-admin', 'external-logical-cluster-admin'] as const).map((kind) => ({
    ...leaf,
    templateKey: kind,
    secretName: `${owner}-${kind}`,
    commonName: `${kind}${cnSuffix}`,
    organizations: [`system:kcp:${kind}`],
    issuer: ca('client'),
    usages: ['client auth'],
  }));
}

// ---------------------------------------------------------------------------------------------
// RootShard

export interface RootShardPkiInput {
  name: string;
  namespace: string;
  /** spec.clusterDomain; default cluster.local. */
  clusterDomain?: string;
  /** spec.external.hostname. */
  externalHostname: string;
  /** spec.external.privateHostname (only the proxies' server certificates use it). */
  privateHostname?: string;
  /** spec.shardBaseURL; its host joins the server certificate's SANs. */
  shardBaseURL?: string;
  /** spec.certificates.caSecretRef.name: bring your own root CA. */
  caSecretRef?: string;
  /** spec.certificates.issuerRef: the root CA comes from cert-manager. */
  issuerRef?: IssuerRef;
  /** Our default key for every certificate (before templates). */
  key?: KeySpec;
  /** spec.certificateTemplates. */
  templates?: CertificateTemplates;
}

/** `<rs>-ca` for the root, `<rs>-<ca>-ca` for the intermediates. */
export function rootShardCAName(rootShard: string, ca: CAName): string {
  return ca === 'root' ? `${rootShard}-ca` : `${rootShard}-${ca}-ca`;
}

/** The Secret holding the root CA: the BYO Secret when caSecretRef is set. */
export function rootCASecretName(input: Pick<RootShardPkiInput, 'name' | 'caSecretRef'>): string {
  return input.caSecretRef ?? rootShardCAName(input.name, 'root');
}

export function rootShardServiceHost(name: string, namespace: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  return `${name}-kcp.${namespace}.svc.${clusterDomain}`;
}

/** The root CA, the four intermediates, then the root shard's leaves, in issuance order. */
export function rootShardCertificates(input: RootShardPkiInput): PlannedCertificate[] {
  const rs = input.name;
  const labels = { [LABEL_ROOTSHARD]: rs };
  const ca = (name: CAName): PlannedIssuer => ({ type: 'ca', secretName: name === 'root' ? rootCASecretName(input) : rootShardCAName(rs, name) });
  const caDraft = { isCA: true, usages: [] as CertificateUsage[], durationMs: DEFAULT_CA_DURATION_MS, renewBeforeMs: DEFAULT_CA_RENEW_BEFORE_MS, labels };
  const leaf = { isCA: false, durationMs: DEFAULT_LEAF_DURATION_MS, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS, labels };

  const rootIssuer: PlannedIssuer =
    input.caSecretRef !== undefined
      ? { type: 'provided' }
      : input.issuerRef !== undefined
        ? { type: 'certManager', issuerRef: input.issuerRef }
        : { type: 'selfSigned' };

  const drafts: Draft[] = [
    { ...caDraft, templateKey: 'root-ca', secretName: rootCASecretName(input), commonName: rootCASecretName(input), issuer: rootIssuer },
    ...INTERMEDIATE_CAS.map((c): Draft => ({
      ...caDraft,
      templateKey: `${c}-ca`,
      secretName: rootShardCAName(rs, c),
      commonName: rootShardCAName(rs, c),
      issuer: ca('root'),
    })),
    ...shardServingDrafts(
      rs,
      labels,
      ca,
      sortedSet(
        [rootShardServiceHost(rs, input.namespace, input.clusterDomain), input.externalHostname, hostFromURL(input.shardBaseURL)].filter(
          (h): h is string => h !== undefined && h !== '',
        ),
      ),
      [input.externalHostname],
    ),
    ...logicalClusterAdminDrafts(rs, labels, ca, ''),
    {
      ...leaf,
      templateKey: 'client',
      secretName: `${rs}-client`,
      commonName: rs,
      organizations: ['system:masters'],
      issuer: ca('client'),
      usages: ['client auth'],
    },
    {
      ...leaf,
      templateKey: 'kcp-operator',
      secretName: `${rs}-kcp-operator`,
      commonName: OPERATOR_USERNAME,
      organizations: ['system:kcp:admin'],
      issuer: ca('client'),
      usages: ['client auth'],
    },
  ];
  return drafts.map((d) => build(d, input.templates, input.key));
}

// ---------------------------------------------------------------------------------------------
// Shard

export interface ShardPkiInput {
  name: string;
  namespace: string;
  clusterDomain?: string;
  shardBaseURL?: string;
  rootShard: Pick<RootShardPkiInput, 'name' | 'caSecretRef'>;
  key?: KeySpec;
  templates?: CertificateTemplates;
}

export function shardServiceHost(name: string, namespace: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  return `${name}-shard-kcp.${namespace}.svc.${clusterDomain}`;
}

/** A Shard's leaves, all signed by its RootShard's intermediates. */
export function shardCertificates(input: ShardPkiInput): PlannedCertificate[] {
  const s = input.name;
  const rs = input.rootShard.name;
  const labels = { [LABEL_ROOTSHARD]: rs, [LABEL_SHARD]: s };
  const ca = (name: Exclude<CAName, 'root'>): PlannedIssuer => ({ type: 'ca', secretName: rootShardCAName(rs, name) });
  const leaf = { isCA: false, durationMs: DEFAULT_LEAF_DURATION_MS, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS, labels };
  const host = shardServiceHost(s, input.namespace, input.clusterDomain);
  const drafts: Draft[] = [
    ...shardServingDrafts(s, labels, ca, sortedSet(['localhost', host, hostFromURL(input.shardBaseURL)].filter((h): h is string => h !== undefined)), [host]),
    {
      ...leaf,
      templateKey: 'client',
      secretName: `${s}-client`,
      commonName: `shard-${s}`,
      organizations: ['system:masters'],
      issuer: ca('client'),
      usages: ['client auth'],
    },
    {
      ...leaf,
      templateKey: 'mounts-proxy',
      secretName: `${s}-mounts-proxy`,
      commonName: MOUNTS_PROXY_COMMON_NAME,
      issuer: ca('requestheader-client'),
      usages: ['client auth'],
    },
    ...logicalClusterAdminDrafts(s, labels, ca, `-shard-${s}`),
  ];
  return drafts.map((d) => build(d, input.templates, input.key));
}

// ---------------------------------------------------------------------------------------------
// FrontProxy and the RootShard's internal proxy

export interface FrontProxyPkiInput {
  /** The FrontProxy's name; omit for the RootShard's internal proxy `<rs>-proxy`. */
  name?: string;
  rootShard: Pick<RootShardPkiInput, 'name' | 'namespace' | 'externalHostname' | 'privateHostname' | 'clusterDomain'>;
  /** FrontProxy spec.external.hostname (or the deprecated spec.externalHostname). */
  externalHostname?: string;
  key?: KeySpec;
  templates?: CertificateTemplates;
}

/**
 * Server, shards-kubeconfig client (system:masters) and requestheader client certificates of a
 * front-proxy: `<rs>-<fp>-{server,kubeconfig,requestheader}`, or `<rs>-proxy-…` for the internal proxy.
 */
export function frontProxyCertificates(input: FrontProxyPkiInput): PlannedCertificate[] {
  const rs = input.rootShard;
  const internal = input.name === undefined;
  const prefix = internal ? `${rs.name}-proxy` : `${rs.name}-${input.name}`;
  const service = internal ? `${rs.name}-proxy` : `${input.name}-front-proxy`;
  const commonName = internal ? ROOT_SHARD_PROXY_COMMON_NAME : FRONT_PROXY_COMMON_NAME;
  const labels: Record<string, string> = { [LABEL_ROOTSHARD]: rs.name };
  if (!internal) labels[LABEL_FRONT_PROXY] = input.name as string;
  const leaf = { isCA: false, durationMs: DEFAULT_LEAF_DURATION_MS, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS, labels };

  // Order as kcp-operator: service short names first, then (user-facing proxies only) external names.
  // kcp-operator hard-codes cluster.local here; we honour the RootShard's clusterDomain.
  const dnsNames = [service, `${service}.${rs.namespace}`, `${service}.${rs.namespace}.svc.${rs.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN}`];
  if (!internal) {
    dnsNames.push(rs.externalHostname);
    if (rs.privateHostname !== undefined && rs.privateHostname !== '') dnsNames.push(rs.privateHostname);
    if (input.externalHostname !== undefined && input.externalHostname !== '') dnsNames.push(input.externalHostname);
  }
  const drafts: Draft[] = [
    {
      ...leaf,
      templateKey: 'server',
      secretName: `${prefix}-server`,
      issuer: { type: 'ca', secretName: rootShardCAName(rs.name, 'server') },
      usages: ['server auth', 'key encipherment', 'digital signature'],
      dnsNames: [...new Set(dnsNames)],
    },
    {
      ...leaf,
      templateKey: 'kubeconfig',
      secretName: `${prefix}-kubeconfig`,
      commonName,
      organizations: ['system:masters'],
      issuer: { type: 'ca', secretName: rootShardCAName(rs.name, 'client') },
      usages: ['client auth'],
    },
    {
      ...leaf,
      templateKey: 'requestheader',
      secretName: `${prefix}-requestheader`,
      commonName,
      issuer: { type: 'ca', secretName: rootShardCAName(rs.name, 'requestheader-client') },
      usages: ['client auth'],
    },
  ];
  return drafts.map((d) => build(d, input.templates, input.key));
}

// ---------------------------------------------------------------------------------------------
// CacheServer: its own, independent root

export interface CacheServerPkiInput {
  name: string;
  namespace: string;
  clusterDomain?: string;
  caSecretRef?: string;
  issuerRef?: IssuerRef;
  key?: KeySpec;
  templates?: CertificateTemplates;
}

export function cacheServerServiceHost(name: string, namespace: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN): string {
  return `${name}-cache-server.${namespace}.svc.${clusterDomain}`;
}

/** `<cs>-ca` (self-signed, BYO or cert-manager), `<cs>-server` and `<cs>-client-certificate` (system:masters). */
export function cacheServerCertificates(input: CacheServerPkiInput): PlannedCertificate[] {
  const cs = input.name;
  const labels = { [LABEL_CACHE_SERVER]: cs };
  const caSecret = input.caSecretRef ?? `${cs}-ca`;
  const leaf = { isCA: false, durationMs: DEFAULT_LEAF_DURATION_MS, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS, labels };
  const rootIssuer: PlannedIssuer =
    input.caSecretRef !== undefined
      ? { type: 'provided' }
      : input.issuerRef !== undefined
        ? { type: 'certManager', issuerRef: input.issuerRef }
        : { type: 'selfSigned' };
  const drafts: Draft[] = [
    {
      templateKey: 'root-ca',
      secretName: caSecret,
      commonName: caSecret,
      issuer: rootIssuer,
      isCA: true,
      usages: [],
      durationMs: DEFAULT_CA_DURATION_MS,
      renewBeforeMs: DEFAULT_CA_RENEW_BEFORE_MS,
      labels,
    },
    {
      ...leaf,
      templateKey: 'server',
      secretName: `${cs}-server`,
      issuer: { type: 'ca', secretName: caSecret },
      usages: ['server auth', 'key encipherment', 'digital signature'],
      dnsNames: ['localhost', cacheServerServiceHost(cs, input.namespace, input.clusterDomain)],
    },
    {
      ...leaf,
      templateKey: 'client',
      secretName: `${cs}-client-certificate`,
      commonName: 'cache-client',
      organizations: ['system:masters'],
      issuer: { type: 'ca', secretName: caSecret },
      usages: ['client auth', 'key encipherment', 'digital signature'],
    },
  ];
  return drafts.map((d) => build(d, input.templates, input.key));
}

// ---------------------------------------------------------------------------------------------
// VirtualWorkspace

export interface VirtualWorkspacePkiInput {
  name: string;
  namespace: string;
  clusterDomain?: string;
  rootShard: Pick<RootShardPkiInput, 'name'>;
  key?: KeySpec;
  templates?: CertificateTemplates;
}

export function virtualWorkspaceCertificates(input: VirtualWorkspacePkiInput): PlannedCertificate[] {
  const vw = input.name;
  const rs = input.rootShard.name;
  const labels = { [LABEL_ROOTSHARD]: rs, [LABEL_VIRTUAL_WORKSPACE]: vw };
  const leaf = { isCA: false, durationMs: DEFAULT_LEAF_DURATION_MS, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS, labels };
  const drafts: Draft[] = [
    {
      ...leaf,
      templateKey: 'server',
      secretName: `${vw}-server`,
      issuer: { type: 'ca', secretName: rootShardCAName(rs, 'server') },
      usages: ['server auth', 'key encipherment', 'digital signature'],
      dnsNames: ['localhost', `${vw}-virtual-workspace.${input.namespace}.svc.${input.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN}`],
    },
    {
      ...leaf,
      templateKey: 'client',
      secretName: `${vw}-client`,
      commonName: `${vw}-virtual-workspace`,
      organizations: ['system:masters'],
      issuer: { type: 'ca', secretName: rootShardCAName(rs, 'client') },
      usages: ['client auth'],
    },
  ];
  return drafts.map((d) => build(d, input.templates, input.key));
}

// ---------------------------------------------------------------------------------------------
// Kubeconfig

export interface KubeconfigPkiInput {
  /** The Kubeconfig object's name. */
  name: string;
  /** The RootShard that owns the client CA (directly, or via the Shard / FrontProxy target). */
  rootShard: string;
  username: string;
  groups?: readonly string[];
  /** spec.validity. */
  validityMs: number;
  key?: KeySpec;
  /** spec.certificateTemplate. */
  template?: CertificateTemplate;
}

export function kubeconfigGroup(name: string): string {
  return `kubeconfig:${name}`;
}

/**
 * `kubeconfig-cert-<kc>`: CN = username, O = groups ∪ {kubeconfig:<kc>} (sorted), signed by the
 * RootShard's client CA whatever the target. kcp-operator sets no renewBefore, so cert-manager's
 * default applies: renew when a third of the validity remains.
 */
export function kubeconfigCertificate(input: KubeconfigPkiInput): PlannedCertificate {
  if (!(input.validityMs > 0)) throw new PkiError('validity must be positive', `Kubeconfig ${input.name}`);
  return build(
    {
      templateKey: 'kubeconfig',
      secretName: `kubeconfig-cert-${input.name}`,
      issuer: { type: 'ca', secretName: rootShardCAName(input.rootShard, 'client') },
      isCA: false,
      commonName: input.username,
      organizations: sortedSet([...(input.groups ?? []), kubeconfigGroup(input.name)]),
      usages: ['client auth'],
      durationMs: input.validityMs,
      renewBeforeMs: Math.floor(input.validityMs / 3),
      labels: { [LABEL_KUBECONFIG]: input.name },
    },
    input.template === undefined ? undefined : { kubeconfig: input.template },
    input.key,
  );
}
