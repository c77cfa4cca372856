import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntegrityError, NONCE_BYTES, SEAL_OVERHEAD, TAG_BYTES, open, randomKey, seal, wipe } from './aead.js';

const enc = new TextEncoder();
const aad = enc.encode('strongroom:test:aad');
const plaintext = enc.encode('correct horse battery staple');

test('opens what it sealed, with nonce and tag around the ciphertext', () => {
  const key = randomKey();
  const sealed = seal(key, plaintext, aad);
  assert.equal(sealed.length, plaintext.length + SEAL_OVERHEAD);
  assert.deepEqual(open(key, sealed, aad), plaintext);
});

test('round-trips an empty plaintext', () => {
  const key = randomKey();
  const sealed = seal(key, new Uint8Array(0), aad);
  assert.equal(sealed.length, SEAL_OVERHEAD);
  assert.deepEqual(open(key, sealed, aad), new Uint8Array(0));
});

test('uses a fresh nonce for every seal of the same value', () => {
  const key = randomKey();
  const a = seal(key, plaintext, aad);
  const b = seal(key, plaintext, aad);
  assert.notDeepEqual(a.subarray(0, NONCE_BYTES), b.subarray(0, NONCE_BYTES));
  assert.notDeepEqual(a, b);
});

test('does not leave the plaintext visible in the sealed bytes', () => {
  const key = randomKey();
  const sealed = seal(key, plaintext, aad);
  assert.equal(Buffer.from(sealed).includes(Buffer.from(plaintext)), false);
});

test('rejects a different AAD', () => {
  const key = randomKey();
  const sealed = seal(key, plaintext, aad);
  assert.throws(() => open(key, sealed, enc.encode('strongroom:test:other')), IntegrityError);
});

test('rejects a different key', () => {
  const sealed = seal(randomKey(), plaintext, aad);
  assert.throws(() => open(randomKey(), sealed, aad), IntegrityError);
});

test('rejects a flipped bit in the nonce, the ciphertext and the tag', () => {
  const key = randomKey();
  const sealed = seal(key, plaintext, aad);
  const positions = {
    nonce: 0,
    ciphertext: NONCE_BYTES + 3,
    tag: sealed.length - TAG_BYTES + 5,
    lastByte: sealed.length - 1,
  };
  for (const [region, index] of Object.entries(positions)) {
    const tampered = new Uint8Array(sealed);
    tampered[index] = (tampered[index] ?? 0) ^ 0x01;
    assert.throws(() => open(key, tampered, aad), IntegrityError, region);
  }
});

test('rejects truncated and too-short input', () => {
  const key = randomKey();
  const sealed = seal(key, plaintext, aad);
  for (const length of [0, 1, SEAL_OVERHEAD - 1, SEAL_OVERHEAD, sealed.length - 1]) {
    assert.throws(() => open(key, sealed.subarray(0, length), aad), IntegrityError, `length ${length}`);
  }
});

test('gives an IntegrityError a generic message carrying no data', () => {
  const key = randomKey();
  const sealed = seal(key, plaintext, aad);
  assert.throws(
    () => open(randomKey(), sealed, aad),
    (e: unknown) =>
      e instanceof IntegrityError &&
      e.name === 'IntegrityError' &&
      e.message === 'ciphertext failed authentication' &&
      e.cause === undefined,
  );
});

test('refuses keys that are not 32 bytes', () => {
  for (const length of [0, 16, 31, 33]) {
    assert.throws(() => seal(new Uint8Array(length), plaintext, aad), RangeError);
    assert.throws(() => open(new Uint8Array(length), new Uint8Array(64), aad), RangeError);
  }
});

test('randomKey returns distinct 32-byte keys', () => {
  const a = randomKey();
  const b = randomKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
});

test('wipe zeroes the buffer in place', () => {
  const key = randomKey();
  const view = key.subarray(0);
  wipe(key);
  assert.deepEqual(view, new Uint8Array(32));
});
