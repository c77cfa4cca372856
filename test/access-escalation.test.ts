import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import {
  agentAccessToken,
  createAgent,
  createMember,
  createPolicy,
  createTestApp,
  createVault,
  putSecret,
  type TestApp,
  type TestMember,
  type TestOrg,
} from './support/app.js';

// Regression tests for the privilege escalations found in the security review of the access
// code (P1 answers, P2 separation of duties, P3 policies, P5 agents, P7 access review, A1 audit).
// Every test sets up an org of its own through the API, so they are independent of each other.

let t: TestApp;

before(async () => {
  t = await createTestApp();
});
after(() => t.close());

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const ALL_ACTIONS = ['describe', 'read', 'write', 'delete', 'share', 'detokenize', 'admin'];

let counter = 0;
const unique = (what: string) => `${what}-${process.pid}-${++counter}`;

function call(token: string, method: Method, url: string, payload?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.call(token, { method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.equal(res.json().code, code, `${what}: ${res.body}`);
}

function expectStatus(res: LightMyRequestResponse, status: number, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
}

/** A fresh org with helpers that set it up as its root token. */
async function freshOrg() {
  const org: TestOrg = await t.createOrg();
  const root = org.token;
  const h = {
    org,
    root,
    async team(name = unique('team')): Promise<string> {
      const res = await call(root, 'POST', '/v1/teams', { name });
      expectStatus(res, 201, 'creating a team');
      return res.json().id as string;
    },
    async join(teamId: string, memberId: string): Promise<void> {
      expectStatus(await call(root, 'PUT', `/v1/teams/${teamId}/members/${memberId}`), 204, 'adding to a team');
    },
    async vault(teamId: string | null = null): Promise<string> {
      if (teamId === null) return createVault(t, org, unique('vault'));
      const res = await call(root, 'POST', '/v1/vaults', { name: unique('vault'), team_id: teamId });
      expectStatus(res, 201, 'creating a team vault');
      return res.json().id as string;
    },
    async role(body: Record<string, unknown>): Promise<string> {
      const res = await call(root, 'POST', '/v1/roles', { name: unique('role'), ...body });
      expectStatus(res, 201, 'creating a role');
      return res.json().id as string;
    },
    member: (role: string): Promise<TestMember> => createMember(t, org, role),
    policy: (vaultId: string, body: Record<string, unknown>): Promise<string> => createPolicy(t, org, vaultId, body),
    secret: (vaultId: string, path: string, value: string) => putSecret(t, org, vaultId, path, { value }),
    read: (token: string, vaultId: string, path: string) => call(token, 'GET', `/v1/vaults/${vaultId}/secrets/${path}`),
  };
  return h;
}

/** A policy body for PUT/POST. */
function policyBody(type: string, id: string, pattern: string, permissions: string[], effect: 'allow' | 'deny' = 'allow') {
  return { principal_type: type, principal_id: id, secret_path_pattern: pattern, permissions, effect };
}

interface AuditEvent {
  action: string;
  outcome: string;
  status: number | null;
  request_id: string;
  authz?: { allow: boolean; action: string; by: string[] };
}

/** The audit event of the request sent with `requestId`, read through the API as the root token. */
async function auditEvent(root: string, requestId: string): Promise<AuditEvent> {
  const res = await call(root, 'GET', '/v1/audit/events?limit=1000');
  expectStatus(res, 200, 'listing audit events');
  const events = (res.json().events as { event: AuditEvent }[]).map((e) => e.event).filter((e) => e.request_id === requestId);
  assert.equal(events.length, 1, `one audit event for request ${requestId}`);
  return events[0] as AuditEvent;
}

function assertRecordedAsSodRefusal(event: AuditEvent, what: string): void {
  assert.equal(event.outcome, 'failure', `${what}: outcome`);
  assert.equal(event.status, 403, `${what}: status`);
  assert.ok(event.authz, `${what}: the event carries the authorization decision (${JSON.stringify(event)})`);
  assert.equal(event.authz.allow, false, `${what}: authz.allow (${JSON.stringify(event.authz)})`);
  assert.ok(
    event.authz.by.some((by) => by.startsWith('sod:')),
    `${what}: a sod: entry in authz.by (${JSON.stringify(event.authz.by)})`,
  );
}

// ---------------------------------------------------------------------------------------------
// 1. The built-in manager role only describes agents.

test('1. a manager may only describe agents: create, update, delete and rotate-key are 404; the agent keeps working', async () => {
  const o = await freshOrg();
  const teamA = await o.team();
  const mgr = await o.member('manager');
  await o.join(teamA, mgr.id);
  const vault = await o.vault(teamA);
  await o.secret(vault, 'stripe/key', 'sk_live_1');

  const bot = await createAgent(t, o.org, unique('bot'));
  await o.policy(vault, policyBody('agent', bot.id, '/**', ['read']));
  const parked = await createAgent(t, o.org, unique('parked'));
  expectStatus(await call(o.root, 'PATCH', `/v1/agents/${parked.id}`, { active: false }), 200, 'owner deactivates');

  expectProblem(await call(mgr.token, 'POST', `/v1/agents/${bot.id}/rotate-key`), 404, 'NOT_FOUND', 'manager rotates a key');
  expectProblem(await call(mgr.token, 'PATCH', `/v1/agents/${parked.id}`, { active: true }), 404, 'NOT_FOUND', 'manager reactivates');
  expectProblem(await call(mgr.token, 'PATCH', `/v1/agents/${bot.id}`, { active: false }), 404, 'NOT_FOUND', 'manager deactivates');
  expectProblem(await call(mgr.token, 'DELETE', `/v1/agents/${bot.id}`), 404, 'NOT_FOUND', 'manager deletes');
  expectProblem(await call(mgr.token, 'POST', '/v1/agents', { name: unique('mine') }), 404, 'NOT_FOUND', 'manager creates');

  const listed = await call(mgr.token, 'GET', '/v1/agents');
  expectStatus(listed, 200, 'manager lists agents');
  assert.ok(listed.body.includes(bot.id));
  expectStatus(await call(mgr.token, 'GET', `/v1/agents/${bot.id}`), 200, 'manager describes an agent');

  // Nothing changed: the owner's agent and its original key still work; the parked one stays off.
  const token = await agentAccessToken(t, bot);
  const read = await o.read(token, vault, 'stripe/key');
  expectStatus(read, 200, 'the agent reads with its original key');
  assert.equal((await call(o.root, 'GET', `/v1/agents/${parked.id}`)).json().active, false);
  assert.equal((await call(o.root, 'GET', '/v1/agents')).json().agents.length, 2, 'no agent was created');
});

// ---------------------------------------------------------------------------------------------
// 2. No policy about yourself, through a team or a role either.

describe('2. no policy about yourself through a team or a role', () => {
  test('a manager cannot delete or replace a deny aimed at its role or its team, and still cannot read', async () => {
    const o = await freshOrg();
    const teamA = await o.team();
    const mgr = await o.member('manager');
    await o.join(teamA, mgr.id);
    const other = await o.member('employee');
    const vA = await o.vault(teamA);
    await o.secret(vA, 'payroll/key', 'PAYROLL');
    await o.secret(vA, 'ops/key', 'OPS');
    expectStatus(await o.read(mgr.token, vA, 'ops/key'), 200, 'the manager reads its team vault');

    const denyRole = await o.policy(vA, policyBody('role', 'manager', '/payroll/**', ['read'], 'deny'));
    const denyTeam = await o.policy(vA, policyBody('team', teamA, '/payroll/**', ['read'], 'deny'));
    expectStatus(await o.read(mgr.token, vA, 'payroll/key'), 404, 'denied before');

    for (const [name, id] of [['role', denyRole], ['team', denyTeam]] as const) {
      expectProblem(await call(mgr.token, 'DELETE', `/v1/vaults/${vA}/policies/${id}`), 403, 'SEPARATION_OF_DUTIES', `delete ${name} deny`);
      expectProblem(
        await call(mgr.token, 'PUT', `/v1/vaults/${vA}/policies/${id}`, policyBody('user', other.id, '/payroll/**', ['read'], 'deny')),
        403,
        'SEPARATION_OF_DUTIES',
        `replace ${name} deny`,
      );
    }
    expectStatus(await o.read(mgr.token, vA, 'payroll/key'), 404, 'still denied after');

    // Root tokens are exempt.
    expectStatus(
      await call(o.root, 'PUT', `/v1/vaults/${vA}/policies/${denyTeam}`, policyBody('team', teamA, '/payroll/**', ['read', 'write'], 'deny')),
      200,
      'root replaces the team deny',
    );
    expectStatus(await call(o.root, 'DELETE', `/v1/vaults/${vA}/policies/${denyRole}`), 204, 'root deletes the role deny');
    expectStatus(await call(o.root, 'DELETE', `/v1/vaults/${vA}/policies/${denyTeam}`), 204, 'root deletes the team deny');
    expectStatus(await o.read(mgr.token, vA, 'payroll/key'), 200, 'readable once root removed the denies');
  });

  test('a member holding only admin on a vault cannot create a policy for its role or its team; root can', async () => {
    const o = await freshOrg();
    const teamB = await o.team();
    const emp = await o.member('employee');
    await o.join(teamB, emp.id);
    const vOrg = await o.vault();
    await o.secret(vOrg, 'stripe/key', 'SECRET');
    await o.policy(vOrg, policyBody('user', emp.id, '/**', ['admin']));

    for (const [type, id] of [['role', 'employee'], ['team', teamB], ['user', emp.id]] as const) {
      const res = await call(emp.token, 'POST', `/v1/vaults/${vOrg}/policies`, policyBody(type, id, '/**', ['read']));
      expectProblem(res, 403, 'SEPARATION_OF_DUTIES', `grant ${type}:${id}`);
    }
    expectStatus(await o.read(emp.token, vOrg, 'stripe/key'), 404, 'no read was granted');
    const listed = await call(emp.token, 'GET', `/v1/vaults/${vOrg}/policies`);
    expectStatus(listed, 200, 'the vault admin lists policies');
    assert.equal(listed.json().policies.length, 1, 'only the admin grant exists');

    // A policy for someone else is still the vault admin's to make.
    const colleague = await o.member('employee');
    expectStatus(
      await call(emp.token, 'POST', `/v1/vaults/${vOrg}/policies`, policyBody('user', colleague.id, '/**', ['read'])),
      201,
      'grant a colleague',
    );

    // Root tokens are exempt.
    for (const [type, id] of [['role', 'employee'], ['team', teamB]] as const) {
      expectStatus(await call(o.root, 'POST', `/v1/vaults/${vOrg}/policies`, policyBody(type, id, '/**', ['read'])), 201, `root grants ${type}`);
    }
    expectStatus(await o.read(emp.token, vOrg, 'stripe/key'), 200, 'readable once root granted it');
  });

  test('the same holds for a custom role and a team named in upper case', async () => {
    const o = await freshOrg();
    const team = await o.team();
    const roleId = await o.role({ org_grants: { vaults: ['describe'] } });
    const m = await o.member(roleId);
    await o.join(team, m.id);
    const v = await o.vault();
    await o.secret(v, 'k', 'V');
    await o.policy(v, policyBody('user', m.id, '/**', ['admin']));
    for (const [type, id] of [['role', roleId.toUpperCase()], ['team', team.toUpperCase()], ['user', m.id.toUpperCase()]] as const) {
      const res = await call(m.token, 'POST', `/v1/vaults/${v}/policies`, policyBody(type, id, '/**', ['read']));
      expectProblem(res, 403, 'SEPARATION_OF_DUTIES', `grant ${type}:${id}`);
    }
    expectStatus(await o.read(m.token, v, 'k'), 404, 'no read was granted');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. A team admin does not add itself to a team.

test('3. a member who administers teams cannot add itself to a team; adding another member still works', async () => {
  const o = await freshOrg();
  const teamA = await o.team();
  const teamB = await o.team();
  const vB = await o.vault(teamB);
  await o.secret(vB, 'stripe/key', 'SECRET-B');
  const roleId = await o.role({ org_grants: { teams: ['describe', 'admin'] }, vault_scope: 'team', vault_actions: ['read'] });
  const lead = await o.member(roleId);
  await o.join(teamA, lead.id);
  expectStatus(await o.read(lead.token, vB, 'stripe/key'), 404, 'team B vault before');

  expectProblem(await call(lead.token, 'PUT', `/v1/teams/${teamB}/members/${lead.id}`), 403, 'SEPARATION_OF_DUTIES', 'self-add');
  expectProblem(await call(lead.token, 'PUT', `/v1/teams/${teamB}/members/${lead.id.toUpperCase()}`), 403, 'SEPARATION_OF_DUTIES', 'self-add, upper case');
  expectStatus(await o.read(lead.token, vB, 'stripe/key'), 404, 'team B vault after');
  const members = (await call(o.root, 'GET', `/v1/teams/${teamB}`)).json().members as unknown[];
  assert.ok(!JSON.stringify(members).includes(lead.id), 'the lead is not in team B');

  const colleague = await o.member('employee');
  expectStatus(await call(lead.token, 'PUT', `/v1/teams/${teamB}/members/${colleague.id}`), 204, 'adding a colleague');
  assert.ok(JSON.stringify((await call(o.root, 'GET', `/v1/teams/${teamB}`)).json().members).includes(colleague.id));
});

// ---------------------------------------------------------------------------------------------
// 4. Access reviews review grants, never denies.

test('4. an access review campaign has one item per allow policy and none for deny policies', async () => {
  const o = await freshOrg();
  const v1 = await o.vault();
  const v2 = await o.vault();
  await o.secret(v1, 'stripe/key', 'SECRET');
  const victim = await o.member('admin');
  const emp = await o.member('employee');
  const agent = await createAgent(t, o.org, unique('agent'));
  await o.policy(v1, policyBody('user', emp.id, '/stripe/**', ['read']));
  await o.policy(v2, policyBody('agent', agent.id, '/**', ['read', 'write']));
  await o.policy(v2, policyBody('role', 'employee', '/docs/*', ['read']));
  const denies = [
    await o.policy(v1, policyBody('user', victim.id, '/stripe/**', ['read'], 'deny')),
    await o.policy(v2, policyBody('role', 'manager', '/**', ['delete'], 'deny')),
  ];
  expectStatus(await o.read(victim.token, v1, 'stripe/key'), 404, 'the deny applies');

  // Every policy of the org, as the root token sees them.
  const all: { id: string; effect: string }[] = [];
  for (const v of [v1, v2]) all.push(...((await call(o.root, 'GET', `/v1/vaults/${v}/policies`)).json().policies as { id: string; effect: string }[]));
  const allows = all.filter((p) => p.effect === 'allow').map((p) => p.id).sort();
  assert.equal(allows.length, 3);

  // An access admin who cannot manage policies opens the campaign (the reviewer's path in the report).
  const auditorRole = await o.role({ org_grants: { access: ['describe', 'admin'] }, vault_scope: 'all', vault_actions: ['describe'] });
  const auditor = await o.member(auditorRole);
  const res = await call(auditor.token, 'POST', '/v1/access/reviews', { name: 'q', due_at: new Date(Date.now() + 86_400_000).toISOString() });
  expectStatus(res, 201, 'opening a campaign');
  const items = res.json().items as { id: string; policy_id: string; grant: { effect: string } }[];
  assert.equal(items.length, allows.length, 'one item per allow policy');
  assert.deepEqual(items.map((i) => i.policy_id).sort(), allows);
  assert.ok(items.every((i) => i.grant.effect !== 'deny'), 'no item is a deny');
  for (const deny of denies) assert.ok(!items.some((i) => i.policy_id === deny), `no item for deny ${deny}`);
  assert.equal(res.json().counts.total, allows.length);

  // Revoking every item leaves the denies where they are.
  for (const item of items) {
    const d = await call(auditor.token, 'POST', `/v1/access/reviews/${res.json().id}/items/${item.id}/decision`, { decision: 'revoke' });
    expectStatus(d, 200, 'revoking an item');
  }
  const left: string[] = [];
  for (const v of [v1, v2]) left.push(...((await call(o.root, 'GET', `/v1/vaults/${v}/policies`)).json().policies as { id: string }[]).map((p) => p.id));
  assert.deepEqual(left.sort(), [...denies].sort(), 'only the denies are left');
  expectStatus(await o.read(victim.token, v1, 'stripe/key'), 404, 'the deny still applies');
});

// ---------------------------------------------------------------------------------------------
// 5. Agents never administer.

test('5. an agent granted admin (or every action) on a vault cannot manage its policies or delete it; it still reads and writes', async () => {
  const o = await freshOrg();
  const adminOnly = await o.vault();
  const everything = await o.vault();
  await o.secret(everything, 'app/key', 'V1');
  const a1 = await createAgent(t, o.org, unique('ops-bot'));
  const a2 = await createAgent(t, o.org, unique('all-bot'));
  await o.policy(adminOnly, policyBody('agent', a1.id, '/**', ['admin']));
  await o.policy(everything, policyBody('agent', a2.id, '/**', ALL_ACTIONS));

  for (const [agent, vault, name] of [[a1, adminOnly, 'admin only'], [a2, everything, 'every action']] as const) {
    const token = await agentAccessToken(t, agent);
    const policy = policyBody('role', 'employee', '/**', ['read', 'write']);
    expectProblem(await call(token, 'POST', `/v1/vaults/${vault}/policies`, policy), 404, 'NOT_FOUND', `${name}: create policy`);
    expectProblem(await call(token, 'GET', `/v1/vaults/${vault}/policies`), 404, 'NOT_FOUND', `${name}: list policies`);
    expectProblem(await call(token, 'DELETE', `/v1/vaults/${vault}?force=true`), 404, 'NOT_FOUND', `${name}: delete vault`);
    expectStatus(await call(o.root, 'GET', `/v1/vaults/${vault}`), 200, `${name}: the vault still exists`);
    assert.equal((await call(o.root, 'GET', `/v1/vaults/${vault}/policies`)).json().policies.length, 1, `${name}: no policy added`);
  }

  // Secrets as granted.
  const token = await agentAccessToken(t, a2);
  const read = await o.read(token, everything, 'app/key');
  expectStatus(read, 200, 'the agent reads');
  const write = await call(token, 'PUT', `/v1/vaults/${everything}/secrets/app/other`, { value: 'V2' });
  assert.ok([200, 201].includes(write.statusCode), `the agent writes: ${write.statusCode} ${write.body}`);
  expectStatus(await o.read(o.root, everything, 'app/other'), 200, 'the written secret exists');
});

// ---------------------------------------------------------------------------------------------
// 6. A deny in a vault takes away admin on that vault.

test('6. a manager with any deny in its team vault loses admin there: no force delete, no policy management', async () => {
  const o = await freshOrg();
  const teamA = await o.team();
  const mgr = await o.member('manager');
  await o.join(teamA, mgr.id);
  const vA = await o.vault(teamA);
  await o.secret(vA, 'prod/db', 'P');
  await o.secret(vA, 'dev/db', 'D');
  // Before the deny, the manager administers its team vault.
  expectStatus(await call(mgr.token, 'GET', `/v1/vaults/${vA}/policies`), 200, 'manager lists policies before');

  await o.policy(vA, policyBody('user', mgr.id, '/prod/**', ['delete'], 'deny'));
  expectStatus(await call(mgr.token, 'DELETE', `/v1/vaults/${vA}/secrets/prod/db`), 404, 'the deny applies to the secret');
  expectProblem(await call(mgr.token, 'DELETE', `/v1/vaults/${vA}?force=true`), 404, 'NOT_FOUND', 'force delete');
  expectProblem(await call(mgr.token, 'GET', `/v1/vaults/${vA}/policies`), 404, 'NOT_FOUND', 'list policies');
  const other = await o.member('employee');
  expectProblem(
    await call(mgr.token, 'POST', `/v1/vaults/${vA}/policies`, policyBody('user', other.id, '/**', ['read'])),
    404,
    'NOT_FOUND',
    'create a policy',
  );

  expectStatus(await call(o.root, 'GET', `/v1/vaults/${vA}`), 200, 'the vault still exists');
  expectStatus(await o.read(o.root, vA, 'prod/db'), 200, '/prod/db still exists');
  // The deny covers only delete on /prod/**: reading is unaffected.
  expectStatus(await o.read(mgr.token, vA, 'prod/db'), 200, 'the manager still reads /prod/db');

  // The same through a team, with a deny of admin on a narrow pattern.
  const mgr2 = await o.member('manager');
  const teamC = await o.team();
  await o.join(teamC, mgr2.id);
  const vC = await o.vault(teamC);
  await o.secret(vC, 'a/b', 'X');
  await o.policy(vC, policyBody('team', teamC, '/a/**', ['admin'], 'deny'));
  expectProblem(await call(mgr2.token, 'DELETE', `/v1/vaults/${vC}?force=true`), 404, 'NOT_FOUND', 'team deny: force delete');
  expectProblem(await call(mgr2.token, 'GET', `/v1/vaults/${vC}/policies`), 404, 'NOT_FOUND', 'team deny: list policies');
  expectStatus(await o.read(o.root, vC, 'a/b'), 200, 'team deny: the secret still exists');
});

// ---------------------------------------------------------------------------------------------
// 7. Vaults are created in one's own teams.

test('7. a manager creates vaults only in its own teams; an admin in any team', async () => {
  const o = await freshOrg();
  const teamA = await o.team();
  const teamB = await o.team();
  const mgr = await o.member('manager');
  await o.join(teamA, mgr.id);
  const admin = await o.member('admin');

  expectProblem(await call(mgr.token, 'POST', '/v1/vaults', { name: unique('planted'), team_id: teamB }), 400, 'VALIDATION_FAILED', 'team B');
  const listed = (await call(o.root, 'GET', '/v1/vaults')).json().vaults as { team_id: string | null }[];
  assert.ok(!listed.some((v) => v.team_id === teamB), 'no vault was created in team B');

  const own = await call(mgr.token, 'POST', '/v1/vaults', { name: unique('own'), team_id: teamA });
  expectStatus(own, 201, 'own team');
  assert.equal(own.json().team_id, teamA);

  const byAdmin = await call(admin.token, 'POST', '/v1/vaults', { name: unique('any'), team_id: teamB });
  expectStatus(byAdmin, 201, 'admin in team B');
  assert.equal(byAdmin.json().team_id, teamB);
});

// ---------------------------------------------------------------------------------------------
// 8. Separation-of-duties refusals are recorded as refusals.

test('8. a 403 SEPARATION_OF_DUTIES is audited with outcome failure, status 403 and a sod: refusal', async () => {
  const o = await freshOrg();
  const admin = await o.member('admin');
  const teamA = await o.team();
  const teamB = await o.team();
  const leadRole = await o.role({ org_grants: { teams: ['describe', 'admin'] }, vault_scope: 'team', vault_actions: ['read'] });
  const lead = await o.member(leadRole);
  await o.join(teamA, lead.id);
  const mgr = await o.member('manager');
  await o.join(teamA, mgr.id);
  const vB = await o.vault(teamB);
  const vOrg = await o.vault();
  const emp = await o.member('employee');
  await o.policy(vOrg, policyBody('user', emp.id, '/**', ['admin']));

  const refusals: [string, () => Promise<LightMyRequestResponse>][] = [
    ['an admin creates an owner', () => call(admin.token, 'POST', '/v1/members', { email: `${unique('own')}@example.com`, role: 'owner' }, headers())],
    ['a lead adds itself to a team', () => call(lead.token, 'PUT', `/v1/teams/${teamB}/members/${lead.id}`, undefined, headers())],
    ['a vault admin grants itself', () => call(emp.token, 'POST', `/v1/vaults/${vOrg}/policies`, policyBody('user', emp.id, '/**', ['read']), headers())],
    [
      'the requester approves its own request',
      async () => {
        const asked = await call(mgr.token, 'POST', '/v1/approvals', { vault_id: vB, secret_path_pattern: '/**', permissions: ['read'], reason: 'INC-1' });
        expectStatus(asked, 201, 'requesting access');
        return call(mgr.token, 'POST', `/v1/approvals/${asked.json().id}/approve`, {}, headers());
      },
    ],
  ];
  let lastId = '';
  function headers(): Record<string, string> {
    lastId = `sod-${randomUUID()}`;
    return { 'x-request-id': lastId };
  }
  for (const [what, send] of refusals) {
    const res = await send();
    expectProblem(res, 403, 'SEPARATION_OF_DUTIES', what);
    assert.equal(res.headers['x-request-id'], lastId, `${what}: our request id is kept`);
    assertRecordedAsSodRefusal(await auditEvent(o.root, lastId), what);
  }
});

// ---------------------------------------------------------------------------------------------
// 9. A role admin does not edit or delete a role stronger than its own.

test('9. a role admin cannot edit or delete a role that exceeds its own; it still edits a weaker one', async () => {
  const o = await freshOrg();
  const rolerRole = await o.role({ org_grants: { roles: ['describe', 'admin'], vaults: ['describe'] }, vault_scope: 'team', vault_actions: ['describe'] });
  const roler = await o.member(rolerRole);
  const strongBody = { org_grants: { vaults: ALL_ACTIONS }, vault_scope: 'all', vault_actions: ALL_ACTIONS };
  const strongName = unique('strong');
  const strong = await o.role({ name: strongName, ...strongBody });
  const holder = await o.member(strong);
  const unheldStrong = await o.role(strongBody);
  const weakName = unique('weak');
  const weak = await o.role({ name: weakName, org_grants: { vaults: ['describe'] } });

  // A weaker definition for the strong role would strip its holder; any edit is refused.
  const weaker = { name: strongName, org_grants: { vaults: ['describe'] }, vault_scope: null, vault_actions: [] };
  expectProblem(await call(roler.token, 'PUT', `/v1/roles/${strong}`, weaker), 403, 'SEPARATION_OF_DUTIES', 'edit the strong role');
  expectProblem(await call(roler.token, 'PUT', `/v1/roles/${strong}`, { name: strongName, description: 'renamed', ...strongBody }), 403, 'SEPARATION_OF_DUTIES', 'restate the strong role');
  expectProblem(await call(roler.token, 'DELETE', `/v1/roles/${strong}`), 403, 'SEPARATION_OF_DUTIES', 'delete the held strong role');
  expectProblem(await call(roler.token, 'DELETE', `/v1/roles/${unheldStrong}`), 403, 'SEPARATION_OF_DUTIES', 'delete the unheld strong role');

  const after = (await call(o.root, 'GET', `/v1/roles/${strong}`)).json();
  assert.equal(after.vault_scope, 'all');
  assert.deepEqual([...after.vault_actions].sort(), [...ALL_ACTIONS].sort());
  expectStatus(await call(o.root, 'GET', `/v1/roles/${unheldStrong}`), 200, 'the unheld strong role still exists');
  expectStatus(await call(holder.token, 'GET', '/v1/vaults'), 200, 'the holder keeps working');

  const edited = await call(roler.token, 'PUT', `/v1/roles/${weak}`, { name: weakName, description: 'edited', org_grants: { vaults: ['describe'] } });
  expectStatus(edited, 200, 'edit the weak role');
  assert.equal(edited.json().description, 'edited');
  expectStatus(await call(roler.token, 'DELETE', `/v1/roles/${weak}`), 204, 'delete the weak role');
});
