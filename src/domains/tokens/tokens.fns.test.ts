import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { DUMMY_SECRET_HASH, generateToken, parseToken, tokenSecretMatches } from './tokens.fns.js';

test('a generated token parses back to its org, id and a secret that matches its stored hash', () => {
  const orgId = randomUUID();
  const { token, tokenId, secretHash } = generateToken('root', orgId);
  assert.match(token, /^sr_root_[A-Za-z0-9_-]{86}$/);
  const parsed = parseToken(token);
  assert.ok(parsed);
  assert.equal(parsed.kind, 'root');
  assert.equal(parsed.orgId, orgId);
  assert.equal(parsed.tokenId, tokenId);
  assert.equal(tokenSecretMatches(parsed.secret, secretHash), true);
  assert.equal(tokenSecretMatches(parsed.secret, DUMMY_SECRET_HASH), false);
});

test('two tokens for one org differ in id and secret', () => {
  const orgId = randomUUID();
  const a = generateToken('root', orgId);
  const b = generateToken('root', orgId);
  assert.notEqual(a.token, b.token);
  assert.notEqual(a.tokenId, b.tokenId);
  assert.notDeepEqual(a.secretHash, b.secretHash);
});

test('a token with one changed character in its secret no longer matches', () => {
  const { token, secretHash } = generateToken('root', randomUUID());
  // Not the last character: its low bits are base64 padding and decode to nothing.
  const i = token.length - 10;
  const tampered = parseToken(token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1));
  assert.ok(tampered);
  assert.equal(tokenSecretMatches(tampered.secret, secretHash), false);
});

test('refuses text that is not one of our tokens', () => {
  const { token } = generateToken('root', randomUUID());
  for (const bad of ['', 'Bearer x', token.slice(0, -1), `${token}A`, token.replace('sr_root_', 'sr_admin_'), token.replace('_', '-'), 'sr_root_' + '!'.repeat(86)]) {
    assert.equal(parseToken(bad), undefined, bad.slice(0, 20));
  }
});
