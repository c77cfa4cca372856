/**
 * The one catalogue of errors the API can answer with. Each code is stable (clients and tests
 * match on it), maps to one HTTP status and a title written for the user, and becomes an
 * RFC 9457 `application/problem+json` body in `plugins/problem.ts`.
 *
 * Messages never carry SQL, stack traces, secret values or internal identifiers.
 */
export const errorCatalogue = {
  // 400
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  INVALID_JSON: { status: 400, title: 'The request body is not valid JSON' },
  INVALID_SECRET_PATH: { status: 400, title: 'The secret path is not valid' },
  INVALID_PRECONDITION: { status: 400, title: 'The If-Match or If-None-Match header is not valid' },
  // 401
  UNAUTHENTICATED: { status: 401, title: 'Authentication is required' },
  // One answer for every failed sign-in (wrong or unknown address, password or code): it never
  // tells which part was wrong, nor whether the account exists (I2).
  SIGN_IN_FAILED: { status: 401, title: 'Sign-in failed' },
  // 403 only where the caller already holds a grant whose condition it did not meet: it
  // reveals nothing about whether the resource exists.
  REASON_REQUIRED: { status: 403, title: 'A reason is required (send it as X-Audit-Reason)' },
  STEP_UP_REQUIRED: { status: 403, title: 'A recent multi-factor authentication is required' },
  SEPARATION_OF_DUTIES: { status: 403, title: 'Separation of duties forbids this' },
  MFA_REQUIRED: { status: 403, title: 'This org requires multi-factor authentication: enrol a second factor' },
  CSRF_FAILED: { status: 403, title: 'The request lacks a valid CSRF token' },
  // 404 — also the answer for another tenant's resource (P1): same status, same body.
  NOT_FOUND: { status: 404, title: 'The resource was not found' },
  ROUTE_NOT_FOUND: { status: 404, title: 'There is no such endpoint' },
  // 409
  CONFLICT: { status: 409, title: 'The resource already exists' },
  VAULT_NOT_EMPTY: { status: 409, title: 'The vault still holds secrets' },
  INVALID_STATE: { status: 409, title: 'The resource is not in a state that allows this' },
  // 410
  SECRET_VERSION_DESTROYED: { status: 410, title: 'That secret version was destroyed' },
  SECRET_EXPIRED: { status: 410, title: 'The secret has expired' },
  // 412
  VERSION_MISMATCH: { status: 412, title: 'The secret changed since the version you named' },
  // 413, 415
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  // 429: `retry_after_seconds` in the body and Retry-After say when to try again.
  TOO_MANY_ATTEMPTS: { status: 429, title: 'Too many failed attempts from here: try again later' },
  RATE_LIMITED: { status: 429, title: 'Too many requests: slow down' },
  // 500
  INTERNAL: { status: 500, title: 'Something went wrong on our side' },
  SECRET_INTEGRITY_FAILED: {
    status: 500,
    title: 'A stored secret failed its integrity check and was not returned',
  },
  // 503
  UNAVAILABLE: { status: 503, title: 'The service is temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error with a catalogue code: the only kind of error services throw on purpose. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra, user-safe members of the problem body (e.g. validation `errors`). */
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { cause?: unknown; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail ?? errorCatalogue[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.extensions = options.extensions ?? {};
  }
}

/** The missing-or-not-yours answer (P1): identical for both, so existence never leaks. */
export function notFound(): AppError {
  return new AppError('NOT_FOUND');
}

/** True when `err` is an AppError with the given code. */
export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
