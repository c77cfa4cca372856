import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { parseToken } from '../src/domains/tokens/tokens.fns.js';
import { ACTIONS } from '../src/policy/types.js';
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

// SPEC P1 and §3 "Cross-tenant matrix": org B's callers — its root token, an admin member signed
// in (a session) and with a personal token, and an agent's access token — against every org-A
// endpoint answer 404 with exactly the body a missing resource gets, and change nothing of A's.

let t: TestApp;
let a: TestOrg;
let b: TestOrg;

/** Org A's resources: one of every kind. */
interface Ids {
  vault: string;
  sink: string;
  agent: string;
  policy: string;
  member: string;
  team: string;
  role: string;
  review: string;
  item: string;
  approval: string;
  invitation: string;
  /** A's member's personal token, and A's root token. */
  token: string;
  rootToken: string;
  /** A's member's session (a person's), and A itself (an org a person may move a session to). */
  session: string;
  org: string;
}
let aIds: Ids;
let aAgent: TestAgent;
let aAgentToken: string;
let aMember: TestMember;
/** What A's resources looked like before the matrix (GET answers by A's root token). */
let aBefore: Record<string, unknown>;

/** Org B's own resources, which some cases pair with A's ids. */
let bVault: string;
let bTeam: string;
let bReview: string;
let bPolicy: string;
let bAgent: TestAgent;
let bAdmin: TestMember;
let bEmployee: TestMember;
let bInvitation: string;
/** A's invitation's signed token (what its link carries). */
let aInvitationToken: string;

const A_NAMES = {
  vault: 'a-private',
  agent: 'a-agent-zephyr',
  member: 'A Person Quillon',
  email: 'quillon@a-tenant.example',
  team: 'a-team-marigold',
  role: 'a-role-obsidian',
  review: 'a-review-heliotrope',
  reason: 'a-reason-tamarind',
  secret: 'a-secret-v2',
  invitee: 'invitee-zinnia@a-tenant.example',
};

const future = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

async function ok(res: LightMyRequestResponse, status: number, what: string): Promise<Record<string, any>> {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  return res.json();
}

/** The GET answers that describe A's resources, to compare before and after the matrix. */
async function describeA(): Promise<Record<string, unknown>> {
  const get = async (url: string) => ok(await t.call(a.token, { method: 'GET', url }), 200, url);
  return {
    vault: await get(`/v1/vaults/${aIds.vault}`),
    agent: await get(`/v1/agents/${aIds.agent}`),
    policies: await get(`/v1/vaults/${aIds.vault}/policies`),
    member: await get(`/v1/members/${aIds.member}`),
    team: await get(`/v1/teams/${aIds.team}`),
    role: await get(`/v1/roles/${aIds.role}`),
    review: await get(`/v1/access/reviews/${aIds.review}`),
    approval: await get(`/v1/approvals/${aIds.approval}`),
    // A sink's delivery state (attempts, next attempt) moves on its own; what B could change may not.
    sinks: ((await get('/v1/audit/sinks')).sinks as Record<string, unknown>[]).map(({ id, name, kind, config }) => ({ id, name, kind, config })),
    agents: await get('/v1/agents'),
    members: await get('/v1/members'),
    teams: await get('/v1/teams'),
    roles: await get('/v1/roles'),
    reviews: await get('/v1/access/reviews'),
    approvals: await get('/v1/approvals'),
    org: await get('/v1/org'),
    invitations: await get('/v1/invitations'),
    tokens: await get('/v1/tokens'),
  };
}

before(async () => {
  t = await createTestApp({ audit: { sinksAllowPrivateNetworks: true } });
  a = await t.createOrg();
  b = await t.createOrg();

  // Org A: one of every kind of resource.
  const vault = await createVault(t, a, A_NAMES.vault);
  await putSecret(t, a, vault, 'stripe/key', { value: 'a-secret-v1' });
  await putSecret(t, a, vault, 'stripe/key', { value: A_NAMES.secret });
  const sink = await ok(
    await t.call(a.token, { method: 'POST', url: '/v1/audit/sinks', payload: { kind: 'syslog', name: 'a-siem', host: '127.0.0.1', port: 9, tls: false } }),
    201,
    'A sink',
  );
  aAgent = await createAgent(t, a, A_NAMES.agent);
  const policy = await createPolicy(t, a, vault, {
    principal_type: 'agent',
    principal_id: aAgent.id,
    secret_path_pattern: '/stripe/*',
    permissions: ['describe', 'read'],
  });
  aMember = await createMember(t, a, 'employee', { email: A_NAMES.email, displayName: A_NAMES.member });
  const team = await ok(await t.call(a.token, { method: 'POST', url: '/v1/teams', payload: { name: A_NAMES.team } }), 201, 'A team');
  const joined = await t.call(a.token, { method: 'PUT', url: `/v1/teams/${team.id}/members/${aMember.id}` });
  assert.equal(joined.statusCode, 204, joined.body);
  const inTeam = await t.call(a.token, { method: 'GET', url: `/v1/teams/${team.id}` });
  assert.deepEqual(inTeam.json().members, [aMember.id]);
  const role = await ok(
    await t.call(a.token, { method: 'POST', url: '/v1/roles', payload: { name: A_NAMES.role, org_grants: { vaults: ['describe'] } } }),
    201,
    'A role',
  );
  const review = await ok(
    await t.call(a.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: A_NAMES.review, due_at: future() } }),
    201,
    'A review',
  );
  assert.ok(review.items.length > 0, 'the campaign has an item (the agent policy)');
  aAgentToken = await agentAccessToken(t, aAgent);
  const approval = await ok(
    await t.call(aAgentToken, {
      method: 'POST',
      url: '/v1/approvals',
      payload: { vault_id: vault, secret_path_pattern: '/db/*', permissions: ['read'], reason: A_NAMES.reason },
    }),
    201,
    'A approval',
  );
  const invitation = await ok(
    await t.call(a.token, { method: 'POST', url: '/v1/invitations', payload: { email: A_NAMES.invitee, role: 'employee' } }),
    201,
    'A invitation',
  );
  aInvitationToken = invitation.token;
  aIds = {
    vault,
    sink: sink.id,
    agent: aAgent.id,
    policy,
    member: aMember.id,
    team: team.id,
    role: role.id,
    review: review.id,
    item: review.items[0].id,
    approval: approval.id,
    invitation: invitation.id,
    token: tokenIdOf(aMember.personalToken),
    rootToken: tokenIdOf(a.token),
    session: aMember.sessionId,
    org: a.orgId,
  };
  aBefore = await describeA();

  // Org B: its own vault, an agent with a broad policy on it, an admin member, a team, a review.
  bVault = await createVault(t, b, 'b-own');
  await putSecret(t, b, bVault, 'own/key', { value: 'b-value' });
  bAgent = await createAgent(t, b, 'b-agent');
  bPolicy = await createPolicy(t, b, bVault, { principal_type: 'agent', principal_id: bAgent.id, secret_path_pattern: '/**', permissions: [...ACTIONS] });
  bAdmin = await createMember(t, b, 'admin');
  bEmployee = await createMember(t, b, 'employee');
  bTeam = (await ok(await t.call(b.token, { method: 'POST', url: '/v1/teams', payload: { name: 'b-team' } }), 201, 'B team')).id;
  bReview = (
    await ok(await t.call(b.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'b-review', due_at: future() } }), 201, 'B review')
  ).id;
  bInvitation = (
    await ok(await t.call(b.token, { method: 'POST', url: '/v1/invitations', payload: { email: 'b-invitee@b.example', role: 'employee' } }), 201, 'B invitation')
  ).id;
});
after(() => t.close());

