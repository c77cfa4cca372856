import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are never logged, at any depth (O2). */
const SECRET_KEYS = new Set([
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'value',
  'token',
  'access_token',
  'refresh_token',
  'api_key',
  'password',
  'secret',
  'client_secret',
  'otp',
  'root_key',
  'private_key',
]);

const REDACTED = '[redacted]';
// Bounded quantifiers keep every pattern linear in the text's length: an unbounded `[...]+@`
// backtracks quadratically over a long run of letters.
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g;
// International numbers (+44 20 7946 0958) and North American ones ((555) 123-4567,
// 555-123-4567). Narrow on purpose: dates and UUIDs must stay readable.
const PHONE = /\+\d[\d\s().-]{6,20}\d|\(\d{3}\)\s?\d{3}-\d{4}|\b\d{3}[-.]\d{3}[-.]\d{4}\b/g;
// Tokens we issue, should one be pasted somewhere it does not belong (e.g. a path).
const OUR_TOKEN = /\bsr_[a-z]{1,16}_[A-Za-z0-9_-]{20,200}/g;
// JSON Web Tokens (agent access tokens): a base64url JSON header, always starting `eyJ`.
const JWT = /\beyJ[A-Za-z0-9_-]{4,4096}\.[A-Za-z0-9_-]{2,8192}\.[A-Za-z0-9_-]{0,1024}/g;
const MAX_DEPTH = 8;
/** Longer strings are cut: nothing we mean to log is this long, and a value might be. */
const MAX_STRING = 2048;

/** Replaces e-mail addresses, phone numbers and our tokens inside free text; cuts long text. */
export function scrubText(text: string): string {
  const cut = text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}…[truncated]` : text;
  return cut.replace(OUR_TOKEN, REDACTED).replace(JWT, REDACTED).replace(EMAIL, '[email]').replace(PHONE, '[phone]');
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Deep copy of a log record with secret keys redacted and personal data scrubbed from text.
 * Only plain objects and arrays are walked; other objects (a request, an error) are left for
 * the serializers below, which pick the few fields worth logging.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => scrub(v, depth + 1));
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.has(k.toLowerCase()) ? REDACTED : scrub(v, depth + 1);
  }
  return out;
}

/** What is logged of a request: never headers, query values or body. */
function serializeRequest(req: { method?: string; url?: string; routeOptions?: { url?: string } }): Record<string, unknown> {
  return {
    method: req.method,
    // The route pattern, plus the path with the query string cut off (it may carry values),
    // decoded first so an escaped e-mail address (%40) is scrubbed like a plain one.
    route: req.routeOptions?.url,
    path: scrubText(decodePath((req.url ?? '').split('?')[0] ?? '')),
  };
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function serializeResponse(res: { statusCode?: number }): Record<string, unknown> {
  return { statusCode: res.statusCode };
}

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return scrub(err);
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  return {
    type: e.name,
    message: scrubText(e.message),
    code: typeof e.code === 'string' ? e.code : undefined,
    statusCode: typeof e.statusCode === 'number' ? e.statusCode : undefined,
    stack: e.stack === undefined ? undefined : scrubText(e.stack),
    cause: e.cause instanceof Error ? { type: e.cause.name, message: scrubText(e.cause.message) } : undefined,
  };
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: string;
  /** Where the JSON lines go; stdout by default. Tests pass a stream to scan the output. */
  destination?: DestinationStream;
}

/**
 * The JSON logger (pino). Every record passes through {@link scrub}: authorization headers,
 * tokens and `value` fields are redacted by key; e-mail addresses and phone numbers by pattern,
 * in messages too.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: 'strongroom' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        req: serializeRequest,
        res: serializeResponse,
        err: serializeError,
        // pino builds `msg` itself (from an error's message, or %s/%j interpolation), after
        // formatters.log has run: scrub it here too.
        msg: (m: unknown) => (typeof m === 'string' ? scrubText(m) : m),
      },
      formatters: {
        log: (record) => scrub(record) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // The first argument is the merging object or the message; the rest are interpolated
          // into the message, so each is scrubbed like a record.
          const scrubbed = args.map((a, i) => (typeof a === 'string' ? scrubText(a) : i === 0 ? a : scrub(a))) as typeof args;
          method.apply(this, scrubbed);
        },
      },
    },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
