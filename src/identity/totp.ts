/**
 * Second factors that need no server round trip to a third party: time-based one-time passwords
 * (RFC 6238 TOTP over RFC 4226 HOTP) and single-use recovery codes. Pure: no I/O, no config, no
 * clock reads (the caller passes `now`), only `node:crypto` primitives — the HOTP arithmetic is
 * small enough that an OTP library would add supply-chain risk without removing any.
 *
 * Single use is the caller's half of the contract: {@link verifyTotp} returns the step it
 * matched, the caller stores it as `last_step`, and passes it back as `lastUsedStep` next time;
 * every step at or before it is refused, so a code cannot be replayed inside its window.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** HMAC functions RFC 6238 §1.2 allows; SHA-1 is what every authenticator app supports. */
export type TotpAlgorithm = 'sha1' | 'sha256' | 'sha512';
/** Code lengths we issue and accept (RFC 4226 §5.3 requires at least 6). */
export type TotpDigits = 6 | 8;

/** Options shared by code generation and verification. */
export interface TotpOptions {
  /** Code length; 6 by default, which is what authenticator apps show. */
  digits?: TotpDigits;
  /** HMAC hash; SHA-1 by default (HMAC-SHA-1 is not weakened by SHA-1 collisions). */
  algorithm?: TotpAlgorithm;
}

/** Secret length: 160 bits, the length RFC 4226 §4 (R6) recommends. */
export const TOTP_SECRET_BYTES = 20;
/** Time step X of RFC 6238 §5.2: 30 seconds balances usability and exposure. */
export const DEFAULT_PERIOD_SECONDS = 30;
/** Steps accepted either side of now: one absorbs clock skew and a slow typist (RFC 6238 §5.2). */
export const DEFAULT_WINDOW = 1;
/** Recovery codes handed out at once. */
export const RECOVERY_CODE_COUNT = 10;
/** Random bytes per recovery code: 80 bits, exactly 16 base32 characters. */
export const RECOVERY_CODE_BYTES = 10;

const DEFAULT_DIGITS: TotpDigits = 6;
const DEFAULT_ALGORITHM: TotpAlgorithm = 'sha1';
// A wider window would multiply the guessing odds per attempt for no real usability gain.
const MAX_WINDOW = 10;
const MAX_RECOVERY_CODES = 100;
const RECOVERY_CODE_PREFIX = 'strongroom:recovery-code:v1:';
const RECOVERY_CODE = /^[a-z2-7]{16}$/;

// RFC 4648 §6, the base32 alphabet authenticator apps expect in otpauth URIs.
const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32_VALUES: ReadonlyMap<string, number> = new Map(
  [...BASE32_ALPHABET].map((char, value) => [char, value]),
);
// Characters a final base32 quantum can leave behind (RFC 4648 §6: 1..5 bytes → 2,4,5,7,8).
const VALID_TAIL_LENGTHS: ReadonlySet<number> = new Set([0, 2, 4, 5, 7]);

/**
 * Encodes bytes as RFC 4648 §6 base32, upper case, without `=` padding — the form
 * authenticator apps accept in an otpauth URI and users can type from a setup screen.
 *
 * @example base32Encode(new TextEncoder().encode('foobar')) // 'MZXW6YTBOI'
 */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >>> bits) & 31];
    }
  }
  // The last quantum is padded with zero bits on the right (RFC 4648 §6 step 2).
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * Decodes RFC 4648 §6 base32 typed or pasted by a person: lower case, whitespace and trailing
 * `=` padding are accepted. Anything else is refused rather than skipped, so a mistyped secret
 * fails loudly instead of silently becoming a different key. Non-canonical input (a length no
 * encoder produces, or non-zero spare bits, RFC 4648 §3.5) is refused for the same reason.
 *
 * @throws {RangeError} on an invalid character or length; the message never echoes the input,
 *   which may be a secret.
 * @example base32Decode('mzxw 6ytb oi==') // bytes of 'foobar'
 */
