import { createHash, createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCb } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { inspect, promisify } from 'node:util';
import { PkiError, describeError } from './errors.js';

export type KeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519';

/**
 * PEM encoding of the private key, named as in cert-manager / kcp-operator's
 * `certificateTemplates.*.spec.privateKey.encoding`:
 * - PKCS8: "PRIVATE KEY" for every algorithm (our default).
 * - PKCS1: "RSA PRIVATE KEY" for RSA and SEC1 "EC PRIVATE KEY" for ECDSA (what cert-manager calls
 *   PKCS1); Ed25519 has no such form and is always PKCS#8.
 * kube-apiserver, kcp and Go's tls.X509KeyPair read all of these.
 */
export type KeyEncoding = 'PKCS1' | 'PKCS8';

export interface KeySpec {
  algorithm: KeyAlgorithm;
  /** RSA modulus bits (default 2048), or ECDSA curve size 256 | 384 | 521 (default 256). Ignored for Ed25519. */
  size?: number;
  /** Default PKCS8. */
  encoding?: KeyEncoding;
}

export interface ResolvedKeySpec {
  readonly algorithm: KeyAlgorithm;
  /** RSA bits, ECDSA curve size; 256 for Ed25519 (informational). */
  readonly size: number;
  readonly encoding: KeyEncoding;
}

/** Chosen from test/bench/results/pki.md: see there for the measurement behind it. */
export const DEFAULT_KEY_SPEC: ResolvedKeySpec = Object.freeze({ algorithm: 'ECDSA', size: 256, encoding: 'PKCS8' });

export const DEFAULT_RSA_BITS = 2048;
export const DEFAULT_ECDSA_SIZE = 256;

const CURVES: Readonly<Record<number, string>> = { 256: 'prime256v1', 384: 'secp384r1', 521: 'secp521r1' };
const CURVE_SIZES: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** Validates a spec and fills in defaults. Throws PkiError for sizes Go or cert-manager would refuse. */
export function resolveKeySpec(spec: KeySpec = DEFAULT_KEY_SPEC): ResolvedKeySpec {
  const encoding = spec.encoding ?? 'PKCS8';
  if (encoding !== 'PKCS1' && encoding !== 'PKCS8') {
    throw new PkiError(`unsupported private key encoding ${JSON.stringify(encoding)}`);
  }
  switch (spec.algorithm) {
    case 'RSA': {
      const size = spec.size === undefined || spec.size === 0 ? DEFAULT_RSA_BITS : spec.size;
      // Same bounds as cert-manager: below 2048 is refused by modern verifiers, above 8192 is absurdly slow.
      if (!Number.isInteger(size) || size < 2048 || size > 8192) {
        throw new PkiError(`RSA key size must be an integer between 2048 and 8192, got ${size}`);
      }
      return { algorithm: 'RSA', size, encoding };
    }
    case 'ECDSA': {
      const size = spec.size === undefined || spec.size === 0 ? DEFAULT_ECDSA_SIZE : spec.size;
      if (CURVES[size] === undefined) {
        throw new PkiError(`ECDSA key size must be 256, 384 or 521, got ${size}`);
      }
      return { algorithm: 'ECDSA', size, encoding };
    }
    case 'Ed25519':
      return { algorithm: 'Ed25519', size: 256, encoding: 'PKCS8' };
    default:
      throw new PkiError(`unsupported key algorithm ${JSON.stringify((spec as { algorithm: unknown }).algorithm)}`);
  }
}

/**
 * A private key with its public half. The PEM is held in a private field and the object
 * serialises (JSON, util.inspect, pino) without it, so that logging a KeyPair by accident leaks
 * nothing.
 */
export class KeyPair {
  readonly #privateKeyPem: string;

  constructor(
    readonly spec: ResolvedKeySpec,
    readonly privateKey: KeyObject,
    readonly publicKey: KeyObject,
    privateKeyPem: string,
  ) {
    this.#privateKeyPem = privateKeyPem;
  }

