import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Asn1 } from './asn1.js';
import {
  Asn1Type,
  EXT_KEY_USAGE_OIDS,
  OID,
  bits,
  bool,
  bytesOf,
  children,
  explicit,
  fromDer,
  implicitPrimitive,
  integerBytes,
  isContext,
  isUniversal,
  nullValue,
  octets,
  oid,
  readOid,
  readTime,
  seq,
  smallInteger,
  time,
  toBinary,
  toDer,
} from './asn1.js';
import { PkiError, describeError } from './errors.js';
import { bytesToIp, ipToBytes } from './ip.js';
import { keySpecOf, publicKeyFingerprint } from './keys.js';
import type { ResolvedKeySpec } from './keys.js';
import type { ParsedName, Subject } from './name.js';
import { decodeName, encodeName, isEmptyName } from './name.js';
import { derToPem, firstCertificateDer } from './pem.js';

export type { Subject, ParsedName } from './name.js';

/** In bit order of RFC 5280 §4.2.1.3 KeyUsage. */
const KEY_USAGE_BITS = [
  'digitalSignature',
  'contentCommitment',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGE_BITS)[number];
export type ExtKeyUsage = keyof typeof EXT_KEY_USAGE_OIDS;

export interface CertificateRequest {
  subject: Subject;
  /** The subject's public key; for a self-signed certificate it must belong to the issuer's private key. */
  publicKey: KeyObject;
  dnsNames?: readonly string[];
  /** IPv4 or IPv6 literals. */
  ipAddresses?: readonly string[];
  isCA?: boolean;
  /** Only with isCA; absent means unlimited. */
  pathLen?: number;
  /** Default: CA → keyCertSign, cRLSign, digitalSignature; leaf → digitalSignature (+ keyEncipherment for RSA keys). */
  keyUsages?: readonly KeyUsage[];
  extKeyUsages?: readonly ExtKeyUsage[];
  /** Default: now minus DEFAULT_BACKDATE_MS, so a peer whose clock runs a little behind accepts it. */
  notBefore?: Date;
  /** Default: now plus one year. Clamped to the issuer's notAfter: a leaf cannot outlive its CA. */
  notAfter?: Date;
  /** Names the certificate in errors, e.g. "Certificate kcp/root-server". */
  label?: string;
}

export interface SelfSignedIssuer {
  readonly selfSigned: true;
  readonly privateKey: KeyObject;
}

export interface CertificateIssuer {
  /** The CA certificate; if the PEM holds a chain, the first certificate signs. */
  readonly certificatePem: string;
  readonly privateKey: KeyObject | string;
  /** Names the issuer in errors, e.g. "Secret kcp/root-server-ca". */
  readonly label?: string;
}

export type Issuer = SelfSignedIssuer | CertificateIssuer | PreparedIssuer;

export function selfSigned(privateKey: KeyObject): SelfSignedIssuer {
  return { selfSigned: true, privateKey };
}

export const DEFAULT_BACKDATE_MS = 5 * 60_000;
export const DEFAULT_VALIDITY_MS = 365 * 24 * 3600_000;

interface Prepared {
  tbs: Asn1;
  tbsDer: Buffer;
  algorithmIdentifier: Asn1;
  hash: string | null;
  signingKey: KeyObject;
  label: string | undefined;
}

/** Issues a certificate; the signature runs on libuv's thread pool. Returns one PEM CERTIFICATE block. */
export async function signCertificate(request: CertificateRequest, issuer: Issuer, now: Date = new Date()): Promise<string> {
  const p = prepare(request, issuer, now);
  const signature = await new Promise<Buffer>((resolve, reject) => {
    sign(p.hash, p.tbsDer, p.signingKey, (err, sig) => (err ? reject(signError(err, p.label)) : resolve(sig)));
  });
  return assemble(p, signature);
}

