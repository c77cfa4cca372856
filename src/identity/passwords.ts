/**
 * Passwords: the rules a new password must meet, argon2id hashing, and verification of both our
 * own hashes and bcrypt/argon2id hashes imported from another system.
 *
 * Rules follow OWASP ASVS 5.0 V6.2 (and NIST SP 800-63B §3.1.1.2): at least 8 characters, at
 * least 64 allowed, no composition rules, no truncation, and a check against a list of common
 * passwords. Length is counted in Unicode code points after NFKC normalisation, so an emoji is
 * one character and a full-width "ｐａｓｓ" is the same password as "pass" on every device.
 *
 * The common-password list (`data/common-passwords.txt`, one per line, lower-case, only entries
 * of 8 to 128 code points since shorter ones are refused anyway) is the `passwords` dictionary of
 * the npm package `@zxcvbn-ts/language-common` 4.1.3 (zxcvbn's frequency-ranked list of passwords
 * seen in leaks), NFKC-normalised, lower-cased and de-duplicated in the source's order: 17,950
 * entries. Licence: MIT — Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.; Copyright (c)
 * 2021 @zxcvbn-ts. The package is not a dependency; only the derived list ships.
 *
 * Callers bound the length of what they pass here (route schemas); nothing in this module logs or
 * puts a password or a hash in an error.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/** Fewest code points a password may have (ASVS 5.0 6.2.1: at least 8). */
export const PASSWORD_MIN = 8;
/** Most code points a password may have: ASVS 6.2.9 asks that at least 64 be allowed; 128 leaves room for passphrases while bounding hashing input. */
export const PASSWORD_MAX = 128;

/**
 * argon2id parameters for new hashes: OWASP Password Storage Cheat Sheet's first configuration
 * (m = 19 MiB, t = 2, p = 1), with a 32-byte output. Stored hashes weaker than this are flagged
 * for rehashing at the next successful sign-in, so raising these values upgrades users over time.
 */
export const ARGON2_PARAMS = Object.freeze({
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
});

// The library generates 16-byte salts (RFC 9106 §3.1 recommends 16).
const ARGON2_SALT_BYTES = 16;
// `Algorithm` is an ambient const enum, which isolatedModules cannot read; 2 is its Argon2id.
const ARGON2ID: Algorithm = 2;

/**
 * Upper bounds on the parameters of a stored argon2id hash we agree to verify. The parameters
 * live in the stored text, so without a bound one imported hash could make every sign-in attempt
 * for that account allocate gigabytes or run for minutes. 1 GiB and t = 10 exceed libsodium's
 * "sensitive" preset (1 GiB, t = 4), the strongest common configuration.
 */
const ARGON2_LIMITS = Object.freeze({ maxMemoryCost: 1_048_576, maxTimeCost: 10, maxParallelism: 16 });

// PHC string format (github.com/P-H-C/phc-string-format): an absent `v=` means version 0x10.
const ARGON2ID_PHC = /^\$argon2id\$(?:v=(16|19)\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,86})\$([A-Za-z0-9+/]{16,86})$/;
// Modular crypt format: $2a$/$2b$/$2y$, two-digit cost, 22 characters of salt, 31 of hash.
const BCRYPT_MCF = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
// bcrypt's cost is log2 of its rounds; the algorithm defines 4..31, but past 16 one check takes
// seconds to minutes of CPU (bcryptjs is pure JavaScript): an imported hash that costly would
// let anyone tie the server up by guessing at that account, so it is not accepted.
const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 16;

/** Why a password was refused: too few or too many code points, or found in the common list. */
export type PasswordRuleResult = { ok: true } | { ok: false; reason: 'too_short' | 'too_long' | 'common' };

/** What {@link verifyPassword} learned: whether the password matched and whether the stored hash should be replaced. */
export interface PasswordVerification {
  ok: boolean;
  needsRehash: boolean;
}

type StoredHash =
  | { kind: 'argon2id'; version: 16 | 19; memoryCost: number; timeCost: number; saltBytes: number; outputBytes: number }
  | { kind: 'bcrypt'; cost: number };

/**
 * The canonical form of a password: NFKC, so compatibility variants a keyboard or IME may
 * produce (full-width letters, ligatures, composed vs decomposed accents) are one password.
 * Case is kept: it is part of the password.
 *
 * @example normalizePassword('ｐａｓｓ') === 'pass'
 */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

function codePointCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

let commonPasswords: ReadonlySet<string> | undefined;

function loadCommonPasswords(): ReadonlySet<string> {
  // Read once, on first use, so importing this module costs nothing. A missing file throws:
  // silently accepting common passwords would be worse than a loud deployment error.
  if (commonPasswords === undefined) {
    const text = readFileSync(new URL('./data/common-passwords.txt', import.meta.url), 'utf8');
    commonPasswords = new Set(text.split('\n').filter((line) => line.length > 0));
  }
  return commonPasswords;
}

/**
 * Checks a new password against the rules (ASVS 5.0 V6.2): 8..128 code points after NFKC, and
 * not in the shipped common-password list (compared lower-cased, so "PassWord123" is refused
 * like "password123"). No composition rules: ASVS 6.2.5 and NIST advise against them.
 *
 * @param password the password as the user typed it.
 * @returns `{ ok: true }`, or the first rule it breaks.
 * @example checkPasswordRules('password123') // { ok: false, reason: 'common' }
 */
export function checkPasswordRules(password: string): PasswordRuleResult {
  // Cheap early refusal before normalising a huge input: NFKC composes at most about 4 code
  // units into 1 (e.g. U+1F86), so nothing longer than 8× the maximum can end up within it.
  if (password.length > PASSWORD_MAX * 8) return { ok: false, reason: 'too_long' };
  const normalized = normalizePassword(password);
  const length = codePointCount(normalized);
  if (length < PASSWORD_MIN) return { ok: false, reason: 'too_short' };
  if (length > PASSWORD_MAX) return { ok: false, reason: 'too_long' };
  if (loadCommonPasswords().has(normalized.toLowerCase())) return { ok: false, reason: 'common' };
  return { ok: true };
}

/**
 * Hashes a password with argon2id and {@link ARGON2_PARAMS}, as a PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) that carries its own salt and parameters,
 * so later policy changes can tell old hashes apart. The input is NFKC-normalised first.
 *
 * Checking the rules is the caller's job ({@link checkPasswordRules}); this only hashes.
 */
export function hashPassword(password: string): Promise<string> {
  return argon2Hash(normalizePassword(password), { ...ARGON2_PARAMS, algorithm: ARGON2ID });
}

function base64Bytes(length: number): number {
  return Math.floor((length * 3) / 4);
}

function parseArgon2id(text: string): StoredHash | undefined {
  const match = ARGON2ID_PHC.exec(text);
  if (!match) return undefined;
  const [, version, m, t, p, salt, output] = match;
  const memoryCost = Number(m);
  const timeCost = Number(t);
  const parallelism = Number(p);
  // RFC 9106 §3.1: m ≥ 8·p; t ≥ 1; p ≥ 1. Above the limits, refuse rather than run.
  if (parallelism < 1 || parallelism > ARGON2_LIMITS.maxParallelism) return undefined;
  if (memoryCost < 8 * parallelism || memoryCost > ARGON2_LIMITS.maxMemoryCost) return undefined;
  if (timeCost < 1 || timeCost > ARGON2_LIMITS.maxTimeCost) return undefined;
  return {
    kind: 'argon2id',
    version: version === '19' ? 19 : 16,
    memoryCost,
    timeCost,
    saltBytes: base64Bytes((salt as string).length),
    outputBytes: base64Bytes((output as string).length),
  };
}

function parseBcrypt(text: string): StoredHash | undefined {
  const match = BCRYPT_MCF.exec(text);
  if (!match) return undefined;
  const cost = Number(match[1]);
  if (cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) return undefined;
  return { kind: 'bcrypt', cost };
}

function parseStoredHash(text: unknown): StoredHash | undefined {
  if (typeof text !== 'string') return undefined;
  return parseArgon2id(text) ?? parseBcrypt(text);
}

/**
 * Whether `text` is a password hash Strongroom can take over from another system: an argon2id
 * PHC string (version 16 or 19, parameters within bounds that keep one verification under 1 GiB
 * and 10 passes), or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`, cost 4..31, 60 characters). Used by
 * the import command to refuse anything {@link verifyPassword} would never accept.
 *
 * @example isImportableHash('$2y$10$' + 'a'.repeat(53)) // true
 */
export function isImportableHash(text: string): boolean {
  return parseStoredHash(text) !== undefined;
}

