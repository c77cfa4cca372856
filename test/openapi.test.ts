import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from './support/app.js';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

interface Operation {
  security?: unknown[];
  summary?: string;
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; additionalProperties?: unknown } }> };
}

test('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as { openapi: string; paths: Record<string, Record<string, Operation>>; components: unknown };
  assert.equal(doc.openapi, '3.1.0');
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => ({ path, m, op })));
  assert.deepEqual(
    operations.map((o) => `${o.m.toUpperCase()} ${o.path}`).sort(),
    [
      'DELETE /v1/audit/sinks/{sinkId}',
      'DELETE /v1/vaults/{vaultId}',
      'DELETE /v1/vaults/{vaultId}/secrets/{*}',
      'GET /healthz',
      'GET /readyz',
      'GET /v1/audit/consistency',
      'GET /v1/audit/events',
      'GET /v1/audit/events/{seq}/proof',
      'GET /v1/audit/export',
      'GET /v1/audit/heads',
      'GET /v1/audit/heads/latest',
      'GET /v1/audit/sinks',
      'GET /v1/vaults',
      'GET /v1/vaults/{vaultId}',
      'GET /v1/vaults/{vaultId}/secrets',
      'GET /v1/vaults/{vaultId}/secrets/{*}',
      'POST /v1/audit/heads',
      'POST /v1/audit/sinks',
      'POST /v1/vaults',
      'PUT /v1/vaults/{vaultId}/secrets/{*}',
    ],
  );
  for (const { path, m, op } of operations) {
    assert.ok(op.summary, `${m} ${path} has a summary`);
    if (path.startsWith('/v1/')) assert.deepEqual(op.security, [{ bearerAuth: [] }], `${m} ${path} declares bearer auth`);
  }
  const put = doc.paths['/v1/vaults/{vaultId}/secrets/{*}']?.put;
  const body = put?.requestBody?.content['application/json']?.schema;
  assert.ok(body?.properties && 'value' in body.properties && 'tier' in body.properties);
  assert.equal(body?.additionalProperties, false, 'unknown fields are refused, and the document says so');
});