/** As signCertificate, on the calling thread (sub-millisecond for ECDSA and Ed25519 keys). */
export function signCertificateSync(request: CertificateRequest, issuer: Issuer, now: Date = new Date()): string {
  const p = prepare(request, issuer, now);
  let signature: Buffer;
  try {
    signature = sign(p.hash, p.tbsDer, p.signingKey);
  } catch (err) {
    throw signError(err, p.label);
  }
  return assemble(p, signature);
}

function signError(err: unknown, label: string | undefined): PkiError {
  return new PkiError(`signing failed: ${describeError(err)}`, label);
}

function assemble(p: Prepared, signature: Buffer): string {
  const der = toDer(seq([p.tbs, p.algorithmIdentifier, bits(signature)]));
  return derToPem(der);
}

/** The signature algorithm is fixed by the issuer's key: one code path for RSA, ECDSA and Ed25519. */
export function signatureScheme(key: KeyObject): { algorithmIdentifier: Asn1; hash: string | null } {
  const spec = keySpecOf(key);
  switch (spec.algorithm) {
    case 'RSA':
      // RFC 4055: the parameters of sha256WithRSAEncryption are an explicit NULL.
      return { algorithmIdentifier: seq([oid(OID.sha256WithRSAEncryption), nullValue()]), hash: 'sha256' };
    case 'ECDSA': {
      // RFC 5758: parameters absent; the hash follows the curve, as Go does.
      const [o, hash] =
        spec.size === 384
          ? [OID.ecdsaWithSHA384, 'sha384']
          : spec.size === 521
            ? [OID.ecdsaWithSHA512, 'sha512']
            : [OID.ecdsaWithSHA256, 'sha256'];
      return { algorithmIdentifier: seq([oid(o)]), hash };
    }
    case 'Ed25519':
      return { algorithmIdentifier: seq([oid(OID.ed25519)]), hash: null };
  }
}

/** ≥ 64 bits of entropy (CA/B BR 7.1), 16 bytes, top bit clear (positive) and second-highest set (minimal DER). */
function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
  return b;
}

export function spkiNode(publicKey: KeyObject): { node: Asn1; keyId: Buffer } {
  const node = fromDer(publicKey.export({ type: 'spki', format: 'der' }));
  return { node, keyId: keyIdentifier(node) };
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents, as Go and OpenSSL do. */
function keyIdentifier(spki: Asn1): Buffer {
  const bitString = bytesOf(children(spki)[1]);
  return createHash('sha1').update(bitString.subarray(1)).digest();
}

function extension(extnId: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(extnId), ...(critical ? [bool(true)] : []), octets(toDer(value))]);
}

/** KeyUsage as a DER named-bit BIT STRING: trailing zero bits are dropped (X.690 §11.2.2). */
function keyUsageValue(usages: readonly KeyUsage[]): Asn1 {
  const set = new Set(usages);
  const highest = Math.max(...KEY_USAGE_BITS.map((u, i) => (set.has(u) ? i : -1)));
  const nbytes = Math.floor(highest / 8) + 1;
  const out = Buffer.alloc(nbytes);
  KEY_USAGE_BITS.forEach((u, i) => {
    if (set.has(u)) out[i >> 3] = (out[i >> 3] ?? 0) | (0x80 >> (i & 7));
  });
  return bits(out, nbytes * 8 - (highest + 1));
}

const DNS_NAME = /^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/** Checks DNS names and IP literals for a SAN; returns the iPAddress bytes, in the order given. */
export function validateSans(dnsNames: readonly string[], ipAddresses: readonly string[], label: string | undefined): Buffer[] {
  for (const d of dnsNames) {
    if (!DNS_NAME.test(d)) throw new PkiError(`invalid DNS name ${JSON.stringify(d)}`, label);
  }
  return ipAddresses.map((ip) => {
    try {
      return ipToBytes(ip);
    } catch {
      throw new PkiError(`invalid IP address ${JSON.stringify(ip)}`, label);
    }
  });
}

export interface UsageAndSans {
  keyUsages: readonly KeyUsage[];
  extKeyUsages: readonly ExtKeyUsage[];
  dnsNames: readonly string[];
  ipBytes: readonly Buffer[];
  emptySubject: boolean;
}

