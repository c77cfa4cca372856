import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { BUILT_IN_ROLES } from '../src/policy/roles.js';
import { parseToken } from '../src/domains/tokens/tokens.fns.js';
import { createTestApp, createVault, putSecret, signInAsMember, type TestApp, type TestOrg } from './support/app.js';

// SPEC I5 (members of an org) and P2 (roles, teams, separation of duties), P6 (deactivation
// revokes at once). Every request reads the org's authz epoch, so a change applies to the very
// next request: these tests change something and look at once, with no wait.

let t: TestApp;
let org: TestOrg;

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
});
after(() => t.close());

let counter = 0;
const unique = (what: string) => `${what}-${process.pid}-${++counter}`;

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function call(token: string, method: Method, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return t.call(token, { method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what} ${res.body}`);
  assert.equal(res.json().code, code, what);
}

interface Member {
  id: string;
  token: string;
  email: string;
}

/** Adds a member as the root token (or `as`); throws unless it is created. */
async function addMember(role: string, opts: { as?: string; displayName?: string } = {}): Promise<Member> {
  const email = `${unique('person')}@example.com`;
  const res = await call(opts.as ?? org.token, 'POST', '/v1/members', {
    email,
    role,
    ...(opts.displayName === undefined ? {} : { display_name: opts.displayName }),
  });
  if (res.statusCode !== 201) throw new Error(`adding a ${role} answered ${res.statusCode}: ${res.body}`);
  const body = res.json() as { member: { id: string }; token: string };
  // The person signs in (a session with a recent second factor, so role changes pass step-up).
  const session = await signInAsMember(t, org.orgId, body.member.id, email);
  return { id: body.member.id, token: session.token, email };
}

async function createTeam(name = unique('team')): Promise<string> {
  const res = await call(org.token, 'POST', '/v1/teams', { name });
  if (res.statusCode !== 201) throw new Error(`creating a team answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { id: string }).id;
}

async function joinTeam(teamId: string, memberId: string): Promise<void> {
  const res = await call(org.token, 'PUT', `/v1/teams/${teamId}/members/${memberId}`);
  if (res.statusCode !== 204) throw new Error(`adding to a team answered ${res.statusCode}: ${res.body}`);
}

/** A vault created by the root token, owned by `teamId` (or no team). */
async function teamVault(teamId: string | null): Promise<string> {
  const res = await call(org.token, 'POST', '/v1/vaults', { name: unique('vault'), ...(teamId === null ? {} : { team_id: teamId }) });
  if (res.statusCode !== 201) throw new Error(`creating a vault answered ${res.statusCode}: ${res.body}`);
  assert.equal(res.json().team_id, teamId);
  return (res.json() as { id: string }).id;
}

