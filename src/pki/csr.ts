/**
 * PKCS#10 certificate signing requests (RFC 2986). An edge cluster keeps its private keys and sends
 * CSRs to the hub; the hub parses them with parseCsr, checks that each asks for exactly the
 * identity it expects, and signs a certificate with its CA.
 *
 * As in x509.ts, node-forge only gives the DER structure; signatures are made and checked by
 * node:crypto. SANs, KeyUsage and ExtKeyUsage travel in a PKCS#9 extensionRequest attribute, as
 * openssl and Go's x509.CreateCertificateRequest put them.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { Asn1 } from './asn1.js';
import {
  Asn1Type,
  EXT_KEY_USAGE_OIDS,
  OID,
  bits,
  bytesOf,
  children,
  fromBinary,
  fromDer,
  isContext,
  isUniversal,
  oid,
  readOid,
  seq,
  set,
  smallInteger,
  toDer,
} from './asn1.js';
import { PkiError, describeError } from './errors.js';
import { keySpecOf } from './keys.js';
import { decodeName, encodeName, isEmptyName } from './name.js';
import type { Subject } from './name.js';
import { derToPem } from './pem.js';
import {
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeKeyUsage,
  decodeSubjectAltName,
  signatureScheme,
  spkiNode,
  usageAndSanExtensions,
  validateSans,
} from './x509.js';
import type { ExtKeyUsage, KeyUsage } from './x509.js';

/** PKCS#9 extensionRequest. */
const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const PEM_LABEL = 'CERTIFICATE REQUEST';
/** Names createCsr's errors. */
const CREATE = 'certificate request';

/** CSRs arrive from another cluster: anything longer is refused before it is decoded. */
export const MAX_CSR_PEM_LENGTH = 64 * 1024;

export interface CsrContent {
  /** Encoded as Go's pkix.Name does: O, then OU, then CN, each list in the order given. */
  subject: Subject;
  dnsNames?: readonly string[];
  /** IPv4 or IPv6 literals; parseCsr returns them in canonical text (see ip.ts). */
  ipAddresses?: readonly string[];
  /** A BIT STRING: parseCsr returns them in RFC 5280 bit order. */
  keyUsages?: readonly KeyUsage[];
  extKeyUsages?: readonly ExtKeyUsage[];
}

/** PEM "CERTIFICATE REQUEST", signed with the private key (proof of possession). */
export function createCsr(content: CsrContent, key: { privateKey: KeyObject; publicKey: KeyObject }): string {
  const dnsNames = content.dnsNames ?? [];
  const ipBytes = validateSans(dnsNames, content.ipAddresses ?? [], CREATE);
  const emptySubject = isEmptyName(content.subject);
  if (emptySubject && dnsNames.length + ipBytes.length === 0) {
    throw new PkiError('needs a subject or at least one SAN', CREATE);
  }
  const own = createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' });
  if (!own.equals(key.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw new PkiError('the public key does not belong to the private key', CREATE);
  }
  let scheme: ReturnType<typeof signatureScheme>;
  try {
    scheme = signatureScheme(key.privateKey);
  } catch (err) {
    throw new PkiError(err instanceof PkiError ? err.message : 'unsupported private key', CREATE);
  }

  const extensions = usageAndSanExtensions({
    keyUsages: content.keyUsages ?? [],
    extKeyUsages: content.extKeyUsages ?? [],
    dnsNames,
    ipBytes,
    emptySubject,
  });
  const attributes = extensions.length === 0 ? [] : [seq([oid(EXTENSION_REQUEST), set([seq(extensions)])])];
  const info = seq([smallInteger(0), encodeName(content.subject), spkiNode(key.publicKey).node, implicitSet(0, attributes)]);
  const infoDer = toDer(info);

  let signature: Buffer;
  try {
    signature = sign(scheme.hash, infoDer, key.privateKey);
  } catch (err) {
    throw new PkiError(`signing failed: ${describeError(err)}`, CREATE);
  }
  return derToPem(toDer(seq([info, scheme.algorithmIdentifier, bits(signature)])), PEM_LABEL);
}

/** `[tag] IMPLICIT SET OF`: a constructed context-specific value holding the elements. */
function implicitSet(tag: number, items: Asn1[]): Asn1 {
  return forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, tag as forge.asn1.Type, true, items);
}