/** KeyUsage (critical), ExtKeyUsage and subjectAltName extensions, each only when non-empty, in that order. */
export function usageAndSanExtensions(u: UsageAndSans): Asn1[] {
  const extensions: Asn1[] = [];
  if (u.keyUsages.length > 0) extensions.push(extension(OID.keyUsage, true, keyUsageValue(u.keyUsages)));
  if (u.extKeyUsages.length > 0) {
    extensions.push(extension(OID.extKeyUsage, false, seq(u.extKeyUsages.map((e) => oid(EXT_KEY_USAGE_OIDS[e])))));
  }
  if (u.dnsNames.length + u.ipBytes.length > 0) {
    const names = [
      ...u.dnsNames.map((d) => implicitPrimitive(2, d)),
      ...u.ipBytes.map((b) => implicitPrimitive(7, toBinary(b))),
    ];
    // RFC 5280 §4.2.1.6: with an empty subject the SAN extension is critical.
    extensions.push(extension(OID.subjectAltName, u.emptySubject, seq(names)));
  }
  return extensions;
}

interface IssuerInfo {
  name: Asn1;
  keyId: Buffer;
  signingKey: KeyObject;
  notAfter: Date | undefined;
}

/**
 * A CA that signs many certificates, its certificate parsed and checked and its key loaded once
 * (see prepareIssuer): parsing both again for every certificate signed was most of issuing's cost
 * after the signature. Holds the private key: keep it in memory, never log it.
 */
export interface PreparedIssuer {
  readonly prepared: true;
  readonly label: string;
  readonly name: Asn1;
  readonly keyId: Buffer;
  readonly signingKey: KeyObject;
  readonly notAfter: Date;
}

/**
 * Checks a CA certificate and its key as signing with it does (a CA, DER-canonical, keyCertSign,
 * the key its certificate's) and keeps the result to sign with. Expiry is checked at each signing;
 * with `now`, here too, in the order signing reports problems.
 */
export function prepareIssuer(issuer: CertificateIssuer, label: string = issuer.label ?? 'issuer', now?: Date): PreparedIssuer {
  const ca = parseCertificateDer(firstCertificateDer(issuer.certificatePem, label), label);
  if (!ca.isCA) throw new PkiError('issuer certificate is not a CA (basicConstraints cA is false)', label);
  // Go chains by comparing the raw issuer and subject bytes; a re-encoded name could differ.
  if (!ca.canonical) throw new PkiError('issuer certificate is not DER-canonical, its subject cannot be copied byte for byte', label);
  if (ca.keyUsages.length > 0 && !ca.keyUsages.includes('keyCertSign')) {
    throw new PkiError('issuer certificate lacks the keyCertSign key usage', label);
  }
  if (now !== undefined) checkNotExpired(ca.notAfter, label, now);
  let signingKey: KeyObject;
  if (typeof issuer.privateKey === 'string') {
    try {
      signingKey = createPrivateKey({ key: issuer.privateKey, format: 'pem' });
    } catch (err) {
      throw new PkiError(`cannot parse issuer private key: ${describeError(err)}`, label);
    }
  } else {
    signingKey = issuer.privateKey;
  }
  if (!ca.x509.checkPrivateKey(signingKey)) {
    throw new PkiError('issuer private key does not match the issuer certificate', label);
  }
  return { prepared: true, label, name: ca.subjectNameNode, keyId: ca.subjectKeyIdBytes ?? ca.computedKeyId, signingKey, notAfter: ca.notAfter };
}

function checkNotExpired(notAfter: Date, label: string, now: Date): void {
  if (notAfter.getTime() <= now.getTime()) {
    throw new PkiError(`issuer certificate expired at ${notAfter.toISOString()}`, label);
  }
}

