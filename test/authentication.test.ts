import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { generateToken } from '../src/domains/tokens/tokens.fns.js';
import { createTestApp, type TestApp, type TestOrg } from './support/app.js';

let t: TestApp;
let org: TestOrg;

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
});
after(() => t.close());

const protectedRequest = { method: 'GET', url: '/v1/vaults' } as const;

test('the root token authenticates', async () => {
  const res = await t.call(org.token, protectedRequest);
  assert.equal(res.statusCode, 200);
});

test('every kind of bad credential gets the same 401 problem', async () => {
  const forged = generateToken('root', org.orgId).token; // well-formed, never stored
  const wrongSecret = org.token.slice(0, 60) + (org.token[60] === 'A' ? 'B' : 'A') + org.token.slice(61);
  const otherOrg = generateToken('root', randomUUID()).token;
  const headers: [string, Record<string, string>][] = [
    ['no header', {}],
    ['another scheme', { authorization: `Basic ${Buffer.from('root:root').toString('base64')}` }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['garbage', { authorization: 'Bearer not-a-token' }],
    ['a token that was never issued', { authorization: `Bearer ${forged}` }],
    ['a token with a wrong secret', { authorization: `Bearer ${wrongSecret}` }],
    ['a token of an org that does not exist', { authorization: `Bearer ${otherOrg}` }],
    ['a token with trailing junk', { authorization: `Bearer ${org.token} x` }],
    ['an over-long header', { authorization: `Bearer ${'a'.repeat(10_000)}` }],
  ];
  const bodies = new Set<string>();
  for (const [name, h] of headers) {
    const res = await t.app.inject({ ...protectedRequest, headers: h });
    assert.equal(res.statusCode, 401, name);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/, name);
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="strongroom"', name);
    const { requestId, ...rest } = res.json();
    assert.equal(rest.code, 'UNAUTHENTICATED', name);
    assert.equal(typeof requestId, 'string');
    bodies.add(JSON.stringify(rest));
  }
  assert.equal(bodies.size, 1, 'the answer must not say which check failed');
});

test('a revoked or expired root token is refused', async () => {
  const other = await t.createOrg();
  assert.equal((await t.call(other.token, protectedRequest)).statusCode, 200);
  await t.database.superuser((c) => c.query('UPDATE api_tokens SET revoked_at = now() WHERE org_id = $1', [other.orgId]));
  assert.equal((await t.call(other.token, protectedRequest)).statusCode, 401);

  const third = await t.createOrg();
  await t.database.superuser((c) =>
    c.query(`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE org_id = $1`, [third.orgId]),
  );
  assert.equal((await t.call(third.token, protectedRequest)).statusCode, 401);
});

test('the database keeps only a hash of the token', async () => {
  const rows = await t.database.superuser((c) =>
    c.query<{ row: string }>('SELECT t::text AS row FROM api_tokens t WHERE org_id = $1', [org.orgId]),
  );
  assert.equal(rows.length, 1);
  const secretPart = Buffer.from(org.token.slice('sr_root_'.length), 'base64url').subarray(32);
  assert.doesNotMatch(rows[0]?.row ?? '', new RegExp(secretPart.toString('hex')));
  assert.doesNotMatch(rows[0]?.row ?? '', new RegExp(org.token.slice(8, 40)));
});

test('health, readiness and the OpenAPI document need no token', async () => {
  assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), {
    status: 'ready',
    database: { kind: t.database.kind, ok: true },
    key_provider: { name: 'local', ok: true },
  });
  const doc = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(doc.statusCode, 200);
});

test('readiness answers 503 and says which part is down when the database is gone', async () => {
  const other = await createTestApp();
  try {
    await other.database.db.close();
    const res = await other.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().status, 'unavailable');
    assert.equal(res.json().database.ok, false);
    assert.equal(res.json().key_provider.ok, true);
  } finally {
    await other.close();
  }
});

test('every request is logged with its request id, taken from x-request-id when plain and made up otherwise', async () => {
  const given = await t.call(org.token, { ...protectedRequest, headers: { 'x-request-id': 'trace-abc.123' } });
  assert.equal(given.headers['x-request-id'], 'trace-abc.123');
  const made = await t.call(org.token, { ...protectedRequest, headers: { 'x-request-id': 'not plain; <script>' } });
  const madeId = String(made.headers['x-request-id']);
  assert.match(madeId, /^[0-9a-f-]{36}$/);
  for (const id of ['trace-abc.123', madeId]) {
    const lines = t.logs.map((l) => JSON.parse(l) as { requestId?: string; msg?: string }).filter((l) => l.requestId === id);
    assert.deepEqual(lines.map((l) => l.msg), ['incoming request', 'request completed'], id);
  }
});