export interface ParsedCsrSubject {
  /** The last CN if there are several; any further CN is listed in otherSubjectAttributes. */
  commonName?: string;
  organizations: readonly string[];
  organizationalUnits: readonly string[];
}

export interface ParsedCsr extends CsrContent {
  subject: ParsedCsrSubject;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  keyUsages: readonly KeyUsage[];
  /** The ExtKeyUsages this package knows; any other is in otherExtKeyUsages. */
  extKeyUsages: readonly ExtKeyUsage[];
  publicKey: KeyObject;
  /**
   * Subject attributes other than CN, O, OU (OIDs), e.g. C, L, serialNumber: a verifier refuses
   * these. A CN given more than once is listed here too ("2.5.4.3"), once per extra CN.
   */
  otherSubjectAttributes: readonly string[];
  /** Requested extensions other than SAN, KeyUsage, ExtKeyUsage (OIDs), including BasicConstraints. */
  otherExtensions: readonly string[];
  /** SAN entries other than DNS and IP (URI, email, otherName...), as "type:value" strings. */
  otherNames: readonly string[];
  /** Requested ExtKeyUsage OIDs without a name in EXT_KEY_USAGE_OIDS (e.g. anyExtendedKeyUsage). */
  otherExtKeyUsages: readonly string[];
  /** CSR attributes other than extensionRequest (OIDs), e.g. challengePassword. */
  otherAttributes: readonly string[];
  /** True when the request asks for BasicConstraints cA=TRUE. */
  requestsCA: boolean;
}

/**
 * Parses a PEM CERTIFICATE REQUEST and verifies its self-signature. Throws PkiError on malformed
 * input, trailing data, several PEM blocks, an unsupported algorithm, or a bad signature; `what`
 * names the request in errors (e.g. "CSR from cluster edge-1"). The input is never quoted.
 */
export function parseCsr(pem: string, what?: string): ParsedCsr {
  const der = csrDer(pem, what);
  try {
    return parseCsrDer(der);
  } catch (err) {
    if (err instanceof PkiError) throw new PkiError(`invalid certificate request: ${err.message}`, what);
    throw new PkiError(`invalid certificate request: ${describeError(err)}`, what);
  }
}

const PEM_BLOCK = /^\s*-----BEGIN CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n\t ]+)-----END CERTIFICATE REQUEST-----\s*$/;

function csrDer(pem: string, what: string | undefined): Buffer {
  if (typeof pem !== 'string') throw new PkiError('certificate request is not a string', what);
  if (pem.length > MAX_CSR_PEM_LENGTH) {
    throw new PkiError(`certificate request of ${pem.length} characters exceeds the limit of ${MAX_CSR_PEM_LENGTH}`, what);
  }
  const labels = [...pem.matchAll(/-----BEGIN ([A-Z0-9 ]{1,40})-----/g)].map((m) => m[1]);
  if (labels.length === 0) throw new PkiError('no PEM block found', what);
  if (labels.length > 1) throw new PkiError(`${labels.length} PEM blocks; expected exactly one ${PEM_LABEL}`, what);
  if (labels[0] !== PEM_LABEL) throw new PkiError(`expected a PEM ${PEM_LABEL} block, found ${labels[0] ?? 'none'}`, what);
  const body = PEM_BLOCK.exec(pem)?.[1]?.replace(/\s+/g, '');
  const der = body === undefined ? undefined : Buffer.from(body, 'base64');
  // Buffer.from skips what is not base64; re-encoding catches that and bad padding.
  if (der === undefined || der.length === 0 || der.toString('base64') !== body) {
    throw new PkiError(`malformed PEM ${PEM_LABEL} (text around the block, headers, or invalid base64)`, what);
  }
  return der;
}

interface VerifyScheme {
  hash: string | null;
  keyType: 'rsa' | 'ec' | 'ed25519';
  /** RFC 4055: RSA parameters are NULL (absence tolerated, as OpenSSL does); RFC 5758/8410: absent otherwise. */
  nullParams: boolean;
}

