/**
 * Every failure in src/pki surfaces as a PkiError. The message names the certificate or Secret
 * involved (the `what` label supplied by the caller) and never the PEM or key material: those
 * messages end up in logs, events and status conditions (DESIGN.md §4).
 *
 * We deliberately do not chain the underlying error as `cause`: errors thrown by parsers may carry
 * the bytes they choked on, and a `cause` is serialised by most loggers.
 */
export class PkiError extends Error {
  override readonly name = 'PkiError';

  constructor(
    message: string,
    /** Which certificate, key or Secret this is about, e.g. "Secret kcp/root-ca key tls.key". */
    readonly what?: string,
  ) {
    super(what === undefined ? message : `${what}: ${message}`);
  }
}

/**
 * A short, material-free description of an underlying error. OpenSSL errors carry stable codes and
 * reasons; anything else is reduced to its class name, because its message might quote input.
 */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; reason?: unknown };
    if (typeof e.code === 'string' && e.code.startsWith('ERR_')) {
      return typeof e.reason === 'string' ? `${e.code} (${e.reason})` : e.code;
    }
    return err.name;
  }
  return typeof err;
}
