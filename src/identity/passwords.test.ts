import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { hash as argon2Hash } from '@node-rs/argon2';
import type { Algorithm } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import {
  ARGON2_PARAMS,
  PASSWORD_MAX,
  PASSWORD_MIN,
  checkPasswordRules,
  hashPassword,
  isImportableHash,
  normalizePassword,
  verifyAgainstDummy,
  verifyPassword,
} from './passwords.js';

const ARGON2ID: Algorithm = 2;
const ARGON2I: Algorithm = 1;

/** An argon2id hash made outside this module, as another system would have. */
function foreignArgon2(password: string, options: { memoryCost: number; timeCost: number; version?: 0 | 1 }): Promise<string> {
  return argon2Hash(password, { ...options, parallelism: 1, algorithm: ARGON2ID });
}

// --- rules -------------------------------------------------------------------------------

test('the length limits are 8 and 128 code points', () => {
  assert.equal(PASSWORD_MIN, 8);
  assert.equal(PASSWORD_MAX, 128);
});

test('refuses 7 code points and accepts 8', () => {
  assert.deepEqual(checkPasswordRules('kq7!vzX'), { ok: false, reason: 'too_short' });
  assert.deepEqual(checkPasswordRules('kq7!vzXm'), { ok: true });
  assert.deepEqual(checkPasswordRules(''), { ok: false, reason: 'too_short' });
});

test('accepts 128 code points and refuses 129, without truncating', () => {
  const max = 'ab3$'.repeat(32);
  assert.equal(max.length, 128);
  assert.deepEqual(checkPasswordRules(max), { ok: true });
  assert.deepEqual(checkPasswordRules(`${max}z`), { ok: false, reason: 'too_long' });
});

test('refuses a very long input early as too long', () => {
  assert.deepEqual(checkPasswordRules('x'.repeat(1_000_000)), { ok: false, reason: 'too_long' });
});

test('counts an emoji as one code point, not two UTF-16 units', () => {
  // 7 emoji are 14 UTF-16 units: a unit count would wrongly accept them.
  assert.deepEqual(checkPasswordRules('🔐'.repeat(7)), { ok: false, reason: 'too_short' });
  assert.deepEqual(checkPasswordRules('🔐'.repeat(8)), { ok: true });
  // 128 emoji are 256 units: a unit count would wrongly refuse them.
  assert.deepEqual(checkPasswordRules('🔐'.repeat(128)), { ok: true });
  assert.deepEqual(checkPasswordRules('🔐'.repeat(129)), { ok: false, reason: 'too_long' });
});

test('counts length after NFKC normalisation', () => {
  // e + combining acute (2 code points each) composes to é: 7 of them are 7 characters.
  assert.deepEqual(checkPasswordRules('e\u0301'.repeat(7)), { ok: false, reason: 'too_short' });
  assert.deepEqual(checkPasswordRules('e\u0301'.repeat(8)), { ok: true });
  // The ligature ﬃ (1 code point) is "ffi" (3) under NFKC.
  assert.deepEqual(checkPasswordRules('\uFB03\uFB03\uFB03'), { ok: true });
});

test('refuses a common password whatever its case or width', () => {
  for (const password of ['password123', 'PassWord123', 'PASSWORD123', 'ｐａｓｓｗｏｒｄ１２３', 'ＰＡＳＳＷＯＲＤ１２３']) {
    assert.deepEqual(checkPasswordRules(password), { ok: false, reason: 'common' }, password);
  }
  assert.deepEqual(checkPasswordRules('iloveyou'), { ok: false, reason: 'common' });
  assert.deepEqual(checkPasswordRules('password123-but-longer'), { ok: true });
});

test('imposes no composition rules', () => {
  assert.deepEqual(checkPasswordRules('correct horse battery staple'), { ok: true });
  assert.deepEqual(checkPasswordRules('пароль-секрет'), { ok: true });
});

test('the shipped list is lower-case, de-duplicated, 8..128 code points, at least 10,000 entries', () => {
  const text = readFileSync(new URL('./data/common-passwords.txt', import.meta.url), 'utf8');
  assert.ok(text.endsWith('\n'));
  const lines = text.slice(0, -1).split('\n');
  assert.ok(lines.length >= 10_000, `${lines.length} entries`);
  assert.equal(new Set(lines).size, lines.length);
  for (const line of lines) {
    assert.equal(line, normalizePassword(line).toLowerCase(), line);
    const length = [...line].length;
    assert.ok(length >= PASSWORD_MIN && length <= PASSWORD_MAX, line);
  }
});

// --- hashing and verification ----------------------------------------------------------

