import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { createTenantTx } from '../src/db/tenant.js';
import { bumpAuthzEpoch } from '../src/domains/authz/authz.repo.js';
import { createTestApp, createVault, putSecret, signInAsMember, type TestApp, type TestOrg } from './support/app.js';

// SPEC P3 (vault policies), P4 (explain), P6 (a policy change revokes the agent's tokens) and
// P2 (separation of duties), through the API.

let t: TestApp;
let org: TestOrg;
/** Vault V holds /stripe/key, /stripe/x/y and /github/key; vault W holds /stripe/key. */
let vaultV: string;
let vaultW: string;

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
  vaultV = await createVault(t, org, 'vault-v');
  vaultW = await createVault(t, org, 'vault-w');
  await putSecret(t, org, vaultV, 'stripe/key', { value: 'v-stripe-key' });
  await putSecret(t, org, vaultV, 'stripe/x/y', { value: 'v-stripe-x-y' });
  await putSecret(t, org, vaultV, 'github/key', { value: 'v-github-key' });
  await putSecret(t, org, vaultW, 'stripe/key', { value: 'w-stripe-key' });
});
after(() => t.close());

interface Agent {
  id: string;
  apiKey: string;
}

let agentCounter = 0;

async function createAgent(o: TestOrg = org): Promise<Agent> {
  const res = await t.call(o.token, { method: 'POST', url: '/v1/agents', payload: { name: `agent-${++agentCounter}` } });
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json() as { agent: { id: string }; api_key: string };
  return { id: body.agent.id, apiKey: body.api_key };
}

/** A fresh access token for the agent. */
async function tokenOf(agent: Agent): Promise<string> {
  const res = await t.call(undefined, { method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: agent.id, api_key: agent.apiKey } });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { access_token: string }).access_token;
}

interface PolicyBody {
  principal_type: string;
  principal_id: string;
  secret_path_pattern: string;
  permissions: string[];
  effect?: string;
  conditions?: Record<string, unknown>;
  expires_at?: string | null;
  description?: string;
}

const policiesUrl = (vault: string, policyId?: string) => `/v1/vaults/${vault}/policies${policyId === undefined ? '' : `/${policyId}`}`;

function postPolicy(vault: string, body: PolicyBody | Record<string, unknown>, token = org.token): Promise<LightMyRequestResponse> {
  return t.call(token, { method: 'POST', url: policiesUrl(vault), payload: body });
}

/** Creates a policy with the root token; returns its id. */
async function createPolicy(vault: string, body: PolicyBody): Promise<string> {
  const res = await postPolicy(vault, body);
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

const readPolicy = (agent: Agent, pattern: string, extra: Partial<PolicyBody> = {}): PolicyBody => ({
  principal_type: 'agent',
  principal_id: agent.id,
  secret_path_pattern: pattern,
  permissions: ['read'],
  ...extra,
});

function readSecret(token: string, vault: string, path: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.call(token, { method: 'GET', url: `/v1/vaults/${vault}/secrets/${path}`, headers });
}

const withoutRequestId = (res: LightMyRequestResponse) => {
  const { requestId, ...rest } = res.json() as Record<string, unknown>;
  assert.equal(typeof requestId, 'string');
  return rest;
};

/** Asserts `res` is exactly the answer a missing secret gets (P1): same status, type and body. */
async function assertLikeMissing(res: LightMyRequestResponse, what: string): Promise<void> {
  const missing = await readSecret(org.token, vaultV, `no/such/secret-${randomUUID()}`);
  assert.equal(missing.statusCode, 404);
  assert.equal(res.statusCode, 404, `${what}: ${res.body}`);
  assert.equal(res.headers['content-type'], missing.headers['content-type'], what);
  assert.deepEqual(withoutRequestId(res), withoutRequestId(missing), what);
}

function assertProblem(res: LightMyRequestResponse, status: number, code: string, what: string): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json().code, code, `${what}: ${res.body}`);
}

/** A member of the org, signed in (a session whose second factor was just checked, so policy changes pass step-up). */
async function createMember(o: TestOrg, role: string, teams: string[] = []): Promise<{ memberId: string; token: string }> {
  const memberId = randomUUID();
  await createTenantTx(t.database.db)(o.orgId, async (tx) => {
    await tx.query('INSERT INTO members (org_id, member_id, email, role, created_by) VALUES ($1, $2, $3, $4, $5)', [
      o.orgId,
      memberId,
      `${memberId}@example.com`,
      role,
      'test',
    ]);
    for (const team of teams) {
      await tx.query('INSERT INTO team_members (org_id, team_id, member_id) VALUES ($1, $2, $3)', [o.orgId, team, memberId]);
    }
    // What decisions read changed: the snapshot of the org must be reloaded.
    await bumpAuthzEpoch(tx);
  });
  const session = await signInAsMember(t, o.orgId, memberId, `${memberId}@example.com`);
  return { memberId, token: session.token };
}

async function createTeam(o: TestOrg): Promise<string> {
  const teamId = randomUUID();
  await createTenantTx(t.database.db)(o.orgId, async (tx) => {
    await tx.query('INSERT INTO teams (org_id, team_id, name, created_by) VALUES ($1, $2, $3, $4)', [o.orgId, teamId, `team-${teamId}`, 'test']);
    await bumpAuthzEpoch(tx);
  });
  return teamId;
}

