import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTenantTx, type WithTenantTx } from '../src/db/tenant.js';
import { bumpAuthzEpoch } from '../src/domains/authz/authz.repo.js';
import { listAllPolicies } from '../src/domains/policies/policies.repo.js';
import {
  agentAccessToken,
  createAgent,
  createMember,
  createPolicy,
  createTestApp,
  createVault,
  putSecret,
  type TestAgent,
  type TestApp,
  type TestMember,
  type TestOrg,
} from './support/app.js';

// P8: an agent (or member) requests access it lacks; a human approves or denies; grants can be
// time-boxed. Everything is set up through the API; the database is read to check the policies
// an approval makes, and written only to let a grant's time run out.

let t: TestApp;
let org: TestOrg;
let withTenantTx: WithTenantTx;
let payments: string;
let ops: string;
let teamId: string;
let admin: TestMember;
let manager: TestMember;
let employee: TestMember;
let colleague: TestMember;
let agent: TestAgent;
let otherAgent: TestAgent;

before(async () => {
  t = await createTestApp();
  withTenantTx = createTenantTx(t.database.db);
  org = await t.createOrg();
  const team = await t.call(org.token, { method: 'POST', url: '/v1/teams', payload: { name: 'ops' } });
  assert.equal(team.statusCode, 201, team.body);
  teamId = team.json().id;
  payments = await createVault(t, org, 'payments');
  const vault = await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'ops', team_id: teamId } });
  assert.equal(vault.statusCode, 201, vault.body);
  ops = vault.json().id;
  await putSecret(t, org, payments, 'stripe/key', { value: 'sk_live_1' });
  await putSecret(t, org, payments, 'bank/iban', { value: 'DE00' });
  await putSecret(t, org, ops, 'deploy/key', { value: 'ssh' });
  admin = await createMember(t, org, 'admin');
  manager = await createMember(t, org, 'manager');
  const joined = await t.call(org.token, { method: 'PUT', url: `/v1/teams/${teamId}/members/${manager.id}` });
  assert.equal(joined.statusCode, 204, joined.body);
  employee = await createMember(t, org, 'employee');
  colleague = await createMember(t, org, 'employee');
  agent = await createAgent(t, org, 'payout-bot');
  otherAgent = await createAgent(t, org, 'vault-admin-bot');
  // An agent with every action on the vault still never approves.
  await createPolicy(t, org, payments, { principal_type: 'agent', principal_id: otherAgent.id, secret_path_pattern: '/**', permissions: ['describe', 'read', 'admin'] });
});
after(() => t.close());

const agentToken = (a: TestAgent) => agentAccessToken(t, a);