// --- the matrix -------------------------------------------------------------------------------

type CallerKind = 'root' | 'member' | 'personal' | 'agent';
interface Answer {
  status: number;
  code: string;
}

/** One request per endpoint, naming A's resources (`ids`) — and the same for missing ones. */
interface Case {
  route: string; // METHOD + OpenAPI path
  request(ids: Ids): InjectOptions;
  /**
   * The answer where it is not the missing-resource 404. Only for an id named in the body (a
   * reference the route validates, not a resource it acts on), where the route answers the
   * same for any id that is not the org's — or for a caller the route refuses whatever the id;
   * the answer must still equal the random id's.
   */
  answers?: Partial<Record<CallerKind, Answer>>;
  /**
   * The callers the route is for, when not all: a person's own routes take only a person's
   * session (a root, personal or agent token is refused before any id is read, 401).
   */
  callers?: CallerKind[];
}

const NOT_FOUND: Answer = { status: 404, code: 'NOT_FOUND' };
/** An admin is no owner: handing ownership over is refused whatever the member. */
const NOT_OWNER: Answer = { status: 403, code: 'SEPARATION_OF_DUTIES' };
/** A personal token cannot show a second factor: step-up operations refuse it whatever the id. */
const STEP_UP: Answer = { status: 403, code: 'STEP_UP_REQUIRED' };
const INVALID: Answer = { status: 400, code: 'VALIDATION_FAILED' };
const anyPolicy = { principal_type: 'role', principal_id: 'employee', secret_path_pattern: '/**', permissions: ['describe'] };

