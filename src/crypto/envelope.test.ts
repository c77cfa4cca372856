import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntegrityError, randomKey } from './aead.js';
import { decryptSecretValue, encryptSecretValue, envelopeKeyVersion, secretAad } from './envelope.js';

const enc = new TextEncoder();
const ref = { orgId: 'org_1', vaultId: 'vault_1', secretId: 'sec_1', version: 7 };
const aad = secretAad(ref);
const value = enc.encode('postgres://app:hunter2@db/prod');

// Layout offsets from the format-v1 definition in envelope.ts.
const WRAPPED_DEK = 5;
const VALUE = 65;

function setup(version = 3): { key: Uint8Array; envelope: Uint8Array } {
  const key = randomKey();
  return { key, envelope: encryptSecretValue({ version, key }, value, aad) };
}

test('secretAad encodes org, vault, secret and version', () => {
  assert.equal(new TextDecoder().decode(aad), 'strongroom:secret:v1:org_1/vault_1/sec_1/7');
});

test('secretAad refuses ids that would make two refs share an AAD', () => {
  assert.throws(() => secretAad({ ...ref, orgId: 'org/1' }), TypeError);
  assert.throws(() => secretAad({ ...ref, secretId: '' }), TypeError);
  assert.throws(() => secretAad({ ...ref, version: 1.5 }), RangeError);
});

test('decrypts what it encrypted', () => {
  const { key, envelope } = setup();
  assert.deepEqual(decryptSecretValue(key, envelope, aad), value);
});

test('round-trips an empty value', () => {
  const key = randomKey();
  const envelope = encryptSecretValue({ version: 1, key }, new Uint8Array(0), aad);
  assert.equal(envelope.length, VALUE + 28);
  assert.deepEqual(decryptSecretValue(key, envelope, aad), new Uint8Array(0));
});

test('writes format 1 with the vault key version big-endian and a 60-byte wrapped key', () => {
  const { envelope } = setup(0x01020304);
  assert.deepEqual([...envelope.subarray(0, 5)], [0x01, 0x01, 0x02, 0x03, 0x04]);
  assert.equal(envelope.length, VALUE + 12 + value.length + 16);
});

test('envelopeKeyVersion reads the vault key version', () => {
  assert.equal(envelopeKeyVersion(setup(42).envelope), 42);
  assert.equal(envelopeKeyVersion(setup(0xffff_ffff).envelope), 0xffff_ffff);
});

test('envelopeKeyVersion rejects an unknown format version and short input', () => {
  const { envelope } = setup();
  const v2 = new Uint8Array(envelope);
  v2[0] = 0x02;
  assert.throws(() => envelopeKeyVersion(v2), IntegrityError);
  assert.throws(() => envelopeKeyVersion(envelope.subarray(0, 5)), IntegrityError);
  assert.throws(() => envelopeKeyVersion(new Uint8Array(0)), IntegrityError);
});

test('refuses a vault key version outside uint32', () => {
  for (const version of [-1, 2 ** 32, 1.5, Number.NaN]) {
    assert.throws(() => encryptSecretValue({ version, key: randomKey() }, value, aad), RangeError);
  }
});

test('two encryptions of the same value differ in every region after the header', () => {
  const key = randomKey();
  const a = encryptSecretValue({ version: 1, key }, value, aad);
  const b = encryptSecretValue({ version: 1, key }, value, aad);
  assert.deepEqual(a.subarray(0, 5), b.subarray(0, 5));
  assert.notDeepEqual(a.subarray(WRAPPED_DEK, VALUE), b.subarray(WRAPPED_DEK, VALUE));
  assert.notDeepEqual(a.subarray(VALUE), b.subarray(VALUE));
});

test('rejects a ciphertext moved to another secret, vault, org or version', () => {
  const { key, envelope } = setup();
  for (const other of [
    { ...ref, secretId: 'sec_2' },
    { ...ref, vaultId: 'vault_2' },
    { ...ref, orgId: 'org_2' },
    { ...ref, version: 8 },
  ]) {
    assert.throws(() => decryptSecretValue(key, envelope, secretAad(other)), IntegrityError, JSON.stringify(other));
  }
});

test('rejects the wrong vault key', () => {
  const { envelope } = setup();
  assert.throws(() => decryptSecretValue(randomKey(), envelope, aad), IntegrityError);
});

test('rejects a flipped bit in every region of the envelope', () => {
  const { key, envelope } = setup();
  const valueCiphertextStart = VALUE + 12;
  const regions: Record<string, number[]> = {
    'format version': [0],
    'key version': [1, 2, 3, 4],
    'wrapped DEK nonce': [WRAPPED_DEK, WRAPPED_DEK + 11],
    'wrapped DEK ciphertext': [WRAPPED_DEK + 12, WRAPPED_DEK + 43],
    'wrapped DEK tag': [WRAPPED_DEK + 44, VALUE - 1],
    'value nonce': [VALUE, VALUE + 11],
    'value ciphertext': [valueCiphertextStart, valueCiphertextStart + value.length - 1],
    'value tag': [envelope.length - 16, envelope.length - 1],
  };
  for (const [region, indexes] of Object.entries(regions)) {
    for (const index of indexes) {
      for (const bit of [0x01, 0x80]) {
        const tampered = new Uint8Array(envelope);
        tampered[index] = (tampered[index] ?? 0) ^ bit;
        assert.throws(() => decryptSecretValue(key, tampered, aad), IntegrityError, `${region} byte ${index}`);
      }
    }
  }
});

test('rejects a truncated envelope at every length', () => {
  const { key, envelope } = setup();
  for (let length = 0; length < envelope.length; length++) {
    assert.throws(() => decryptSecretValue(key, envelope.subarray(0, length), aad), IntegrityError, `length ${length}`);
  }
});

test('rejects an envelope with bytes appended', () => {
  const { key, envelope } = setup();
  const longer = new Uint8Array(envelope.length + 1);
  longer.set(envelope);
  assert.throws(() => decryptSecretValue(key, longer, aad), IntegrityError);
});

test('rejects an envelope whose value part was swapped with another envelope under the same vault key', () => {
  const key = randomKey();
  const a = encryptSecretValue({ version: 1, key }, value, aad);
  const b = encryptSecretValue({ version: 1, key }, enc.encode('another value'), aad);
  const spliced = new Uint8Array(VALUE + (b.length - VALUE));
  spliced.set(a.subarray(0, VALUE));
  spliced.set(b.subarray(VALUE), VALUE);
  assert.throws(() => decryptSecretValue(key, spliced, aad), IntegrityError);
});

test('rejects an unknown format version even with the right key', () => {
  const { key, envelope } = setup();
  const v0 = new Uint8Array(envelope);
  v0[0] = 0x00;
  assert.throws(() => decryptSecretValue(key, v0, aad), IntegrityError);
});

test('decrypts an envelope that sits at an offset inside a larger buffer', () => {
  const { key, envelope } = setup(9);
  const backing = new Uint8Array(envelope.length + 3);
  backing.set(envelope, 3);
  const view = backing.subarray(3);
  assert.equal(envelopeKeyVersion(view), 9);
  assert.deepEqual(decryptSecretValue(key, view, aad), value);
});