async function createRole(body: Record<string, unknown>): Promise<string> {
  const res = await call(org.token, 'POST', '/v1/roles', { name: unique('role'), ...body });
  if (res.statusCode !== 201) throw new Error(`creating a role answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { id: string }).id;
}

const listedVaults = async (token: string): Promise<string[]> => {
  const res = await call(token, 'GET', '/v1/vaults');
  assert.equal(res.statusCode, 200, res.body);
  return (res.json().vaults as { id: string }[]).map((v) => v.id).sort();
};

/** The audit event of a response, read straight from the database. */
async function auditEventOf(res: LightMyRequestResponse): Promise<{ action: string; resource: { ref: string }; outcome: string }> {
  const rows = await t.database.superuser((c) =>
    c.query<{ canonical: string }>('SELECT canonical FROM audit_events WHERE org_id = $1 ORDER BY seq', [org.orgId]),
  );
  const events = rows.map((r) => JSON.parse(r.canonical) as { request_id: string; action: string; resource: { ref: string }; outcome: string });
  const mine = events.filter((e) => e.request_id === res.headers['x-request-id']);
  assert.equal(mine.length, 1, `one event for request ${String(res.headers['x-request-id'])}`);
  return mine[0] as { action: string; resource: { ref: string }; outcome: string };
}

describe('members', () => {
  test('adding a member returns it and a working personal token, of which only a hash is stored', async () => {
    const email = `${unique('Ada.Lovelace')}@Example.COM`;
    const res = await call(org.token, 'POST', '/v1/members', { email: `  ${email} `, display_name: ' Ada ', role: 'admin' });
    assert.equal(res.statusCode, 201, res.body);
    const { member, token } = res.json();
    assert.match(token, /^sr_user_[A-Za-z0-9_-]{86}$/);
    assert.equal(member.email, email.toLowerCase(), 'trimmed and lower-cased');
    assert.equal(member.display_name, 'Ada');
    assert.equal(member.role, 'admin');
    assert.equal(member.active, true);
    assert.deepEqual(member.teams, []);
    assert.match(member.created_by, /^root_token:/);

    // The token works, with the member's role (admin sees every vault).
    const vault = await createVault(t, org);
    assert.ok((await listedVaults(token)).includes(vault));

    // Stored: SHA-256 of its random part, as a personal token of this member — never the token.
    const parsed = parseToken(token);
    assert.ok(parsed);
    const rows = await t.database.superuser((c) =>
      c.query<{ kind: string; role: string | null; member_id: string; description: string; secret_hash: Uint8Array }>(
        'SELECT kind, role, member_id, description, secret_hash FROM api_tokens WHERE org_id = $1 AND token_id = $2',
        [org.orgId, parsed.tokenId],
      ),
    );
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { kind: rows[0]?.kind, role: rows[0]?.role, member_id: rows[0]?.member_id, description: rows[0]?.description },
      { kind: 'user', role: null, member_id: member.id, description: 'first personal token' },
    );
    assert.deepEqual(Buffer.from(rows[0]?.secret_hash as Uint8Array), createHash('sha256').update(parsed.secret).digest());

    // Shown once: describing or listing the member never shows it again.
    const got = await call(org.token, 'GET', `/v1/members/${member.id}`);
    assert.deepEqual(got.json(), member);
    const list = await call(org.token, 'GET', '/v1/members');
    assert.ok(!list.body.includes(token));
    assert.ok(list.json().members.some((m: { id: string }) => m.id === member.id));
  });

  test('an e-mail address already in the org, in any case, is 409 CONFLICT; the address is never logged', async () => {
    const email = `${unique('grace')}@example.com`;
    const first = await call(org.token, 'POST', '/v1/members', { email, role: 'employee' });
    assert.equal(first.statusCode, 201);
    const again = await call(org.token, 'POST', '/v1/members', { email: email.toUpperCase(), role: 'manager' });
    expectProblem(again, 409, 'CONFLICT');
    assert.ok(!again.body.includes(email), 'the answer does not echo the address');
    const logs = t.logs.join('\n').toLowerCase();
    assert.ok(!logs.includes(email), 'no log line carries the address');
    // Nor does the audit chain: personal data stays out of events (A2).
    const events = await t.database.superuser((c) =>
      c.query<{ n: string | number }>("SELECT count(*) AS n FROM audit_events WHERE org_id = $1 AND canonical LIKE '%' || $2 || '%'", [
        org.orgId,
        email,
      ]),
    );
    assert.equal(Number(events[0]?.n), 0);
  });

  test('the same address may be a member of another org', async () => {
    const other = await t.createOrg();
    const email = `${unique('shared')}@example.com`;
    assert.equal((await call(org.token, 'POST', '/v1/members', { email, role: 'employee' })).statusCode, 201);
    assert.equal((await call(other.token, 'POST', '/v1/members', { email, role: 'employee' })).statusCode, 201);
  });

  test('malformed e-mail addresses are refused with 400 VALIDATION_FAILED', async () => {
    const bad = [
      'no-at-sign',
      'a@b',
      'a@@example.com',
      'a b@example.com',
      '.ada@example.com',
      'ada.@example.com',
      'ada..l@example.com',
      'ada@-example.com',
      'ada@example.123',
      'ada@exa_mple.com',
      '"quoted"@example.com',
      'ad\u00e9@example.com',
      `${'a'.repeat(65)}@example.com`,
      `ada@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.example`, // 255 characters
      `ada@${'a'.repeat(64)}.com`, // a label over 63
      'ada@exa\nmple.com',
      '',
    ];
    for (const email of bad) {
      const res = await call(org.token, 'POST', '/v1/members', { email, role: 'employee' });
      expectProblem(res, 400, 'VALIDATION_FAILED', JSON.stringify(email));
    }
    const longest = `ada@${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}`;
    assert.equal(longest.length, 254);
    assert.equal((await call(org.token, 'POST', '/v1/members', { email: longest, role: 'employee' })).statusCode, 201, 'RFC 5321: 254 is allowed');
    const plus = await call(org.token, 'POST', '/v1/members', { email: "o'brien+vault@mail.example.co.uk", role: 'employee' });
    assert.equal(plus.statusCode, 201, plus.body);
  });

  test('a role that is neither built in nor a custom role of the org is 400 VALIDATION_FAILED', async () => {
    const other = await t.createOrg();
    const foreignRole = (await call(other.token, 'POST', '/v1/roles', { name: 'theirs', org_grants: { vaults: ['describe'] } })).json().id;
    for (const role of ['superuser', 'Owner', randomUUID(), foreignRole, '']) {
      const res = await call(org.token, 'POST', '/v1/members', { email: `${unique('x')}@example.com`, role });
      expectProblem(res, 400, 'VALIDATION_FAILED', role);
    }
  });

  test('an unknown member is 404 on every member route; unknown fields are 400', async () => {
    const missing = randomUUID();
    expectProblem(await call(org.token, 'GET', `/v1/members/${missing}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'PATCH', `/v1/members/${missing}`, { display_name: 'x' }), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'DELETE', `/v1/members/${missing}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'GET', '/v1/members/not-a-uuid'), 400, 'VALIDATION_FAILED');
    const m = await addMember('employee');
    expectProblem(await call(org.token, 'PATCH', `/v1/members/${m.id}`, { email: 'new@example.com' }), 400, 'VALIDATION_FAILED');
  });

  test('a member of another org is 404, exactly as a missing one', async () => {
    const other = await t.createOrg();
    const m = await addMember('employee');
    for (const [method, payload] of [['GET'], ['PATCH', { active: false }], ['DELETE']] as [Method, unknown?][]) {
      const res = await call(other.token, method, `/v1/members/${m.id}`, payload);
      expectProblem(res, 404, 'NOT_FOUND', method);
    }
    assert.equal((await call(m.token, 'GET', '/v1/vaults')).statusCode, 200, 'the member is untouched');
    assert.ok(!(await call(other.token, 'GET', '/v1/members')).body.includes(m.id));
  });

  test('deactivating a member makes its token 401 at once; reactivating does not revive it', async () => {
    const m = await addMember('employee');
    assert.equal((await call(m.token, 'GET', '/v1/vaults')).statusCode, 200);
    const off = await call(org.token, 'PATCH', `/v1/members/${m.id}`, { active: false });
    assert.equal(off.statusCode, 200, off.body);
    assert.equal(off.json().active, false);
    expectProblem(await call(m.token, 'GET', '/v1/vaults'), 401, 'UNAUTHENTICATED');
    const [row] = await t.database.superuser((c) =>
      c.query<{ status: string; generation: number }>('SELECT status, generation FROM members WHERE org_id = $1 AND member_id = $2', [org.orgId, m.id]),
    );
    assert.deepEqual({ ...row }, { status: 'deactivated', generation: 2 });

    const on = await call(org.token, 'PATCH', `/v1/members/${m.id}`, { active: true });
    assert.equal(on.json().active, true);
    expectProblem(await call(m.token, 'GET', '/v1/vaults'), 401, 'UNAUTHENTICATED');
  });

  test('deleting a member deletes its tokens and team memberships', async () => {
    const team = await createTeam();
    const m = await addMember('employee');
    await joinTeam(team, m.id);
    assert.equal((await call(org.token, 'DELETE', `/v1/members/${m.id}`)).statusCode, 204);
    expectProblem(await call(m.token, 'GET', '/v1/vaults'), 401, 'UNAUTHENTICATED');
    expectProblem(await call(org.token, 'GET', `/v1/members/${m.id}`), 404, 'NOT_FOUND');
    assert.deepEqual((await call(org.token, 'GET', `/v1/teams/${team}`)).json().members, []);
    const tokens = await t.database.superuser((c) =>
      c.query('SELECT 1 FROM api_tokens WHERE org_id = $1 AND member_id = $2', [org.orgId, m.id]),
    );
    assert.equal(tokens.length, 0);
  });

  test('nobody may change their own role, deactivate or delete themselves: 403 SEPARATION_OF_DUTIES', async () => {
    const admin = await addMember('admin');
    for (const role of ['owner', 'employee']) {
      expectProblem(await call(admin.token, 'PATCH', `/v1/members/${admin.id}`, { role }), 403, 'SEPARATION_OF_DUTIES', role);
    }
    expectProblem(await call(admin.token, 'PATCH', `/v1/members/${admin.id}`, { active: false }), 403, 'SEPARATION_OF_DUTIES');
    expectProblem(await call(admin.token, 'DELETE', `/v1/members/${admin.id}`), 403, 'SEPARATION_OF_DUTIES');
    // Nothing changed; naming its own role again, or its own name, is fine.
    const same = await call(admin.token, 'PATCH', `/v1/members/${admin.id}`, { role: 'admin', display_name: 'Me' });
    assert.equal(same.statusCode, 200, same.body);
    assert.equal(same.json().role, 'admin');
    assert.equal(same.json().active, true);
    // An owner is bound by the same rule.
    const owner = await addMember('owner');
    expectProblem(await call(owner.token, 'PATCH', `/v1/members/${owner.id}`, { role: 'admin' }), 403, 'SEPARATION_OF_DUTIES');
    expectProblem(await call(owner.token, 'DELETE', `/v1/members/${owner.id}`), 403, 'SEPARATION_OF_DUTIES');
  });

  test('a member cannot raise its own role, even with the members grant', async () => {
    const manager = await addMember('manager');
    // A manager may see members but not change them: 404, like any area it may not administer.
    expectProblem(await call(manager.token, 'PATCH', `/v1/members/${manager.id}`, { role: 'admin' }), 404, 'NOT_FOUND');
    const admin = await addMember('admin');
    expectProblem(await call(admin.token, 'PATCH', `/v1/members/${admin.id}`, { role: 'owner' }), 403, 'SEPARATION_OF_DUTIES');
    assert.equal((await call(org.token, 'GET', `/v1/members/${admin.id}`)).json().role, 'admin');
  });

  test('only an owner may grant the owner role or change, deactivate or delete an owner', async () => {
    const admin = await addMember('admin');
    const owner = await addMember('owner');
    const employee = await addMember('employee');
    const email = `${unique('would-be-owner')}@example.com`;
    expectProblem(await call(admin.token, 'POST', '/v1/members', { email, role: 'owner' }), 403, 'SEPARATION_OF_DUTIES', 'create owner');
    expectProblem(await call(admin.token, 'PATCH', `/v1/members/${employee.id}`, { role: 'owner' }), 403, 'SEPARATION_OF_DUTIES', 'promote');
    expectProblem(await call(admin.token, 'PATCH', `/v1/members/${owner.id}`, { role: 'admin' }), 403, 'SEPARATION_OF_DUTIES', 'demote');
    expectProblem(await call(admin.token, 'PATCH', `/v1/members/${owner.id}`, { active: false }), 403, 'SEPARATION_OF_DUTIES', 'deactivate');
    expectProblem(await call(admin.token, 'DELETE', `/v1/members/${owner.id}`), 403, 'SEPARATION_OF_DUTIES', 'delete');
    assert.equal((await call(owner.token, 'GET', '/v1/vaults')).statusCode, 200, 'the owner is untouched');
    const members = (await call(org.token, 'GET', '/v1/members')).json().members as { email: string; role: string }[];
    assert.ok(!members.some((m) => m.email === email));
    assert.equal((await call(org.token, 'GET', `/v1/members/${employee.id}`)).json().role, 'employee');

    // An owner member, and the root token, may.
    const promoted = await call(owner.token, 'PATCH', `/v1/members/${employee.id}`, { role: 'owner' });
    assert.equal(promoted.statusCode, 200, promoted.body);
    assert.equal(promoted.json().role, 'owner');
    assert.equal((await call(owner.token, 'PATCH', `/v1/members/${employee.id}`, { role: 'admin' })).statusCode, 200);
    assert.equal((await call(org.token, 'POST', '/v1/members', { email, role: 'owner' })).statusCode, 201);
    // And an admin may manage an admin.
    assert.equal((await call(admin.token, 'PATCH', `/v1/members/${employee.id}`, { display_name: 'Promoted' })).statusCode, 200);
  });

  test('nobody hands out a role that allows more than their own, nor changes a member above them', async () => {
    // People-ops: manages members, sees vaults and teams, sees its teams' vaults — like an employee.
    const peopleOps = await createRole({
      org_grants: { members: ['describe', 'admin'], vaults: ['describe'], teams: ['describe'] },
      vault_scope: 'team',
      vault_actions: ['describe'],
    });
    const hr = await addMember(peopleOps);
    for (const role of ['admin', 'manager', 'office']) {
      const res = await call(hr.token, 'POST', '/v1/members', { email: `${unique('p')}@example.com`, role });
      expectProblem(res, 403, 'SEPARATION_OF_DUTIES', role);
    }
    const employee = await addMember('employee', { as: hr.token });
    expectProblem(await call(hr.token, 'PATCH', `/v1/members/${employee.id}`, { role: 'manager' }), 403, 'SEPARATION_OF_DUTIES');
    const manager = await addMember('manager');
    expectProblem(await call(hr.token, 'PATCH', `/v1/members/${manager.id}`, { active: false }), 403, 'SEPARATION_OF_DUTIES');
    expectProblem(await call(hr.token, 'DELETE', `/v1/members/${manager.id}`), 403, 'SEPARATION_OF_DUTIES');
    assert.equal((await call(hr.token, 'PATCH', `/v1/members/${employee.id}`, { active: false })).statusCode, 200);
    assert.equal((await call(hr.token, 'DELETE', `/v1/members/${employee.id}`)).statusCode, 204);
  });
});

describe('roles and teams reach vaults', () => {
  test("an employee cannot create vaults (404) and sees only its team's vaults", async () => {
    const team = await createTeam();
    const otherTeam = await createTeam();
    const mine = await teamVault(team);
    await teamVault(otherTeam);
    await teamVault(null);
    const employee = await addMember('employee');
    assert.deepEqual(await listedVaults(employee.token), [], 'in no team: no vault');
    await joinTeam(team, employee.id);
    assert.deepEqual(await listedVaults(employee.token), [mine]);
    assert.equal((await call(employee.token, 'GET', `/v1/vaults/${mine}`)).statusCode, 200);
    expectProblem(await call(employee.token, 'POST', '/v1/vaults', { name: unique('nope') }), 404, 'NOT_FOUND');
    // Employees see vaults, not secrets.
    await putSecret(t, org, mine, 'ops/key', { value: 'v' });
    expectProblem(await call(employee.token, 'GET', `/v1/vaults/${mine}/secrets/ops/key`), 404, 'NOT_FOUND');
  });

  test("a manager of team A reads and writes team A's vault, never team B's or a vault of no team", async () => {
    const teamA = await createTeam();
    const teamB = await createTeam();
    const vaultA = await teamVault(teamA);
    const vaultB = await teamVault(teamB);
    const vaultNone = await teamVault(null);
    for (const v of [vaultA, vaultB, vaultNone]) await putSecret(t, org, v, 'stripe/key', { value: `secret-of-${v}` });
    const manager = await addMember('manager');
    await joinTeam(teamA, manager.id);

    assert.deepEqual(await listedVaults(manager.token), [vaultA]);
    assert.equal((await call(manager.token, 'GET', `/v1/vaults/${vaultA}`)).statusCode, 200);
    const read = await call(manager.token, 'GET', `/v1/vaults/${vaultA}/secrets/stripe/key`);
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().value, `secret-of-${vaultA}`);
    const write = await call(manager.token, 'PUT', `/v1/vaults/${vaultA}/secrets/stripe/key`, { value: 'rotated' });
    assert.equal(write.statusCode, 200, write.body);

    for (const v of [vaultB, vaultNone]) {
      expectProblem(await call(manager.token, 'GET', `/v1/vaults/${v}`), 404, 'NOT_FOUND');
      expectProblem(await call(manager.token, 'GET', `/v1/vaults/${v}/secrets/stripe/key`), 404, 'NOT_FOUND');
      expectProblem(await call(manager.token, 'PUT', `/v1/vaults/${v}/secrets/stripe/key`, { value: 'x' }), 404, 'NOT_FOUND');
      const untouched = await call(org.token, 'GET', `/v1/vaults/${v}/secrets/stripe/key`);
      assert.equal(untouched.json().value, `secret-of-${v}`);
    }
  });

  test('an office member (separation of duties) adding an audit sink gets 403 SEPARATION_OF_DUTIES', async () => {
    const office = await addMember('office');
    const res = await call(office.token, 'POST', '/v1/audit/sinks', { kind: 'syslog', name: unique('siem'), host: '127.0.0.1', port: 9, tls: false });
    expectProblem(res, 403, 'SEPARATION_OF_DUTIES');
    const event = await auditEventOf(res);
    assert.equal(event.action, 'audit.sink.create');
    assert.equal(event.outcome, 'failure');
    // Not a separation-of-duties matter: an area office has no grant on is the plain 404.
    expectProblem(await call(office.token, 'POST', '/v1/teams', { name: unique('t') }), 404, 'NOT_FOUND');
  });

  test("a custom role with vault_scope all and describe+read reads any vault's secret but cannot write it", async () => {
    const auditor = await createRole({ vault_scope: 'all', vault_actions: ['describe', 'read'] });
    const team = await createTeam();
    const vaults = [await teamVault(team), await teamVault(null)];
    for (const v of vaults) await putSecret(t, org, v, 'bank/iban', { value: `iban-${v}` });
    const m = await addMember(auditor);
    for (const v of vaults) {
      const read = await call(m.token, 'GET', `/v1/vaults/${v}/secrets/bank/iban`);
      assert.equal(read.statusCode, 200, read.body);
      assert.equal(read.json().value, `iban-${v}`);
      expectProblem(await call(m.token, 'PUT', `/v1/vaults/${v}/secrets/bank/iban`, { value: 'forged' }), 404, 'NOT_FOUND');
      expectProblem(await call(m.token, 'DELETE', `/v1/vaults/${v}/secrets/bank/iban`), 404, 'NOT_FOUND');
    }
    // No org grants: it cannot list vaults or create one.
    expectProblem(await call(m.token, 'GET', '/v1/vaults'), 404, 'NOT_FOUND');
    expectProblem(await call(m.token, 'POST', '/v1/vaults', { name: unique('v') }), 404, 'NOT_FOUND');
  });

  test("deleting a team removes its manager's reach at once; its vaults stay, with no team", async () => {
    const team = await createTeam();
    const vault = await teamVault(team);
    await putSecret(t, org, vault, 'k', { value: 'v' });
    const manager = await addMember('manager');
    await joinTeam(team, manager.id);
    assert.equal((await call(manager.token, 'GET', `/v1/vaults/${vault}/secrets/k`)).statusCode, 200);
    assert.equal((await call(org.token, 'DELETE', `/v1/teams/${team}`)).statusCode, 204);
    expectProblem(await call(manager.token, 'GET', `/v1/vaults/${vault}/secrets/k`), 404, 'NOT_FOUND');
    assert.deepEqual(await listedVaults(manager.token), []);
    assert.equal((await call(org.token, 'GET', `/v1/vaults/${vault}`)).json().team_id, null);
    assert.deepEqual((await call(org.token, 'GET', `/v1/members/${manager.id}`)).json().teams, []);
  });

  test('taking a member out of a team removes its reach at once', async () => {
    const team = await createTeam();
    const vault = await teamVault(team);
    const manager = await addMember('manager');
    await joinTeam(team, manager.id);
    assert.deepEqual(await listedVaults(manager.token), [vault]);
    assert.equal((await call(org.token, 'DELETE', `/v1/teams/${team}/members/${manager.id}`)).statusCode, 204);
    assert.deepEqual(await listedVaults(manager.token), []);
    expectProblem(await call(manager.token, 'GET', `/v1/vaults/${vault}`), 404, 'NOT_FOUND');
  });

  test('a role change takes effect on the very next request', async () => {
    const team = await createTeam();
    const vault = await teamVault(team);
    await putSecret(t, org, vault, 'payroll/key', { value: 'pay' });
    const m = await addMember('employee');
    await joinTeam(team, m.id);
    const read = () => call(m.token, 'GET', `/v1/vaults/${vault}/secrets/payroll/key`);
    expectProblem(await read(), 404, 'NOT_FOUND');
    assert.equal((await call(org.token, 'PATCH', `/v1/members/${m.id}`, { role: 'office' })).statusCode, 200);
    assert.equal((await read()).statusCode, 200);
    assert.equal((await call(org.token, 'PATCH', `/v1/members/${m.id}`, { role: 'employee' })).statusCode, 200);
    expectProblem(await read(), 404, 'NOT_FOUND');

    // Changing a custom role's definition reaches its holders just as fast.
    const role = await createRole({ vault_scope: 'team', vault_actions: ['read'] });
    assert.equal((await call(org.token, 'PATCH', `/v1/members/${m.id}`, { role })).statusCode, 200);
    assert.equal((await read()).statusCode, 200);
    const write = () => call(m.token, 'PUT', `/v1/vaults/${vault}/secrets/payroll/key`, { value: 'changed' });
    expectProblem(await write(), 404, 'NOT_FOUND');
    const name = (await call(org.token, 'GET', `/v1/roles/${role}`)).json().name;
    const widened = await call(org.token, 'PUT', `/v1/roles/${role}`, { name, vault_scope: 'team', vault_actions: ['read', 'write'] });
    assert.equal(widened.statusCode, 200, widened.body);
    assert.equal((await write()).statusCode, 200);
    const narrowed = await call(org.token, 'PUT', `/v1/roles/${role}`, { name });
    assert.equal(narrowed.statusCode, 200, narrowed.body);
    expectProblem(await read(), 404, 'NOT_FOUND');
  });
});

describe('teams', () => {
  test('a team is created, described, listed, renamed and deleted', async () => {
    const name = unique('Pod');
    const res = await call(org.token, 'POST', '/v1/teams', { name, description: 'payments pod' });
    assert.equal(res.statusCode, 201, res.body);
    const team = res.json();
    assert.deepEqual({ ...team, id: undefined, created_at: undefined, created_by: undefined }, {
      id: undefined,
      name,
      description: 'payments pod',
      members: [],
      created_by: undefined,
      created_at: undefined,
    });
    assert.match(team.created_by, /^root_token:/);
    assert.deepEqual((await call(org.token, 'GET', `/v1/teams/${team.id}`)).json(), team);
    assert.ok((await call(org.token, 'GET', '/v1/teams')).json().teams.some((x: { id: string }) => x.id === team.id));
    expectProblem(await call(org.token, 'POST', '/v1/teams', { name: name.toUpperCase() }), 409, 'CONFLICT');
    const renamed = await call(org.token, 'PATCH', `/v1/teams/${team.id}`, { name: `${name}-renamed` });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().name, `${name}-renamed`);
    assert.equal(renamed.json().description, 'payments pod');
    assert.equal((await call(org.token, 'DELETE', `/v1/teams/${team.id}`)).statusCode, 204);
    expectProblem(await call(org.token, 'GET', `/v1/teams/${team.id}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'DELETE', `/v1/teams/${team.id}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'PATCH', `/v1/teams/${team.id}`, { name: 'x' }), 404, 'NOT_FOUND');
  });

  test('adding a member is idempotent; removing one that is not in the team is 404', async () => {
    const team = await createTeam();
    const m = await addMember('office');
    for (let i = 0; i < 2; i++) {
      const res = await call(org.token, 'PUT', `/v1/teams/${team}/members/${m.id}`);
      assert.equal(res.statusCode, 204, res.body);
    }
    assert.deepEqual((await call(org.token, 'GET', `/v1/teams/${team}`)).json().members, [m.id]);
    assert.deepEqual((await call(org.token, 'GET', `/v1/members/${m.id}`)).json().teams, [team]);
    assert.equal((await call(org.token, 'DELETE', `/v1/teams/${team}/members/${m.id}`)).statusCode, 204);
    expectProblem(await call(org.token, 'DELETE', `/v1/teams/${team}/members/${m.id}`), 404, 'NOT_FOUND');
    assert.deepEqual((await call(org.token, 'GET', `/v1/teams/${team}`)).json().members, []);
  });

  test('a missing team or member is 404, and another org\'s too', async () => {
    const team = await createTeam();
    const m = await addMember('employee');
    const missing = randomUUID();
    expectProblem(await call(org.token, 'PUT', `/v1/teams/${missing}/members/${m.id}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'PUT', `/v1/teams/${team}/members/${missing}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'DELETE', `/v1/teams/${missing}/members/${m.id}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'GET', `/v1/teams/${missing}`), 404, 'NOT_FOUND');

    const other = await t.createOrg();
    const theirs = (await call(other.token, 'POST', '/v1/teams', { name: 'theirs' })).json().id as string;
    expectProblem(await call(org.token, 'PUT', `/v1/teams/${theirs}/members/${m.id}`), 404, 'NOT_FOUND', 'their team, my member');
    expectProblem(await call(other.token, 'PUT', `/v1/teams/${theirs}/members/${m.id}`), 404, 'NOT_FOUND', 'my member in their team');
    expectProblem(await call(other.token, 'GET', `/v1/teams/${team}`), 404, 'NOT_FOUND');
    expectProblem(await call(other.token, 'DELETE', `/v1/teams/${team}`), 404, 'NOT_FOUND');
    assert.equal((await call(org.token, 'GET', `/v1/teams/${team}`)).statusCode, 200);
  });

  test('members see teams; only those who administer teams change them', async () => {
    const employee = await addMember('employee');
    assert.equal((await call(employee.token, 'GET', '/v1/teams')).statusCode, 200);
    const team = await createTeam();
    expectProblem(await call(employee.token, 'POST', '/v1/teams', { name: unique('t') }), 404, 'NOT_FOUND');
    expectProblem(await call(employee.token, 'PUT', `/v1/teams/${team}/members/${employee.id}`), 404, 'NOT_FOUND');
    expectProblem(await call(employee.token, 'DELETE', `/v1/teams/${team}`), 404, 'NOT_FOUND');
    // Employees do not see the member list.
    expectProblem(await call(employee.token, 'GET', '/v1/members'), 404, 'NOT_FOUND');
  });
});