test('hashes to an argon2id PHC string with the OWASP parameters', async () => {
  assert.deepEqual({ ...ARGON2_PARAMS }, { memoryCost: 19456, timeCost: 2, parallelism: 1, outputLen: 32 });
  const stored = await hashPassword('kq7!vzXm-long-enough');
  assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
});

test('a hash verifies with its password and needs no rehash; a wrong password fails', async () => {
  const stored = await hashPassword('kq7!vzXm-long-enough');
  assert.deepEqual(await verifyPassword('kq7!vzXm-long-enough', stored), { ok: true, needsRehash: false });
  assert.deepEqual(await verifyPassword('kq7!vzXm-long-enougH', stored), { ok: false, needsRehash: false });
  assert.deepEqual(await verifyPassword('', stored), { ok: false, needsRehash: false });
});

test('two hashes of one password differ (fresh salt)', async () => {
  const a = await hashPassword('same password twice');
  const b = await hashPassword('same password twice');
  assert.notEqual(a, b);
});

test('does not truncate long passwords', async () => {
  const password = 'A'.repeat(100) + 'tail';
  const stored = await hashPassword(password);
  assert.equal((await verifyPassword(password, stored)).ok, true);
  assert.equal((await verifyPassword('A'.repeat(100) + 'tall', stored)).ok, false);
});

test('unicode passwords round-trip and nearby ones fail', async () => {
  for (const password of ['пароль-секрет', 'パスワードは秘密です', '🔐🗝️🔑 and words', 'Ωmega-ñandú-ß']) {
    const stored = await hashPassword(password);
    assert.deepEqual(await verifyPassword(password, stored), { ok: true, needsRehash: false }, password);
    assert.equal((await verifyPassword(`${password}x`, stored)).ok, false, password);
  }
  const stored = await hashPassword('Straße-und-Weg');
  assert.equal((await verifyPassword('Strasse-und-Weg', stored)).ok, false);
});

test('normalises with NFKC: full-width and decomposed forms verify as the same password', async () => {
  const stored = await hashPassword('ｓｅｃｒｅｔ-ｐａｓｓ-９');
  assert.deepEqual(await verifyPassword('secret-pass-9', stored), { ok: true, needsRehash: false });
  const accented = await hashPassword('caf\u00e9-au-lait');
  assert.deepEqual(await verifyPassword('cafe\u0301-au-lait', accented), { ok: true, needsRehash: false });
  assert.equal((await verifyPassword('cafe-au-lait', accented)).ok, false);
});

test('flags weaker argon2id parameters for rehash, on success only', async () => {
  for (const options of [
    { memoryCost: 4096, timeCost: 2 },
    { memoryCost: 19456, timeCost: 1 },
    { memoryCost: 19456, timeCost: 2, version: 0 as const },
  ]) {
    const stored = await foreignArgon2('imported password', options);
    assert.deepEqual(await verifyPassword('imported password', stored), { ok: true, needsRehash: true }, stored);
    assert.deepEqual(await verifyPassword('imported passworD', stored), { ok: false, needsRehash: false }, stored);
  }
});

test('keeps an imported argon2id hash stronger than the policy', async () => {
  const stored = await foreignArgon2('imported password', { memoryCost: 65536, timeCost: 3 });
  assert.deepEqual(await verifyPassword('imported password', stored), { ok: true, needsRehash: false });
});

test('accepts an imported argon2id hash of a non-NFKC password and asks for a rehash', async () => {
  const typed = 'ｆｕｌｌ-ｗｉｄｔｈ-ｐｗ';
  const stored = await foreignArgon2(typed, { memoryCost: 19456, timeCost: 2 });
  assert.deepEqual(await verifyPassword(typed, stored), { ok: true, needsRehash: true });
  assert.equal((await verifyPassword('ｆｕｌｌ-ｗｉｄｔｈ-ｐｘ', stored)).ok, false);
});

test('verifies an imported bcrypt hash, asks for a rehash, and refuses a wrong password', async () => {
  const stored = await bcrypt.hash('legacy password', 4);
  assert.match(stored, /^\$2b\$04\$/);
  assert.deepEqual(await verifyPassword('legacy password', stored), { ok: true, needsRehash: true });
  assert.deepEqual(await verifyPassword('legacy passworD', stored), { ok: false, needsRehash: false });
});

test('accepts the $2a$ and $2y$ bcrypt variants', async () => {
  const stored = await bcrypt.hash('legacy password', 4);
  for (const prefix of ['$2a$', '$2y$']) {
    const variant = prefix + stored.slice(4);
    assert.equal(isImportableHash(variant), true, prefix);
    assert.deepEqual(await verifyPassword('legacy password', variant), { ok: true, needsRehash: true }, prefix);
    assert.equal((await verifyPassword('legacy passwore', variant)).ok, false, prefix);
  }
});