  /** The private key as PEM, in `spec.encoding`: what goes into a Secret's `tls.key`. */
  get privateKeyPem(): string {
    return this.#privateKeyPem;
  }

  /** SubjectPublicKeyInfo PEM ("PUBLIC KEY"). */
  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo; comparable with parseCertificate().publicKeyFingerprint. */
  get publicKeyFingerprint(): string {
    return publicKeyFingerprint(this.publicKey);
  }

  toJSON(): { spec: ResolvedKeySpec; publicKeyFingerprint: string } {
    return { spec: this.spec, publicKeyFingerprint: this.publicKeyFingerprint };
  }

  [inspect.custom](): string {
    return `KeyPair(${this.spec.algorithm}-${this.spec.size}, spki sha256 ${this.publicKeyFingerprint.slice(0, 16)}…)`;
  }
}

export function publicKeyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

const generateKeyPairAsync = promisify(generateKeyPairCb);

/** Generates a key on libuv's thread pool, so an RSA key never blocks the event loop. */
export async function generateKeyPair(spec: KeySpec = DEFAULT_KEY_SPEC): Promise<KeyPair> {
  const resolved = resolveKeySpec(spec);
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  switch (resolved.algorithm) {
    case 'RSA':
      pair = await generateKeyPairAsync('rsa', { modulusLength: resolved.size, publicExponent: 0x10001 });
      break;
    case 'ECDSA':
      pair = await generateKeyPairAsync('ec', { namedCurve: CURVES[resolved.size] as string });
      break;
    case 'Ed25519':
      pair = await generateKeyPairAsync('ed25519');
      break;
  }
  return new KeyPair(resolved, pair.privateKey, pair.publicKey, exportPrivateKey(pair.privateKey, resolved));
}

function exportPrivateKey(key: KeyObject, spec: ResolvedKeySpec): string {
  if (spec.encoding === 'PKCS1' && spec.algorithm === 'RSA') {
    return key.export({ type: 'pkcs1', format: 'pem' }).toString();
  }
  if (spec.encoding === 'PKCS1' && spec.algorithm === 'ECDSA') {
    return key.export({ type: 'sec1', format: 'pem' }).toString();
  }
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The algorithm and size of a key (private or public). Throws PkiError for key types we do not issue. */
export function keySpecOf(key: KeyObject, encoding: KeyEncoding = 'PKCS8'): ResolvedKeySpec {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: 'RSA', size: details.modulusLength ?? 0, encoding };
    case 'ec': {
      const size = CURVE_SIZES[details.namedCurve ?? ''];
      if (size === undefined) throw new PkiError(`unsupported elliptic curve ${details.namedCurve ?? 'unknown'}`);
      return { algorithm: 'ECDSA', size, encoding };
    }
    case 'ed25519':
      return { algorithm: 'Ed25519', size: 256, encoding: 'PKCS8' };
    default:
      throw new PkiError(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/**
 * Loads a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC; unencrypted). `what` names the key in
 * errors, e.g. "Secret kcp/root-ca key tls.key"; the PEM itself is never quoted.
 */
export function loadPrivateKey(pem: string, what?: string): KeyPair {
  if (typeof pem !== 'string' || !/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(pem)) {
    throw new PkiError('not an unencrypted PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)', what);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new PkiError(`cannot parse private key: ${describeError(err)}`, what);
  }
  const encoding: KeyEncoding = /-----BEGIN (RSA|EC) PRIVATE KEY-----/.test(pem) ? 'PKCS1' : 'PKCS8';
  let spec: ResolvedKeySpec;
  try {
    spec = keySpecOf(privateKey, encoding);
  } catch (err) {
    throw new PkiError(err instanceof PkiError ? err.message : 'unsupported key', what);
  }
  return new KeyPair(spec, privateKey, createPublicKey(privateKey), pem);
}