describe('an agent with a read policy on /stripe/* (acceptance)', () => {
  test('reads /stripe/key, and nothing else: other depths, paths and vaults answer like a missing secret', async () => {
    const agent = await createAgent();
    await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    const token = await tokenOf(agent);

    const ok = await readSecret(token, vaultV, 'stripe/key');
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().value, 'v-stripe-key');

    await assertLikeMissing(await readSecret(token, vaultV, 'stripe/x/y'), '/stripe/x/y (two segments below)');
    await assertLikeMissing(await readSecret(token, vaultV, 'github/key'), '/github/key (another path)');
    await assertLikeMissing(await readSecret(token, vaultW, 'stripe/key'), '/stripe/key in another vault');
    // read is not write.
    const write = await t.call(token, { method: 'PUT', url: `/v1/vaults/${vaultV}/secrets/stripe/key`, payload: { value: 'x' } });
    assert.equal(write.statusCode, 404, write.body);
  });

  test('a policy is answered in 1claw\'s shape, with its pattern normalised and its principal id lowercased', async () => {
    const agent = await createAgent();
    const res = await postPolicy(vaultV, {
      principal_type: 'agent',
      principal_id: agent.id.toUpperCase(),
      secret_path_pattern: 'stripe/**/**/key_*',
      permissions: ['read', 'describe'],
      description: 'billing bot',
    });
    assert.equal(res.statusCode, 201, res.body);
    const policy = res.json();
    assert.match(policy.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...policy, id: undefined, created_at: undefined, updated_at: undefined, created_by: undefined, updated_by: undefined },
      {
        id: undefined,
        vault_id: vaultV,
        principal_type: 'agent',
        principal_id: agent.id,
        secret_path_pattern: '/stripe/**/key_*',
        permissions: ['read', 'describe'],
        effect: 'allow',
        conditions: {},
        expires_at: null,
        description: 'billing bot',
        created_at: undefined,
        updated_at: undefined,
        created_by: undefined,
        updated_by: undefined,
      },
    );
    assert.match(policy.created_by, /^root_token:/);
    assert.equal(policy.updated_by, policy.created_by);
    assert.ok(!Number.isNaN(Date.parse(policy.created_at)));

    const one = await t.call(org.token, { method: 'GET', url: policiesUrl(vaultV, policy.id) });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), policy);
    const list = await t.call(org.token, { method: 'GET', url: policiesUrl(vaultV) });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(
      list.json().policies.filter((p: { id: string }) => p.id === policy.id),
      [policy],
    );
    // Another vault's list does not hold it.
    const other = await t.call(org.token, { method: 'GET', url: policiesUrl(vaultW) });
    assert.equal(other.json().policies.some((p: { id: string }) => p.id === policy.id), false);
    // Nor does it answer under another vault's URL.
    assertProblem(await t.call(org.token, { method: 'GET', url: policiesUrl(vaultW, policy.id) }), 404, 'NOT_FOUND', 'policy under W');
  });

  test('PUT replaces the whole policy: the agent reads what the new pattern covers, not what the old one did', async () => {
    const agent = await createAgent();
    const id = await createPolicy(vaultV, readPolicy(agent, '/stripe/*', { description: 'before' }));
    const res = await t.call(org.token, { method: 'PUT', url: policiesUrl(vaultV, id), payload: readPolicy(agent, '/github/*') });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().id, id);
    assert.equal(res.json().secret_path_pattern, '/github/*');
    assert.equal(res.json().description, '', 'an omitted field takes its default: PUT is a full replacement');
    assert.ok(Date.parse(res.json().updated_at) >= Date.parse(res.json().created_at));

    const token = await tokenOf(agent);
    assert.equal((await readSecret(token, vaultV, 'github/key')).statusCode, 200);
    await assertLikeMissing(await readSecret(token, vaultV, 'stripe/key'), 'the old pattern after PUT');

    const missing = await t.call(org.token, { method: 'PUT', url: policiesUrl(vaultV, randomUUID()), payload: readPolicy(agent, '/github/*') });
    assertProblem(missing, 404, 'NOT_FOUND', 'PUT of a missing policy');
  });

  test('DELETE removes the policy and the agent loses its access', async () => {
    const agent = await createAgent();
    const id = await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    assert.equal((await readSecret(await tokenOf(agent), vaultV, 'stripe/key')).statusCode, 200);

    const res = await t.call(org.token, { method: 'DELETE', url: policiesUrl(vaultV, id) });
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, '');
    assertProblem(await t.call(org.token, { method: 'GET', url: policiesUrl(vaultV, id) }), 404, 'NOT_FOUND', 'GET after DELETE');
    assertProblem(await t.call(org.token, { method: 'DELETE', url: policiesUrl(vaultV, id) }), 404, 'NOT_FOUND', 'DELETE twice');
    await assertLikeMissing(await readSecret(await tokenOf(agent), vaultV, 'stripe/key'), 'after DELETE');
  });

  test('a deny policy beats an allow policy', async () => {
    const agent = await createAgent();
    await createPolicy(vaultV, readPolicy(agent, '/**'));
    const before = await tokenOf(agent);
    assert.equal((await readSecret(before, vaultV, 'stripe/key')).statusCode, 200);
    await createPolicy(vaultV, readPolicy(agent, '/stripe/**', { effect: 'deny' }));
    const token = await tokenOf(agent);
    await assertLikeMissing(await readSecret(token, vaultV, 'stripe/key'), 'denied /stripe/key');
    await assertLikeMissing(await readSecret(token, vaultV, 'stripe/x/y'), 'denied /stripe/x/y');
    assert.equal((await readSecret(token, vaultV, 'github/key')).statusCode, 200, 'the allow still holds outside the deny');
  });

  test('a missing vault answers 404 on every policy route', async () => {
    const agent = await createAgent();
    const missing = randomUUID();
    assertProblem(await postPolicy(missing, readPolicy(agent, '/**')), 404, 'NOT_FOUND', 'POST');
    assertProblem(await t.call(org.token, { method: 'GET', url: policiesUrl(missing) }), 404, 'NOT_FOUND', 'list');
    assertProblem(await t.call(org.token, { method: 'GET', url: policiesUrl(missing, randomUUID()) }), 404, 'NOT_FOUND', 'GET');
    assertProblem(await t.call(org.token, { method: 'PUT', url: policiesUrl(missing, randomUUID()), payload: readPolicy(agent, '/**') }), 404, 'NOT_FOUND', 'PUT');
    assertProblem(await t.call(org.token, { method: 'DELETE', url: policiesUrl(missing, randomUUID()) }), 404, 'NOT_FOUND', 'DELETE');
  });
});

