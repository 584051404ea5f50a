// API errors carry the HTTP status and the Status reason, and never the request or response body
// of a Secret: messages come only from the server's Status message, which does not echo data.

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly retryAfterSeconds: number | undefined;
  readonly details: unknown;

  constructor(code: number, reason: string, message: string, retryAfterSeconds?: number, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
    this.details = details;
  }
}

/** Thrown by reconcilers for errors that retrying cannot fix (controller-runtime's TerminalError). */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

const codeOf = (err: unknown): number | undefined => (err instanceof ApiError ? err.code : undefined);

export const isNotFound = (err: unknown): boolean => codeOf(err) === 404;
export const isConflict = (err: unknown): boolean => codeOf(err) === 409 && (err as ApiError).reason !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean =>
  codeOf(err) === 409 && (err as ApiError).reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => codeOf(err) === 410;
export const isForbidden = (err: unknown): boolean => codeOf(err) === 403;
/**
 * The server will never accept this object as it is: a 422, or the 500 server-side apply answers
 * for an object its schema cannot merge (duplicate keys in a list keyed by name, for instance),
 * which retrying cannot fix either.
 */
export const isInvalid = (err: unknown): boolean =>
  codeOf(err) === 422 || (codeOf(err) === 500 && /failed to create typed patch object/.test((err as ApiError).message));

// Socket errors of a server that is away (restarting, down, unreachable), as Node reports them.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * The API server is away or overloaded, through no fault of the request: retry soon (and keep
 * retrying at that pace) rather than with a backoff that grows for as long as the outage lasts,
 * so that work resumes within about a second of the server being back.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof ApiError) return err.code === 429 || err.code === 502 || err.code === 503 || err.code === 504;
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/** How often work blocked by an unavailable API server is retried (informers and work queues). */
export const UNAVAILABLE_RETRY_MS = 1000;

/** A short, key-free description of any error, for logs, events and status. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code} ${err.reason}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