function resolveIssuer(issuer: Issuer, request: CertificateRequest, subjectName: Asn1, subjectKeyId: Buffer, now: Date): IssuerInfo {
  if ('selfSigned' in issuer) {
    const own = createPublicKey(issuer.privateKey).export({ type: 'spki', format: 'der' });
    if (!own.equals(request.publicKey.export({ type: 'spki', format: 'der' }))) {
      throw new PkiError('self-signed certificate: the public key does not belong to the signing private key', request.label);
    }
    return { name: subjectName, keyId: subjectKeyId, signingKey: issuer.privateKey, notAfter: undefined };
  }
  if ('prepared' in issuer) {
    checkNotExpired(issuer.notAfter, issuer.label, now);
    return issuer;
  }
  const label = issuer.label ?? (request.label === undefined ? 'issuer' : `issuer of ${request.label}`);
  return prepareIssuer(issuer, label, now);
}

function prepare(request: CertificateRequest, issuer: Issuer, now: Date): Prepared {
  const label = request.label;
  const isCA = request.isCA ?? false;
  const dnsNames = request.dnsNames ?? [];
  const ipAddresses = request.ipAddresses ?? [];

  const ipBytes = validateSans(dnsNames, ipAddresses, label);
  if (request.pathLen !== undefined && (!isCA || !Number.isInteger(request.pathLen) || request.pathLen < 0)) {
    throw new PkiError('pathLen requires isCA and must be a non-negative integer', label);
  }
  const emptySubject = isEmptyName(request.subject);
  const hasSans = dnsNames.length + ipBytes.length > 0;
  if (emptySubject && !hasSans) throw new PkiError('a certificate needs a subject or at least one SAN', label);

  let subjectSpec: ResolvedKeySpec;
  try {
    subjectSpec = keySpecOf(request.publicKey);
  } catch (err) {
    throw new PkiError(err instanceof PkiError ? err.message : 'unsupported public key', label);
  }
  const keyUsages =
    request.keyUsages ??
    (isCA
      ? (['digitalSignature', 'keyCertSign', 'cRLSign'] as const)
      : subjectSpec.algorithm === 'RSA'
        ? (['digitalSignature', 'keyEncipherment'] as const)
        : (['digitalSignature'] as const));
  if (isCA && !keyUsages.includes('keyCertSign')) throw new PkiError('a CA certificate needs the keyCertSign usage', label);
  if (!isCA && keyUsages.includes('keyCertSign')) throw new PkiError('keyCertSign requires isCA', label);

  const notBefore = truncateToSecond(request.notBefore ?? new Date(now.getTime() - DEFAULT_BACKDATE_MS));
  let notAfter = truncateToSecond(request.notAfter ?? new Date(now.getTime() + DEFAULT_VALIDITY_MS));

  const subjectName = encodeName(request.subject);
  const spki = spkiNode(request.publicKey);
  const iss = resolveIssuer(issuer, request, subjectName, spki.keyId, now);
  if (iss.notAfter !== undefined && notAfter.getTime() > iss.notAfter.getTime()) notAfter = iss.notAfter;
  if (notAfter.getTime() <= notBefore.getTime()) throw new PkiError('notAfter must be later than notBefore', label);

  const extensions: Asn1[] = [
    extension(
      OID.basicConstraints,
      true,
      seq(isCA ? [bool(true), ...(request.pathLen === undefined ? [] : [smallInteger(request.pathLen)])] : []),
    ),
    ...usageAndSanExtensions({ keyUsages, extKeyUsages: request.extKeyUsages ?? [], dnsNames, ipBytes, emptySubject }),
  ];
  extensions.push(extension(OID.subjectKeyIdentifier, false, octets(spki.keyId)));
  extensions.push(extension(OID.authorityKeyIdentifier, false, seq([implicitPrimitive(0, toBinary(iss.keyId))])));

  const scheme = signatureScheme(iss.signingKey);
  const tbs = seq([
    explicit(0, smallInteger(2)),
    integerBytes(randomSerial()),
    scheme.algorithmIdentifier,
    iss.name,
    seq([time(notBefore), time(notAfter)]),
    subjectName,
    spki.node,
    explicit(3, seq(extensions)),
  ]);
  return {
    tbs,
    tbsDer: toDer(tbs),
    algorithmIdentifier: scheme.algorithmIdentifier,
    hash: scheme.hash,
    signingKey: iss.signingKey,
    label,
  };
}

function truncateToSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export interface ParsedCertificate {
  /** The certificate alone, as PEM. */
  readonly pem: string;
  readonly subject: ParsedName;
  readonly issuer: ParsedName;
  /** Lower-case hex of the serial's DER content bytes, leading zero byte removed. */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA: boolean;
  readonly pathLen: number | undefined;
  readonly dnsNames: readonly string[];
  /** Canonical text (see ip.ts), so they compare with normalizeIp() output. */
  readonly ipAddresses: readonly string[];
  readonly keyUsages: readonly KeyUsage[];
  /** Known names, or the dotted OID for others. */
  readonly extKeyUsages: readonly string[];
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  /** True when issuer and subject names are byte-identical. */
  readonly selfIssued: boolean;
  /** Lower-case hex SHA-256 of the DER certificate. */
  readonly fingerprint256: string;
  /** Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo; equals KeyPair.publicKeyFingerprint. */
  readonly publicKeyFingerprint: string;
  readonly keySpec: Omit<ResolvedKeySpec, 'encoding'>;
  readonly publicKey: KeyObject;
  readonly x509: X509Certificate;
}

interface ParsedInternal extends ParsedCertificate {
  /** Re-encoding reproduces the input, so subjectNameNode re-encodes to the original bytes. */
  canonical: boolean;
  subjectNameNode: Asn1;
  subjectKeyIdBytes: Buffer | undefined;
  computedKeyId: Buffer;
}

/**
 * Parses the first certificate of a PEM. `what` names it in errors (e.g. "Secret kcp/root-ca key
 * tls.crt"); the input is never quoted, so a private key pasted in by mistake does not leak.
 */
export function parseCertificate(pem: string, what?: string): ParsedCertificate {
  const p = parseCertificateDer(firstCertificateDer(pem, what), what);
  // Only the public shape: the internal ASN.1 handles stay out of what callers see and log.
  const { canonical: _d, subjectNameNode: _n, subjectKeyIdBytes: _s, computedKeyId: _c, ...pub } = p;
  return pub;
}

const KNOWN_EKU = new Map<string, string>(Object.entries(EXT_KEY_USAGE_OIDS).map(([k, v]) => [v, k]));

/** The extnValue of a BasicConstraints extension. */
export function decodeBasicConstraints(der: Buffer): { isCA: boolean; pathLen: number | undefined } {
  let isCA = false;
  let pathLen: number | undefined;
  for (const n of children(fromDer(der))) {
    if (isUniversal(n, Asn1Type.BOOLEAN)) isCA = bytesOf(n)[0] !== 0;
    else if (isUniversal(n, Asn1Type.INTEGER)) pathLen = parseInt(bytesOf(n).toString('hex') || '0', 16);
  }
  return { isCA, pathLen };
}