describe('invalid policies', () => {
  let agent: Agent;
  before(async () => {
    agent = await createAgent();
  });

  test('refuses a malformed pattern, naming why', async () => {
    for (const [pattern, reason] of [
      ['/a/**b', /whole segment/],
      ['', /empty/],
      ['/a/../b', /"\." or "\.\."/],
      ['/a//b', /empty segment/],
      ['/a b', /may hold only/],
    ] as const) {
      const res = await postPolicy(vaultV, readPolicy(agent, pattern));
      assertProblem(res, 400, 'VALIDATION_FAILED', `pattern ${JSON.stringify(pattern)}`);
      const issue = (res.json().errors as { path: string; message: string }[]).find((e) => e.path === 'secret_path_pattern');
      assert.ok(issue, `pattern ${JSON.stringify(pattern)}: ${res.body}`);
      assert.match(issue.message, reason);
    }
  });

  test('refuses empty, repeated, unknown or too many permissions', async () => {
    for (const permissions of [[], ['read', 'read'], ['fly'], ['read', 'Read'], [...Array(8)].map(() => 'read')]) {
      const res = await postPolicy(vaultV, { ...readPolicy(agent, '/**'), permissions });
      assertProblem(res, 400, 'VALIDATION_FAILED', `permissions ${JSON.stringify(permissions)}`);
    }
    const all = await postPolicy(vaultV, { ...readPolicy(agent, '/**'), permissions: ['describe', 'read', 'write', 'delete', 'share', 'detokenize', 'admin'] });
    assert.equal(all.statusCode, 201, 'all seven actions once each are fine');
  });

  test('refuses a principal that is malformed or not of this org', async () => {
    const other = await t.createOrg();
    const foreignAgent = await createAgent(other);
    const cases: [string, Record<string, unknown>][] = [
      ['agent id not a uuid', { principal_type: 'agent', principal_id: 'bot-1' }],
      ['unknown agent', { principal_type: 'agent', principal_id: randomUUID() }],
      ["another org's agent", { principal_type: 'agent', principal_id: foreignAgent.id }],
      ['unknown member', { principal_type: 'user', principal_id: randomUUID() }],
      ['unknown team', { principal_type: 'team', principal_id: randomUUID() }],
      ['unknown built-in role', { principal_type: 'role', principal_id: 'superuser' }],
      ['unknown custom role', { principal_type: 'role', principal_id: randomUUID() }],
      ['unknown principal type', { principal_type: 'group', principal_id: randomUUID() }],
      ['an agent id as a member', { principal_type: 'user', principal_id: agent.id }],
    ];
    for (const [what, principal] of cases) {
      const res = await postPolicy(vaultV, { ...readPolicy(agent, '/**'), ...principal });
      assertProblem(res, 400, 'VALIDATION_FAILED', what);
    }
    // A built-in role is named by its name.
    const role = await postPolicy(vaultV, { ...readPolicy(agent, '/**'), principal_type: 'role', principal_id: 'employee' });
    assert.equal(role.statusCode, 201, role.body);
  });

  test('accepts every kind of principal the org has, and the policy reaches it', async () => {
    const team = await createTeam(org);
    const roleId = randomUUID();
    await createTenantTx(t.database.db)(org.orgId, async (tx) => {
      await tx.query('INSERT INTO roles (org_id, role_id, name, vault_scope, vault_actions, created_by) VALUES ($1, $2, $3, NULL, $4, $5)', [
        org.orgId,
        roleId,
        `auditor-${roleId}`,
        [],
        'test',
      ]);
      await bumpAuthzEpoch(tx);
    });
    const inTeam = await createMember(org, 'employee', [team]);
    const withRole = await createMember(org, roleId);
    const direct = await createMember(org, 'employee');
    const employee = await createMember(org, 'employee');
    const vault = await createVault(t, org);
    await putSecret(t, org, vault, 'team/doc', { value: 't' });
    await putSecret(t, org, vault, 'role/doc', { value: 'r' });
    await putSecret(t, org, vault, 'user/doc', { value: 'u' });
    await putSecret(t, org, vault, 'employees/doc', { value: 'e' });

    const base = { permissions: ['read'] };
    await createPolicy(vault, { ...base, principal_type: 'team', principal_id: team.toUpperCase(), secret_path_pattern: '/team/*' });
    await createPolicy(vault, { ...base, principal_type: 'role', principal_id: roleId, secret_path_pattern: '/role/*' });
    await createPolicy(vault, { ...base, principal_type: 'user', principal_id: direct.memberId, secret_path_pattern: '/user/*' });
    await createPolicy(vault, { ...base, principal_type: 'role', principal_id: 'employee', secret_path_pattern: '/employees/*' });

    const reads = async (token: string) => {
      const readable: string[] = [];
      for (const path of ['team/doc', 'role/doc', 'user/doc', 'employees/doc']) {
        if ((await readSecret(token, vault, path)).statusCode === 200) readable.push(path);
      }
      return readable;
    };
    assert.deepEqual(await reads(inTeam.token), ['team/doc', 'employees/doc']);
    assert.deepEqual(await reads(withRole.token), ['role/doc']);
    assert.deepEqual(await reads(direct.token), ['user/doc', 'employees/doc']);
    assert.deepEqual(await reads(employee.token), ['employees/doc']);
  });

  test('refuses malformed conditions, expiry, effect and unknown fields', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['unknown condition', { conditions: { ip_denylist: ['10.0.0.0/8'] } }],
      ['prefix too long', { conditions: { ip_allowlist: ['10.0.0.0/33'] } }],
      ['not an address', { conditions: { ip_allowlist: ['10.0.0.256/8'] } }],
      ['a host name', { conditions: { ip_allowlist: ['example.com'] } }],
      ['too many blocks', { conditions: { ip_allowlist: [...Array(51)].map((_, i) => `10.0.${i}.0/24`) } }],
      ['empty allowlist', { conditions: { ip_allowlist: [] } }],
      ['unknown time zone', { conditions: { time_window: { start: '09:00', end: '17:00', timezone: 'Mars/Olympus_Mons' } } }],
      ['bad clock time', { conditions: { time_window: { start: '9:00', end: '17:00' } } }],
      ['24:00 as a start', { conditions: { time_window: { start: '24:00', end: '01:00' } } }],
      ['day 7', { conditions: { time_window: { days: [7], start: '09:00', end: '17:00' } } }],
      ['empty window', { conditions: { time_window: { start: '09:00', end: '09:00' } } }],
      ['unknown window field', { conditions: { time_window: { start: '09:00', end: '17:00', tz: 'UTC' } } }],
      ['mfa_required not a boolean', { conditions: { mfa_required: 'yes' } }],
      ['expires_at not RFC 3339', { expires_at: 'tomorrow' }],
      ['expires_at without offset', { expires_at: '2030-01-01T00:00:00' }],
      ['unknown effect', { effect: 'maybe' }],
      ['unknown field', { priority: 1 }],
      ['description too long', { description: 'x'.repeat(1001) }],
    ];
    for (const [what, extra] of cases) {
      assertProblem(await postPolicy(vaultV, { ...readPolicy(agent, '/**'), ...extra }), 400, 'VALIDATION_FAILED', what);
    }
    // The valid forms of the same fields pass.
    const ok = await postPolicy(vaultV, {
      ...readPolicy(agent, '/**'),
      conditions: {
        ip_allowlist: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', '::ffff:10.0.0.0/104'],
        time_window: { days: [1, 2, 3, 4, 5], start: '22:00', end: '24:00', timezone: 'Europe/Paris' },
        mfa_required: false,
        reason_required: false,
      },
      expires_at: '2030-01-01T00:00:00+02:00',
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().expires_at, '2029-12-31T22:00:00.000Z');
    assert.deepEqual(ok.json().conditions.time_window, { days: [1, 2, 3, 4, 5], start: '22:00', end: '24:00', timezone: 'Europe/Paris' });
  });

  test('an invalid PUT leaves the policy as it was', async () => {
    const id = await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    const bad = await t.call(org.token, { method: 'PUT', url: policiesUrl(vaultV, id), payload: { ...readPolicy(agent, '/x'), principal_id: randomUUID() } });
    assertProblem(bad, 400, 'VALIDATION_FAILED', 'PUT naming an unknown agent');
    const now = await t.call(org.token, { method: 'GET', url: policiesUrl(vaultV, id) });
    assert.equal(now.json().secret_path_pattern, '/stripe/*');
  });
});

