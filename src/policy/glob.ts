/**
 * Path globs for vault policies (SPEC P3): `/stripe/*`, `/env/prod-*`, `/**`. A pattern is
 * spelled like a secret path (S1) and read segment by segment, so a glob can never reach across
 * a `/` unless it says `**`.
 *
 * - `**` as a whole segment matches any number of segments, including none.
 * - `*` inside a segment matches one or more characters of that one segment, so a lone `*`
 *   matches exactly one segment and `key_*` matches `key_live` but not `key_`.
 */

import { MAX_DEPTH, MAX_PATH_BYTES, MAX_SEGMENT_CHARS } from '../domains/secrets/secret-path.js';

/** The pattern that covers every secret of a vault, and the only one that grants vault-level actions. */
export const WHOLE_VAULT = '/**';

// The secret-path segment charset (secret-path.ts SEGMENT) plus `*`, which paths never hold.
const PATTERN_SEGMENT = /^[\p{L}\p{M}\p{N}_\-.@+=~:*]+$/u;

const GLOBSTAR = '**';

/** A normalised pattern, or why the input was refused; the reason is safe to show to the caller. */
export type PatternResult = { ok: true; pattern: string } | { ok: false; reason: string };

/**
 * Returns the canonical form of a policy pattern: NFC, one leading `/`, segments joined by `/`,
 * runs of `**` segments collapsed into one (they mean the same). Refuses what
 * `normaliseSecretPath` refuses, and `*` used other than as `**` alone or single `*`s in a segment.
 *
 * @example normalisePattern('stripe/*') // { ok: true, pattern: '/stripe/*' }
 * @example normalisePattern('/a/**b') // { ok: false, reason: '"**" must be a whole segment …' }
 */
export function normalisePattern(input: string): PatternResult {
  if (input.length === 0) return { ok: false, reason: 'the pattern is empty' };
  if (input.length > MAX_PATH_BYTES * 2) {
    return { ok: false, reason: `the pattern is longer than ${MAX_PATH_BYTES} bytes` };
  }
  const nfc = input.normalize('NFC');
  const body = nfc.startsWith('/') ? nfc.slice(1) : nfc;
  if (body.length === 0) return { ok: false, reason: 'the pattern is empty' };
  const segments = body.split('/');
  if (segments.length > MAX_DEPTH) return { ok: false, reason: `the pattern has more than ${MAX_DEPTH} segments` };
  const kept: string[] = [];
  for (const segment of segments) {
    const refused = checkSegment(segment);
    if (refused !== undefined) return { ok: false, reason: refused };
    if (segment === GLOBSTAR && kept[kept.length - 1] === GLOBSTAR) continue;
    kept.push(segment);
  }
  const pattern = `/${kept.join('/')}`;
  if (Buffer.byteLength(pattern, 'utf8') > MAX_PATH_BYTES) {
    return { ok: false, reason: `the pattern is longer than ${MAX_PATH_BYTES} bytes` };
  }
  return { ok: true, pattern };
}

/** Why one pattern segment is refused, or undefined when it is fine. */
function checkSegment(segment: string): string | undefined {
  if (segment.length === 0) return 'the pattern has an empty segment (// or a trailing /)';
  if (segment === '.' || segment === '..') return 'a pattern segment may not be "." or ".."';
  if ([...segment].length > MAX_SEGMENT_CHARS) {
    return `a pattern segment is longer than ${MAX_SEGMENT_CHARS} characters`;
  }
  if (!PATTERN_SEGMENT.test(segment)) {
    return 'a pattern segment may hold only letters, digits, * and the characters _ - . @ + = ~ :';
  }
  if (segment !== GLOBSTAR && segment.includes(GLOBSTAR)) {
    return '"**" must be a whole segment on its own (like /a/**/b); within a segment use a single *';
  }
  return undefined;
}

/** One compiled pattern segment. */
type SegmentMatcher =
  | { readonly kind: 'globstar' }
  | { readonly kind: 'literal'; readonly text: string }
  /** The text around the `*`s: `key_*` is ['key_', '']; always at least two parts, inner ones non-empty. */
  | { readonly kind: 'wildcard'; readonly parts: readonly string[] };

const CACHE_LIMIT = 1000;
const compiled = new Map<string, readonly SegmentMatcher[]>();

/**
 * Whether a normalised secret path matches a normalised pattern. Runs in O(pattern segments ×
 * path segments × segment length), never backtracking exponentially.
 *
 * @example matchesPattern('/stripe/*', '/stripe/key') // true
 * @example matchesPattern('/stripe/*', '/stripe/x/y') // false
 * @example matchesPattern('/stripe/**', '/stripe') // true
 */
export function matchesPattern(pattern: string, path: string): boolean {
  const matchers = compilePattern(pattern);
  const segments = splitSegments(path);
  // reached[j]: the pattern segments seen so far can consume exactly the first j path segments.
  let reached: boolean[] = Array.from({ length: segments.length + 1 }, (_, j) => j === 0);
  for (const matcher of matchers) {
    const next: boolean[] = new Array<boolean>(segments.length + 1).fill(false);
    let any = false;
    for (let j = 0; j <= segments.length; j += 1) {
      let ok: boolean;
      if (matcher.kind === 'globstar') {
        ok = reached[j] === true || (j > 0 && next[j - 1] === true);
      } else {
        ok = j > 0 && reached[j - 1] === true && matchesSegment(matcher, segments[j - 1] ?? '');
      }
      next[j] = ok;
      any ||= ok;
    }
    if (!any) return false;
    reached = next;
  }
  return reached[segments.length] === true;
}

/** Splits a normalised path or pattern into segments (the leading `/` is optional). */
function splitSegments(value: string): string[] {
  const body = value.startsWith('/') ? value.slice(1) : value;
  return body.length === 0 ? [] : body.split('/');
}

/** Compiles a pattern once; the cache is bounded and drops its oldest entry when full. */
function compilePattern(pattern: string): readonly SegmentMatcher[] {
  const cached = compiled.get(pattern);
  if (cached !== undefined) return cached;
  const matchers = splitSegments(pattern).map(compileSegment);
  if (compiled.size >= CACHE_LIMIT) {
    const oldest = compiled.keys().next();
    if (oldest.done !== true) compiled.delete(oldest.value);
  }
  compiled.set(pattern, matchers);
  return matchers;
}

function compileSegment(segment: string): SegmentMatcher {
  if (segment === GLOBSTAR) return { kind: 'globstar' };
  if (!segment.includes('*')) return { kind: 'literal', text: segment };
  return { kind: 'wildcard', parts: segment.split('*') };
}

function matchesSegment(matcher: Exclude<SegmentMatcher, { kind: 'globstar' }>, segment: string): boolean {
  if (matcher.kind === 'literal') return matcher.text === segment;
  return matchesWildcard(matcher.parts, segment);
}

/**
 * Matches `p0*p1*…*pn` against one segment, each `*` taking at least one character. Taking every
 * inner part at its leftmost possible place is optimal, so one left-to-right pass decides.
 * Parts are whole code points, so the gaps they leave are too.
 */
function matchesWildcard(parts: readonly string[], segment: string): boolean {
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!segment.startsWith(first)) return false;
  let position = first.length;
  for (let i = 1; i < parts.length - 1; i += 1) {
    const part = parts[i] ?? '';
    const found = segment.indexOf(part, position + 1);
    if (found < 0) return false;
    position = found + part.length;
  }
  return segment.length - last.length >= position + 1 && segment.endsWith(last);
}