const cases: Case[] = [
  // Vaults and secrets.
  { route: 'GET /v1/vaults/{vaultId}', request: (x) => ({ method: 'GET', url: `/v1/vaults/${x.vault}` }) },
  { route: 'DELETE /v1/vaults/{vaultId}', request: (x) => ({ method: 'DELETE', url: `/v1/vaults/${x.vault}?force=true` }) },
  { route: 'GET /v1/vaults/{vaultId}/secrets', request: (x) => ({ method: 'GET', url: `/v1/vaults/${x.vault}/secrets` }) },
  {
    route: 'PUT /v1/vaults/{vaultId}/secrets/{*}',
    request: (x) => ({ method: 'PUT', url: `/v1/vaults/${x.vault}/secrets/stripe/key`, payload: { value: 'b-overwrites' } }),
  },
  { route: 'GET /v1/vaults/{vaultId}/secrets/{*}', request: (x) => ({ method: 'GET', url: `/v1/vaults/${x.vault}/secrets/stripe/key` }) },
  { route: 'GET /v1/vaults/{vaultId}/secrets/{*}', request: (x) => ({ method: 'GET', url: `/v1/vaults/${x.vault}/secrets/stripe/key?version=1` }) },
  { route: 'DELETE /v1/vaults/{vaultId}/secrets/{*}', request: (x) => ({ method: 'DELETE', url: `/v1/vaults/${x.vault}/secrets/stripe/key` }) },
  {
    route: 'DELETE /v1/vaults/{vaultId}/secrets/{*}',
    request: (x) => ({ method: 'DELETE', url: `/v1/vaults/${x.vault}/secrets/stripe/key?version=1` }),
  },
  { route: 'DELETE /v1/audit/sinks/{sinkId}', request: (x) => ({ method: 'DELETE', url: `/v1/audit/sinks/${x.sink}` }) },

  // Agents.
  { route: 'GET /v1/agents/{agentId}', request: (x) => ({ method: 'GET', url: `/v1/agents/${x.agent}` }) },
  { route: 'PATCH /v1/agents/{agentId}', request: (x) => ({ method: 'PATCH', url: `/v1/agents/${x.agent}`, payload: { active: false } }) },
  { route: 'PATCH /v1/agents/{agentId}', request: (x) => ({ method: 'PATCH', url: `/v1/agents/${x.agent}`, payload: { name: 'b-renames' } }) },
  { route: 'DELETE /v1/agents/{agentId}', request: (x) => ({ method: 'DELETE', url: `/v1/agents/${x.agent}` }) },
  { route: 'POST /v1/agents/{agentId}/rotate-key', request: (x) => ({ method: 'POST', url: `/v1/agents/${x.agent}/rotate-key` }), answers: { personal: STEP_UP } },

  // Policies: A's vault, and A's policy under A's vault and under B's own. Changing a policy (as
  // rotating a key, changing a role) is a step-up operation: a personal token is refused first.
  { route: 'GET /v1/vaults/{vaultId}/policies', request: (x) => ({ method: 'GET', url: `/v1/vaults/${x.vault}/policies` }) },
  {
    route: 'POST /v1/vaults/{vaultId}/policies',
    request: (x) => ({ method: 'POST', url: `/v1/vaults/${x.vault}/policies`, payload: anyPolicy }),
    answers: { personal: STEP_UP },
  },
  {
    // B's own vault, a policy naming A's agent: the principal is not B's (refused as invalid, as a
    // random id is). B's agent never manages policies (a human decides): the missing-resource 404.
    route: 'POST /v1/vaults/{vaultId}/policies',
    request: (x) => ({
      method: 'POST',
      url: `/v1/vaults/${bVault}/policies`,
      payload: { principal_type: 'agent', principal_id: x.agent, secret_path_pattern: '/**', permissions: ['read'] },
    }),
    answers: { root: INVALID, member: INVALID, personal: STEP_UP },
  },
  {
    route: 'POST /v1/vaults/{vaultId}/policies',
    request: (x) => ({
      method: 'POST',
      url: `/v1/vaults/${bVault}/policies`,
      payload: { principal_type: 'role', principal_id: x.role, secret_path_pattern: '/**', permissions: ['read'] },
    }),
    answers: { root: INVALID, member: INVALID, personal: STEP_UP },
  },
  { route: 'GET /v1/vaults/{vaultId}/policies/{policyId}', request: (x) => ({ method: 'GET', url: `/v1/vaults/${x.vault}/policies/${x.policy}` }) },
  { route: 'GET /v1/vaults/{vaultId}/policies/{policyId}', request: (x) => ({ method: 'GET', url: `/v1/vaults/${bVault}/policies/${x.policy}` }) },
  {
    route: 'PUT /v1/vaults/{vaultId}/policies/{policyId}',
    request: (x) => ({ method: 'PUT', url: `/v1/vaults/${x.vault}/policies/${x.policy}`, payload: anyPolicy }),
    answers: { personal: STEP_UP },
  },
  {
    route: 'PUT /v1/vaults/{vaultId}/policies/{policyId}',
    request: (x) => ({ method: 'PUT', url: `/v1/vaults/${bVault}/policies/${x.policy}`, payload: anyPolicy }),
    answers: { personal: STEP_UP },
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}/policies/{policyId}',
    request: (x) => ({ method: 'DELETE', url: `/v1/vaults/${x.vault}/policies/${x.policy}` }),
    answers: { personal: STEP_UP },
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}/policies/{policyId}',
    request: (x) => ({ method: 'DELETE', url: `/v1/vaults/${bVault}/policies/${x.policy}` }),
    answers: { personal: STEP_UP },
  },

  // Explain, about A's vault and secret (principals alone are checked in a test of their own).
  {
    route: 'GET /v1/authz/explain',
    request: (x) => ({ method: 'GET', url: `/v1/authz/explain?principal=agent:${x.agent}&action=read&resource=vault:${x.vault}/stripe/key` }),
  },
  {
    route: 'GET /v1/authz/explain',
    request: (x) => ({ method: 'GET', url: `/v1/authz/explain?principal=user:${x.member}&action=describe&resource=vault:${x.vault}` }),
  },

  // Members.
  { route: 'GET /v1/members/{memberId}', request: (x) => ({ method: 'GET', url: `/v1/members/${x.member}` }) },
  { route: 'PATCH /v1/members/{memberId}', request: (x) => ({ method: 'PATCH', url: `/v1/members/${x.member}`, payload: { active: false } }) },
  { route: 'PATCH /v1/members/{memberId}', request: (x) => ({ method: 'PATCH', url: `/v1/members/${x.member}`, payload: { role: 'admin' } }) },
  {
    // B's own member given A's custom role.
    route: 'PATCH /v1/members/{memberId}',
    request: (x) => ({ method: 'PATCH', url: `/v1/members/${bEmployee.id}`, payload: { role: x.role } }),
    answers: { root: INVALID, member: INVALID, personal: INVALID },
  },
  { route: 'DELETE /v1/members/{memberId}', request: (x) => ({ method: 'DELETE', url: `/v1/members/${x.member}` }) },
  {
    route: 'POST /v1/members',
    request: (x) => ({ method: 'POST', url: '/v1/members', payload: { email: `${randomUUID()}@b.example`, role: x.role } }),
    answers: { root: INVALID, member: INVALID, personal: INVALID },
  },

  // Teams: A's team, and A's member in A's team and in B's own.
  { route: 'GET /v1/teams/{teamId}', request: (x) => ({ method: 'GET', url: `/v1/teams/${x.team}` }) },
  { route: 'PATCH /v1/teams/{teamId}', request: (x) => ({ method: 'PATCH', url: `/v1/teams/${x.team}`, payload: { name: 'b-renames' } }) },
  { route: 'DELETE /v1/teams/{teamId}', request: (x) => ({ method: 'DELETE', url: `/v1/teams/${x.team}` }) },
  { route: 'PUT /v1/teams/{teamId}/members/{memberId}', request: (x) => ({ method: 'PUT', url: `/v1/teams/${x.team}/members/${x.member}` }) },
  { route: 'PUT /v1/teams/{teamId}/members/{memberId}', request: (x) => ({ method: 'PUT', url: `/v1/teams/${bTeam}/members/${x.member}` }) },
  { route: 'PUT /v1/teams/{teamId}/members/{memberId}', request: (x) => ({ method: 'PUT', url: `/v1/teams/${x.team}/members/${bEmployee.id}` }) },
  { route: 'DELETE /v1/teams/{teamId}/members/{memberId}', request: (x) => ({ method: 'DELETE', url: `/v1/teams/${x.team}/members/${x.member}` }) },
  { route: 'DELETE /v1/teams/{teamId}/members/{memberId}', request: (x) => ({ method: 'DELETE', url: `/v1/teams/${bTeam}/members/${x.member}` }) },

  // Roles.
  { route: 'GET /v1/roles/{roleId}', request: (x) => ({ method: 'GET', url: `/v1/roles/${x.role}` }) },
  { route: 'PUT /v1/roles/{roleId}', request: (x) => ({ method: 'PUT', url: `/v1/roles/${x.role}`, payload: { name: 'b-takes-over' } }), answers: { personal: STEP_UP } },
  { route: 'DELETE /v1/roles/{roleId}', request: (x) => ({ method: 'DELETE', url: `/v1/roles/${x.role}` }), answers: { personal: STEP_UP } },

  // Access reviews: A's campaign, and A's item under B's own campaign.
  { route: 'GET /v1/access/reviews/{reviewId}', request: (x) => ({ method: 'GET', url: `/v1/access/reviews/${x.review}` }) },
  {
    route: 'POST /v1/access/reviews/{reviewId}/items/{itemId}/decision',
    request: (x) => ({ method: 'POST', url: `/v1/access/reviews/${x.review}/items/${x.item}/decision`, payload: { decision: 'revoke' } }),
  },
  {
    route: 'POST /v1/access/reviews/{reviewId}/items/{itemId}/decision',
    request: (x) => ({ method: 'POST', url: `/v1/access/reviews/${bReview}/items/${x.item}/decision`, payload: { decision: 'revoke' } }),
  },
  { route: 'POST /v1/access/reviews/{reviewId}/reminders', request: (x) => ({ method: 'POST', url: `/v1/access/reviews/${x.review}/reminders` }) },
  { route: 'POST /v1/access/reviews/{reviewId}/close', request: (x) => ({ method: 'POST', url: `/v1/access/reviews/${x.review}/close` }) },
  {
    // A's member as the reviewer of B's campaign.
    route: 'POST /v1/access/reviews',
    request: (x) => ({ method: 'POST', url: '/v1/access/reviews', payload: { name: 'b-review-2', due_at: future(), reviewer_member_id: x.member } }),
    answers: { root: INVALID, member: INVALID, personal: INVALID },
  },

  // Approvals: A's request, and a request for A's vault.
  { route: 'GET /v1/approvals/{approvalId}', request: (x) => ({ method: 'GET', url: `/v1/approvals/${x.approval}` }) },
  { route: 'POST /v1/approvals/{approvalId}/approve', request: (x) => ({ method: 'POST', url: `/v1/approvals/${x.approval}/approve`, payload: {} }) },
  { route: 'POST /v1/approvals/{approvalId}/deny', request: (x) => ({ method: 'POST', url: `/v1/approvals/${x.approval}/deny`, payload: {} }) },
  {
    route: 'POST /v1/approvals',
    request: (x) => ({
      method: 'POST',
      url: '/v1/approvals',
      payload: { vault_id: x.vault, secret_path_pattern: '/stripe/*', permissions: ['read'], reason: 'b wants in' },
    }),
    // A root token never requests access, whatever the vault (checked before the vault is looked up).
    answers: { root: INVALID },
  },

  // The org's people: A's member's sessions, A's member made an owner.
  { route: 'POST /v1/members/{memberId}/sessions/revoke', request: (x) => ({ method: 'POST', url: `/v1/members/${x.member}/sessions/revoke` }) },
  {
    route: 'POST /v1/org/transfer-ownership',
    request: (x) => ({ method: 'POST', url: '/v1/org/transfer-ownership', payload: { member_id: x.member } }),
    answers: { member: NOT_OWNER, personal: NOT_OWNER },
  },

  // Invitations: A's invitation, and an invitation to A's custom role.
  { route: 'DELETE /v1/invitations/{invitationId}', request: (x) => ({ method: 'DELETE', url: `/v1/invitations/${x.invitation}` }) },
  {
    route: 'POST /v1/invitations',
    request: (x) => ({ method: 'POST', url: '/v1/invitations', payload: { email: `${randomUUID()}@b.example`, role: x.role } }),
    answers: { root: INVALID, member: INVALID, personal: INVALID },
  },

  // Tokens: A's member's personal token, and A's root token.
  { route: 'DELETE /v1/tokens/{tokenId}', request: (x) => ({ method: 'DELETE', url: `/v1/tokens/${x.token}` }) },
  { route: 'DELETE /v1/tokens/{tokenId}', request: (x) => ({ method: 'DELETE', url: `/v1/tokens/${x.rootToken}` }) },

  // A person's own routes, by B's signed-in member: A's person's session, and A as the org to move to.
  { route: 'DELETE /v1/me/sessions/{sessionId}', request: (x) => ({ method: 'DELETE', url: `/v1/me/sessions/${x.session}` }), callers: ['member'] },
  { route: 'POST /v1/auth/switch', request: (x) => ({ method: 'POST', url: '/v1/auth/switch', payload: { org_id: x.org } }), callers: ['member'] },
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
  'GET /v1/agents',
  'POST /v1/agents',
  'GET /v1/members',
  'GET /v1/teams',
  'POST /v1/teams',
  'GET /v1/roles',
  'POST /v1/roles',
  'GET /v1/access/matrix',
  'GET /v1/access/reviews',
  'GET /v1/approvals',
  'GET /v1/org',
  'PATCH /v1/org',
  'POST /v1/org/leave',
  'GET /v1/invitations',
  'GET /v1/tokens',
  'POST /v1/tokens',
  'GET /v1/me',
  'GET /v1/me/orgs',
  'GET /v1/me/sessions',
]);

