/**
 * Thin typed layer over forge.asn1: node-forge gives us DER structure; everything cryptographic
 * goes through node:crypto. forge works on "binary" strings (one char per byte); these helpers keep
 * Buffers at the edges.
 */
import forge from 'node-forge';
import { PkiError } from './errors.js';

export type Asn1 = forge.asn1.Asn1;

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;
const CTX = asn1.Class.CONTEXT_SPECIFIC;
const T = asn1.Type;

export const OID = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  // Not in forge.pki.oids, which only knows RSA.
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
} as const;

export const EXT_KEY_USAGE_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

export const toBinary = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('binary');
export const fromBinary = (s: string): Buffer => Buffer.from(s, 'binary');

export const seq = (items: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, items);
export const set = (items: Asn1[]): Asn1 => asn1.create(U, T.SET, true, items);
export const oid = (o: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
export const nullValue = (): Asn1 => asn1.create(U, T.NULL, false, '');
export const bool = (v: boolean): Asn1 => asn1.create(U, T.BOOLEAN, false, v ? '\xff' : '\x00');
export const octets = (b: Uint8Array): Asn1 => asn1.create(U, T.OCTETSTRING, false, toBinary(b));
export const utf8 = (s: string): Asn1 => asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(s));
/** A BIT STRING whose contents are whole bytes (signatures, keys). */
export const bits = (b: Uint8Array, unusedBits = 0): Asn1 =>
  asn1.create(U, T.BITSTRING, false, String.fromCharCode(unusedBits) + toBinary(b));
/** An INTEGER from its DER content bytes (two's complement, minimal). */
export const integerBytes = (b: Uint8Array): Asn1 => asn1.create(U, T.INTEGER, false, toBinary(b));
export const smallInteger = (n: number): Asn1 => asn1.create(U, T.INTEGER, false, asn1.integerToDer(n).getBytes());
export const explicit = (tag: number, inner: Asn1): Asn1 => asn1.create(CTX, tag as forge.asn1.Type, true, [inner]);
export const implicitPrimitive = (tag: number, b: string): Asn1 => asn1.create(CTX, tag as forge.asn1.Type, false, b);

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
export function time(d: Date): Asn1 {
  return d.getUTCFullYear() < 2050
    ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

export function readTime(node: Asn1 | undefined): Date {
  if (node?.tagClass === U && node.type === T.UTCTIME) return asn1.utcTimeToDate(node.value as string);
  if (node?.tagClass === U && node.type === T.GENERALIZEDTIME) return asn1.generalizedTimeToDate(node.value as string);
  throw new PkiError('malformed validity time');
}

export function toDer(node: Asn1): Buffer {
  return fromBinary(asn1.toDer(node).getBytes());
}

interface FromDerOptions {
  strict: boolean;
  parseAllBytes: boolean;
  /**
   * forge otherwise tries to parse every BIT STRING as nested ASN.1; we want keys and signatures as
   * plain bytes so that re-encoding is byte-exact.
   */
  decodeBitStrings: boolean;
}
// The JS accepts an options object; @types/node-forge only declares the older boolean form.
const fromDerWithOptions = asn1.fromDer as unknown as (bytes: string, options: FromDerOptions) => Asn1;

/** Strict DER parse of a complete buffer. Errors are reduced to "malformed DER": forge's can quote bytes. */
export function fromDer(der: Uint8Array): Asn1 {
  try {
    return fromDerWithOptions(toBinary(der), { strict: true, parseAllBytes: true, decodeBitStrings: false });
  } catch {
    throw new PkiError('malformed DER');
  }
}

export function children(node: Asn1 | undefined): Asn1[] {
  if (node === undefined || !Array.isArray(node.value)) throw new PkiError('malformed DER: expected a constructed value');
  return node.value;
}

export function bytesOf(node: Asn1 | undefined): Buffer {
  if (node === undefined || typeof node.value !== 'string') throw new PkiError('malformed DER: expected a primitive value');
  return fromBinary(node.value);
}

export function readOid(node: Asn1 | undefined): string {
  if (node?.tagClass !== U || node.type !== T.OID) throw new PkiError('malformed DER: expected an OID');
  return asn1.derToOid(node.value as string);
}

export function isContext(node: Asn1 | undefined, tag: number): boolean {
  return node !== undefined && node.tagClass === CTX && node.type === (tag as forge.asn1.Type);
}

export function isUniversal(node: Asn1 | undefined, type: forge.asn1.Type): boolean {
  return node !== undefined && node.tagClass === U && node.type === type;
}

export { T as Asn1Type };

/** The text of a DirectoryString (UTF8, Printable, IA5, Teletex or BMP). */
export function readString(node: Asn1): string {
  const raw = typeof node.value === 'string' ? node.value : '';
  switch (node.type) {
    case T.UTF8:
      return forge.util.decodeUtf8(raw);
    case T.BMPSTRING:
      return fromBinary(raw).swap16().toString('utf16le');
    default:
      return raw;
  }
}
