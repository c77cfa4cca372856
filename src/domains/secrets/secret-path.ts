/**
 * Secret paths (S1): `/integrations/stripe/api_key`. One canonical spelling per secret, so that
 * policies (path globs, next issue) and lookups can never disagree about which secret is meant.
 */

export const MAX_PATH_BYTES = 512;
export const MAX_SEGMENT_CHARS = 128;
export const MAX_DEPTH = 32;

// Letters and digits of any script (after NFC), and a few separators. No spaces, no control or
// format characters, no `*` (reserved for policy globs), no `\`, no `%`.
const SEGMENT = /^[\p{L}\p{M}\p{N}_\-.@+=~:]+$/u;

/** Why a path was refused; the reason is safe to show to the caller. */
export type PathResult = { ok: true; path: string } | { ok: false; reason: string };

/**
 * Returns the canonical form of a secret path: NFC, one leading `/`, segments joined by `/`.
 * A leading `/` is optional on input; empty segments (`a//b`, a trailing `/`), `.` and `..`,
 * characters outside the allowed set and over-long paths are refused.
 *
 * @example normaliseSecretPath('integrations/stripe/api_key') // { ok: true, path: '/integrations/stripe/api_key' }
 * @example normaliseSecretPath('/a/../b') // { ok: false, reason: 'a path segment may not be "." or ".."' }
 */
export function normaliseSecretPath(input: string): PathResult {
  if (input.length === 0) return { ok: false, reason: 'the path is empty' };
  if (input.length > MAX_PATH_BYTES * 2) return { ok: false, reason: `the path is longer than ${MAX_PATH_BYTES} bytes` };
  const nfc = input.normalize('NFC');
  const body = nfc.startsWith('/') ? nfc.slice(1) : nfc;
  if (body.length === 0) return { ok: false, reason: 'the path is empty' };
  const segments = body.split('/');
  if (segments.length > MAX_DEPTH) return { ok: false, reason: `the path has more than ${MAX_DEPTH} segments` };
  for (const segment of segments) {
    if (segment.length === 0) return { ok: false, reason: 'the path has an empty segment (// or a trailing /)' };
    if (segment === '.' || segment === '..') return { ok: false, reason: 'a path segment may not be "." or ".."' };
    if ([...segment].length > MAX_SEGMENT_CHARS) {
      return { ok: false, reason: `a path segment is longer than ${MAX_SEGMENT_CHARS} characters` };
    }
    if (!SEGMENT.test(segment)) {
      return {
        ok: false,
        reason: 'a path segment may hold only letters, digits and the characters _ - . @ + = ~ :',
      };
    }
  }
  const path = `/${segments.join('/')}`;
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) {
    return { ok: false, reason: `the path is longer than ${MAX_PATH_BYTES} bytes` };
  }
  return { ok: true, path };
}

/**
 * Normalises a path prefix for listing: like a path, but empty (everything) is allowed and a
 * trailing `/` is ignored. Returns undefined when the prefix is not a valid path.
 */
export function normalisePathPrefix(input: string): string | undefined {
  const trimmed = input.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '/';
  const result = normaliseSecretPath(trimmed);
  return result.ok ? result.path : undefined;
}