test('bcrypt reads only the first 72 bytes, as the system it came from did', async () => {
  const long = 'b'.repeat(72);
  const stored = await bcrypt.hash(`${long}-original-tail`, 4);
  assert.equal((await verifyPassword(`${long}-other-tail`, stored)).ok, true);
  assert.equal((await verifyPassword(`${'b'.repeat(71)}c-original-tail`, stored)).ok, false);
});

test('verifies a bcrypt hash of a unicode password as typed', async () => {
  const typed = 'ｐａｓｓ-ключ-🔑';
  const stored = await bcrypt.hash(typed, 4);
  assert.deepEqual(await verifyPassword(typed, stored), { ok: true, needsRehash: true });
  assert.equal((await verifyPassword('ｐａｓｓ-ключ-🔒', stored)).ok, false);
});

test('bad stored data gives ok false without throwing', async () => {
  const argon2i = await argon2Hash('pw', { algorithm: ARGON2I, memoryCost: 4096, timeCost: 1 });
  const ours = await hashPassword('real password here');
  const bcryptHash = await bcrypt.hash('real password here', 4);
  const bad: Array<string | null | undefined> = [
    '',
    'garbage',
    'real password here',
    argon2i,
    ours.slice(0, -5),
    ours.replace('$argon2id$', '$argon2x$'),
    ours.replace('m=19456', 'm=4194304'), // beyond the memory bound
    ours.replace('t=2', 't=99'),
    '$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAA$!!!!!!!!!!!!!!!!!!!!!!',
    '$argon2id$v=19$m=19456,t=2,p=1$A$BBBBBBBBBBBBBBBBBBBBBB',
    bcryptHash.slice(0, -1),
    bcryptHash.replace('$04$', '$03$'),
    bcryptHash.replace('$2b$', '$2x$'),
    '$2b$04$' + '!'.repeat(53),
    null,
    undefined,
  ];
  for (const stored of bad) {
    assert.deepEqual(await verifyPassword('real password here', stored), { ok: false, needsRehash: false }, String(stored));
  }
});

test('isImportableHash accepts argon2id and bcrypt shapes and nothing else', async () => {
  const ours = await hashPassword('real password here');
  const bcryptHash = await bcrypt.hash('x', 4);
  const argon2i = await argon2Hash('pw', { algorithm: ARGON2I, memoryCost: 4096, timeCost: 1 });
  assert.equal(isImportableHash(ours), true);
  assert.equal(isImportableHash(ours.replace('v=19$', '')), true);
  assert.equal(isImportableHash(bcryptHash), true);
  assert.equal(isImportableHash(bcryptHash.replace('$04$', '$16$')), true);
  // Costlier hashes would make every guess at the account a denial of service.
  assert.equal(isImportableHash(bcryptHash.replace('$04$', '$17$')), false);
  assert.equal(isImportableHash(bcryptHash.replace('$04$', '$31$')), false);
  for (const text of [
    '',
    'plain text',
    argon2i,
    ours.replace('m=19456', 'm=4194304'),
    ours.replace('p=1', 'p=0'),
    bcryptHash.replace('$04$', '$03$'),
    bcryptHash.replace('$04$', '$32$'),
    bcryptHash.slice(0, -1),
    `${bcryptHash}A`,
    bcryptHash.replace('$2b$', '$2x$'),
    bcryptHash.replace('$2b$', '$2$'),
    `${ours}\n`,
  ]) {
    assert.equal(isImportableHash(text), false, text);
  }
});

// --- equal timing -----------------------------------------------------------------------

async function medianMs(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[2] as number;
}

test('a dummy verification and a null stored hash cost about what a failed real one does', async () => {
  const stored = await hashPassword('real password here');
  await verifyAgainstDummy('warm up'); // the dummy hash is made on first use
  const real = await medianMs(() => verifyPassword('wrong password', stored));
  const dummy = await medianMs(() => verifyAgainstDummy('wrong password'));
  const none = await medianMs(() => verifyPassword('wrong password', null));
  // A generous bound: it catches a no-op dummy (well under 1 ms) without being flaky.
  assert.ok(dummy > real / 3, `dummy ${dummy.toFixed(1)} ms vs real ${real.toFixed(1)} ms`);
  assert.ok(none > real / 3, `null ${none.toFixed(1)} ms vs real ${real.toFixed(1)} ms`);
  assert.equal(await verifyAgainstDummy('wrong password'), undefined);
});
