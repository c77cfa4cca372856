import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { createTestApp, type TestApp } from './support/app.js';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

interface BodySchema {
  type?: string;
  properties?: Record<string, unknown>;
  additionalProperties?: unknown;
  oneOf?: BodySchema[];
  anyOf?: BodySchema[];
}

interface Operation {
  security?: unknown[];
  summary?: string;
  parameters?: { in: string; name: string; schema?: unknown }[];
  requestBody?: { content: Record<string, { schema: BodySchema }> };
}

/**
 * The sign-in routes (I1, I2): anyone may call them, and what they take is a credential in the
 * body (an e-mail code, a password, an MFA or refresh token) or a browser coming to or back from
 * an identity provider — never a bearer token.
 */
const SIGN_IN = [
  'POST /v1/auth/email/start',
  'POST /v1/auth/email/verify',
  'POST /v1/auth/password',
  'POST /v1/auth/mfa',
  'POST /v1/auth/refresh',
  'GET /v1/auth/oidc/providers',
  'GET /v1/auth/oidc/{provider}/start',
  'GET /v1/auth/oidc/{provider}/callback',
];

/** The routes that take no bearer token, and why: the exchange's body carries the API key; JWKS is public; sign-in is how a bearer token is had. */
const UNAUTHENTICATED = new Set(['GET /healthz', 'GET /readyz', 'GET /.well-known/jwks.json', 'POST /v1/auth/agent-token', ...SIGN_IN]);