/**
 * Routes no org's id can be given to: sign-in (anyone may call it; it takes credentials, and
 * `{provider}` names one of the installation's identity providers) and what a person does to
 * themselves alone (second factors, password, signing out, leaving the installation, making an
 * org of their own).
 */
const noOrgIds = new Set([
  'POST /v1/auth/email/start',
  'POST /v1/auth/email/verify',
  'POST /v1/auth/password',
  'POST /v1/auth/mfa',
  'POST /v1/auth/refresh',
  'GET /v1/auth/oidc/providers',
  'GET /v1/auth/oidc/{provider}/start',
  'GET /v1/auth/oidc/{provider}/callback',
  'POST /v1/auth/step-up',
  'POST /v1/auth/sign-out',
  'POST /v1/auth/sign-out-everywhere',
  'POST /v1/me/mfa/totp',
  'POST /v1/me/mfa/totp/confirm',
  'DELETE /v1/me/mfa/totp',
  'POST /v1/me/mfa/recovery-codes',
  'PUT /v1/me/password',
  'DELETE /v1/me',
  'POST /v1/orgs',
]);

/** Routes with a test of their own below. */
const ownTests = new Set(['POST /v1/auth/agent-token', 'POST /v1/invitations/accept']);

const missingIds = (): Ids => ({
  vault: randomUUID(),
  sink: randomUUID(),
  agent: randomUUID(),
  policy: randomUUID(),
  member: randomUUID(),
  team: randomUUID(),
  role: randomUUID(),
  review: randomUUID(),
  item: randomUUID(),
  approval: randomUUID(),
  invitation: randomUUID(),
  token: randomUUID(),
  rootToken: randomUUID(),
  session: randomUUID(),
  org: randomUUID(),
});

