/**
 * Per-secret-version envelope (SPEC §1 "Key hierarchy", K2): vault key → a fresh data key per
 * secret version → the value. Pure: no I/O, no config.
 *
 * Format v1:
 * ```
 * [0]      0x01 format version
 * [1..4]   vault key version, uint32 big-endian
 * [5..64]  wrapped data key = seal(vaultKey, dataKey, header ‖ "dek" ‖ 0x00 ‖ aad)   (60 bytes)
 * [65..]   sealed value     = seal(dataKey, plaintext, header ‖ "value" ‖ 0x00 ‖ aad)
 * ```
 * The header is inside both AADs, so a changed key version is detected; the purpose labels
 * keep a wrapped data key from ever being accepted as a value ciphertext and vice versa.
 */
import { IntegrityError, KEY_BYTES, SEAL_OVERHEAD, open, randomKey, seal, wipe } from './aead.js';

/** The only envelope format this build writes and reads. */
export const ENVELOPE_FORMAT_V1 = 0x01;

const HEADER_BYTES = 5;
const WRAPPED_DEK_BYTES = KEY_BYTES + SEAL_OVERHEAD; // 60
const VALUE_OFFSET = HEADER_BYTES + WRAPPED_DEK_BYTES; // 65
const MIN_ENVELOPE_BYTES = VALUE_OFFSET + SEAL_OVERHEAD; // an empty value still has nonce + tag
const MAX_UINT32 = 0xffff_ffff;

const encoder = new TextEncoder();
const DEK_LABEL = encoder.encode('dek\0');
const VALUE_LABEL = encoder.encode('value\0');

/** Identifies one secret version; every component goes into the AAD (SPEC §1). */
export interface SecretRef {
  orgId: string;
  vaultId: string;
  secretId: string;
  version: number;
}

/** A vault key together with the version number the envelope records for it (K3). */
export interface VersionedKey {
  version: number;
  key: Uint8Array;
}

function assertUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    throw new RangeError(`${what} must be an integer between 0 and ${MAX_UINT32}`);
  }
}

/**
 * AAD binding a secret ciphertext to its row: `strongroom:secret:v1:org/vault/secret/version`
 * (SPEC §1: a ciphertext moved to another row or tenant fails to decrypt).
 *
 * Ids containing `/` are refused because they would make two different refs produce the same
 * AAD (`a/b` + `c` vs `a` + `b/c`).
 *
 * @returns the UTF-8 bytes of the AAD string.
 * @example
 * secretAad({ orgId: 'o1', vaultId: 'v1', secretId: 's1', version: 3 });
 */
export function secretAad(ref: SecretRef): Uint8Array {
  for (const [name, id] of [
    ['orgId', ref.orgId],
    ['vaultId', ref.vaultId],
    ['secretId', ref.secretId],
  ] as const) {
    if (id.length === 0 || id.includes('/')) throw new TypeError(`${name} must be non-empty and contain no "/"`);
  }
  assertUint32(ref.version, 'secret version');
  return encoder.encode(`strongroom:secret:v1:${ref.orgId}/${ref.vaultId}/${ref.secretId}/${ref.version}`);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function readHeader(envelope: Uint8Array): { header: Uint8Array; keyVersion: number } {
  if (!(envelope instanceof Uint8Array) || envelope.length < MIN_ENVELOPE_BYTES) throw new IntegrityError();
  if (envelope[0] !== ENVELOPE_FORMAT_V1) throw new IntegrityError();
  const view = new DataView(envelope.buffer, envelope.byteOffset, HEADER_BYTES);
  return { header: envelope.subarray(0, HEADER_BYTES), keyVersion: view.getUint32(1, false) };
}

/**
 * Encrypts one secret version: draws a fresh data key, wraps it under the vault key, seals the
 * value under the data key and wipes the data key.
 *
 * @param vaultKey the current vault key and its version (recorded in the header, K3).
 * @param plaintext the secret value.
 * @param aad usually {@link secretAad} of the row the envelope will be stored in.
 * @returns a format-v1 envelope.
 * @example
 * const env = encryptSecretValue({ version: 1, key }, value, secretAad(ref));
 */
export function encryptSecretValue(vaultKey: VersionedKey, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  assertUint32(vaultKey.version, 'vault key version');
  const header = new Uint8Array(HEADER_BYTES);
  header[0] = ENVELOPE_FORMAT_V1;
  new DataView(header.buffer).setUint32(1, vaultKey.version, false);

  const dataKey = randomKey();
  try {
    const wrappedDek = seal(vaultKey.key, dataKey, concat(header, DEK_LABEL, aad));
    const sealedValue = seal(dataKey, plaintext, concat(header, VALUE_LABEL, aad));
    return concat(header, wrappedDek, sealedValue);
  } finally {
    wipe(dataKey);
  }
}

/**
 * Reads the vault key version an envelope was written under, so the caller can fetch that key
 * (old versions stay decryptable after rotation, K3). Not authenticated by itself: a forged
 * version only selects a key that then fails {@link decryptSecretValue}.
 *
 * @throws {IntegrityError} when the envelope is too short or has an unknown format version.
 */
export function envelopeKeyVersion(envelope: Uint8Array): number {
  return readHeader(envelope).keyVersion;
}

/**
 * Decrypts a format-v1 envelope. The data key is wiped after use.
 *
 * @param vaultKey the vault key of the version {@link envelopeKeyVersion} names.
 * @param envelope bytes from {@link encryptSecretValue}.
 * @param aad the same AAD given at encryption.
 * @returns the plaintext, a new buffer the caller owns.
 * @throws {IntegrityError} on a wrong key or AAD, any modified byte, truncation or an unknown
 *   format version.
 */
export function decryptSecretValue(vaultKey: Uint8Array, envelope: Uint8Array, aad: Uint8Array): Uint8Array {
  const { header } = readHeader(envelope);
  const wrappedDek = envelope.subarray(HEADER_BYTES, VALUE_OFFSET);
  const sealedValue = envelope.subarray(VALUE_OFFSET);
  const dataKey = open(vaultKey, wrappedDek, concat(header, DEK_LABEL, aad));
  try {
    // The fixed slice makes any other length impossible after authentication; kept as a guard
    // so a future layout change cannot hand `open` a wrong-size key (RangeError) instead.
    if (dataKey.length !== KEY_BYTES) throw new IntegrityError();
    return open(dataKey, sealedValue, concat(header, VALUE_LABEL, aad));
  } finally {
    wipe(dataKey);
  }
}