export function base32Decode(text: string): Uint8Array {
  const chars = text.replace(/\s+/g, '').replace(/=+$/, '').toUpperCase();
  if (!VALID_TAIL_LENGTHS.has(chars.length % 8)) throw new RangeError('invalid base32 length');
  const out = new Uint8Array(Math.floor((chars.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of chars) {
    const value = BASE32_VALUES.get(char);
    if (value === undefined) throw new RangeError('invalid base32 character');
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >>> bits) & 0xff;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) throw new RangeError('non-canonical base32 input');
  return out;
}

/**
 * A fresh TOTP shared secret from the CSPRNG: 20 bytes, the 160 bits RFC 4226 §4 (R6)
 * recommends and the HMAC-SHA-1 block-friendly length authenticator apps expect.
 *
 * @returns a new buffer; the caller wraps it with the KMS before storing it.
 */
export function generateTotpSecret(): Uint8Array {
  return new Uint8Array(randomBytes(TOTP_SECRET_BYTES));
}

function assertSecret(secret: Uint8Array): void {
  // An empty key would make every code predictable; the message names no key material.
  if (!(secret instanceof Uint8Array) || secret.length === 0) {
    throw new RangeError('TOTP secret must be a non-empty Uint8Array');
  }
}

function assertDigits(digits: number): void {
  if (digits !== 6 && digits !== 8) throw new RangeError('TOTP digits must be 6 or 8');
}

function assertAlgorithm(algorithm: string): void {
  if (algorithm !== 'sha1' && algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new RangeError('TOTP algorithm must be sha1, sha256 or sha512');
  }
}

function counterBytes(counter: number): Buffer {
  // RFC 4226 §5.1: C is an 8-byte big-endian moving factor.
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError('HOTP counter must be a non-negative safe integer');
  }
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(counter));
  return buf;
}

/**
 * The HOTP value (RFC 4226 §5.3) for one counter — for TOTP the counter is the time step from
 * {@link totpStep}. Uses dynamic truncation on the HMAC and keeps the low `digits` decimal
 * digits, zero-padded so a code like `012345` keeps its leading zero.
 *
 * @param secret the shared secret (raw bytes, not base32).
 * @param counterStep the counter or time step, a non-negative integer.
 * @throws {RangeError} on an empty secret, a negative or fractional counter, or unsupported
 *   options (caller bugs).
 * @example totpCode(secret, totpStep(new Date())) // '287082'
 */