describe('revocation (P6)', () => {
  test("creating, changing and deleting a policy for an agent revokes its outstanding tokens; a fresh exchange works", async () => {
    const agent = await createAgent();
    await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    const first = await tokenOf(agent);
    assert.equal((await readSecret(first, vaultV, 'stripe/key')).statusCode, 200);

    // Create.
    const id = await createPolicy(vaultV, readPolicy(agent, '/github/*'));
    assertProblem(await readSecret(first, vaultV, 'stripe/key'), 401, 'UNAUTHENTICATED', 'token from before a create');
    const second = await tokenOf(agent);
    assert.equal((await readSecret(second, vaultV, 'github/key')).statusCode, 200);

    // Update.
    const put = await t.call(org.token, { method: 'PUT', url: policiesUrl(vaultV, id), payload: readPolicy(agent, '/github/key') });
    assert.equal(put.statusCode, 200, put.body);
    assertProblem(await readSecret(second, vaultV, 'github/key'), 401, 'UNAUTHENTICATED', 'token from before an update');
    const third = await tokenOf(agent);
    assert.equal((await readSecret(third, vaultV, 'github/key')).statusCode, 200);

    // Delete.
    const del = await t.call(org.token, { method: 'DELETE', url: policiesUrl(vaultV, id) });
    assert.equal(del.statusCode, 204);
    assertProblem(await readSecret(third, vaultV, 'stripe/key'), 401, 'UNAUTHENTICATED', 'token from before a delete');
    const fourth = await tokenOf(agent);
    assert.equal((await readSecret(fourth, vaultV, 'stripe/key')).statusCode, 200, 'the remaining policy still applies');
    await assertLikeMissing(await readSecret(fourth, vaultV, 'github/key'), 'the deleted policy no longer applies');
  });

  test('moving a policy from one agent to another revokes the tokens of both', async () => {
    const a = await createAgent();
    const b = await createAgent();
    const id = await createPolicy(vaultV, readPolicy(a, '/stripe/*'));
    await createPolicy(vaultV, readPolicy(b, '/github/*'));
    const aToken = await tokenOf(a);
    const bToken = await tokenOf(b);
    const put = await t.call(org.token, { method: 'PUT', url: policiesUrl(vaultV, id), payload: readPolicy(b, '/stripe/*') });
    assert.equal(put.statusCode, 200, put.body);
    assertProblem(await readSecret(aToken, vaultV, 'stripe/key'), 401, 'UNAUTHENTICATED', 'the agent the policy named');
    assertProblem(await readSecret(bToken, vaultV, 'github/key'), 401, 'UNAUTHENTICATED', 'the agent the policy names now');
    await assertLikeMissing(await readSecret(await tokenOf(a), vaultV, 'stripe/key'), 'a after the move');
    assert.equal((await readSecret(await tokenOf(b), vaultV, 'stripe/key')).statusCode, 200, 'b after the move');
  });

  test("a policy about another agent leaves this agent's tokens alone", async () => {
    const agent = await createAgent();
    const bystander = await createAgent();
    await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    const token = await tokenOf(agent);
    await createPolicy(vaultV, readPolicy(bystander, '/stripe/*'));
    assert.equal((await readSecret(token, vaultV, 'stripe/key')).statusCode, 200);
  });

  test('a refused change revokes nothing', async () => {
    const agent = await createAgent();
    const id = await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    const token = await tokenOf(agent);
    const bad = await t.call(org.token, { method: 'PUT', url: policiesUrl(vaultV, id), payload: { ...readPolicy(agent, '/**'), principal_type: 'team', principal_id: randomUUID() } });
    assert.equal(bad.statusCode, 400);
    assert.equal((await readSecret(token, vaultV, 'stripe/key')).statusCode, 200);
  });
});