/** The extnValue of a KeyUsage extension, in bit order. */
export function decodeKeyUsage(der: Buffer): KeyUsage[] {
  const keyUsages: KeyUsage[] = [];
  const b = bytesOf(fromDer(der)).subarray(1);
  KEY_USAGE_BITS.forEach((u, i) => {
    if (((b[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0) keyUsages.push(u);
  });
  return keyUsages;
}

/** The extnValue of an ExtKeyUsage extension: known names, or the dotted OID for others, in order. */
export function decodeExtKeyUsage(der: Buffer): string[] {
  return children(fromDer(der)).map((n) => {
    const o = readOid(n);
    return KNOWN_EKU.get(o) ?? o;
  });
}

/** The extnValue of a subjectAltName extension; entries other than dNSName and iPAddress are returned as nodes. */
export function decodeSubjectAltName(der: Buffer): { dnsNames: string[]; ipAddresses: string[]; others: Asn1[] } {
  const out = { dnsNames: [] as string[], ipAddresses: [] as string[], others: [] as Asn1[] };
  for (const n of children(fromDer(der))) {
    if (isContext(n, 2)) out.dnsNames.push(bytesOf(n).toString('latin1'));
    else if (isContext(n, 7)) out.ipAddresses.push(bytesToIp(bytesOf(n)));
    else out.others.push(n);
  }
  return out;
}

function parseCertificateDer(der: Buffer, what: string | undefined): ParsedInternal {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (err) {
    throw new PkiError(`cannot parse certificate: ${describeError(err)}`, what);
  }
  try {
    const root = fromDer(der);
    const canonical = toDer(root).equals(der);
    const [tbs] = children(root);
    const all = children(tbs);
    const fields = isContext(all[0], 0) ? all.slice(1) : all;
    const [serial, , issuerName, validity, subjectName, spki, ...rest] = fields;
    if (subjectName === undefined || spki === undefined || issuerName === undefined) throw new PkiError('truncated TBSCertificate');
    const [nb, na] = children(validity);

    const exts = new Map<string, Buffer>();
    const extsWrapper = rest.find((n) => isContext(n, 3));
    for (const ext of extsWrapper === undefined ? [] : children(children(extsWrapper)[0])) {
      const parts = children(ext);
      exts.set(readOid(parts[0]), bytesOf(parts[parts.length - 1]));
    }

    const bc = exts.get(OID.basicConstraints);
    const { isCA, pathLen } = bc === undefined ? { isCA: false, pathLen: undefined } : decodeBasicConstraints(bc);
    const ku = exts.get(OID.keyUsage);
    const keyUsages = ku === undefined ? [] : decodeKeyUsage(ku);
    const eku = exts.get(OID.extKeyUsage);
    const extKeyUsages = eku === undefined ? [] : decodeExtKeyUsage(eku);
    const san = exts.get(OID.subjectAltName);
    const { dnsNames, ipAddresses } = san === undefined ? { dnsNames: [], ipAddresses: [] } : decodeSubjectAltName(san);

    const skiRaw = exts.get(OID.subjectKeyIdentifier);
    const subjectKeyIdBytes = skiRaw === undefined ? undefined : bytesOf(fromDer(skiRaw));
    let authorityKeyId: string | undefined;
    const aki = exts.get(OID.authorityKeyIdentifier);
    if (aki !== undefined) {
      const id = children(fromDer(aki)).find((n) => isContext(n, 0));
      if (id !== undefined) authorityKeyId = bytesOf(id).toString('hex');
    }

    const publicKey = x509.publicKey;
    return {
      pem: derToPem(der),
      subject: decodeName(subjectName),
      issuer: decodeName(issuerName),
      serialNumber: bytesOf(serial).toString('hex').replace(/^(00)+(?=.)/, ''),
      notBefore: readTime(nb),
      notAfter: readTime(na),
      isCA,
      pathLen,
      dnsNames,
      ipAddresses,
      keyUsages,
      extKeyUsages,
      subjectKeyId: subjectKeyIdBytes?.toString('hex'),
      authorityKeyId,
      selfIssued: toDer(issuerName).equals(toDer(subjectName)),
      fingerprint256: createHash('sha256').update(der).digest('hex'),
      publicKeyFingerprint: publicKeyFingerprint(publicKey),
      keySpec: withoutEncoding(keySpecOf(publicKey)),
      publicKey,
      x509,
      canonical,
      subjectNameNode: subjectName,
      subjectKeyIdBytes,
      computedKeyId: keyIdentifier(spki),
    };
  } catch (err) {
    if (err instanceof PkiError) throw new PkiError(`cannot parse certificate: ${err.message}`, what);
    throw new PkiError(`cannot parse certificate: ${describeError(err)}`, what);
  }
}

function withoutEncoding(s: ResolvedKeySpec): Omit<ResolvedKeySpec, 'encoding'> {
  return { algorithm: s.algorithm, size: s.size };
}