/** The id of a token of ours (the part after its kind names the org and the token). */
const tokenIdOf = (token: string) => (parseToken(token) as { tokenId: string }).tokenId;

const withoutRequestId = (body: string) => {
  const { requestId, ...rest } = JSON.parse(body) as Record<string, unknown>;
  assert.equal(typeof requestId, 'string');
  return rest;
};

/** B's callers, by kind; the agent's access token is fetched when the matrix runs. */
async function callerToken(kind: CallerKind): Promise<string> {
  if (kind === 'root') return b.token;
  if (kind === 'member') return bAdmin.token;
  if (kind === 'personal') return bAdmin.personalToken;
  return agentAccessToken(t, bAgent);
}

test('the matrix covers every authenticated route of the API', async () => {
  const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const routes = Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
  const covered = new Set([...cases.map((c) => c.route), ...collectionRoutes, ...noOrgIds, ...ownTests]);
  const normalise = (r: string) => r.replace(/\{\*\}|\*$/, '{*}');
  assert.deepEqual(routes.map(normalise).filter((r) => !covered.has(r)), []);
  // Every route that names a resource in its path has a case that names A's.
  const withParams = routes.map(normalise).filter((r) => /\{(?!\*\})[^}]+\}/.test(r) && !collectionRoutes.has(r) && !noOrgIds.has(r));
  assert.deepEqual(withParams.filter((r) => !cases.some((c) => c.route === r)), []);
});

describe("org B's callers get the missing-resource 404 on every org-A endpoint", () => {
  const callers: { kind: CallerKind; what: string }[] = [
    { kind: 'root', what: "B's root token" },
    { kind: 'member', what: "B's admin member, signed in (a session)" },
    { kind: 'personal', what: "B's admin member's personal token" },
    { kind: 'agent', what: "B's agent's access token (a policy with every action on B's vault)" },
  ];
  for (const { kind, what } of callers) {
    test(what, async () => {
      const token = await callerToken(kind);
      // The caller is live and reaches B's own things: the 404s below are about A, not a dead token.
      const own = await t.call(token, { method: 'GET', url: `/v1/vaults/${bVault}/secrets/own/key` });
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().value, 'b-value');
      const failures: string[] = [];
      const requests = new Map<string, string>();
      for (const c of cases) {
        if (c.callers && !c.callers.includes(kind)) continue;
        const foreign = await t.call(token, c.request(aIds));
        const missing = await t.call(token, c.request(missingIds()));
        requests.set(String(foreign.headers['x-request-id']), `${c.route} (A's id)`);
        requests.set(String(missing.headers['x-request-id']), `${c.route} (a random id)`);
        const expected = c.answers?.[kind] ?? NOT_FOUND;
        const label = `${c.route} ${c.request(aIds).method} ${c.request(aIds).url}`;
        try {
          assert.equal(foreign.statusCode, missing.statusCode, `${label}: A's id ${foreign.statusCode} ${foreign.body} / a random id ${missing.statusCode} ${missing.body}`);
          assert.equal(foreign.headers['content-type'], missing.headers['content-type'], label);
          assert.deepEqual(withoutRequestId(foreign.body), withoutRequestId(missing.body), label);
          assert.equal(foreign.statusCode, expected.status, `${label}: expected ${expected.status} ${expected.code}, got ${foreign.statusCode} ${foreign.body}`);
          assert.equal(foreign.json().code, expected.code, `${label}: ${foreign.body}`);
          for (const name of Object.values(A_NAMES)) assert.ok(!foreign.body.includes(name), `${label} shows ${name}`);
        } catch (err) {
          failures.push((err as Error).message.split('\n')[0] as string);
        }
      }
      assert.deepEqual(failures, []);
      // Each refusal is recorded once, in B's chain, as a failure: never a success, never in A's.
      const events = await eventsOf(b.orgId);
      for (const [requestId, what] of requests) {
        const mine = events.filter((e) => e.request_id === requestId);
        assert.equal(mine.length, 1, `${what}: ${JSON.stringify(mine)}`);
        assert.equal(mine[0]?.outcome, 'failure', `${what}: ${JSON.stringify(mine)}`);
      }
      const inA = (await eventsOf(a.orgId)).filter((e) => requests.has(e.request_id));
      assert.deepEqual(inA, [], "no event of B's requests is in A's chain");
    });
  }
});