describe('who may manage policies', () => {
  test('an agent never manages policies, even with every action on the vault (a human decides)', async () => {
    const vault = await createVault(t, org);
    const admin = await createAgent();
    const other = await createAgent();
    const grant = await createPolicy(vault, { ...readPolicy(admin, '/**'), permissions: ['describe', 'read', 'write', 'delete', 'share', 'detokenize', 'admin'] });
    const token = await tokenOf(admin);
    for (const [what, res] of [
      ['list', await t.call(token, { method: 'GET', url: policiesUrl(vault) })],
      ['create for another agent', await postPolicy(vault, readPolicy(other, '/**'), token)],
      ['create for itself', await postPolicy(vault, readPolicy(admin, '/x/*'), token)],
      ['replace its own', await t.call(token, { method: 'PUT', url: policiesUrl(vault, grant), payload: readPolicy(other, '/**') })],
      ['delete its own', await t.call(token, { method: 'DELETE', url: policiesUrl(vault, grant) })],
      ['a vault it holds nothing on', await t.call(token, { method: 'GET', url: policiesUrl(vaultV) })],
      ['a vault that does not exist', await t.call(token, { method: 'GET', url: policiesUrl(randomUUID()) })],
    ] as const) {
      assertProblem(res, 404, 'NOT_FOUND', what);
    }
    // Nothing changed, and what the grant allows besides still works.
    const list = await t.call(org.token, { method: 'GET', url: policiesUrl(vault) });
    assert.deepEqual(list.json().policies.map((p: { id: string }) => p.id), [grant]);
    await putSecret(t, org, vault, 'stripe/key', { value: 'agent-reads' });
    assert.equal((await readSecret(token, vault, 'stripe/key')).statusCode, 200);
  });

  test('a member with vault admin manages policies, but never one that applies to itself', async () => {
    const vault = await createVault(t, org);
    const team = await createTeam(org);
    const member = await createMember(org, 'employee', [team]);
    const agent = await createAgent();
    const other = await createAgent();
    const grant = await createPolicy(vault, { principal_type: 'user', principal_id: member.memberId, secret_path_pattern: '/**', permissions: ['describe', 'admin'] });

    const forOther = await postPolicy(vault, readPolicy(other, '/**'), member.token);
    assert.equal(forOther.statusCode, 201, forOther.body);
    assert.equal(forOther.json().created_by, `user:${member.memberId}`);
    // Not for itself, in any spelling, nor through its team or its role…
    for (const [type, id] of [
      ['user', member.memberId],
      ['user', member.memberId.toUpperCase()],
      ['team', team],
      ['role', 'employee'],
    ] as const) {
      const res = await postPolicy(vault, { ...readPolicy(agent, '/x/*'), principal_type: type, principal_id: id }, member.token);
      assertProblem(res, 403, 'SEPARATION_OF_DUTIES', `a policy for ${type} ${id}`);
    }
    // …nor change or delete one that applies to it (it could drop a deny aimed at it)…
    assertProblem(await t.call(member.token, { method: 'PUT', url: policiesUrl(vault, grant), payload: readPolicy(other, '/**') }), 403, 'SEPARATION_OF_DUTIES', 'moving its own policy away');
    assertProblem(await t.call(member.token, { method: 'DELETE', url: policiesUrl(vault, grant) }), 403, 'SEPARATION_OF_DUTIES', 'deleting its own policy');
    // …nor turn another's policy into one about itself.
    const otherId = forOther.json().id as string;
    const steal = await t.call(member.token, {
      method: 'PUT',
      url: policiesUrl(vault, otherId),
      payload: { ...readPolicy(other, '/**'), principal_type: 'team', principal_id: team },
    });
    assertProblem(steal, 403, 'SEPARATION_OF_DUTIES', 'retargeting a policy at its team');
    const unchanged = await t.call(org.token, { method: 'GET', url: policiesUrl(vault, otherId) });
    assert.equal(unchanged.json().principal_id, other.id);
    assert.equal(unchanged.json().principal_type, 'agent');
  });

  test('an agent with read only cannot manage policies, even on paths it reads', async () => {
    const agent = await createAgent();
    await createPolicy(vaultV, readPolicy(agent, '/**'));
    const token = await tokenOf(agent);
    assertProblem(await t.call(token, { method: 'GET', url: policiesUrl(vaultV) }), 404, 'NOT_FOUND', 'list');
    assertProblem(await postPolicy(vaultV, readPolicy(await createAgent(), '/**'), token), 404, 'NOT_FOUND', 'create');
  });

  test('a manager manages the policies of its team\'s vaults only, and never its own', async () => {
    const team = await createTeam(org);
    const teamVault = (await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: `team-vault-${team}`, team_id: team } })).json().id as string;
    const manager = await createMember(org, 'manager', [team]);
    const agent = await createAgent();

    const created = await postPolicy(teamVault, readPolicy(agent, '/**'), manager.token);
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().created_by, `user:${manager.memberId}`);
    assert.equal((await t.call(manager.token, { method: 'GET', url: policiesUrl(teamVault) })).statusCode, 200);
    const self = await postPolicy(teamVault, { ...readPolicy(agent, '/**'), principal_type: 'user', principal_id: manager.memberId }, manager.token);
    assertProblem(self, 403, 'SEPARATION_OF_DUTIES', 'a manager granting itself');
    // Nor through a team or role it belongs to: those policies apply to it too.
    const forTeam = await postPolicy(teamVault, { ...readPolicy(agent, '/**'), principal_type: 'team', principal_id: team }, manager.token);
    assertProblem(forTeam, 403, 'SEPARATION_OF_DUTIES', 'a manager granting its own team');
    const forRole = await postPolicy(teamVault, { ...readPolicy(agent, '/**'), principal_type: 'role', principal_id: 'manager' }, manager.token);
    assertProblem(forRole, 403, 'SEPARATION_OF_DUTIES', 'a manager granting its own role');

    assertProblem(await t.call(manager.token, { method: 'GET', url: policiesUrl(vaultV) }), 404, 'NOT_FOUND', 'a vault of no team of its');
    assertProblem(await postPolicy(vaultV, readPolicy(agent, '/**'), manager.token), 404, 'NOT_FOUND', 'creating on a vault of no team of its');
  });

  test('an office member (separation of duties) is refused policy management, even with a vault admin grant', async () => {
    const team = await createTeam(org);
    const teamVault = (await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: `office-vault-${team}`, team_id: team } })).json().id as string;
    const office = await createMember(org, 'office', [team]);
    // Someone gave it every action on the vault; separation of duties still wins.
    await createPolicy(teamVault, { principal_type: 'user', principal_id: office.memberId, secret_path_pattern: '/**', permissions: ['read', 'admin'] });
    const agent = await createAgent();
    assertProblem(await t.call(office.token, { method: 'GET', url: policiesUrl(teamVault) }), 403, 'SEPARATION_OF_DUTIES', 'office lists');
    assertProblem(await postPolicy(teamVault, readPolicy(agent, '/**'), office.token), 403, 'SEPARATION_OF_DUTIES', 'office creates');
    // …and the answer is the same for a vault that does not exist: it reveals nothing.
    assertProblem(await t.call(office.token, { method: 'GET', url: policiesUrl(randomUUID()) }), 403, 'SEPARATION_OF_DUTIES', 'office, missing vault');
    // It still reads what its grant allows.
    await putSecret(t, org, teamVault, 'office/doc', { value: 'doc' });
    assert.equal((await readSecret(office.token, teamVault, 'office/doc')).statusCode, 200);
  });

  test('an employee cannot manage policies', async () => {
    const employee = await createMember(org, 'employee');
    assertProblem(await t.call(employee.token, { method: 'GET', url: policiesUrl(vaultV) }), 404, 'NOT_FOUND', 'employee lists');
  });

  test("another org's root token gets 404 on this org's policies", async () => {
    const other = await t.createOrg();
    const agent = await createAgent();
    const id = await createPolicy(vaultV, readPolicy(agent, '/**'));
    for (const res of [
      await t.call(other.token, { method: 'GET', url: policiesUrl(vaultV) }),
      await t.call(other.token, { method: 'GET', url: policiesUrl(vaultV, id) }),
      await t.call(other.token, { method: 'DELETE', url: policiesUrl(vaultV, id) }),
      await t.call(other.token, { method: 'PUT', url: policiesUrl(vaultV, id), payload: readPolicy(agent, '/**') }),
      await t.call(other.token, { method: 'POST', url: policiesUrl(vaultV), payload: readPolicy(agent, '/**') }),
    ]) {
      assertProblem(res, 404, 'NOT_FOUND', 'cross-tenant');
    }
    assert.equal((await t.call(org.token, { method: 'GET', url: policiesUrl(vaultV, id) })).statusCode, 200, 'untouched');
  });
});