const VERIFY_SCHEMES: ReadonlyMap<string, VerifyScheme> = new Map([
  [OID.sha256WithRSAEncryption, { hash: 'sha256', keyType: 'rsa', nullParams: true }],
  ['1.2.840.113549.1.1.12', { hash: 'sha384', keyType: 'rsa', nullParams: true }],
  ['1.2.840.113549.1.1.13', { hash: 'sha512', keyType: 'rsa', nullParams: true }],
  [OID.ecdsaWithSHA256, { hash: 'sha256', keyType: 'ec', nullParams: false }],
  [OID.ecdsaWithSHA384, { hash: 'sha384', keyType: 'ec', nullParams: false }],
  [OID.ecdsaWithSHA512, { hash: 'sha512', keyType: 'ec', nullParams: false }],
  [OID.ed25519, { hash: null, keyType: 'ed25519', nullParams: false }],
]);

function parseCsrDer(der: Buffer): ParsedCsr {
  const root = fromDer(der);
  // The signature covers the encoded CertificationRequestInfo: requiring DER that re-encodes to
  // itself makes the bytes verified below the very bytes the content is read from.
  if (!toDer(root).equals(der)) throw new PkiError('not DER-canonical');
  const top = children(root);
  if (top.length !== 3) throw new PkiError('expected certificationRequestInfo, signatureAlgorithm and signature');
  const [info, algorithm, signatureNode] = top as [Asn1, Asn1, Asn1];

  const fields = children(info);
  if (fields.length !== 4) throw new PkiError('certificationRequestInfo must have 4 fields');
  const [version, subjectNode, spki, attributesNode] = fields as [Asn1, Asn1, Asn1, Asn1];
  if (!isUniversal(version, Asn1Type.INTEGER) || !bytesOf(version).equals(Buffer.from([0]))) {
    throw new PkiError('unsupported version (expected v1, 0)');
  }
  if (!isContext(attributesNode, 0)) throw new PkiError('missing attributes [0]');

  const publicKey = readPublicKey(spki);
  verifySignature(toDer(info), algorithm, signatureNode, publicKey);

  const name = decodeName(subjectNode);
  const otherSubjectAttributes = name.other.map((o) => o.slice(0, o.indexOf('=')));
  const cnCount = children(subjectNode)
    .flatMap((rdn) => children(rdn))
    .filter((atv) => readOid(children(atv)[0]) === OID.commonName).length;
  for (let i = 1; i < cnCount; i++) otherSubjectAttributes.push(OID.commonName);

  const otherAttributes: string[] = [];
  let extensions: Map<string, Buffer> | undefined;
  for (const attribute of children(attributesNode)) {
    const [typeNode, values] = children(attribute);
    const type = readOid(typeNode);
    if (type !== EXTENSION_REQUEST) {
      otherAttributes.push(type);
      continue;
    }
    if (extensions !== undefined) throw new PkiError('more than one extensionRequest attribute');
    const requested = children(values);
    if (requested.length !== 1) throw new PkiError('extensionRequest must hold exactly one value');
    extensions = readExtensions(requested[0]);
  }
  const exts = extensions ?? new Map<string, Buffer>();

  const ku = exts.get(OID.keyUsage);
  const eku = exts.get(OID.extKeyUsage);
  const san = exts.get(OID.subjectAltName);
  const bc = exts.get(OID.basicConstraints);
  const ekus = eku === undefined ? [] : decodeExtKeyUsage(eku);
  const sans = san === undefined ? { dnsNames: [], ipAddresses: [], others: [] } : decodeSubjectAltName(san);
  const handled = new Set<string>([OID.keyUsage, OID.extKeyUsage, OID.subjectAltName]);

  return {
    subject: {
      ...(name.commonName === undefined ? {} : { commonName: name.commonName }),
      organizations: name.organizations,
      organizationalUnits: name.organizationalUnits,
    },
    dnsNames: sans.dnsNames,
    ipAddresses: sans.ipAddresses,
    keyUsages: ku === undefined ? [] : decodeKeyUsage(ku),
    extKeyUsages: ekus.filter(isKnownExtKeyUsage),
    publicKey,
    otherSubjectAttributes,
    otherExtensions: [...exts.keys()].filter((o) => !handled.has(o)),
    otherNames: sans.others.map(describeGeneralName),
    otherExtKeyUsages: ekus.filter((e) => !isKnownExtKeyUsage(e)),
    otherAttributes,
    requestsCA: bc === undefined ? false : decodeBasicConstraints(bc).isCA,
  };
}

