import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_VAULT, matchesPattern, normalisePattern } from './glob.js';

const matching: ReadonlyArray<{ pattern: string; matches: readonly string[]; misses: readonly string[] }> = [
  { pattern: '/stripe/*', matches: ['/stripe/key'], misses: ['/stripe/x/y', '/github/key', '/stripe'] },
  { pattern: '/stripe/**', matches: ['/stripe', '/stripe/key', '/stripe/x/y'], misses: ['/github/key', '/stripes/key'] },
  { pattern: WHOLE_VAULT, matches: ['/a', '/stripe/key', '/a/b/c/d/e'], misses: [] },
  { pattern: '/**/key', matches: ['/key', '/a/key', '/a/b/key'], misses: ['/a/key/b', '/a/keys', '/a'] },
  { pattern: '/*/key', matches: ['/a/key'], misses: ['/key', '/a/b/key', '/a/other'] },
  { pattern: '/env/prod-*', matches: ['/env/prod-db', '/env/prod-x'], misses: ['/env/prod-', '/env/staging-db', '/env/prod-db/x'] },
  { pattern: '/keys/key_*', matches: ['/keys/key_live'], misses: ['/keys/key_', '/keys/akey_live'] },
  { pattern: '/k/*_*', matches: ['/k/a_b', '/k/a_b_c', '/k/a__b'], misses: ['/k/_b', '/k/a_', '/k/ab', '/k/_'] },
  { pattern: '/k/*a*a*', matches: ['/k/xaxax', '/k/xaaaax'], misses: ['/k/xaax', '/k/aaaa', '/k/xaxa'] },
  { pattern: '/a/**/b/**/c', matches: ['/a/b/c', '/a/x/b/y/z/c', '/a/b/b/c'], misses: ['/a/c', '/a/b', '/a/b/c/d'] },
  { pattern: '/a/**/*', matches: ['/a/x', '/a/x/y'], misses: ['/a', '/b/x'] },
  { pattern: '/café/*', matches: ['/café/menu'], misses: ['/cafe/menu'] },
];

for (const { pattern, matches, misses } of matching) {
  test(`${pattern} matches ${matches.join(', ') || 'nothing listed'} and not ${misses.join(', ') || '-'}`, () => {
    for (const path of matches) assert.equal(matchesPattern(pattern, path), true, path);
    for (const path of misses) assert.equal(matchesPattern(pattern, path), false, path);
  });
}

const normalised: ReadonlyArray<{ input: string; pattern: string }> = [
  { input: 'stripe/*', pattern: '/stripe/*' },
  { input: '/stripe/**', pattern: '/stripe/**' },
  { input: '**', pattern: WHOLE_VAULT },
  { input: '/a/**/**/b', pattern: '/a/**/b' },
  { input: 'cafe\u0301/*', pattern: '/caf\u00e9/*' },
  { input: 'env/prod-*', pattern: '/env/prod-*' },
];

for (const { input, pattern } of normalised) {
  test(`normalises the pattern ${JSON.stringify(input)} to ${pattern}`, () => {
    assert.deepEqual(normalisePattern(input), { ok: true, pattern });
  });
}

const refused: ReadonlyArray<{ input: string; reason: RegExp }> = [
  { input: '', reason: /empty/ },
  { input: '/', reason: /empty/ },
  { input: 'a//b', reason: /empty segment/ },
  { input: '/a/', reason: /empty segment/ },
  { input: '../x', reason: /"\."/ },
  { input: '/a/./b', reason: /"\."/ },
  { input: 'a/***', reason: /whole segment/ },
  { input: 'a/**b', reason: /whole segment/ },
  { input: 'a/b**', reason: /whole segment/ },
  { input: 'a/b c', reason: /letters, digits/ },
  { input: 'a/b%2F', reason: /letters, digits/ },
  { input: `/${'a'.repeat(129)}`, reason: /longer than 128 characters/ },
  { input: Array.from({ length: 33 }, () => 'a').join('/'), reason: /more than 32 segments/ },
  { input: Array.from({ length: 6 }, () => 'a'.repeat(100)).join('/'), reason: /longer than 512 bytes/ },
];

for (const { input, reason } of refused) {
  test(`refuses the pattern ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)}`, () => {
    const result = normalisePattern(input);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, reason);
  });
}

test('matches a long path against many stars without blowing up', () => {
  const pattern = `/${Array.from({ length: 16 }, () => '**/*a*a*a*').join('/')}/b`;
  const path = `/${Array.from({ length: 31 }, () => 'a'.repeat(120)).join('/')}`;
  const started = performance.now();
  assert.equal(matchesPattern(pattern, path), false);
  assert.ok(performance.now() - started < 500);
});