export function totpCode(secret: Uint8Array, counterStep: number, opts: TotpOptions = {}): string {
  const digits = opts.digits ?? DEFAULT_DIGITS;
  const algorithm = opts.algorithm ?? DEFAULT_ALGORITHM;
  assertSecret(secret);
  assertDigits(digits);
  assertAlgorithm(algorithm);
  const mac = createHmac(algorithm, secret).update(counterBytes(counterStep)).digest();
  // RFC 4226 §5.4: the low nibble of the last byte picks a 4-byte window; its top bit is
  // masked so the value is the same whether read signed or unsigned. RFC 6238's reference code
  // applies the same rule to SHA-256 and SHA-512 output.
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/**
 * The RFC 6238 §4.2 time step for `time`: whole periods since the Unix epoch (T0 = 0).
 *
 * @param periodSeconds the step length X; 30 unless the enrolment said otherwise.
 * @throws {RangeError} on an invalid date or a period that is not a positive integer.
 * @example totpStep(new Date(59_000)) // 1
 */
export function totpStep(time: Date, periodSeconds: number = DEFAULT_PERIOD_SECONDS): number {
  const ms = time.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('TOTP time must be a valid date');
  if (!Number.isSafeInteger(periodSeconds) || periodSeconds <= 0) {
    throw new RangeError('TOTP period must be a positive integer number of seconds');
  }
  return Math.floor(ms / (periodSeconds * 1000));
}

/** Inputs to {@link verifyTotp} beyond the secret and the code. */
export interface VerifyTotpOptions extends TotpOptions {
  /** The verifier's clock, passed in so the function stays pure and testable. */
  now: Date;
  /** The step of the last accepted code for this secret, or null if none was accepted yet. */
  lastUsedStep: number | null;
  /** Steps accepted either side of now; default 1, at most 10. */
  window?: number;
  /** Step length in seconds; default 30. */
  period?: number;
}

/** Outcome of {@link verifyTotp}: on success, the step to store as the new `lastUsedStep`. */
export type VerifyTotpResult = { ok: true; step: number } | { ok: false };

function normaliseCode(code: string, digits: TotpDigits): Buffer | null {
  // People paste "123 456" from apps that group digits; anything else, including non-ASCII
  // digits such as full-width ones, is not a code we issued.
  const stripped = code.replace(/\s+/g, '');
  if (stripped.length !== digits || !/^[0-9]+$/.test(stripped)) return null;
  return Buffer.from(stripped, 'ascii');
}

/**
 * Checks a user's TOTP code against the steps now ± `window`, refusing any step at or before
 * `lastUsedStep` so each code is accepted once and an older code never after a newer one.
 *
 * Every candidate step is computed and compared with `timingSafeEqual`, with no early exit,
 * so the response time says nothing about which step (if any) matched. Malformed codes are
 * refused before any HMAC: their shape is not secret. If two steps collide on the same code
 * (odds 1 in 10^digits), the later step is returned, which burns the most codes.
 *
 * @returns `{ ok: true, step }` — store `step` as the new last used step — or `{ ok: false }`.
 * @throws {RangeError} on invalid options (caller bugs), never on a wrong code.
 * @example
 * const result = verifyTotp(secret, body.code, { now: new Date(), lastUsedStep: row.last_step });
 * if (result.ok) await repo.setLastStep(tx, userId, result.step);
 */
export function verifyTotp(
  secret: Uint8Array,
  code: string,
  opts: VerifyTotpOptions,
): VerifyTotpResult {
  const digits = opts.digits ?? DEFAULT_DIGITS;
  const window = opts.window ?? DEFAULT_WINDOW;
  assertSecret(secret);
  assertDigits(digits);
  if (!Number.isSafeInteger(window) || window < 0 || window > MAX_WINDOW) {
    throw new RangeError(`TOTP window must be an integer from 0 to ${MAX_WINDOW}`);
  }
  const current = totpStep(opts.now, opts.period ?? DEFAULT_PERIOD_SECONDS);
  const presented = normaliseCode(code, digits);
  if (presented === null) return { ok: false };
  const hotpOptions: TotpOptions = { digits, algorithm: opts.algorithm ?? DEFAULT_ALGORITHM };
  let matched = -1;
  for (let step = Math.max(0, current - window); step <= current + window; step++) {
    const expected = Buffer.from(totpCode(secret, step, hotpOptions), 'ascii');
    const equal = timingSafeEqual(expected, presented);
    const fresh = opts.lastUsedStep === null || step > opts.lastUsedStep;
    if (equal && fresh) matched = step;
  }
  return matched >= 0 ? { ok: true, step: matched } : { ok: false };
}

// RFC 3986 §2.3 unreserved characters pass; encodeURIComponent leaves !'()* alone, which some
// otpauth parsers treat as delimiters, so those are escaped too.
function encodeUriPart(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Inputs to {@link otpauthUri}. */
export interface OtpauthUriInput extends TotpOptions {
  secret: Uint8Array;
  /** Shown in the app under the issuer, usually the user's e-mail address. */
  accountName: string;
  /** The product or installation name shown in the app, e.g. `Strongroom`. */
  issuer: string;
  /** Step length in seconds; default 30. */
  period?: number;
}

/**
 * The Key URI an authenticator app imports from a QR code:
 * `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
 *
 * The issuer appears both as the label prefix and as the `issuer` parameter, as the Key URI
 * Format recommends for apps old and new. Labels and values are percent-encoded (spaces as
 * `%20`, never `+`). The URI contains the secret: render it to the user once, never log it.
 *
 * @throws {RangeError} when the issuer or account name is empty or contains a colon (the
 *   format's label separator), or on invalid options.
 * @example otpauthUri({ secret, accountName: 'ada@example.com', issuer: 'Strongroom' })
 */
export function otpauthUri(input: OtpauthUriInput): string {
  const digits = input.digits ?? DEFAULT_DIGITS;
  const algorithm = input.algorithm ?? DEFAULT_ALGORITHM;
  const period = input.period ?? DEFAULT_PERIOD_SECONDS;
  assertSecret(input.secret);
  assertDigits(digits);
  assertAlgorithm(algorithm);
  if (!Number.isSafeInteger(period) || period <= 0) {
    throw new RangeError('TOTP period must be a positive integer number of seconds');
  }
  for (const part of [input.issuer, input.accountName]) {
    if (part.length === 0 || part.includes(':')) {
      throw new RangeError('issuer and account name must be non-empty and contain no colon');
    }
  }
  const label = `${encodeUriPart(input.issuer)}:${encodeUriPart(input.accountName)}`;
  const query = [
    `secret=${base32Encode(input.secret)}`,
    `issuer=${encodeUriPart(input.issuer)}`,
    `algorithm=${algorithm.toUpperCase()}`,
    `digits=${digits}`,
    `period=${period}`,
  ].join('&');
  return `otpauth://totp/${label}?${query}`;
}

function formatRecoveryCode(bytes: Uint8Array): string {
  const chars = base32Encode(bytes).toLowerCase();
  return chars.match(/.{4}/g)?.join('-') ?? chars;
}

/**
 * Fresh recovery codes to show the user once, e.g. `mzxw-6ytb-oiqc-a3de`: 80 random bits each
 * (16 lower-case RFC 4648 base32 characters, which avoid the look-alikes 0/1/8), grouped by
 * four for reading aloud and writing down. All codes in one batch are distinct.
 *
 * @param count how many to make, 1..100; 10 by default.
 * @returns display forms; store only {@link hashRecoveryCode} of each normalised code.
 * @throws {RangeError} on a count outside 1..100.
 */
export function generateRecoveryCodes(count: number = RECOVERY_CODE_COUNT): string[] {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_RECOVERY_CODES) {
    throw new RangeError(`recovery code count must be an integer from 1 to ${MAX_RECOVERY_CODES}`);
  }
  const codes = new Set<string>();
  while (codes.size < count) codes.add(formatRecoveryCode(randomBytes(RECOVERY_CODE_BYTES)));
  return [...codes];
}

/**
 * Turns what a user typed into the canonical 16-character form, or null if it cannot be one of
 * our codes. Case, spaces and dashes are forgiven (codes are written down and read back);
 * characters outside the alphabet are not guessed at, because a wrong guess only costs the user
 * another attempt against the throttle.
 *
 * @example normaliseRecoveryCode(' MZXW-6YTB oiqc-a3de ') // 'mzxw6ytboiqca3de'
 */
export function normaliseRecoveryCode(input: string): string | null {
  const compact = input.toLowerCase().replace(/[\s-]+/g, '');
  return RECOVERY_CODE.test(compact) ? compact : null;
}

/**
 * SHA-256 over `strongroom:recovery-code:v1:` ‖ the normalised code: what the database keeps.
 *
 * A fast hash is enough because each code carries 80 random bits: a stolen table cannot be
 * searched for 2^80 candidates, so a slow password hash (built to stretch low-entropy human
 * choices) would only cost CPU on every sign-in. The prefix separates these hashes from any
 * other SHA-256 the product stores, and its version lets the scheme change later.
 *
 * @param normalised output of {@link normaliseRecoveryCode}.
 * @throws {RangeError} when given anything but a normalised code (hashing raw input would make
 *   the same code hash differently depending on how it was typed).
 */
export function hashRecoveryCode(normalised: string): Uint8Array {
  if (!RECOVERY_CODE.test(normalised)) {
    throw new RangeError('recovery code must be normalised before hashing');
  }
  return new Uint8Array(createHash('sha256').update(RECOVERY_CODE_PREFIX + normalised).digest());
}

/**
 * Constant-time check of a normalised code against a stored hash; false (never a throw) for a
 * malformed code or a stored hash of the wrong length, so callers have one failure path.
 */
export function recoveryCodeMatches(normalised: string, storedHash: Uint8Array): boolean {
  if (!RECOVERY_CODE.test(normalised)) return false;
  const presented = hashRecoveryCode(normalised);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}
