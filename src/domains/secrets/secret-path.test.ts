import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DEPTH, MAX_PATH_BYTES, normalisePathPrefix, normaliseSecretPath } from './secret-path.js';

const accepted: [string, string][] = [
  ['integrations/stripe/api_key', '/integrations/stripe/api_key'],
  ['/integrations/stripe/api_key', '/integrations/stripe/api_key'],
  ['a', '/a'],
  ['bots/telegram:main/token', '/bots/telegram:main/token'],
  ['users/ana@example/key.v2', '/users/ana@example/key.v2'],
  ['données/clé', '/données/clé'],
  // NFD "e" + combining acute becomes NFC "é": one secret, one spelling.
  ['cle\u0301', '/cl\u00e9'],
];

for (const [input, expected] of accepted) {
  test(`normalises ${JSON.stringify(input)} to ${expected}`, () => {
    assert.deepEqual(normaliseSecretPath(input), { ok: true, path: expected });
  });
}

const refused: [string, string][] = [
  ['', 'empty'],
  ['/', 'empty'],
  ['a//b', 'empty segment'],
  ['a/b/', 'trailing slash'],
  ['//a', 'empty leading segment'],
  ['a/../b', 'dot-dot'],
  ['..', 'dot-dot alone'],
  ['a/./b', 'dot'],
  ['a/b c', 'space'],
  ['a/b\u0000c', 'NUL'],
  ['a/\u202eb', 'bidi override'],
  ['a\\b', 'backslash'],
  ['a/*', 'glob star'],
  ['a/%2e%2e', 'percent'],
  [`${'a'.repeat(129)}`, 'segment too long'],
  [Array.from({ length: MAX_DEPTH + 1 }, () => 'a').join('/'), 'too deep'],
  [Array.from({ length: 20 }, () => 'é'.repeat(14)).join('/'), 'too many bytes'],
];

for (const [input, why] of refused) {
  test(`refuses a path with ${why}`, () => {
    const result = normaliseSecretPath(input);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.reason.length > 0);
  });
}

test('accepts a path of exactly the byte limit and refuses one byte more', () => {
  const segments = Math.floor((MAX_PATH_BYTES - 1) / 65);
  const base = Array.from({ length: segments }, () => 'a'.repeat(64)).join('/');
  const fill = MAX_PATH_BYTES - 1 - base.length - 1;
  const exact = `${base}/${'b'.repeat(fill)}`;
  const result = normaliseSecretPath(exact);
  assert.ok(result.ok);
  assert.equal(Buffer.byteLength(result.path), MAX_PATH_BYTES);
  assert.equal(normaliseSecretPath(`${exact}b`).ok, false);
});

test('normalises list prefixes, where empty and trailing slashes are allowed', () => {
  assert.equal(normalisePathPrefix(''), '/');
  assert.equal(normalisePathPrefix('/'), '/');
  assert.equal(normalisePathPrefix('stripe/'), '/stripe');
  assert.equal(normalisePathPrefix('/stripe/keys'), '/stripe/keys');
  assert.equal(normalisePathPrefix('a/../b'), undefined);
});