function readPublicKey(spki: Asn1): KeyObject {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: toDer(spki), format: 'der', type: 'spki' });
  } catch (err) {
    throw new PkiError(`cannot read the public key: ${describeError(err)}`);
  }
  keySpecOf(publicKey); // throws PkiError for key types and curves we do not issue for
  return publicKey;
}

function verifySignature(signed: Buffer, algorithm: Asn1, signatureNode: Asn1, publicKey: KeyObject): void {
  const [algOid, ...params] = children(algorithm);
  const algo = readOid(algOid);
  const scheme = VERIFY_SCHEMES.get(algo);
  if (scheme === undefined) throw new PkiError(`unsupported signature algorithm ${algo}`);
  const paramsOk = scheme.nullParams
    ? params.length === 0 || (params.length === 1 && isUniversal(params[0], Asn1Type.NULL))
    : params.length === 0;
  if (!paramsOk) throw new PkiError(`unexpected parameters for signature algorithm ${algo}`);
  if (publicKey.asymmetricKeyType !== scheme.keyType) {
    throw new PkiError(`signature algorithm ${algo} does not match the ${publicKey.asymmetricKeyType ?? 'unknown'} public key`);
  }
  if (!isUniversal(signatureNode, Asn1Type.BITSTRING)) throw new PkiError('signature is not a BIT STRING');
  const sigBits = bytesOf(signatureNode);
  if (sigBits[0] !== 0) throw new PkiError('signature BIT STRING has unused bits');
  let ok: boolean;
  try {
    ok = verify(scheme.hash, signed, publicKey, sigBits.subarray(1));
  } catch {
    ok = false;
  }
  if (!ok) throw new PkiError('the signature does not verify with the public key of the request');
}

/** Extensions by OID; a repeated extension is refused (RFC 5280 §4.2), so no copy goes unseen. */
function readExtensions(list: Asn1 | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const ext of children(list)) {
    const parts = children(ext);
    const id = readOid(parts[0]);
    const value = parts[parts.length - 1];
    const criticalOk = parts.length === 2 || (parts.length === 3 && isUniversal(parts[1], Asn1Type.BOOLEAN));
    if (!criticalOk || !isUniversal(value, Asn1Type.OCTETSTRING)) {
      throw new PkiError(`malformed extension ${id}`);
    }
    if (out.has(id)) throw new PkiError(`extension ${id} requested more than once`);
    out.set(id, bytesOf(value));
  }
  return out;
}

function isKnownExtKeyUsage(e: string): e is ExtKeyUsage {
  return Object.hasOwn(EXT_KEY_USAGE_OIDS, e);
}

/** GeneralName (RFC 5280 §4.2.1.6) other than dNSName and iPAddress, in openssl's "type:value" style. */
function describeGeneralName(n: Asn1): string {
  const raw = typeof n.value === 'string' ? fromBinary(n.value) : toDer(n);
  const text = raw.toString('latin1');
  if (isContext(n, 0)) return `otherName:${readOid(children(n)[0])}`;
  if (isContext(n, 1)) return `email:${text}`;
  if (isContext(n, 6)) return `URI:${text}`;
  if (isContext(n, 8) && typeof n.value === 'string') return `RID:${forge.asn1.derToOid(n.value)}`;
  const kind = isContext(n, 3) ? 'x400Address' : isContext(n, 4) ? 'dirName' : isContext(n, 5) ? 'ediPartyName' : `tag${n.type}`;
  return `${kind}:${raw.toString('hex')}`;
}
