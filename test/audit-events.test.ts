import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

// Acceptance (A1): every route of the API has a test that shows its audit event, for a success
// and for a failure. The table is checked against the OpenAPI document, so a new route cannot
// be left out.

let t: TestApp;
let org: TestOrg;
let vaultId: string;

before(async () => {
  // Sinks on loopback are allowed here, so a sink can be created without a public SIEM.
  t = await createTestApp({ audit: { sinksAllowPrivateNetworks: true } });
  org = await t.createOrg();
  vaultId = await createVault(t, org, 'audited');
  await putSecret(t, org, vaultId, 'stripe/key', { value: 'v1' });
  await putSecret(t, org, vaultId, 'stripe/key', { value: 'v2' });
});
after(() => t.close());

interface Expected {
  action: string;
  outcome: 'success' | 'failure' | 'error';
  status: number | null;
  resource: RegExp;
  version?: number;
}

interface Case {
  route: string;
  success: () => InjectOptions;
  successEvent: () => Expected;
  failure: () => InjectOptions;
  failureEvent: () => Expected;
}

const missingVault = randomUUID();
const cases: Case[] = [
  {
    route: 'POST /v1/vaults',
    success: () => ({ method: 'POST', url: '/v1/vaults', payload: { name: `v-${randomUUID()}` } }),
    successEvent: () => ({ action: 'vault.create', outcome: 'success', status: null, resource: /^vault:[0-9a-f-]{36}$/ }),
    failure: () => ({ method: 'POST', url: '/v1/vaults', payload: { name: 'audited' } }),
    failureEvent: () => ({ action: 'vault.create', outcome: 'failure', status: 409, resource: /^vault:\(new\)$/ }),
  },
  {
    route: 'GET /v1/vaults',
    success: () => ({ method: 'GET', url: '/v1/vaults' }),
    successEvent: () => ({ action: 'vault.list', outcome: 'success', status: 200, resource: /^org:/ }),
    failure: () => ({ method: 'GET', url: '/v1/vaults?unknown=1' }),
    failureEvent: () => ({ action: 'vault.list', outcome: 'failure', status: 400, resource: /^org:/ }),
  },
  {
    route: 'GET /v1/vaults/{vaultId}',
    success: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}` }),
    successEvent: () => ({ action: 'vault.describe', outcome: 'success', status: 200, resource: new RegExp(`^vault:${vaultId}$`) }),
    failure: () => ({ method: 'GET', url: `/v1/vaults/${missingVault}` }),
    failureEvent: () => ({ action: 'vault.describe', outcome: 'failure', status: 404, resource: new RegExp(`^vault:${missingVault}$`) }),
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}',
    success: () => ({ method: 'DELETE', url: `/v1/vaults/${emptyVault}` }),
    successEvent: () => ({ action: 'vault.delete', outcome: 'success', status: null, resource: /^vault:/ }),
    failure: () => ({ method: 'DELETE', url: `/v1/vaults/${vaultId}` }),
    failureEvent: () => ({ action: 'vault.delete', outcome: 'failure', status: 409, resource: new RegExp(`^vault:${vaultId}$`) }),
  },
  {
    route: 'GET /v1/vaults/{vaultId}/secrets',
    success: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/secrets` }),
    successEvent: () => ({ action: 'secret.list', outcome: 'success', status: 200, resource: new RegExp(`^vault:${vaultId}$`) }),
    failure: () => ({ method: 'GET', url: `/v1/vaults/${missingVault}/secrets` }),
    failureEvent: () => ({ action: 'secret.list', outcome: 'failure', status: 404, resource: new RegExp(`^vault:${missingVault}$`) }),
  },
  {
    route: 'PUT /v1/vaults/{vaultId}/secrets/{*}',
    success: () => ({ method: 'PUT', url: `/v1/vaults/${vaultId}/secrets/stripe/key`, payload: { value: 'v3' } }),
    successEvent: () => ({ action: 'secret.write', outcome: 'success', status: null, resource: new RegExp(`^secret:${vaultId}/stripe/key$`), version: 3 }),
    failure: () => ({ method: 'PUT', url: `/v1/vaults/${vaultId}/secrets/stripe/key`, headers: { 'if-match': '"1"' }, payload: { value: 'x' } }),
    failureEvent: () => ({ action: 'secret.write', outcome: 'failure', status: 412, resource: new RegExp(`^secret:${vaultId}/stripe/key$`) }),
  },
  {
    route: 'GET /v1/vaults/{vaultId}/secrets/{*}',
    success: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/secrets/stripe/key?version=2` }),
    successEvent: () => ({ action: 'secret.read', outcome: 'success', status: 200, resource: new RegExp(`^secret:${vaultId}/stripe/key$`), version: 2 }),
    failure: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/secrets/a//b` }),
    failureEvent: () => ({ action: 'secret.read', outcome: 'failure', status: 400, resource: /^secret:\(invalid\)$/ }),
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}/secrets/{*}',
    success: () => ({ method: 'DELETE', url: `/v1/vaults/${vaultId}/secrets/to/delete` }),
    successEvent: () => ({ action: 'secret.delete', outcome: 'success', status: null, resource: new RegExp(`^secret:${vaultId}/to/delete$`) }),
    failure: () => ({ method: 'DELETE', url: `/v1/vaults/${vaultId}/secrets/stripe/key?version=99` }),
    failureEvent: () => ({ action: 'secret.version.destroy', outcome: 'failure', status: 404, resource: new RegExp(`^secret:${vaultId}/stripe/key$`), version: 99 }),
  },
  {
    route: 'GET /v1/audit/events',
    success: () => ({ method: 'GET', url: '/v1/audit/events?limit=1' }),
    successEvent: () => ({ action: 'audit.events.query', outcome: 'success', status: 200, resource: /^audit:events$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/events?outcome=maybe' }),
    failureEvent: () => ({ action: 'audit.events.query', outcome: 'failure', status: 400, resource: /^audit:events$/ }),
  },
  {
    route: 'GET /v1/audit/events/{seq}/proof',
    success: () => ({ method: 'GET', url: '/v1/audit/events/1/proof' }),
    successEvent: () => ({ action: 'audit.proof', outcome: 'success', status: 200, resource: /^audit:proof$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/events/0/proof' }),
    failureEvent: () => ({ action: 'audit.proof', outcome: 'failure', status: 400, resource: /^audit:proof$/ }),
  },
  {
    route: 'GET /v1/audit/consistency',
    success: () => ({ method: 'GET', url: '/v1/audit/consistency?from=1&to=2' }),
    successEvent: () => ({ action: 'audit.proof', outcome: 'success', status: 200, resource: /^audit:consistency$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/consistency?from=3&to=2' }),
    failureEvent: () => ({ action: 'audit.proof', outcome: 'failure', status: 400, resource: /^audit:consistency$/ }),
  },
  {
    route: 'GET /v1/audit/heads/latest',
    success: () => ({ method: 'GET', url: '/v1/audit/heads/latest' }),
    successEvent: () => ({ action: 'audit.heads.read', outcome: 'success', status: 200, resource: /^audit:heads$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/heads/latest?x=1' }),
    failureEvent: () => ({ action: 'audit.heads.read', outcome: 'failure', status: 400, resource: /^audit:heads$/ }),
  },
  {
    route: 'GET /v1/audit/heads',
    success: () => ({ method: 'GET', url: '/v1/audit/heads' }),
    successEvent: () => ({ action: 'audit.heads.read', outcome: 'success', status: 200, resource: /^audit:heads$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/heads?x=1' }),
    failureEvent: () => ({ action: 'audit.heads.read', outcome: 'failure', status: 400, resource: /^audit:heads$/ }),
  },
  {
    route: 'POST /v1/audit/heads',
    success: () => ({ method: 'POST', url: '/v1/audit/heads' }),
    successEvent: () => ({ action: 'audit.heads.sign', outcome: 'success', status: null, resource: /^audit:heads$/ }),
    failure: () => ({ method: 'POST', url: '/v1/audit/heads?x=1' }),
    failureEvent: () => ({ action: 'audit.heads.sign', outcome: 'failure', status: 400, resource: /^audit:heads$/ }),
  },
  {
    route: 'GET /v1/audit/export',
    success: () => ({ method: 'GET', url: '/v1/audit/export' }),
    successEvent: () => ({ action: 'audit.export', outcome: 'success', status: 200, resource: /^audit:export$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/export?all=1' }),
    failureEvent: () => ({ action: 'audit.export', outcome: 'failure', status: 400, resource: /^audit:export$/ }),
  },
  {
    route: 'POST /v1/audit/sinks',
    success: () => ({ method: 'POST', url: '/v1/audit/sinks', payload: { kind: 'syslog', name: `s-${randomUUID()}`, host: '127.0.0.1', port: 9, tls: false } }),
    successEvent: () => ({ action: 'audit.sink.create', outcome: 'success', status: null, resource: /^audit_sink:[0-9a-f-]{36}$/ }),
    failure: () => ({ method: 'POST', url: '/v1/audit/sinks', payload: { kind: 'webhook', name: 'bad', url: 'ftp://example.com/' } }),
    failureEvent: () => ({ action: 'audit.sink.create', outcome: 'failure', status: 400, resource: /^audit:sinks$/ }),
  },
  {
    route: 'GET /v1/audit/sinks',
    success: () => ({ method: 'GET', url: '/v1/audit/sinks' }),
    successEvent: () => ({ action: 'audit.sink.list', outcome: 'success', status: 200, resource: /^audit:sinks$/ }),
    failure: () => ({ method: 'GET', url: '/v1/audit/sinks?x=1' }),
    failureEvent: () => ({ action: 'audit.sink.list', outcome: 'failure', status: 400, resource: /^audit:sinks$/ }),
  },
  {
    route: 'DELETE /v1/audit/sinks/{sinkId}',
    success: () => ({ method: 'DELETE', url: `/v1/audit/sinks/${sinkToDelete}` }),
    successEvent: () => ({ action: 'audit.sink.delete', outcome: 'success', status: null, resource: new RegExp(`^audit_sink:${sinkToDelete}$`) }),
    failure: () => ({ method: 'DELETE', url: `/v1/audit/sinks/${missingVault}` }),
    failureEvent: () => ({ action: 'audit.sink.delete', outcome: 'failure', status: 404, resource: new RegExp(`^audit_sink:${missingVault}$`) }),
  },
];

let emptyVault = '';
let sinkToDelete = '';

interface Event {
  seq: number;
  event: { action: string; outcome: string; status: number | null; resource: { ref: string; version?: number }; request_id: string; reason: string | null };
}

/** The events recorded after `seq`, read straight from the database (the query API records its own). */
async function eventsAfter(seq: number): Promise<Event[]> {
  const rows = await t.database.superuser((c) =>
    c.query<{ seq: number | string; canonical: string }>('SELECT seq, canonical FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq', [
      org.orgId,
      seq,
    ]),
  );
  return rows.map((r) => ({ seq: Number(r.seq), event: JSON.parse(r.canonical) as Event['event'] }));
}

async function lastSeq(): Promise<number> {
  const [row] = await t.database.superuser((c) =>
    c.query<{ n: number | string }>('SELECT COALESCE(max(seq), 0) AS n FROM audit_events WHERE org_id = $1', [org.orgId]),
  );
  return Number(row?.n ?? 0);
}

async function expectRecorded(request: InjectOptions, expected: Expected, what: string): Promise<void> {
  const before = await lastSeq();
  const res = await t.call(org.token, request);
  if (expected.outcome === 'success') assert.ok(res.statusCode < 300, `${what}: ${res.statusCode} ${res.body}`);
  else assert.equal(res.statusCode, expected.status, `${what}: ${res.body}`);
  const events = await eventsAfter(before);
  const mine = events.filter((e) => e.event.request_id === res.headers['x-request-id']);
  assert.equal(mine.length, 1, `${what}: exactly one event for the request, got ${JSON.stringify(events)}`);
  const e = (mine[0] as Event).event;
  assert.equal(e.action, expected.action, what);
  assert.equal(e.outcome, expected.outcome, what);
  assert.equal(e.status, expected.status, what);
  assert.match(e.resource.ref, expected.resource, what);
  if (expected.version !== undefined) assert.equal(e.resource.version, expected.version, what);
}

test('the table covers every authenticated route of the API', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  const covered = new Set(cases.map((c) => c.route));
  assert.deepEqual(routes.filter((r) => !covered.has(r)), []);
});

test('every route records its event, for a success and for a failure', async () => {
  emptyVault = await createVault(t, org);
  const sink = await t.call(org.token, { method: 'POST', url: '/v1/audit/sinks', payload: { kind: 'syslog', name: 'to-delete', host: '127.0.0.1', port: 9, tls: false } });
  assert.equal(sink.statusCode, 201, sink.body);
  sinkToDelete = sink.json().id;
  await putSecret(t, org, vaultId, 'to/delete', { value: 'x' });
  for (const c of cases) {
    await expectRecorded(c.success(), c.successEvent(), `${c.route} (success)`);
    await expectRecorded(c.failure(), c.failureEvent(), `${c.route} (failure)`);
  }
});

test('a failed authentication is recorded as auth.failure in the org the token names, without the token', async () => {
  const before = await lastSeq();
  const wrong = org.token.slice(0, 60) + (org.token[60] === 'A' ? 'B' : 'A') + org.token.slice(61);
  const res = await t.app.inject({ method: 'GET', url: `/v1/vaults/${vaultId}`, headers: { authorization: `Bearer ${wrong}`, 'user-agent': 'probe/1.0' } });
  assert.equal(res.statusCode, 401);
  const [event] = await eventsAfter(before);
  assert.ok(event);
  assert.equal(event.event.action, 'auth.failure');
  assert.equal(event.event.status, 401);
  const rows = await t.database.superuser((c) =>
    c.query<{ row: string }>('SELECT e::text || p::text AS row FROM audit_events e JOIN audit_personal p USING (org_id, seq) WHERE e.org_id = $1 AND e.seq = $2', [
      org.orgId,
      event.seq,
    ]),
  );
  assert.match(rows[0]?.row ?? '', /probe\/1\.0/, 'the user agent is kept beside the chain');
  assert.doesNotMatch(rows[0]?.row ?? '', new RegExp(wrong.slice(8, 40)), 'the presented token is never recorded');
});

test('a token naming an org that does not exist grows no chain', async () => {
  const { generateToken } = await import('../src/domains/tokens/tokens.fns.js');
  const ghost = randomUUID();
  const res = await t.app.inject({ method: 'GET', url: '/v1/vaults', headers: { authorization: `Bearer ${generateToken('root', ghost).token}` } });
  assert.equal(res.statusCode, 401);
  const [row] = await t.database.superuser((c) => c.query<{ n: number | string }>('SELECT count(*) AS n FROM audit_events WHERE org_id = $1', [ghost]));
  assert.equal(Number(row?.n), 0);
});

test('caller-supplied text in an event (reason) is stored safely, and does not fail the others committed with it', async () => {
  const before = await lastSeq();
  const reads = await Promise.all([
    t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}`, headers: { 'x-audit-reason': 'ticket\u00ff SEC-1\ttab' } }),
    t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}` }),
  ]);
  for (const r of reads) assert.equal(r.statusCode, 200);
  const events = await eventsAfter(before);
  assert.equal(events.length, 2);
  const reasons = events.map((e) => e.event.reason).sort();
  assert.deepEqual(reasons, ['ticket\u00ff SEC-1\ufffdtab', null].sort());
});