/** Every event of an org's chain, as stored. */
async function eventsOf(orgId: string): Promise<{ request_id: string; outcome: string; action: string }[]> {
  const rows = await t.database.superuser((c) => c.query<{ canonical: string }>('SELECT canonical FROM audit_events WHERE org_id = $1 ORDER BY seq', [orgId]));
  return rows.map((r) => JSON.parse(r.canonical));
}

// --- collections ----------------------------------------------------------------------------

/** Everything that would show A: its ids, the names it gave, its member's e-mail, its org id. */
function aPattern(): RegExp {
  const ids = Object.values(aIds);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp([...ids, a.orgId, ...Object.values(A_NAMES).filter((n) => n !== A_NAMES.vault)].map(escape).join('|'), 'i');
}

test("org B's listings never show org A's vaults", async () => {
  const list = await t.call(b.token, { method: 'GET', url: '/v1/vaults' });
  assert.deepEqual(
    list.json().vaults.map((v: { name: string }) => v.name),
    ['b-own'],
  );
  assert.doesNotMatch(list.body, new RegExp(aIds.vault));
});

test("org B's listings of agents, members, teams, roles, policies, approvals, reviews, invitations, tokens and the matrix never show org A's", async () => {
  const listings = [
    '/v1/org',
    '/v1/invitations',
    '/v1/tokens',
    '/v1/agents',
    '/v1/members',
    '/v1/teams',
    '/v1/roles',
    `/v1/vaults/${bVault}/policies`,
    '/v1/approvals',
    '/v1/approvals?status=pending',
    '/v1/access/reviews',
    `/v1/access/reviews/${bReview}`,
    '/v1/access/matrix',
    '/v1/access/matrix?format=csv',
  ];
  // What a person lists about themselves: their profile, orgs and sessions.
  const personal = ['/v1/me', '/v1/me/orgs', '/v1/me/sessions'];
  const pattern = aPattern();
  for (const kind of ['root', 'member', 'personal', 'agent'] as const) {
    const token = await callerToken(kind);
    for (const url of kind === 'member' ? [...listings, ...personal] : listings) {
      const res = await t.call(token, { method: 'GET', url });
      // An agent has no role: the org's areas are not its to see, and say so as a missing resource.
      if (kind === 'agent' && res.statusCode === 404) {
        assert.equal(res.json().code, 'NOT_FOUND', url);
        continue;
      }
      assert.equal(res.statusCode, 200, `${kind} ${url}: ${res.body}`);
      assert.doesNotMatch(res.body, pattern, `${kind} ${url}`);
    }
  }
  // What B sees is B's own, exactly.
  const get = async (url: string) => ok(await t.call(b.token, { method: 'GET', url }), 200, url);
  assert.deepEqual((await get('/v1/agents')).agents.map((x: { id: string }) => x.id), [bAgent.id]);
  assert.deepEqual((await get('/v1/members')).members.map((x: { id: string }) => x.id).sort(), [bAdmin.id, bEmployee.id].sort());
  assert.deepEqual((await get('/v1/teams')).teams.map((x: { id: string }) => x.id), [bTeam]);
  assert.deepEqual((await get('/v1/roles')).roles.filter((r: { built_in: boolean }) => !r.built_in), []);
  assert.deepEqual((await get(`/v1/vaults/${bVault}/policies`)).policies.map((x: { id: string }) => x.id), [bPolicy]);
  assert.deepEqual((await get('/v1/approvals')).approvals, []);
  assert.deepEqual((await get('/v1/access/reviews')).reviews.map((x: { id: string }) => x.id), [bReview]);
  assert.equal((await get('/v1/org')).id, b.orgId);
  assert.deepEqual((await get('/v1/invitations')).invitations.map((x: { id: string }) => x.id), [bInvitation]);
  assert.deepEqual((await get('/v1/tokens')).tokens.map((x: { id: string }) => x.id), [tokenIdOf(b.token)]);
  const mine = async (url: string) => ok(await t.call(bAdmin.token, { method: 'GET', url }), 200, url);
  assert.deepEqual((await mine('/v1/me/orgs')).orgs.map((x: { org_id: string }) => x.org_id), [b.orgId]);
  assert.deepEqual((await mine('/v1/me/sessions')).sessions.map((x: { session_id: string }) => x.session_id), [bAdmin.sessionId]);
  const matrix = (await get('/v1/access/matrix')).rows as { vault_id: string; principal_id: string }[];
  assert.ok(matrix.length > 0);
  assert.ok(matrix.every((r) => r.vault_id === bVault), 'the matrix names only B vaults');
  assert.ok(matrix.some((r) => r.principal_id === bAgent.id));
});