const readSecret = (token: string, vaultId: string, path: string) => t.call(token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/${path}` });

async function request(token: string, body: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return t.call(token, {
    method: 'POST',
    url: '/v1/approvals',
    payload: { vault_id: payments, secret_path_pattern: '/stripe/*', permissions: ['read'], reason: 'pay out invoices (INC-42)', ...body },
  });
}

async function requested(token: string, body: Record<string, unknown> = {}): Promise<{ id: string; [k: string]: unknown }> {
  const res = await request(token, body);
  assert.equal(res.statusCode, 201, res.body);
  return res.json();
}

const decide = (token: string, id: string, verb: 'approve' | 'deny', body: Record<string, unknown> = {}) =>
  t.call(token, { method: 'POST', url: `/v1/approvals/${id}/${verb}`, payload: body });

async function policiesOf(principalId: string) {
  return (await withTenantTx(org.orgId, listAllPolicies)).filter((p) => p.principal_id === principalId);
}

describe('requesting and approving access', () => {
  test('an agent requests read on /stripe/*, cannot read before approval, and reads with a fresh token after', async () => {
    const before = await agentToken(agent);
    assert.equal((await readSecret(before, payments, 'stripe/key')).statusCode, 404);

    const res = await request(before, { secret_path_pattern: 'stripe/*', duration_seconds: 3600 });
    assert.equal(res.statusCode, 201, res.body);
    const approval = res.json();
    assert.deepEqual(approval.requester, { type: 'agent', id: agent.id });
    assert.equal(approval.status, 'pending');
    assert.equal(approval.secret_path_pattern, '/stripe/*', 'the pattern is normalised');
    assert.deepEqual(approval.permissions, ['read']);
    assert.equal(approval.duration_seconds, 3600);
    assert.equal(approval.policy_id, null);
    assert.equal((await readSecret(before, payments, 'stripe/key')).statusCode, 404, 'a pending request grants nothing');

    const approvedAt = Date.now();
    const ok = await decide(admin.token, approval.id, 'approve', { note: 'ok for INC-42', duration_seconds: 60 });
    assert.equal(ok.statusCode, 200, ok.body);
    const approved = ok.json();
    assert.equal(approved.status, 'approved');
    assert.deepEqual(approved.decided_by, { type: 'user', id: admin.id });
    assert.equal(approved.decision_note, 'ok for INC-42');
    assert.ok(approved.policy_id);
    // Time-boxed: the approver's 60 s replace the requested hour.
    const expires = Date.parse(approved.grant_expires_at);
    assert.ok(Math.abs(expires - (approvedAt + 60_000)) < 10_000, `expires ≈ now + 60 s (${approved.grant_expires_at})`);
    const [policy] = (await policiesOf(agent.id)).filter((p) => p.policy_id === approved.policy_id);
    assert.ok(policy, 'the policy exists');
    assert.equal(policy.expires_at?.toISOString(), approved.grant_expires_at);
    assert.deepEqual([policy.principal_type, policy.secret_path_pattern, policy.permissions, policy.effect], ['agent', '/stripe/*', ['read'], 'allow']);

    assert.equal((await readSecret(before, payments, 'stripe/key')).statusCode, 401, "the agent's old token was revoked with the change");
    const fresh = await agentToken(agent);
    const read = await readSecret(fresh, payments, 'stripe/key');
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().value, 'sk_live_1');
    assert.equal((await readSecret(fresh, payments, 'bank/iban')).statusCode, 404, 'only the requested paths');

    // Once the grant's time is up the engine refuses: move the expiry to the past (time passing).
    await withTenantTx(org.orgId, async (tx) => {
      await tx.query(`UPDATE policies SET expires_at = now() - interval '1 second' WHERE org_id = $1 AND policy_id = $2`, [org.orgId, approved.policy_id]);
      await bumpAuthzEpoch(tx);
    });
    assert.equal((await readSecret(fresh, payments, 'stripe/key')).statusCode, 404, 'an expired grant grants nothing');

    const described = await t.call(fresh, { method: 'GET', url: `/v1/approvals/${approval.id}` });
    assert.equal(described.statusCode, 200, 'the requester sees its own request');
    assert.equal(described.json().status, 'approved');
  });

  test('without a duration the grant does not expire; the requested duration applies when the approver gives none', async () => {
    const forever = await requested(employee.token, { secret_path_pattern: '/bank/**' });
    const a = await decide(org.token, forever.id, 'approve');
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(a.json().grant_expires_at, null);
    assert.deepEqual(a.json().decided_by.type, 'root_token');
    assert.equal((await readSecret(employee.token, payments, 'bank/iban')).statusCode, 200);

    const boxed = await requested(colleague.token, { duration_seconds: 120 });
    const at = Date.now();
    const b = await decide(admin.token, boxed.id, 'approve');
    assert.ok(Math.abs(Date.parse(b.json().grant_expires_at) - (at + 120_000)) < 10_000);
  });

  test('denying leaves no policy', async () => {
    const before = (await policiesOf(colleague.id)).length;
    const approval = await requested(colleague.token, { secret_path_pattern: '/**', permissions: ['read', 'write'] });
    const res = await decide(admin.token, approval.id, 'deny', { note: 'too broad' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().status, 'denied');
    assert.equal(res.json().policy_id, null);
    assert.equal(res.json().decision_note, 'too broad');
    assert.equal((await policiesOf(colleague.id)).length, before);
    assert.equal((await decide(admin.token, approval.id, 'approve')).statusCode, 409, 'a denied request cannot be approved later');
  });

  test('approving twice is 409, and only one policy is created', async () => {
    const approval = await requested(await agentToken(agent), { secret_path_pattern: '/stripe/refunds/*' });
    const first = await decide(admin.token, approval.id, 'approve');
    assert.equal(first.statusCode, 200, first.body);
    const second = await decide(org.token, approval.id, 'approve');
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(second.json().code, 'INVALID_STATE');
    assert.equal((await decide(org.token, approval.id, 'deny')).statusCode, 409);
    assert.equal((await policiesOf(agent.id)).filter((p) => p.secret_path_pattern === '/stripe/refunds/*').length, 1);
  });
});

describe('separation of duties', () => {
  test('the requester cannot approve its own request, even with admin on the vault and on approvals', async () => {
    const own = await requested(admin.token, { secret_path_pattern: '/payroll/**' });
    for (const verb of ['approve', 'deny'] as const) {
      const res = await decide(admin.token, own.id, verb);
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json().code, 'SEPARATION_OF_DUTIES');
    }
    assert.equal((await policiesOf(admin.id)).length, 0);
    assert.equal((await decide(org.token, own.id, 'approve')).statusCode, 200, 'another human may');
  });

  test('an agent can never approve: another\'s request is 404 to it even with admin on the vault, its own is 403', async () => {
    const pending = await requested(employee.token, { secret_path_pattern: '/stripe/payouts/*' });
    const botToken = await agentToken(otherAgent);
    for (const id of [pending.id, randomUUID()]) {
      for (const verb of ['approve', 'deny'] as const) {
        const res = await decide(botToken, id, verb);
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(res.json().code, 'NOT_FOUND');
      }
    }
    const own = await requested(botToken, { secret_path_pattern: '/stripe/own/*' });
    const self = await decide(await agentToken(otherAgent), own.id, 'approve');
    assert.equal(self.statusCode, 403, self.body);
    assert.equal(self.json().code, 'SEPARATION_OF_DUTIES');
    const afterwards = await t.call(org.token, { method: 'GET', url: `/v1/approvals/${pending.id}` });
    assert.equal(afterwards.json().status, 'pending');
  });

  test('a root token cannot request access', async () => {
    const res = await request(org.token, {});
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().code, 'VALIDATION_FAILED');
  });
});

describe('visibility', () => {
  test('requesters see their own requests; others without approval rights get 404', async () => {
    const mine = await requested(employee.token, { secret_path_pattern: '/visible/*' });
    const other = await t.call(colleague.token, { method: 'GET', url: `/v1/approvals/${mine.id}` });
    assert.equal(other.statusCode, 404);
    const missing = await t.call(colleague.token, { method: 'GET', url: `/v1/approvals/${randomUUID()}` });
    assert.equal(missing.statusCode, 404);
    assert.equal(other.json().code, missing.json().code);
    assert.equal((await decide(colleague.token, mine.id, 'approve')).statusCode, 404, 'a non-approver learns nothing');

    const list = await t.call(employee.token, { method: 'GET', url: '/v1/approvals' });
    assert.equal(list.statusCode, 200);
    const listed = list.json().approvals as { requester: { id: string } }[];
    assert.ok(listed.length > 0);
    assert.ok(listed.every((a) => a.requester.id === employee.id), 'only its own');

    const all = await t.call(org.token, { method: 'GET', url: '/v1/approvals?status=pending' });
    assert.ok((all.json().approvals as { id: string; status: string }[]).some((a) => a.id === mine.id));
    assert.ok((all.json().approvals as { status: string }[]).every((a) => a.status === 'pending'));
  });

  test("a manager sees and decides requests for its team's vaults only", async () => {
    const onOps = await requested(employee.token, { vault_id: ops, secret_path_pattern: '/deploy/*' });
    const onPayments = await requested(employee.token, { secret_path_pattern: '/managers/cannot/*' });
    const listed = (await t.call(manager.token, { method: 'GET', url: '/v1/approvals' })).json().approvals as { id: string }[];
    assert.ok(listed.some((a) => a.id === onOps.id));
    assert.ok(!listed.some((a) => a.id === onPayments.id));
    assert.equal((await t.call(manager.token, { method: 'GET', url: `/v1/approvals/${onPayments.id}` })).statusCode, 404);
    assert.equal((await decide(manager.token, onPayments.id, 'approve')).statusCode, 404);
    const approved = await decide(manager.token, onOps.id, 'approve', { duration_seconds: 600 });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal((await readSecret(employee.token, ops, 'deploy/key')).statusCode, 200);
  });

  test('an unknown vault is 404, and bad input is 400', async () => {
    const missing = await request(employee.token, { vault_id: randomUUID() });
    assert.equal(missing.statusCode, 404, missing.body);
    const foreignOrg = await t.createOrg();
    const foreignVault = await createVault(t, foreignOrg, 'theirs');
    const foreign = await request(employee.token, { vault_id: foreignVault });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().code, missing.json().code);
    for (const body of [
      { secret_path_pattern: '/a/**b' },
      { reason: '' },
      { reason: '   ' },
      { permissions: [] },
      { permissions: ['read', 'read'] },
      { permissions: ['fly'] },
      { duration_seconds: 59 },
      { duration_seconds: 31_536_001 },
      { extra: true },
    ]) {
      const res = await request(employee.token, body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
    }
  });
});

test('every approval action is in the audit log with its outcome, and decisions with their authorization', async () => {
  const agentBearer = await agentToken(agent);
  const created = await request(agentBearer, { secret_path_pattern: '/audited/*' });
  const listed = await t.call(agentBearer, { method: 'GET', url: '/v1/approvals' });
  const described = await t.call(admin.token, { method: 'GET', url: `/v1/approvals/${created.json().id}` });
  const refused = await decide(await agentToken(otherAgent), created.json().id, 'approve');
  const approved = await decide(admin.token, created.json().id, 'approve');
  const denyTarget = await requested(employee.token, { secret_path_pattern: '/audited/deny/*' });
  const denied = await decide(admin.token, denyTarget.id, 'deny');
  const responses = { created, listed, described, refused, approved, denied };

  const res = await t.call(org.token, { method: 'GET', url: '/v1/audit/events?limit=1000' });
  assert.equal(res.statusCode, 200);
  type Event = { action: string; outcome: string; status: number | null; request_id: string; resource: { ref: string }; authz?: { allow: boolean; action: string; by: string[] } };
  const events = (res.json().events as { event: Event }[]).map((e) => e.event);
  const eventOf = (r: LightMyRequestResponse): Event => {
    const found = events.find((e) => e.request_id === r.headers['x-request-id']);
    assert.ok(found, `an event for ${r.statusCode} ${r.body.slice(0, 80)}`);
    return found;
  };
  const id = created.json().id as string;
  const expected: Record<keyof typeof responses, [string, string, RegExp]> = {
    created: ['approval.request', 'success', new RegExp(`^approval:${id}$`)],
    listed: ['approval.list', 'success', /^org:/],
    described: ['approval.describe', 'success', new RegExp(`^approval:${id}$`)],
    refused: ['approval.approve', 'failure', new RegExp(`^approval:${id}$`)],
    approved: ['approval.approve', 'success', new RegExp(`^approval:${id}$`)],
    denied: ['approval.deny', 'success', new RegExp(`^approval:${denyTarget.id}$`)],
  };
  for (const [name, [action, outcome, ref]] of Object.entries(expected) as [keyof typeof responses, [string, string, RegExp]][]) {
    const e = eventOf(responses[name]);
    assert.equal(e.action, action, name);
    assert.equal(e.outcome, outcome, name);
    assert.match(e.resource.ref, ref, name);
  }
  assert.equal(eventOf(refused).status, 404);
  // Decisions record what authorized them: admin on the approvals area, then on the vault.
  for (const r of [approved, denied, described]) assert.deepEqual(eventOf(r).authz, { allow: true, action: 'admin', by: ['role:admin'] });
  // A request needs no grant (anyone may ask), so its event carries none.
  assert.equal(eventOf(created).authz, undefined);
});