describe('conditions', () => {
  test('reason_required: 403 REASON_REQUIRED without X-Audit-Reason, 200 with it', async () => {
    const agent = await createAgent();
    await createPolicy(vaultV, readPolicy(agent, '/stripe/*', { conditions: { reason_required: true } }));
    const token = await tokenOf(agent);
    assertProblem(await readSecret(token, vaultV, 'stripe/key'), 403, 'REASON_REQUIRED', 'no reason');
    assertProblem(await readSecret(token, vaultV, 'stripe/key', { 'x-audit-reason': '   ' }), 403, 'REASON_REQUIRED', 'a blank reason');
    const ok = await readSecret(token, vaultV, 'stripe/key', { 'x-audit-reason': 'rotating the billing key (TICKET-1)' });
    assert.equal(ok.statusCode, 200, ok.body);
    // The condition says nothing about paths the policy does not cover.
    await assertLikeMissing(await readSecret(token, vaultV, 'github/key'), 'outside the pattern');
  });

  test('ip_allowlist: a caller outside it is refused like a missing secret; inside it reads', async () => {
    const outside = await createAgent();
    await createPolicy(vaultV, readPolicy(outside, '/stripe/*', { conditions: { ip_allowlist: ['10.0.0.0/8', '2001:db8::/32'] } }));
    await assertLikeMissing(await readSecret(await tokenOf(outside), vaultV, 'stripe/key'), 'from 127.0.0.1, not allowed');

    const inside = await createAgent();
    await createPolicy(vaultV, readPolicy(inside, '/stripe/*', { conditions: { ip_allowlist: ['10.0.0.0/8', '127.0.0.0/8'] } }));
    assert.equal((await readSecret(await tokenOf(inside), vaultV, 'stripe/key')).statusCode, 200);
  });

  test('an expired policy grants nothing; an unexpired one does', async () => {
    const expired = await createAgent();
    await createPolicy(vaultV, readPolicy(expired, '/stripe/*', { expires_at: new Date(Date.now() - 60_000).toISOString() }));
    await assertLikeMissing(await readSecret(await tokenOf(expired), vaultV, 'stripe/key'), 'expired');

    const live = await createAgent();
    await createPolicy(vaultV, readPolicy(live, '/stripe/*', { expires_at: new Date(Date.now() + 3_600_000).toISOString() }));
    assert.equal((await readSecret(await tokenOf(live), vaultV, 'stripe/key')).statusCode, 200);
  });

  test('a time window that is never now grants nothing', async () => {
    const agent = await createAgent();
    // A one-minute window twelve hours from now, in UTC.
    const at = new Date(Date.now() + 12 * 3_600_000);
    const hhmm = (d: Date) => `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    const end = new Date(at.getTime() + 60_000);
    await createPolicy(vaultV, readPolicy(agent, '/stripe/*', { conditions: { time_window: { start: hhmm(at), end: hhmm(end) === '00:00' ? '24:00' : hhmm(end), timezone: 'UTC' } } }));
    await assertLikeMissing(await readSecret(await tokenOf(agent), vaultV, 'stripe/key'), 'outside the window');
  });
});

describe('explain (P4)', () => {
  let agent: Agent;
  let allowId: string;
  let denyId: string;
  before(async () => {
    agent = await createAgent();
    allowId = await createPolicy(vaultV, readPolicy(agent, '/stripe/*'));
    denyId = await createPolicy(vaultV, readPolicy(agent, '/stripe/secret*', { effect: 'deny' }));
  });

  const explain = (query: Record<string, string>, token = org.token) =>
    t.call(token, { method: 'GET', url: `/v1/authz/explain?${new URLSearchParams(query).toString()}` });

  test('allows, naming the policy, where the agent reads', async () => {
    const res = await explain({ principal: `agent:${agent.id.toUpperCase()}`, action: 'read', resource: `vault:${vaultV}/stripe/key` });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      principal: `agent:${agent.id}`,
      action: 'read',
      resource: `vault:${vaultV}/stripe/key`,
      allow: true,
      decided_by: [`policy:${allowId}`],
      reasons: [`policy ${allowId} allows read on /stripe/* (agent)`],
    });
    // And the agent can indeed read it: explain and enforcement agree.
    assert.equal((await readSecret(await tokenOf(agent), vaultV, 'stripe/key')).statusCode, 200);
  });

  test('denies with no grant outside the pattern, and names the deny policy where one decides', async () => {
    const outside = await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV}/github/key` });
    assert.equal(outside.statusCode, 200);
    assert.equal(outside.json().allow, false);
    assert.deepEqual(outside.json().decided_by, []);
    assert.equal('missing' in outside.json(), false);

    const denied = await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV}/stripe/secret_key` });
    assert.equal(denied.json().allow, false);
    assert.deepEqual(denied.json().decided_by, [`policy:${denyId}`]);

    const otherVault = await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultW}/stripe/key` });
    assert.equal(otherVault.json().allow, false);
  });

  test('normalises the secret path as a request would', async () => {
    const res = await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV}//stripe/key`.replace('//', '/') });
    assert.equal(res.json().resource, `vault:${vaultV}/stripe/key`);
    const nfd = await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV.toUpperCase()}/stripe/ke\u0301y` });
    assert.equal(nfd.statusCode, 200, nfd.body);
    assert.equal(nfd.json().resource, `vault:${vaultV}/stripe/k\u00e9y`);
  });

  test('reads conditions as for a request with no reason, MFA or IP unless told', async () => {
    const conditional = await createAgent();
    const id = await createPolicy(vaultV, readPolicy(conditional, '/github/*', { conditions: { reason_required: true, ip_allowlist: ['192.0.2.0/24'] } }));
    const base = { principal: `agent:${conditional.id}`, action: 'read', resource: `vault:${vaultV}/github/key` };
    const bare = (await explain(base)).json();
    assert.equal(bare.allow, false);
    const withIp = (await explain({ ...base, ip: '192.0.2.9' })).json();
    assert.equal(withIp.allow, false);
    assert.equal(withIp.missing, 'reason');
    const both = (await explain({ ...base, ip: '192.0.2.9', reason: '1' })).json();
    assert.equal(both.allow, true);
    assert.deepEqual(both.decided_by, [`policy:${id}`]);
  });

  test('explains roles, separation of duties and unknown principals', async () => {
    const owner = await explain({ principal: `root_token:${randomUUID()}`, action: 'read', resource: `vault:${vaultV}/stripe/key` });
    assert.equal(owner.json().allow, false, 'an unknown root token holds nothing');
    const [root] = await t.database.superuser((c) => c.query<{ token_id: string }>('SELECT token_id FROM api_tokens WHERE org_id = $1 AND kind = $2', [org.orgId, 'root']));
    assert.ok(root);
    const rootAnswer = (await explain({ principal: `root_token:${root.token_id}`, action: 'admin', resource: 'org:policies' })).json();
    assert.equal(rootAnswer.allow, true);
    assert.deepEqual(rootAnswer.decided_by, ['role:owner']);

    const office = await createMember(org, 'office');
    const sod = (await explain({ principal: `user:${office.memberId}`, action: 'admin', resource: 'org:policies' })).json();
    assert.equal(sod.allow, false);
    assert.deepEqual(sod.decided_by, ['sod:office']);

    const unknown = await explain({ principal: `user:${randomUUID()}`, action: 'read', resource: `vault:${vaultV}/stripe/key` });
    assert.equal(unknown.statusCode, 200, 'an unknown principal is a deny, not a 404');
    assert.equal(unknown.json().allow, false);
    assert.deepEqual(unknown.json().decided_by, []);
    const unknownAgent = (await explain({ principal: `agent:${randomUUID()}`, action: 'describe', resource: `vault:${vaultV}` })).json();
    assert.equal(unknownAgent.allow, false);
  });

  test('refuses a malformed query with 400', async () => {
    const good = { principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV}/stripe/key` };
    const cases: [string, Record<string, string>][] = [
      ['principal without a kind', { ...good, principal: agent.id }],
      ['unknown principal kind', { ...good, principal: `team:${randomUUID()}` }],
      ['principal id not a uuid', { ...good, principal: 'agent:bot' }],
      ['unknown action', { ...good, action: 'fly' }],
      ['unknown org area', { ...good, resource: 'org:everything' }],
      ['vault id not a uuid', { ...good, resource: 'vault:abc/stripe/key' }],
      ['a path with ..', { ...good, resource: `vault:${vaultV}/a/../b` }],
      ['a trailing slash', { ...good, resource: `vault:${vaultV}/` }],
      ['unknown resource kind', { ...good, resource: `secret:${vaultV}/stripe/key` }],
      ['not an IP', { ...good, ip: 'localhost' }],
      ['reason not 0/1', { ...good, reason: 'yes' }],
      ['unknown parameter', { ...good, verbose: '1' }],
      ['missing resource', { principal: good.principal, action: 'read' }],
    ];
    for (const [what, query] of cases) assertProblem(await explain(query), 400, 'VALIDATION_FAILED', what);
  });

  test('answers 404 for a vault that does not exist', async () => {
    assertProblem(await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${randomUUID()}/stripe/key` }), 404, 'NOT_FOUND', 'missing vault');
  });

  test('an agent, or an employee, without a grant on the access area gets 404', async () => {
    const token = await tokenOf(agent);
    const query = { principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV}/stripe/key` };
    assertProblem(await explain(query, token), 404, 'NOT_FOUND', 'agent');
    assertProblem(await explain({ ...query, resource: 'org:vaults' }, token), 404, 'NOT_FOUND', 'agent, org area');
    const employee = await createMember(org, 'employee');
    assertProblem(await explain(query, employee.token), 404, 'NOT_FOUND', 'employee');
  });

  test("a manager explains its team's vaults, not others", async () => {
    const team = await createTeam(org);
    const teamVault = (await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: `explain-vault-${team}`, team_id: team } })).json().id as string;
    const manager = await createMember(org, 'manager', [team]);
    const mine = await explain({ principal: `user:${manager.memberId}`, action: 'read', resource: `vault:${teamVault}/a` }, manager.token);
    assert.equal(mine.statusCode, 200, mine.body);
    assert.deepEqual(mine.json().decided_by, ['role:manager']);
    assertProblem(await explain({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${vaultV}/stripe/key` }, manager.token), 404, 'NOT_FOUND', 'a vault of no team of its');
  });
});

describe('audit', () => {
  interface AuditEvent {
    action: string;
    request_id: string;
    status: number | null;
    outcome: string;
    resource: { ref: string };
    authz?: { allow: boolean; action: string; by: string[] };
  }

  test('every policy route and every read records the decision and the grant behind it', async () => {
    // An org of its own, so its whole log fits in one page.
    const own = await t.createOrg();
    const vault = await createVault(t, own);
    await putSecret(t, own, vault, 'stripe/key', { value: 'k' });
    await putSecret(t, own, vault, 'github/key', { value: 'g' });
    const agent = await createAgent(own);
    const call = (token: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
      t.call(token, { method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

    const requests: { what: string; res: LightMyRequestResponse; action: string; allow: boolean | undefined; by: RegExp; authzAction: string; ref?: RegExp }[] = [];
    const created = await call(own.token, 'POST', policiesUrl(vault), readPolicy(agent, '/stripe/*'));
    assert.equal(created.statusCode, 201);
    const policyId = created.json().id as string;
    requests.push({ what: 'create', res: created, action: 'policy.create', allow: true, by: /^role:owner$/, authzAction: 'admin', ref: new RegExp(`^policy:${policyId}$`) });
    requests.push({ what: 'list', res: await call(own.token, 'GET', policiesUrl(vault)), action: 'policy.list', allow: true, by: /^role:owner$/, authzAction: 'admin', ref: new RegExp(`^vault:${vault}$`) });
    requests.push({ what: 'describe', res: await call(own.token, 'GET', policiesUrl(vault, policyId)), action: 'policy.describe', allow: true, by: /^role:owner$/, authzAction: 'admin', ref: new RegExp(`^policy:${policyId}$`) });
    requests.push({ what: 'update', res: await call(own.token, 'PUT', policiesUrl(vault, policyId), readPolicy(agent, '/stripe/*', { description: 'v2' })), action: 'policy.update', allow: true, by: /^role:owner$/, authzAction: 'admin', ref: new RegExp(`^policy:${policyId}$`) });

    // A member administering the vault through a policy: the event names that policy.
    const member = await createMember(own, 'employee');
    const adminGrant = (
      await call(own.token, 'POST', policiesUrl(vault), { principal_type: 'user', principal_id: member.memberId, secret_path_pattern: '/**', permissions: ['admin'] })
    ).json().id as string;
    const adminToken = member.token;
    const byAdmin = await call(adminToken, 'POST', policiesUrl(vault), readPolicy(agent, '/github/*'));
    assert.equal(byAdmin.statusCode, 201, byAdmin.body);
    requests.push({ what: 'create by a vault admin', res: byAdmin, action: 'policy.create', allow: true, by: new RegExp(`^policy:${adminGrant}$`), authzAction: 'admin' });
    const byAdminDelete = await call(adminToken, 'DELETE', policiesUrl(vault, byAdmin.json().id));
    assert.equal(byAdminDelete.statusCode, 204);
    requests.push({ what: 'delete by a vault admin', res: byAdminDelete, action: 'policy.delete', allow: true, by: new RegExp(`^policy:${adminGrant}$`), authzAction: 'admin' });
    const invalid = await call(own.token, 'POST', policiesUrl(vault), readPolicy(agent, '/x', { principal_id: randomUUID() }));
    assert.equal(invalid.statusCode, 400);
    requests.push({ what: 'refused create (unknown principal)', res: invalid, action: 'policy.create', allow: true, by: /^role:owner$/, authzAction: 'admin', ref: /^policy:\(new\)$/ });
    // Separation of duties refuses after authorization allowed: the event records the refusal.
    const selfGrant = await call(adminToken, 'POST', policiesUrl(vault), { ...readPolicy(agent, '/x'), principal_type: 'user', principal_id: member.memberId });
    assert.equal(selfGrant.statusCode, 403);
    requests.push({ what: 'refused self grant', res: selfGrant, action: 'policy.create', allow: false, by: /^sod:self$/, authzAction: 'admin', ref: /^policy:\(new\)$/ });
    const refused = await call(adminToken, 'GET', policiesUrl(vaultV));
    assert.equal(refused.statusCode, 404);
    requests.push({ what: 'refused list', res: refused, action: 'policy.list', allow: false, by: /^$/, authzAction: 'admin' });

    const agentToken = await tokenOf(agent);
    const read = await readSecret(agentToken, vault, 'stripe/key');
    assert.equal(read.statusCode, 200);
    requests.push({ what: 'allowed read', res: read, action: 'secret.read', allow: true, by: new RegExp(`^policy:${policyId}$`), authzAction: 'read' });
    const denied = await readSecret(agentToken, vault, 'github/key');
    assert.equal(denied.statusCode, 404);
    requests.push({ what: 'denied read', res: denied, action: 'secret.read', allow: false, by: /^$/, authzAction: 'read' });

    const explained = await t.call(own.token, { method: 'GET', url: `/v1/authz/explain?principal=agent:${agent.id}&action=read&resource=vault:${vault}/stripe/key` });
    assert.equal(explained.statusCode, 200, explained.body);
    requests.push({ what: 'explain', res: explained, action: 'authz.explain', allow: true, by: /^role:owner$/, authzAction: 'describe', ref: /^authz:explain$/ });

    const deleted = await call(own.token, 'DELETE', policiesUrl(vault, policyId));
    assert.equal(deleted.statusCode, 204);
    requests.push({ what: 'delete', res: deleted, action: 'policy.delete', allow: true, by: /^role:owner$/, authzAction: 'admin', ref: new RegExp(`^policy:${policyId}$`) });

    const log = await t.call(own.token, { method: 'GET', url: '/v1/audit/events?limit=1000' });
    assert.equal(log.statusCode, 200);
    const events = (log.json().events as { event: AuditEvent }[]).map((e) => e.event);
    assert.ok(events.length < 1000, 'the whole log is on the page');
    for (const r of requests) {
      const mine = events.filter((e) => e.request_id === r.res.headers['x-request-id']);
      assert.equal(mine.length, 1, `${r.what}: one event, got ${JSON.stringify(mine)}`);
      const e = mine[0] as AuditEvent;
      assert.equal(e.action, r.action, r.what);
      if (r.ref) assert.match(e.resource.ref, r.ref, r.what);
      assert.ok(e.authz, `${r.what}: the event records the decision: ${JSON.stringify(e)}`);
      assert.equal(e.outcome, r.res.statusCode < 400 ? 'success' : 'failure', r.what);
      if (r.allow === undefined) continue;
      assert.equal(e.authz.allow, r.allow, r.what);
      assert.equal(e.authz.action, r.authzAction, r.what);
      // An allow names its grant; a default deny names nothing; a separation-of-duties refusal its rule.
      assert.equal(e.authz.by.length, r.allow || r.by.source.startsWith('^sod:') ? 1 : 0, `${r.what}: ${JSON.stringify(e.authz)}`);
      for (const label of e.authz.by) assert.match(label, r.by, r.what);
    }
  });
});