test("explain about an org-A principal treats it as unknown, exactly like a random id, and reveals nothing", async () => {
  const queries = [
    (who: string) => `principal=${who}&action=read&resource=vault:${bVault}/own/key`,
    (who: string) => `principal=${who}&action=describe&resource=vault:${bVault}`,
    (who: string) => `principal=${who}&action=describe&resource=org:vaults`,
    (who: string) => `principal=${who}&action=admin&resource=org:members`,
  ];
  const principals = [
    (ids: Ids) => `agent:${ids.agent}`,
    (ids: Ids) => `user:${ids.member}`,
    // A's root token: its id is A's, and B's org has no such token.
    () => `root_token:${aRootTokenId}`,
  ];
  const [aToken] = await t.database.superuser((c) =>
    c.query<{ token_id: string }>("SELECT token_id FROM api_tokens WHERE org_id = $1 AND kind = 'root'", [a.orgId]),
  );
  assert.ok(aToken);
  const aRootTokenId = aToken.token_id;
  for (const kind of ['root', 'member'] as const) {
    const token = await callerToken(kind);
    for (const query of queries) {
      for (const principal of principals) {
        const foreignWho = principal(aIds);
        const missingWho = principal(missingIds()).replace(aRootTokenId, randomUUID());
        const foreign = await t.call(token, { method: 'GET', url: `/v1/authz/explain?${query(foreignWho)}` });
        const missing = await t.call(token, { method: 'GET', url: `/v1/authz/explain?${query(missingWho)}` });
        const label = `${kind} explain ${query(foreignWho)}`;
        assert.equal(foreign.statusCode, 200, `${label}: ${foreign.body}`);
        assert.equal(missing.statusCode, 200, label);
        const f = foreign.json();
        const m = missing.json();
        assert.equal(f.allow, false, label);
        assert.deepEqual(f.decided_by, [], label);
        assert.equal(f.principal, foreignWho, label);
        // The same answer as for an id nobody has, but for the principal echoed back.
        assert.deepEqual({ ...f, principal: '-' }, { ...m, principal: '-' }, label);
        assert.doesNotMatch(foreign.body.replace(foreignWho, ''), aPattern(), label);
      }
    }
  }
  // B's agent has no role, so explain (an access-area read) is not its to use: the missing-resource 404.
  const agentToken = await callerToken('agent');
  const res = await t.call(agentToken, { method: 'GET', url: `/v1/authz/explain?${queries[0]?.(`agent:${aIds.agent}`)}` });
  assert.equal(res.statusCode, 404, res.body);
  assert.equal(res.json().code, 'NOT_FOUND');
});

test("org B cannot exchange org A's agent id for a token, with B's agent key or any key", async () => {
  const seqOf = async (orgId: string) => {
    const [row] = await t.database.superuser((c) =>
      c.query<{ n: number | string }>('SELECT COALESCE(max(seq), 0) AS n FROM audit_events WHERE org_id = $1', [orgId]),
    );
    return Number(row?.n ?? 0);
  };
  const aSeq = await seqOf(a.orgId);
  const exchange = (agentId: string, apiKey: string) =>
    t.call(undefined, { method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: agentId, api_key: apiKey } });
  const foreign = await exchange(aAgent.id, bAgent.apiKey);
  const missing = await exchange(randomUUID(), bAgent.apiKey);
  assert.equal(foreign.statusCode, 401, foreign.body);
  assert.equal(foreign.json().code, 'UNAUTHENTICATED');
  assert.equal(missing.statusCode, 401);
  assert.deepEqual(withoutRequestId(foreign.body), withoutRequestId(missing.body));
  assert.doesNotMatch(foreign.body, /access_token/);
  // B's agent id with A's key: A's key is A's agent's, not B's.
  const swapped = await exchange(bAgent.id, aAgent.apiKey);
  assert.equal(swapped.statusCode, 401, swapped.body);
  assert.deepEqual(withoutRequestId(swapped.body), withoutRequestId(missing.body));
  // The failure with B's key is B's to record; A's chain does not grow from B's attempt.
  const [event] = await t.database.superuser((c) =>
    c.query<{ canonical: string }>('SELECT canonical FROM audit_events WHERE org_id = $1 AND canonical LIKE $2', [b.orgId, `%${foreign.headers['x-request-id']}%`]),
  );
  assert.ok(event, 'the failure is recorded in B');
  assert.equal(JSON.parse(event.canonical).action, 'auth.failure');
  const [leak] = await t.database.superuser((c) =>
    c.query<{ n: number | string }>('SELECT count(*) AS n FROM audit_events WHERE org_id = $1 AND seq > $2 AND canonical LIKE $3', [
      a.orgId,
      aSeq,
      `%${foreign.headers['x-request-id']}%`,
    ]),
  );
  assert.equal(Number(leak?.n), 0);
  // B's key with B's agent id still works: the 401s are about the pairing.
  assert.equal((await exchange(bAgent.id, bAgent.apiKey)).statusCode, 200);
});

