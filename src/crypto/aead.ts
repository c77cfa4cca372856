/**
 * AES-256-GCM sealing (SPEC §1 "Key hierarchy": AES-256-GCM everywhere). Pure: no I/O, no
 * config. Only `node:crypto` primitives; the one thing this module adds is a fixed byte layout
 * `nonce(12) ‖ ciphertext ‖ tag(16)` so a sealed value is a single self-contained Uint8Array.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { IntegrityError } from './errors.js';

export { IntegrityError } from './errors.js';

/** Key length for AES-256. */
export const KEY_BYTES = 32;
/** GCM nonce length: 96 bits is the length NIST SP 800-38D recommends for random nonces. */
export const NONCE_BYTES = 12;
/** Full 128-bit GCM tag; shorter tags weaken forgery resistance (SP 800-38D §5.2.1.2). */
export const TAG_BYTES = 16;
/** Bytes `seal` adds to the plaintext length. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

const ALGORITHM = 'aes-256-gcm';

function assertKey(key: Uint8Array): void {
  // A wrong-length key is a programming error, not an integrity failure, so it gets its own
  // error type; the message names only the expected length, never the key.
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RangeError(`AES-256-GCM key must be ${KEY_BYTES} bytes`);
  }
}

/**
 * Encrypts and authenticates `plaintext`, binding it to `aad`.
 *
 * A fresh random nonce is drawn per call; with random 96-bit nonces a single key stays within
 * the SP 800-38D collision bound for 2^32 seals, which our key hierarchy never approaches
 * (a fresh data key per secret version).
 *
 * @param key 32-byte AES-256 key.
 * @param plaintext bytes to protect.
 * @param aad additional authenticated data; the same bytes must be given to {@link open}.
 * @returns `nonce(12) ‖ ciphertext ‖ tag(16)`, a new buffer.
 * @example
 * const sealed = seal(randomKey(), new TextEncoder().encode('s3cret'), aad);
 */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  assertKey(key);
  const out = new Uint8Array(NONCE_BYTES + plaintext.length + TAG_BYTES);
  const nonce = out.subarray(0, NONCE_BYTES);
  randomFillSync(nonce);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  out.set(body, NONCE_BYTES);
  out.set(tail, NONCE_BYTES + body.length);
  out.set(cipher.getAuthTag(), NONCE_BYTES + plaintext.length);
  return out;
}

/**
 * Authenticates and decrypts a value produced by {@link seal}.
 *
 * Never returns unauthenticated bytes: any partial output is wiped before the error is thrown.
 * The tag comparison happens inside OpenSSL's GCM final step, in constant time.
 *
 * @param key the 32-byte key used to seal.
 * @param sealed `nonce ‖ ciphertext ‖ tag`.
 * @param aad the AAD given to `seal`.
 * @returns the plaintext, a new buffer the caller owns.
 * @throws {IntegrityError} on a wrong key or AAD, any modified byte, or input shorter than
 *   nonce + tag.
 * @throws {RangeError} when `key` is not 32 bytes (a caller bug).
 */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  assertKey(key);
  if (!(sealed instanceof Uint8Array) || sealed.length < SEAL_OVERHEAD) throw new IntegrityError();
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const ciphertext = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  decipher.setAAD(aad);
  const out = new Uint8Array(ciphertext.length);
  let body: Uint8Array | undefined;
  try {
    body = decipher.update(ciphertext);
    out.set(body);
    const tail = decipher.final();
    out.set(tail, body.length);
    return out;
  } catch {
    // Unauthenticated plaintext must not survive in memory; OpenSSL's message is dropped so
    // nothing about the input travels with the error.
    out.fill(0);
    throw new IntegrityError();
  } finally {
    body?.fill(0);
  }
}

/**
 * Generates a fresh 32-byte AES-256 key from the CSPRNG.
 * @returns a new buffer; wipe it with {@link wipe} when done.
 */
export function randomKey(): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  randomFillSync(key);
  return key;
}

/**
 * Overwrites `buf` with zeros so key material or plaintext does not linger in the heap (K2).
 * @param buf the buffer to clear in place.
 */
export function wipe(buf: Uint8Array): void {
  buf.fill(0);
}
