import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from './support/app.js';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

interface BodySchema {
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
  oneOf?: BodySchema[];
  anyOf?: BodySchema[];
}

interface Operation {
  security?: unknown[];
  summary?: string;
  requestBody?: { content: Record<string, { schema: BodySchema }> };
}

/** The routes that take no bearer token, and why: the exchange's body carries the API key; JWKS is public. */
const UNAUTHENTICATED = new Set(['GET /healthz', 'GET /readyz', 'GET /.well-known/jwks.json', 'POST /v1/auth/agent-token']);

/** Whether a body schema refuses unknown fields: itself, or every variant of a union. */
function refusesUnknownFields(schema: BodySchema | undefined): boolean {
  if (!schema) return false;
  if (schema.additionalProperties === false) return true;
  const variants = schema.oneOf ?? schema.anyOf;
  return variants !== undefined && variants.length > 0 && variants.every(refusesUnknownFields);
}

test('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes?: unknown } };
  assert.equal(doc.openapi, '3.1.0');
  assert.deepEqual(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } });
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => ({ path, m, op })));
  assert.deepEqual(
    operations.map((o) => `${o.m.toUpperCase()} ${o.path}`).sort(),
    [
      'DELETE /v1/agents/{agentId}',
      'DELETE /v1/audit/sinks/{sinkId}',
      'DELETE /v1/members/{memberId}',
      'DELETE /v1/roles/{roleId}',
      'DELETE /v1/teams/{teamId}',
      'DELETE /v1/teams/{teamId}/members/{memberId}',
      'DELETE /v1/vaults/{vaultId}',
      'DELETE /v1/vaults/{vaultId}/policies/{policyId}',
      'DELETE /v1/vaults/{vaultId}/secrets/{*}',
      'GET /.well-known/jwks.json',
      'GET /healthz',
      'GET /readyz',
      'GET /v1/access/matrix',
      'GET /v1/access/reviews',
      'GET /v1/access/reviews/{reviewId}',
      'GET /v1/agents',
      'GET /v1/agents/{agentId}',
      'GET /v1/approvals',
      'GET /v1/approvals/{approvalId}',
      'GET /v1/audit/consistency',
      'GET /v1/audit/events',
      'GET /v1/audit/events/{seq}/proof',
      'GET /v1/audit/export',
      'GET /v1/audit/heads',
      'GET /v1/audit/heads/latest',
      'GET /v1/audit/sinks',
      'GET /v1/authz/explain',
      'GET /v1/members',
      'GET /v1/members/{memberId}',
      'GET /v1/roles',
      'GET /v1/roles/{roleId}',
      'GET /v1/teams',
      'GET /v1/teams/{teamId}',
      'GET /v1/vaults',
      'GET /v1/vaults/{vaultId}',
      'GET /v1/vaults/{vaultId}/policies',
      'GET /v1/vaults/{vaultId}/policies/{policyId}',
      'GET /v1/vaults/{vaultId}/secrets',
      'GET /v1/vaults/{vaultId}/secrets/{*}',
      'PATCH /v1/agents/{agentId}',
      'PATCH /v1/members/{memberId}',
      'PATCH /v1/teams/{teamId}',
      'POST /v1/access/reviews',
      'POST /v1/access/reviews/{reviewId}/close',
      'POST /v1/access/reviews/{reviewId}/items/{itemId}/decision',
      'POST /v1/access/reviews/{reviewId}/reminders',
      'POST /v1/agents',
      'POST /v1/agents/{agentId}/rotate-key',
      'POST /v1/approvals',
      'POST /v1/approvals/{approvalId}/approve',
      'POST /v1/approvals/{approvalId}/deny',
      'POST /v1/audit/heads',
      'POST /v1/audit/sinks',
      'POST /v1/auth/agent-token',
      'POST /v1/members',
      'POST /v1/roles',
      'POST /v1/teams',
      'POST /v1/vaults',
      'POST /v1/vaults/{vaultId}/policies',
      'PUT /v1/roles/{roleId}',
      'PUT /v1/teams/{teamId}/members/{memberId}',
      'PUT /v1/vaults/{vaultId}/policies/{policyId}',
      'PUT /v1/vaults/{vaultId}/secrets/{*}',
    ],
  );
  for (const { path, m, op } of operations) {
    const route = `${m.toUpperCase()} ${path}`;
    assert.ok(op.summary, `${route} has a summary`);
    if (UNAUTHENTICATED.has(route)) assert.equal(op.security, undefined, `${route} declares no bearer auth`);
    else assert.deepEqual(op.security, [{ bearerAuth: [] }], `${route} declares bearer auth`);
    if (op.requestBody) {
      assert.ok(refusesUnknownFields(op.requestBody.content['application/json']?.schema), `${route}: the document says unknown fields are refused`);
    }
  }
  // Every authenticated route is under /v1; the only unauthenticated /v1 route is the token exchange.
  assert.deepEqual(
    operations.filter((o) => o.path.startsWith('/v1/') && o.op.security === undefined).map((o) => `${o.m.toUpperCase()} ${o.path}`),
    ['POST /v1/auth/agent-token'],
  );
  const put = doc.paths['/v1/vaults/{vaultId}/secrets/{*}']?.put;
  const body = put?.requestBody?.content['application/json']?.schema;
  assert.ok(body?.properties && 'value' in body.properties && 'tier' in body.properties);
  assert.equal(body?.additionalProperties, false, 'unknown fields are refused, and the document says so');
  const exchange = doc.paths['/v1/auth/agent-token']?.post?.requestBody?.content['application/json']?.schema;
  assert.deepEqual(Object.keys(exchange?.properties ?? {}).sort(), ['agent_id', 'api_key'], 'the exchange takes its credential in the body');
});

test('the two unauthenticated routes answer without a token; the others refuse', async () => {
  const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  assert.equal(jwks.statusCode, 200, jwks.body);
  const keys = jwks.json().keys as Record<string, string>[];
  assert.ok(keys.length > 0);
  for (const key of keys) {
    assert.equal(key.kty, 'OKP');
    assert.equal(key.crv, 'Ed25519');
    assert.equal(key.d, undefined, 'never a private key');
  }
  // Unauthenticated by design: a wrong key is the exchange's own 401, not the bearer check's.
  const exchange = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/agent-token',
    payload: { agent_id: '00000000-0000-4000-8000-000000000000', api_key: 'sr_agent_nope' },
  });
  assert.equal(exchange.statusCode, 401, exchange.body);
  assert.equal(exchange.json().code, 'UNAUTHENTICATED');
  const listing = await t.app.inject({ method: 'GET', url: '/v1/agents' });
  assert.equal(listing.statusCode, 401);
});