test("org B's person cannot accept org A's invitation (for another address): the 404 of a made-up link, recorded as a failure in A's chain only", async () => {
  const accept = (token: string) => t.call(bAdmin.token, { method: 'POST', url: '/v1/invitations/accept', payload: { token } });
  // A link that names nothing: A's token with its signature broken.
  const last = aInvitationToken.length - 5;
  const madeUp = aInvitationToken.slice(0, last) + (aInvitationToken[last] === 'A' ? 'B' : 'A') + aInvitationToken.slice(last + 1);
  const foreign = await accept(aInvitationToken);
  const missing = await accept(madeUp);
  assert.equal(foreign.statusCode, 404, foreign.body);
  assert.equal(foreign.json().code, 'NOT_FOUND');
  assert.equal(foreign.headers['content-type'], missing.headers['content-type']);
  assert.deepEqual(withoutRequestId(foreign.body), withoutRequestId(missing.body));
  assert.doesNotMatch(foreign.body, aPattern());
  // A validly signed invitation names its org: the attempt on it is A's to see (a failure,
  // against A's invitation), and not B's. A link that names nothing stays in B's (the session's) chain.
  const requestOf = (res: LightMyRequestResponse) => String(res.headers['x-request-id']);
  const inA = (await eventsOf(a.orgId)).filter((e) => e.request_id === requestOf(foreign) || e.request_id === requestOf(missing));
  assert.deepEqual(
    inA.map((e) => [e.request_id, e.action, e.outcome]),
    [[requestOf(foreign), 'invitation.accept', 'failure']],
  );
  const inB = (await eventsOf(b.orgId)).filter((e) => e.request_id === requestOf(foreign) || e.request_id === requestOf(missing));
  assert.deepEqual(
    inB.map((e) => [e.request_id, e.action, e.outcome]),
    [[requestOf(missing), 'invitation.accept', 'failure']],
  );
  // A's invitation is still pending, and B's person is in no org of A's.
  const invitations = await t.call(a.token, { method: 'GET', url: '/v1/invitations' });
  assert.deepEqual(
    invitations.json().invitations.map((i: { id: string; status: string }) => [i.id, i.status]),
    [[aIds.invitation, 'pending']],
  );
  const orgs = await t.call(bAdmin.token, { method: 'GET', url: '/v1/me/orgs' });
  assert.deepEqual(orgs.json().orgs.map((o: { org_id: string }) => o.org_id), [b.orgId]);
});

test("org B's audit log, heads, proofs and export never show org A's events", async () => {
  const [aEvents] = await t.database.superuser((c) =>
    c.query<{ n: number | string }>('SELECT count(*) AS n FROM audit_events WHERE org_id = $1', [a.orgId]),
  );
  assert.ok(Number(aEvents?.n) > 0, 'org A has events to leak');
  // B's own log names A's ids where B asked for them (A's root token among them: B tried to
  // revoke it); what must never show is A's events: A's org id, and A's actors (its root token,
  // its agent) acting, appear only there.
  const [aToken] = await t.database.superuser((c) =>
    c.query<{ token_id: string }>("SELECT token_id FROM api_tokens WHERE org_id = $1 AND kind = 'root'", [a.orgId]),
  );
  assert.ok(aToken);
  await t.call(b.token, { method: 'POST', url: '/v1/audit/heads' });
  for (const url of ['/v1/audit/events?limit=1000', '/v1/audit/heads', '/v1/audit/heads/latest', '/v1/audit/export', '/v1/audit/events/1/proof']) {
    const res = await t.call(b.token, { method: 'GET', url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    assert.doesNotMatch(res.body, new RegExp(`${a.orgId}|${A_NAMES.reason}`), url);
    // A's agent (it requested access) and root token acted in A: no event of B has them as actor.
    for (const actor of [aIds.agent, aToken.token_id]) {
      assert.doesNotMatch(res.body, new RegExp(`"actor":\\{"id":"${actor}"|"actor":\\{"type":"[a-z_]+","id":"${actor}"`), url);
    }
  }
  const events = (await t.call(b.token, { method: 'GET', url: '/v1/audit/events?limit=1000' })).json().events as { event: { org: string } }[];
  assert.ok(events.length > 0 && events.every((e) => e.event.org === b.orgId));
});

test("a vault B creates with A's vault name is B's own; A's is untouched", async () => {
  const res = await t.call(b.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'a-private' } });
  assert.equal(res.statusCode, 201);
  assert.notEqual(res.json().id, aIds.vault);
});

test("after the matrix, org A's vault, secret, agent, policy, member, team, role, review, approval, org, invitation and tokens are exactly as they were", async () => {
  const vault = await t.call(a.token, { method: 'GET', url: `/v1/vaults/${aIds.vault}` });
  assert.equal(vault.statusCode, 200);
  const read = await t.call(a.token, { method: 'GET', url: `/v1/vaults/${aIds.vault}/secrets/stripe/key` });
  assert.equal(read.json().value, A_NAMES.secret);
  assert.equal(read.json().version, 2);
  const v1 = await t.call(a.token, { method: 'GET', url: `/v1/vaults/${aIds.vault}/secrets/stripe/key?version=1` });
  assert.equal(v1.json().value, 'a-secret-v1');
  const sinks = await t.call(a.token, { method: 'GET', url: '/v1/audit/sinks' });
  assert.deepEqual(sinks.json().sinks.map((s: { id: string }) => s.id), [aIds.sink]);
  const bSinks = await t.call(b.token, { method: 'GET', url: '/v1/audit/sinks' });
  assert.deepEqual(bSinks.json().sinks, []);

  // Every A resource reads back as before: nothing renamed, deactivated, rotated, decided or deleted.
  assert.deepEqual(await describeA(), aBefore);
  // A's agent still works: the token it held before the matrix (never revoked by B) and a fresh
  // one from its key (never rotated by B) read A's secret through A's policy.
  for (const token of [aAgentToken, await agentAccessToken(t, aAgent)]) {
    const res = await t.call(token, { method: 'GET', url: `/v1/vaults/${aIds.vault}/secrets/stripe/key` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().value, A_NAMES.secret);
  }
  // A's member's session and personal token still work (an employee lists the vaults of its teams: none).
  for (const token of [aMember.token, aMember.personalToken]) {
    const member = await t.call(token, { method: 'GET', url: '/v1/vaults' });
    assert.equal(member.statusCode, 200, member.body);
  }
});