/** Whether a body schema refuses unknown fields: itself, or every variant of a union (a `null` body has none to take). */
function refusesUnknownFields(schema: BodySchema | undefined): boolean {
  if (!schema) return false;
  if (schema.additionalProperties === false || schema.type === 'null') return true;
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
      'DELETE /v1/invitations/{invitationId}',
      'DELETE /v1/me',
      'DELETE /v1/me/mfa/totp',
      'DELETE /v1/me/sessions/{sessionId}',
      'DELETE /v1/members/{memberId}',
      'DELETE /v1/roles/{roleId}',
      'DELETE /v1/teams/{teamId}',
      'DELETE /v1/teams/{teamId}/members/{memberId}',
      'DELETE /v1/tokens/{tokenId}',
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
      'GET /v1/auth/oidc/providers',
      'GET /v1/auth/oidc/{provider}/callback',
      'GET /v1/auth/oidc/{provider}/start',
      'GET /v1/authz/explain',
      'GET /v1/invitations',
      'GET /v1/me',
      'GET /v1/me/orgs',
      'GET /v1/me/sessions',
      'GET /v1/members',
      'GET /v1/members/{memberId}',
      'GET /v1/org',
      'GET /v1/roles',
      'GET /v1/roles/{roleId}',
      'GET /v1/teams',
      'GET /v1/teams/{teamId}',
      'GET /v1/tokens',
      'GET /v1/vaults',
      'GET /v1/vaults/{vaultId}',
      'GET /v1/vaults/{vaultId}/policies',
      'GET /v1/vaults/{vaultId}/policies/{policyId}',
      'GET /v1/vaults/{vaultId}/secrets',
      'GET /v1/vaults/{vaultId}/secrets/{*}',
      'PATCH /v1/agents/{agentId}',
      'PATCH /v1/members/{memberId}',
      'PATCH /v1/org',
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
      'POST /v1/auth/email/start',
      'POST /v1/auth/email/verify',
      'POST /v1/auth/mfa',
      'POST /v1/auth/password',
      'POST /v1/auth/refresh',
      'POST /v1/auth/sign-out',
      'POST /v1/auth/sign-out-everywhere',
      'POST /v1/auth/step-up',
      'POST /v1/auth/switch',
      'POST /v1/invitations',
      'POST /v1/invitations/accept',
      'POST /v1/me/mfa/recovery-codes',
      'POST /v1/me/mfa/totp',
      'POST /v1/me/mfa/totp/confirm',
      'POST /v1/members',
      'POST /v1/members/{memberId}/sessions/revoke',
      'POST /v1/org/leave',
      'POST /v1/org/transfer-ownership',
      'POST /v1/orgs',
      'POST /v1/roles',
      'POST /v1/teams',
      'POST /v1/tokens',
      'POST /v1/vaults',
      'POST /v1/vaults/{vaultId}/policies',
      'PUT /v1/me/password',
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
    // Each parameter is one the route takes, described by a schema (a record of query values
    // once came out as parameters named after JSON Schema keywords, `type` among them).
    for (const p of op.parameters ?? []) {
      assert.ok(typeof p.schema === 'object' && p.schema !== null, `${route}: parameter ${p.in} ${p.name} has a schema object, not ${JSON.stringify(p.schema)}`);
      assert.ok(!['propertyNames', 'additionalProperties', 'patternProperties'].includes(p.name), `${route}: parameter ${p.in} ${p.name} is a JSON Schema keyword`);
    }
  }
  // Every authenticated route is under /v1; the only unauthenticated /v1 routes are the token exchange and sign-in.
  assert.deepEqual(
    operations
      .filter((o) => o.path.startsWith('/v1/') && o.op.security === undefined)
      .map((o) => `${o.m.toUpperCase()} ${o.path}`)
      .sort(),
    ['POST /v1/auth/agent-token', ...SIGN_IN].sort(),
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

test('the sign-in routes answer without a token, each with its own answer; the signed-in person\'s routes refuse', async () => {
  // Without a provider configured, an OIDC start or callback names no provider: not found.
  const answers: Record<string, { request: InjectOptions; status: number; code?: string }> = {
    'POST /v1/auth/email/start': { request: { method: 'POST', url: '/v1/auth/email/start', payload: { email: 'nobody@example.com' } }, status: 202 },
    'POST /v1/auth/email/verify': {
      request: { method: 'POST', url: '/v1/auth/email/verify', payload: { email: 'nobody@example.com', code: '000000' } },
      status: 401,
      code: 'SIGN_IN_FAILED',
    },
    'POST /v1/auth/password': {
      request: { method: 'POST', url: '/v1/auth/password', payload: { email: 'nobody@example.com', password: 'not-the-password' } },
      status: 401,
      code: 'SIGN_IN_FAILED',
    },
    'POST /v1/auth/mfa': { request: { method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: 'sr_mfa_nope', code: '000000' } }, status: 401, code: 'SIGN_IN_FAILED' },
    // The body is read (a bearer-token route refuses before reading it, with 401).
    'POST /v1/auth/refresh': {
      request: { method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: 'sr_refresh_nope', extra: true } },
      status: 400,
      code: 'VALIDATION_FAILED',
    },
    'GET /v1/auth/oidc/providers': { request: { method: 'GET', url: '/v1/auth/oidc/providers' }, status: 200 },
    'GET /v1/auth/oidc/{provider}/start': { request: { method: 'GET', url: '/v1/auth/oidc/nope/start' }, status: 404, code: 'NOT_FOUND' },
    'GET /v1/auth/oidc/{provider}/callback': { request: { method: 'GET', url: '/v1/auth/oidc/nope/callback?code=x&state=y' }, status: 404, code: 'NOT_FOUND' },
  };
  assert.deepEqual(Object.keys(answers).sort(), [...SIGN_IN].sort(), 'every sign-in route is tried');
  for (const [route, { request, status, code }] of Object.entries(answers)) {
    const res = await t.app.inject(request);
    assert.equal(res.statusCode, status, `${route}: ${res.body}`);
    if (code !== undefined) assert.equal(res.json().code, code, `${route}: ${res.body}`);
  }
  assert.deepEqual((await t.app.inject({ method: 'GET', url: '/v1/auth/oidc/providers' })).json(), { providers: [] });
  // The person's routes take a person's session: no token, or an org's root token, is refused.
  const org = await t.createOrg();
  for (const token of [undefined, org.token]) {
    const me = await t.call(token, { method: 'GET', url: '/v1/me' });
    assert.equal(me.statusCode, 401, me.body);
    assert.equal(me.json().code, 'UNAUTHENTICATED');
  }
});