describe('roles', () => {
  test('lists the built-in roles, read-only, then the custom ones', async () => {
    const custom = await createRole({ description: 'reads all', vault_scope: 'all', vault_actions: ['read'] });
    const res = await call(org.token, 'GET', '/v1/roles');
    assert.equal(res.statusCode, 200, res.body);
    const roles = res.json().roles as { id: string; name: string; built_in: boolean; org_grants: Record<string, string[]>; vault_scope: string | null; vault_actions: string[]; restricted: boolean }[];
    const builtIns = roles.filter((r) => r.built_in);
    assert.deepEqual(builtIns.map((r) => r.id), [...BUILT_IN_ROLES.keys()]);
    assert.deepEqual(roles.slice(0, builtIns.length), builtIns, 'built-ins come first');
    for (const r of builtIns) {
      const def = BUILT_IN_ROLES.get(r.id);
      assert.ok(def);
      assert.deepEqual(r.org_grants, JSON.parse(JSON.stringify(def.org)), r.id);
      assert.equal(r.vault_scope, def.vaults?.scope ?? null, r.id);
      assert.deepEqual(r.vault_actions, def.vaults?.actions ?? [], r.id);
      assert.equal(r.restricted, def.restricted, r.id);
    }
    const mine = roles.find((r) => r.id === custom);
    assert.deepEqual(mine && { ...mine, name: undefined }, {
      id: custom,
      name: undefined,
      description: 'reads all',
      built_in: false,
      org_grants: {},
      vault_scope: 'all',
      vault_actions: ['read'],
      restricted: false,
    });
    const office = await call(org.token, 'GET', '/v1/roles/office');
    assert.equal(office.statusCode, 200);
    assert.deepEqual(office.json(), roles.find((r) => r.id === 'office'));
  });

  test('a custom role is stored as sent, its actions once each and in order; empty areas dropped', async () => {
    const res = await call(org.token, 'POST', '/v1/roles', {
      name: unique('Billing'),
      org_grants: { vaults: ['write', 'describe', 'describe'], audit: [] },
      vault_scope: 'team',
      vault_actions: ['write', 'read'],
      restricted: true,
    });
    assert.equal(res.statusCode, 201, res.body);
    const role = res.json();
    assert.deepEqual(role.org_grants, { vaults: ['describe', 'write'] });
    assert.deepEqual(role.vault_actions, ['read', 'write']);
    assert.equal(role.restricted, true);
    assert.deepEqual((await call(org.token, 'GET', `/v1/roles/${role.id}`)).json(), role);
    assert.deepEqual((await call(org.token, 'GET', `/v1/roles/${role.id.toUpperCase()}`)).json(), role);
  });

  test('refuses invalid definitions with 400 VALIDATION_FAILED', async () => {
    const bad: [string, Record<string, unknown>][] = [
      ['a built-in name', { name: 'Owner' }],
      ['a built-in name in another case', { name: 'ADMIN' }],
      ['a built-in id', { name: 'employee' }],
      ['an unknown area', { name: unique('r'), org_grants: { billing: ['admin'] } }],
      ['an unknown action', { name: unique('r'), org_grants: { vaults: ['approve'] } }],
      ['an unknown vault action', { name: unique('r'), vault_scope: 'all', vault_actions: ['sudo'] }],
      ['an unknown scope', { name: unique('r'), vault_scope: 'some', vault_actions: ['read'] }],
      ['vault actions without a scope', { name: unique('r'), vault_actions: ['read'] }],
      ['a scope without vault actions', { name: unique('r'), vault_scope: 'all' }],
      ['restricted with admin on integrations', { name: unique('r'), restricted: true, org_grants: { integrations: ['describe', 'admin'] } }],
      ['restricted with admin on policies', { name: unique('r'), restricted: true, org_grants: { policies: ['admin'] } }],
      ['restricted with admin on vaults', { name: unique('r'), restricted: true, vault_scope: 'team', vault_actions: ['read', 'admin'] }],
      ['no name', { org_grants: {} }],
      ['an unknown field', { name: unique('r'), superpowers: true }],
    ];
    for (const [what, body] of bad) {
      expectProblem(await call(org.token, 'POST', '/v1/roles', body), 400, 'VALIDATION_FAILED', what);
    }
    // What the engine allows a restricted role is fine: seeing integrations, using vaults.
    const ok = await call(org.token, 'POST', '/v1/roles', {
      name: unique('r'),
      restricted: true,
      org_grants: { integrations: ['describe'], policies: ['describe'] },
      vault_scope: 'team',
      vault_actions: ['read', 'write'],
    });
    assert.equal(ok.statusCode, 201, ok.body);
  });

  test('custom role names are unique whatever their case: 409 CONFLICT, on create and replace', async () => {
    const name = unique('Treasury');
    await createRole({ name });
    expectProblem(await call(org.token, 'POST', '/v1/roles', { name: name.toUpperCase() }), 409, 'CONFLICT');
    const other = await createRole({});
    expectProblem(await call(org.token, 'PUT', `/v1/roles/${other}`, { name: name.toLowerCase() }), 409, 'CONFLICT');
  });

  test('built-in roles cannot be replaced or deleted (400); unknown roles are 404', async () => {
    for (const id of BUILT_IN_ROLES.keys()) {
      expectProblem(await call(org.token, 'PUT', `/v1/roles/${id}`, { name: unique('mine') }), 400, 'VALIDATION_FAILED', id);
      expectProblem(await call(org.token, 'DELETE', `/v1/roles/${id}`), 400, 'VALIDATION_FAILED', id);
    }
    const missing = randomUUID();
    expectProblem(await call(org.token, 'GET', `/v1/roles/${missing}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'PUT', `/v1/roles/${missing}`, { name: unique('r') }), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'DELETE', `/v1/roles/${missing}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'GET', '/v1/roles/Owner'), 400, 'VALIDATION_FAILED');
    const other = await t.createOrg();
    const theirs = (await call(other.token, 'POST', '/v1/roles', { name: 'theirs' })).json().id as string;
    expectProblem(await call(org.token, 'GET', `/v1/roles/${theirs}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'DELETE', `/v1/roles/${theirs}`), 404, 'NOT_FOUND');
  });

  test('a role members still hold cannot be deleted (409); once nobody holds it, it can', async () => {
    const role = await createRole({ vault_scope: 'team', vault_actions: ['describe'] });
    const m = await addMember(role);
    expectProblem(await call(org.token, 'DELETE', `/v1/roles/${role}`), 409, 'CONFLICT');
    assert.equal((await call(m.token, 'GET', '/v1/vaults')).statusCode, 404, 'the role has no vaults grant, and still exists');
    assert.equal((await call(org.token, 'PATCH', `/v1/members/${m.id}`, { role: 'employee' })).statusCode, 200);
    assert.equal((await call(org.token, 'DELETE', `/v1/roles/${role}`)).statusCode, 204);
    expectProblem(await call(org.token, 'GET', `/v1/roles/${role}`), 404, 'NOT_FOUND');
    expectProblem(await call(org.token, 'PATCH', `/v1/members/${m.id}`, { role }), 400, 'VALIDATION_FAILED');
  });

  test('roles are seen and managed only with a grant on the roles area; nobody defines a role above their own', async () => {
    const manager = await addMember('manager');
    expectProblem(await call(manager.token, 'GET', '/v1/roles'), 404, 'NOT_FOUND');
    expectProblem(await call(manager.token, 'POST', '/v1/roles', { name: unique('r') }), 404, 'NOT_FOUND');
    const roleAdmin = await createRole({ org_grants: { roles: ['describe', 'admin'] }, vault_scope: 'team', vault_actions: ['describe'] });
    const m = await addMember(roleAdmin);
    assert.equal((await call(m.token, 'GET', '/v1/roles')).statusCode, 200);
    const within = await call(m.token, 'POST', '/v1/roles', { name: unique('r'), org_grants: { roles: ['describe'] } });
    assert.equal(within.statusCode, 201, within.body);
    for (const [what, body] of [
      ['an org grant it lacks', { org_grants: { members: ['admin'] } }],
      ['a wider vault scope', { vault_scope: 'all', vault_actions: ['describe'] }],
      ['a vault action it lacks', { vault_scope: 'team', vault_actions: ['read'] }],
    ] as const) {
      expectProblem(await call(m.token, 'POST', '/v1/roles', { name: unique('r'), ...body }), 403, 'SEPARATION_OF_DUTIES', what);
    }
    // Nor may it widen the role it holds itself.
    const name = (await call(org.token, 'GET', `/v1/roles/${roleAdmin}`)).json().name;
    const widen = await call(m.token, 'PUT', `/v1/roles/${roleAdmin}`, {
      name,
      org_grants: { roles: ['describe', 'admin'], members: ['describe', 'admin'] },
      vault_scope: 'team',
      vault_actions: ['describe'],
    });
    expectProblem(widen, 403, 'SEPARATION_OF_DUTIES');
    assert.deepEqual((await call(org.token, 'GET', `/v1/roles/${roleAdmin}`)).json().org_grants, { roles: ['describe', 'admin'] });
  });

  test('role routes record built-in roles by name, custom ones by id, and anything else as invalid', async () => {
    const builtIn = await call(org.token, 'GET', '/v1/roles/manager');
    assert.equal((await auditEventOf(builtIn)).resource.ref, 'role:manager');
    const custom = await createRole({});
    const got = await call(org.token, 'GET', `/v1/roles/${custom.toUpperCase()}`);
    assert.equal(got.statusCode, 200);
    assert.equal((await auditEventOf(got)).resource.ref, `role:${custom}`);
    const invalid = await call(org.token, 'GET', '/v1/roles/root');
    assert.equal(invalid.statusCode, 400);
    assert.equal((await auditEventOf(invalid)).resource.ref, 'role:(invalid)');
    const created = await call(org.token, 'POST', '/v1/roles', { name: unique('r') });
    const event = await auditEventOf(created);
    assert.deepEqual([event.action, event.resource.ref], ['role.create', `role:${created.json().id}`]);
    const refused = await call(org.token, 'POST', '/v1/roles', { name: 'Owner' });
    assert.deepEqual([(await auditEventOf(refused)).resource.ref, (await auditEventOf(refused)).outcome], ['role:(new)', 'failure']);
    const deleteBuiltIn = await call(org.token, 'DELETE', '/v1/roles/owner');
    assert.equal((await auditEventOf(deleteBuiltIn)).resource.ref, 'role:owner');
  });

  test('member and team changes are recorded with their ids', async () => {
    const res = await call(org.token, 'POST', '/v1/members', { email: `${unique('audited')}@example.com`, role: 'employee' });
    const event = await auditEventOf(res);
    assert.deepEqual([event.action, event.resource.ref, event.outcome], ['member.create', `member:${res.json().member.id}`, 'success']);
    const team = await createTeam();
    const add = await call(org.token, 'PUT', `/v1/teams/${team}/members/${res.json().member.id}`);
    const added = await auditEventOf(add);
    assert.deepEqual([added.action, added.resource.ref], ['team.member.add', `team:${team}`]);
  });

  test('a refused change records only its failure, and leaves the authz epoch alone', async () => {
    const epoch = async () => {
      const [row] = await t.database.superuser((c) => c.query<{ e: string | number }>('SELECT authz_epoch AS e FROM orgs WHERE org_id = $1', [org.orgId]));
      return Number(row?.e);
    };
    const m = await addMember('employee');
    const team = await createTeam();
    const role = await createRole({});
    const missing = randomUUID();
    const before = await epoch();
    const refused: [Method, string, unknown?][] = [
      ['PATCH', `/v1/members/${missing}`, { display_name: 'x' }],
      ['DELETE', `/v1/members/${missing}`],
      ['POST', '/v1/members', { email: `${unique('x')}@example.com`, role: randomUUID() }],
      ['PATCH', `/v1/teams/${missing}`, { name: 'x' }],
      ['DELETE', `/v1/teams/${missing}`],
      ['PUT', `/v1/teams/${team}/members/${missing}`],
      ['DELETE', `/v1/teams/${team}/members/${m.id}`],
      ['PUT', `/v1/roles/${missing}`, { name: unique('r') }],
      ['DELETE', `/v1/roles/${missing}`],
      ['PUT', `/v1/roles/employee`, { name: unique('r') }],
      ['POST', '/v1/roles', { name: 'Admin' }],
    ];
    for (const [method, url, payload] of refused) {
      const res = await call(org.token, method, url, payload);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${method} ${url}: ${res.body}`);
      const event = await auditEventOf(res); // exactly one event
      assert.equal(event.outcome, 'failure', `${method} ${url}`);
    }
    assert.equal(await epoch(), before, 'nothing committed');
    assert.equal((await call(org.token, 'PUT', `/v1/roles/${role}`, { name: unique('r') })).statusCode, 200);
    assert.equal(await epoch(), before + 1, 'a change bumps it once');
  });
});