function argon2NeedsRehash(stored: Extract<StoredHash, { kind: 'argon2id' }>): boolean {
  // Only weaker hashes are replaced: an imported hash stronger than our policy stays as it is.
  return (
    stored.version !== 19 ||
    stored.memoryCost < ARGON2_PARAMS.memoryCost ||
    stored.timeCost < ARGON2_PARAMS.timeCost ||
    stored.outputBytes < ARGON2_PARAMS.outputLen ||
    stored.saltBytes < ARGON2_SALT_BYTES
  );
}

// The forms of a password to try, in order. Our hashes are of the NFKC form; a system we
// imported from probably hashed what the user typed. Both are tried (when they differ), so the
// number of verifications depends only on the password, never on which account it is for.
function candidates(password: string, preferTyped: boolean): string[] {
  const normalized = normalizePassword(password);
  if (normalized === password) return [password];
  return preferTyped ? [password, normalized] : [normalized, password];
}

async function argon2Matches(storedHash: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(storedHash, password);
  } catch {
    // Malformed base64 and the like: bad stored data is a non-match, never an exception.
    return false;
  }
}

async function bcryptMatches(storedHash: string, password: string): Promise<boolean> {
  try {
    return await bcrypt.compare(password, storedHash);
  } catch {
    return false;
  }
}

// The first form of the password that matches, or undefined. Stops at a match: success may be
// faster than failure, which reveals nothing the caller does not learn anyway.
async function findMatch(tries: string[], matches: (password: string) => Promise<boolean>): Promise<string | undefined> {
  for (const attempt of tries) {
    if (await matches(attempt)) return attempt;
  }
  return undefined;
}

let dummyHash: Promise<string> | undefined;

function getDummyHash(): Promise<string> {
  // Made once, on first use, from random bytes nobody knows, with the current parameters so a
  // dummy verification costs what a real one does. The promise is kept so concurrent first
  // calls share one hash.
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummyHash;
}

/**
 * Spends the time of a failed argon2 verification without an account, so "no such user" and
 * "wrong password" take the same time (user enumeration, ASVS 5.0 V6.3). Runs as many
 * verifications as {@link verifyPassword} would for this password against an argon2id hash.
 */
export async function verifyAgainstDummy(password: string): Promise<void> {
  const stored = await getDummyHash();
  await findMatch(candidates(password, false), (attempt) => argon2Matches(stored, attempt));
}

/**
 * Checks a password against a stored hash. Accepts our argon2id PHC strings and hashes imported
 * from other systems (argon2id, or bcrypt `$2a$`/`$2b$`/`$2y$`). On success, `needsRehash` says
 * the stored hash is bcrypt, weaker than {@link ARGON2_PARAMS}, or of the password as typed rather
 * than its NFKC form: the caller should then store `hashPassword(password)` in its place.
 *
 * bcrypt only reads the first 72 bytes of UTF-8: for an imported bcrypt hash a password that
 * shares those 72 bytes also matches. That is the imported system's own behaviour, kept so its
 * users can sign in; it ends at the first successful sign-in, when the hash becomes argon2id.
 *
 * Never throws on bad stored data: an unknown format, out-of-bounds parameters, or `null` (an
 * account without a password) give `ok: false` after a dummy verification, so they take the same
 * time as a wrong password.
 *
 * @param password the password as typed (normalised here).
 * @param storedHash the stored hash text, or null/undefined when the account has none.
 */
export async function verifyPassword(password: string, storedHash: string | null | undefined): Promise<PasswordVerification> {
  const stored = parseStoredHash(storedHash);
  if (stored === undefined || typeof storedHash !== 'string') {
    await verifyAgainstDummy(password);
    return { ok: false, needsRehash: false };
  }
  if (stored.kind === 'bcrypt') {
    const match = await findMatch(candidates(password, true), (attempt) => bcryptMatches(storedHash, attempt));
    return { ok: match !== undefined, needsRehash: match !== undefined };
  }
  const match = await findMatch(candidates(password, false), (attempt) => argon2Matches(storedHash, attempt));
  if (match === undefined) return { ok: false, needsRehash: false };
  // A match on the typed (non-NFKC) form is an imported hash: store the canonical form instead.
  return { ok: true, needsRehash: argon2NeedsRehash(stored) || match !== normalizePassword(password) };
}
