import { z } from 'zod';

/**
 * Shared building blocks of request schemas. Every string a request can store is bounded and
 * is text PostgreSQL can keep as it was sent: no NUL (text and jsonb refuse it) and no lone
 * UTF-16 surrogate (it cannot be encoded, so it would come back changed).
 */

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` is well-formed UTF-16 (encodes to UTF-8 and back unchanged). */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** Free text of at most `max` characters: well-formed, no control characters but tab and newlines. */
export function text(max: number) {
  return z
    .string()
    .max(max)
    .refine(isWellFormed, 'must be valid Unicode text (no lone surrogates)')
    .refine((s) => !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s), 'must not contain control characters');
}

/**
 * A one-line name: NFC, trimmed, 1 to `max` characters, no control characters at all. NFC so
 * that two spellings of one name are one name (uniqueness is by lower-cased text).
 */
export function name(max: number) {
  return z
    .string()
    .max(max * 4)
    .refine(isWellFormed, 'must be valid Unicode text (no lone surrogates)')
    .transform((s) => s.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(1)
        .max(max)
        .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters'),
    );
}

const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(10000, 0, 1);

const OFFSET = /([+-])(\d{2}):(\d{2})$/;

/** Real time zones lie between -12:00 and +14:00; a larger offset is a mistake, not a zone. */
function plausibleOffset(s: string): boolean {
  const m = OFFSET.exec(s);
  if (!m) return true; // `Z`
  return Number(m[2]) * 60 + Number(m[3]) <= 14 * 60;
}

/**
 * An RFC 3339 timestamp with an offset, turned into UTC (`…Z`) before it reaches the database,
 * between 1970 and 9999 and with an offset no larger than ±14:00: PostgreSQL refuses offsets
 * past ±15:59 and years before 1.
 */
export const timestamp = z.iso
  .datetime({ offset: true })
  .refine(plausibleOffset, 'must have a time-zone offset between -14:00 and +14:00')
  .refine((s) => {
    const ms = Date.parse(s);
    return Number.isFinite(ms) && ms >= EARLIEST && ms < LATEST;
  }, 'must be a time between 1970 and 9999')
  .transform((s) => new Date(s).toISOString());

/** A query string that takes no parameters: unknown ones are refused, not ignored. */
export const noQuery = z.object({}).strict();
