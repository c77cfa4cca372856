import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

// SPEC P1 and §3 "Cross-tenant matrix": org B's token against every org-A endpoint answers 404
// with exactly the body a missing resource gets, and changes nothing of A's.

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
let aVault: string;
let aSink: string;

before(async () => {
  t = await createTestApp({ audit: { sinksAllowPrivateNetworks: true } });
  a = await t.createOrg();
  b = await t.createOrg();
  aVault = await createVault(t, a, 'a-private');
  await putSecret(t, a, aVault, 'stripe/key', { value: 'a-secret-v1' });
  await putSecret(t, a, aVault, 'stripe/key', { value: 'a-secret-v2' });
  await createVault(t, b, 'b-own');
  const sink = await t.call(a.token, { method: 'POST', url: '/v1/audit/sinks', payload: { kind: 'syslog', name: 'a-siem', host: '127.0.0.1', port: 9, tls: false } });
  aSink = sink.json().id;
});
after(() => t.close());

/** One request per endpoint, naming A's resources (`vault`) — and the same for a missing one. */
interface Case {
  route: string; // METHOD + OpenAPI path
  request(vault: string): InjectOptions;
}

const cases: Case[] = [
  { route: 'GET /v1/vaults/{vaultId}', request: (v) => ({ method: 'GET', url: `/v1/vaults/${v}` }) },
  { route: 'DELETE /v1/vaults/{vaultId}', request: (v) => ({ method: 'DELETE', url: `/v1/vaults/${v}?force=true` }) },
  { route: 'GET /v1/vaults/{vaultId}/secrets', request: (v) => ({ method: 'GET', url: `/v1/vaults/${v}/secrets` }) },
  {
    route: 'PUT /v1/vaults/{vaultId}/secrets/{*}',
    request: (v) => ({ method: 'PUT', url: `/v1/vaults/${v}/secrets/stripe/key`, payload: { value: 'b-overwrites' } }),
  },
  { route: 'GET /v1/vaults/{vaultId}/secrets/{*}', request: (v) => ({ method: 'GET', url: `/v1/vaults/${v}/secrets/stripe/key` }) },
  {
    route: 'GET /v1/vaults/{vaultId}/secrets/{*}',
    request: (v) => ({ method: 'GET', url: `/v1/vaults/${v}/secrets/stripe/key?version=1` }),
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}/secrets/{*}',
    request: (v) => ({ method: 'DELETE', url: `/v1/vaults/${v}/secrets/stripe/key` }),
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}/secrets/{*}',
    request: (v) => ({ method: 'DELETE', url: `/v1/vaults/${v}/secrets/stripe/key?version=1` }),
  },
  // Given A's vault, this case names A's sink; given a random id, a sink that does not exist.
  { route: 'DELETE /v1/audit/sinks/{sinkId}', request: (v) => ({ method: 'DELETE', url: `/v1/audit/sinks/${v === aVault ? aSink : v}` }) },
];

/** Routes that name no resource of an org: they are checked for what they list instead. */
const collectionRoutes = new Set([
  'GET /v1/vaults',
  'POST /v1/vaults',
  'GET /v1/audit/events',
  'GET /v1/audit/events/{seq}/proof',
  'GET /v1/audit/consistency',
  'GET /v1/audit/heads/latest',
  'GET /v1/audit/heads',
  'POST /v1/audit/heads',
  'GET /v1/audit/export',
  'GET /v1/audit/sinks',
  'POST /v1/audit/sinks',
]);

const withoutRequestId = (body: string) => {
  const { requestId, ...rest } = JSON.parse(body) as Record<string, unknown>;
  assert.equal(typeof requestId, 'string');
  return rest;
};

test('the matrix covers every authenticated route of the API', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  const covered = new Set([...cases.map((c) => c.route), ...collectionRoutes]);
  const normalise = (r: string) => r.replace(/\{\*\}|\*$/, '{*}');
  assert.deepEqual(routes.map(normalise).filter((r) => !covered.has(r)), []);
});

test("org B's token gets the missing-resource 404 on every org-A endpoint", async () => {
  for (const c of cases) {
    const foreign = await t.call(b.token, c.request(aVault));
    const missing = await t.call(b.token, c.request(randomUUID()));
    assert.equal(foreign.statusCode, 404, `${c.route}: ${foreign.body}`);
    assert.equal(missing.statusCode, 404, c.route);
    assert.equal(foreign.headers['content-type'], missing.headers['content-type'], c.route);
    assert.deepEqual(withoutRequestId(foreign.body), withoutRequestId(missing.body), c.route);
    assert.equal(foreign.json().code, 'NOT_FOUND');
  }
});

test("org B's listings never show org A's vaults", async () => {
  const list = await t.call(b.token, { method: 'GET', url: '/v1/vaults' });
  assert.deepEqual(
    list.json().vaults.map((v: { name: string }) => v.name),
    ['b-own'],
  );
  assert.doesNotMatch(list.body, new RegExp(aVault));
});

test("org B's audit log, heads, proofs and export never show org A's events", async () => {
  const [aEvents] = await t.database.superuser((c) =>
    c.query<{ n: number | string }>('SELECT count(*) AS n FROM audit_events WHERE org_id = $1', [a.orgId]),
  );
  assert.ok(Number(aEvents?.n) > 0, 'org A has events to leak');
  // B's own log names A's vault id where B asked for it; what must never show is A's events:
  // A's org id and A's actor (its root token's id) appear only there.
  const [aToken] = await t.database.superuser((c) =>
    c.query<{ token_id: string }>('SELECT token_id FROM api_tokens WHERE org_id = $1', [a.orgId]),
  );
  assert.ok(aToken);
  await t.call(b.token, { method: 'POST', url: '/v1/audit/heads' });
  for (const url of ['/v1/audit/events?limit=1000', '/v1/audit/heads', '/v1/audit/heads/latest', '/v1/audit/export', '/v1/audit/events/1/proof']) {
    const res = await t.call(b.token, { method: 'GET', url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    assert.doesNotMatch(res.body, new RegExp(`${a.orgId}|${aToken.token_id}`), url);
  }
  const events = (await t.call(b.token, { method: 'GET', url: '/v1/audit/events?limit=1000' })).json().events as { event: { org: string } }[];
  assert.ok(events.length > 0 && events.every((e) => e.event.org === b.orgId));
});

test("a vault B creates with A's vault name is B's own; A's is untouched", async () => {
  const res = await t.call(b.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'a-private' } });
  assert.equal(res.statusCode, 201);
  assert.notEqual(res.json().id, aVault);
});

test("after the matrix, org A's vault and secret are exactly as they were", async () => {
  const vault = await t.call(a.token, { method: 'GET', url: `/v1/vaults/${aVault}` });
  assert.equal(vault.statusCode, 200);
  const read = await t.call(a.token, { method: 'GET', url: `/v1/vaults/${aVault}/secrets/stripe/key` });
  assert.equal(read.json().value, 'a-secret-v2');
  assert.equal(read.json().version, 2);
  const v1 = await t.call(a.token, { method: 'GET', url: `/v1/vaults/${aVault}/secrets/stripe/key?version=1` });
  assert.equal(v1.json().value, 'a-secret-v1');
  const sinks = await t.call(a.token, { method: 'GET', url: '/v1/audit/sinks' });
  assert.deepEqual(sinks.json().sinks.map((s: { id: string }) => s.id), [aSink]);
  const bSinks = await t.call(b.token, { method: 'GET', url: '/v1/audit/sinks' });
  assert.deepEqual(bSinks.json().sinks, []);
});
