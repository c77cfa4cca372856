import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { parseToken } from '../src/domains/tokens/tokens.fns.js';
import { errorCatalogue, type ErrorCode } from '../src/errors.js';
import { base32Decode, totpCode, totpStep } from '../src/identity/totp.js';
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
import { startOidcProvider, type TestOidcProvider } from './support/oidc-provider.js';
import {
  createCapturingMailer,
  enrolTotp,
  mailedCode,
  openSession,
  personEmail,
  signInByEmail,
  signInWithoutOrg,
  type TestPerson,
} from './support/routes.js';

/**
 * Acceptance: every malformed request in a table of bad inputs (bad JSON, huge body, bad path,
 * unknown fields, wrong types) gets a 4xx problem+json; none is a 5xx; and nothing stored is
 * damaged by them.
 */

let t: TestApp;
let org: TestOrg;
let vaultId: string;
/** Receives only writes that must be refused: if one is accepted, the damage shows here. */
let scratchVaultId: string;
/** Receives the generated writes. */
let fuzzVaultId: string;
let port: number;
/** Sign-in codes are read from what the app mailed. */
const mail = createCapturingMailer();
/** A real OpenID provider on loopback, so an OIDC sign-in has somewhere to start and come back from. */
let provider: TestOidcProvider;
const PUBLIC_URL = 'http://127.0.0.1:8400';
const OIDC_ACCOUNT = personEmail('oidc');
/** The org's name (org names are unique across the installation, whatever their case). */
const ORG_NAME = `bad-input-org-${process.pid}`;
/** A person with a password and no org, whom the sign-in cases name. */
let passworded: TestPerson;
const PASSWORD = 'Bad-Input-Quartz-Passphrase-3';
/** A person in no org, and the kept member signed in again with no recent second factor. */
let loner: TestPerson;
let staleSession: string;

const KEPT_PATH = 'keep/me';
const KEPT_VALUE = 'kept-value-\u00e9\u{1F511}';

/** The org's access things, which the table's refused requests name (`{agent}`, `{policy}`, …). */
interface Kept {
  agent: TestAgent;
  policy: string;
  member: TestMember;
  holder: TestMember;
  team: string;
  role: string;
  review: string;
  item: string;
  approval: string;
  sink: string;
  /** A pending invitation, and the signed token of its link. */
  invitation: string;
  invitationToken: string;
  /** The kept member's personal token's id. */
  token: string;
}
let kept: Kept;
/** What they looked like before any malformed request (GET answers). */
let keptBefore: Record<string, unknown>;

const KEPT_EMAIL = 'kept.member@example.com';
const FUTURE = new Date(Date.now() + 30 * 86_400_000).toISOString();

before(async () => {
  provider = await startOidcProvider({
    redirectUris: [`${PUBLIC_URL}/v1/auth/oidc/test/callback`],
    accounts: { ada: { email: OIDC_ACCOUNT, email_verified: true, name: 'Ada' } },
  });
  // Sinks on loopback are allowed, so the table has a sink to name. The sign-in routes are
  // limited per IP (120 requests a minute) and lock a source out of an account after a few
  // failures: every request here comes from one address and most fail on purpose, so the limits
  // are set out of reach — a 429 would hide the answer each case is about (lockout.test.ts tests them).
  t = await createTestApp({
    audit: { sinksAllowPrivateNetworks: true },
    identity: {
      publicUrl: PUBLIC_URL,
      mailer: mail.mailer,
      oidcProviders: [{ id: 'test', name: 'Test', issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret }],
      guard: { ipRequestsPerMinute: 1_000_000, maxFailures: 1_000_000, ipMaxFailures: 1_000_000, slowdownAfter: 1_000_000 },
    },
  });
  org = await t.createOrg(ORG_NAME);
  vaultId = await createVault(t, org, 'bad-input-vault');
  scratchVaultId = await createVault(t, org, 'bad-input-scratch');
  fuzzVaultId = await createVault(t, org, 'bad-input-fuzz');
  // Two versions, so "loses nothing" checks the version number as well as the value.
  await putSecret(t, org, vaultId, KEPT_PATH, { value: 'kept-value-v1', type: 'password', tier: 'P0' });
  await putSecret(t, org, vaultId, KEPT_PATH, { value: KEPT_VALUE, type: 'password', tier: 'P0', metadata: { owner: 'ops' } });
  kept = await keepAccessThings();
  passworded = await signInWithoutOrg(t);
  const set = await t.call(passworded.token, { method: 'PUT', url: '/v1/me/password', payload: { password: PASSWORD } });
  assert.equal(set.statusCode, 204, set.body);
  loner = await signInWithoutOrg(t);
  staleSession = (await openSession(t, kept.member.userId, org.orgId, { mfa: false })).token;
  keptBefore = await describeKept();
  // A real socket for the cases light-my-request would rewrite: it normalises `..` and `%2e%2e`
  // segments away (WHATWG URL parsing), as a browser would, but a raw client sends them as is.
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});
after(async () => {
  await t.close();
  await provider.close();
});

/** One of every access thing, through the API: the table's bad requests name them. */
async function keepAccessThings(): Promise<Kept> {
  const ok = async (res: LightMyRequestResponse, what: string): Promise<{ id: string; items?: { id: string }[] }> => {
    assert.ok(res.statusCode === 201 || res.statusCode === 200, `${what}: ${res.statusCode} ${res.body}`);
    return res.json() as { id: string; items?: { id: string }[] };
  };
  const agent = await createAgent(t, org, 'bad-input-agent');
  const policy = await createPolicy(t, org, vaultId, { principal_type: 'agent', principal_id: agent.id, secret_path_pattern: '/keep/*', permissions: ['describe', 'read'] });
  const member = await createMember(t, org, 'employee', { email: KEPT_EMAIL, displayName: 'Kept Member' });
  const team = (await ok(await t.call(org.token, { method: 'POST', url: '/v1/teams', payload: { name: 'bad-input-team' } }), 'team')).id as string;
  const joined = await t.call(org.token, { method: 'PUT', url: `/v1/teams/${team}/members/${member.id}` });
  assert.equal(joined.statusCode, 204, joined.body);
  const role = (await ok(await t.call(org.token, { method: 'POST', url: '/v1/roles', payload: { name: 'bad-input-role', org_grants: { vaults: ['describe'] } } }), 'role'))
    .id as string;
  const holder = await createMember(t, org, role);
  const review = await ok(await t.call(org.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'bad-input-review', due_at: FUTURE } }), 'review');
  const approval = await ok(
    await t.call(member.token, {
      method: 'POST',
      url: '/v1/approvals',
      payload: { vault_id: vaultId, secret_path_pattern: '/keep/*', permissions: ['read'], reason: 'bad-input request' },
    }),
    'approval',
  );
  const sink = await ok(
    await t.call(org.token, { method: 'POST', url: '/v1/audit/sinks', payload: { kind: 'syslog', name: 'bad-input-sink', host: '127.0.0.1', port: 9, tls: false } }),
    'sink',
  );
  const invited = await t.call(org.token, { method: 'POST', url: '/v1/invitations', payload: { email: 'kept.invitee@example.com', role: 'employee' } });
  assert.equal(invited.statusCode, 201, invited.body);
  return {
    agent,
    policy,
    member,
    holder,
    team,
    role,
    review: review.id,
    item: (review.items?.[0] as { id: string }).id,
    approval: approval.id,
    sink: sink.id,
    invitation: invited.json().id,
    invitationToken: invited.json().token,
    token: tokenIdOf(member.personalToken),
  };
}

/** The id of a token of ours (the part after its kind names the org and the token). */
const tokenIdOf = (token: string) => (parseToken(token) as { tokenId: string }).tokenId;

/** The kept access things as the API describes them. */
async function describeKept(): Promise<Record<string, unknown>> {
  const get = async (url: string) => {
    const res = await t.call(org.token, { method: 'GET', url });
    assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    return res.json();
  };
  return {
    agent: await get(`/v1/agents/${kept.agent.id}`),
    policy: await get(`/v1/vaults/${vaultId}/policies/${kept.policy}`),
    member: await get(`/v1/members/${kept.member.id}`),
    holder: await get(`/v1/members/${kept.holder.id}`),
    team: await get(`/v1/teams/${kept.team}`),
    role: await get(`/v1/roles/${kept.role}`),
    review: await get(`/v1/access/reviews/${kept.review}`),
    approval: await get(`/v1/approvals/${kept.approval}`),
    sinks: ((await get('/v1/audit/sinks')).sinks as { id: string; name: string; config: unknown }[]).map(({ id, name, config }) => ({ id, name, config })),
    org: await get('/v1/org'),
    invitations: await get('/v1/invitations'),
    tokens: await get('/v1/tokens'),
    // The kept member's own tokens (its personal token), as the member sees them.
    memberTokens: (await t.call(kept.member.token, { method: 'GET', url: '/v1/tokens' })).json(),
  };
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

/** One malformed request and the problem it must be answered with. */
interface BadInput {
  name: string;
  method: Method;
  /** `{vault}` is the test vault's id, `{scratch}` an empty vault's, `{missing}` a UUID that names no vault. */
  url: string;
  headers?: Record<string, string>;
  /** The raw body text. */
  body?: string;
  /**
   * 'token' (default): the org's root token; 'none': no Authorization; 'employee': the kept
   * member's session (signed in, second factor recent); 'stale': another session of it, second
   * factor not recent; 'personal': its personal token; 'loner': a person in no org; 'agent-key':
   * an agent's API key; else the header's value.
   */
  auth?: string;
  /** Send over a real socket, byte for byte (inject would normalise dot segments away). */
  raw?: true;
  status: number;
  code: ErrorCode;
}

const JSON_TYPE = { 'content-type': 'application/json' };
/** A JSON body (serialised by JSON.stringify) with its content type. */
const json = (value: unknown): { headers: Record<string, string>; body: string } => ({
  headers: JSON_TYPE,
  body: JSON.stringify(value),
});
/** Raw JSON text (possibly broken) with a JSON content type. */
const jsonText = (body: string): { headers: Record<string, string>; body: string } => ({ headers: JSON_TYPE, body });

const VAULTS = '/v1/vaults';
const VAULT = '/v1/vaults/{vault}';
const SECRETS = '/v1/vaults/{vault}/secrets';
const KEPT = `${SECRETS}/${KEPT_PATH}`;
const OK_PUT = json({ value: 'would-overwrite' });

const AGENTS = '/v1/agents';
const AGENT = '/v1/agents/{agent}';
const AGENT_TOKEN = '/v1/auth/agent-token';
const POLICIES = '/v1/vaults/{vault}/policies';
const POLICY = '/v1/vaults/{vault}/policies/{policy}';
const EXPLAIN = '/v1/authz/explain';
const MEMBERS = '/v1/members';
const MEMBER = '/v1/members/{member}';
const TEAMS = '/v1/teams';
const TEAM = '/v1/teams/{team}';
const ROLES = '/v1/roles';
const ROLE = '/v1/roles/{role}';
const ACCESS = '/v1/access';
const REVIEWS = '/v1/access/reviews';
const REVIEW = '/v1/access/reviews/{review}';
const ITEM_DECISION = '/v1/access/reviews/{review}/items/{item}/decision';
const APPROVALS = '/v1/approvals';
const APPROVAL = '/v1/approvals/{approval}';
const AUDIT = '/v1/audit';
const EMAIL_START = '/v1/auth/email/start';
const EMAIL_VERIFY = '/v1/auth/email/verify';
const PASSWORD_SIGN_IN = '/v1/auth/password';
const MFA = '/v1/auth/mfa';
const REFRESH = '/v1/auth/refresh';
const OIDC = '/v1/auth/oidc';
const ME = '/v1/me';
const MY_SESSIONS = '/v1/me/sessions';
const TOTP = '/v1/me/mfa/totp';
const ORG = '/v1/org';
const INVITATIONS = '/v1/invitations';
const INVITATION = '/v1/invitations/{invitation}';
const TOKENS = '/v1/tokens';

/** A valid policy body with `over` laid over it. */
const policy = (over: Record<string, unknown>) =>
  json({ principal_type: 'role', principal_id: 'employee', secret_path_pattern: '/keep/*', permissions: ['read'], ...over });
/** A valid new member with `over` laid over it. */
const member = (over: Record<string, unknown>) => json({ email: 'new.member@example.com', role: 'employee', ...over });
/** A valid custom role with `over` laid over it. */
const role = (over: Record<string, unknown>) => json({ name: 'new-role', org_grants: { vaults: ['describe'] }, ...over });
/** A valid access request with `over` laid over it. */
const approval = (over: Record<string, unknown>) =>
  json({ vault_id: '{vault}', secret_path_pattern: '/keep/*', permissions: ['read'], reason: 'on call', ...over });
/** An explain URL: a valid query with `over` laid over it (placeholders kept for `expand`). */
const explain = (over: Record<string, string>) =>
  `${EXPLAIN}?${Object.entries({ principal: 'user:{member}', action: 'read', resource: 'vault:{vault}/keep/me', ...over })
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%7B/g, '{').replace(/%7D/g, '}')}`)
    .join('&')}`;

const OVER_BODY_LIMIT = JSON.stringify({ value: 'x'.repeat(520 * 1024) }); // > 512 KiB
const manyKeys = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]));
/** One URL for every route that takes a bearer token (checked against the OpenAPI document). */
const routes: { method: Method; url: string }[] = [
  { method: 'POST', url: VAULTS },
  { method: 'GET', url: VAULTS },
  { method: 'GET', url: VAULT },
  { method: 'DELETE', url: VAULT },
  { method: 'GET', url: SECRETS },
  { method: 'PUT', url: KEPT },
  { method: 'GET', url: KEPT },
  { method: 'DELETE', url: KEPT },
  { method: 'GET', url: `${AUDIT}/events` },
  { method: 'GET', url: `${AUDIT}/events/1/proof` },
  { method: 'GET', url: `${AUDIT}/consistency?from=1&to=2` },
  { method: 'GET', url: `${AUDIT}/heads/latest` },
  { method: 'GET', url: `${AUDIT}/heads` },
  { method: 'POST', url: `${AUDIT}/heads` },
  { method: 'GET', url: `${AUDIT}/export` },
  { method: 'POST', url: `${AUDIT}/sinks` },
  { method: 'GET', url: `${AUDIT}/sinks` },
  { method: 'DELETE', url: `${AUDIT}/sinks/{sink}` },
  { method: 'POST', url: AGENTS },
  { method: 'GET', url: AGENTS },
  { method: 'GET', url: AGENT },
  { method: 'PATCH', url: AGENT },
  { method: 'DELETE', url: AGENT },
  { method: 'POST', url: `${AGENT}/rotate-key` },
  { method: 'POST', url: POLICIES },
  { method: 'GET', url: POLICIES },
  { method: 'GET', url: POLICY },
  { method: 'PUT', url: POLICY },
  { method: 'DELETE', url: POLICY },
  { method: 'GET', url: explain({}) },
  { method: 'POST', url: MEMBERS },
  { method: 'GET', url: MEMBERS },
  { method: 'GET', url: MEMBER },
  { method: 'PATCH', url: MEMBER },
  { method: 'DELETE', url: MEMBER },
  { method: 'POST', url: TEAMS },
  { method: 'GET', url: TEAMS },
  { method: 'GET', url: TEAM },
  { method: 'PATCH', url: TEAM },
  { method: 'DELETE', url: TEAM },
  { method: 'PUT', url: `${TEAM}/members/{member}` },
  { method: 'DELETE', url: `${TEAM}/members/{member}` },
  { method: 'GET', url: ROLES },
  { method: 'POST', url: ROLES },
  { method: 'GET', url: ROLE },
  { method: 'PUT', url: ROLE },
  { method: 'DELETE', url: ROLE },
  { method: 'GET', url: `${ACCESS}/matrix` },
  { method: 'POST', url: REVIEWS },
  { method: 'GET', url: REVIEWS },
  { method: 'GET', url: REVIEW },
  { method: 'POST', url: ITEM_DECISION },
  { method: 'POST', url: `${REVIEW}/reminders` },
  { method: 'POST', url: `${REVIEW}/close` },
  { method: 'POST', url: APPROVALS },
  { method: 'GET', url: APPROVALS },
  { method: 'GET', url: APPROVAL },
  { method: 'POST', url: `${APPROVAL}/approve` },
  { method: 'POST', url: `${APPROVAL}/deny` },
  { method: 'POST', url: `${MEMBER}/sessions/revoke` },
  // The signed-in person's routes (a session: root, personal and agent tokens are no person).
  { method: 'GET', url: ME },
  { method: 'DELETE', url: ME },
  { method: 'GET', url: `${ME}/orgs` },
  { method: 'POST', url: '/v1/auth/switch' },
  { method: 'POST', url: '/v1/auth/step-up' },
  { method: 'POST', url: '/v1/auth/sign-out' },
  { method: 'POST', url: '/v1/auth/sign-out-everywhere' },
  { method: 'GET', url: MY_SESSIONS },
  { method: 'DELETE', url: `${MY_SESSIONS}/{session}` },
  { method: 'POST', url: TOTP },
  { method: 'DELETE', url: TOTP },
  { method: 'POST', url: `${TOTP}/confirm` },
  { method: 'POST', url: `${ME}/mfa/recovery-codes` },
  { method: 'PUT', url: `${ME}/password` },
  { method: 'POST', url: '/v1/orgs' },
  { method: 'POST', url: `${INVITATIONS}/accept` },
  // The org, its invitations and tokens.
  { method: 'GET', url: ORG },
  { method: 'PATCH', url: ORG },
  { method: 'POST', url: `${ORG}/leave` },
  { method: 'POST', url: `${ORG}/transfer-ownership` },
  { method: 'POST', url: INVITATIONS },
  { method: 'GET', url: INVITATIONS },
  { method: 'DELETE', url: INVITATION },
  { method: 'POST', url: TOKENS },
  { method: 'GET', url: TOKENS },
  { method: 'DELETE', url: `${TOKENS}/{token}` },
];
const hasBody = (m: Method) => m === 'POST' || m === 'PUT' || m === 'PATCH';

const cases: BadInput[] = [
  // --- authentication: every route, before anything else is looked at --------------------
  ...routes.map((r): BadInput => ({
    name: `${r.method} ${r.url} without Authorization`,
    ...r,
    ...(hasBody(r.method) ? OK_PUT : {}),
    auth: 'none',
    status: 401,
    code: 'UNAUTHENTICATED',
  })),
  ...routes.map((r): BadInput => ({
    name: `${r.method} ${r.url} with an unknown bearer token`,
    ...r,
    ...(hasBody(r.method) ? OK_PUT : {}),
    auth: 'Bearer sr_root_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    status: 401,
    code: 'UNAUTHENTICATED',
  })),
  ...routes.map((r): BadInput => ({
    name: `${r.method} ${r.url} with an agent's API key as the bearer token`,
    ...r,
    ...(hasBody(r.method) ? OK_PUT : {}),
    auth: 'agent-key',
    status: 401,
    code: 'UNAUTHENTICATED',
  })),
  { name: 'a forged agent access token (alg none)', method: 'GET', url: VAULTS, auth: `Bearer ${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString('base64url')}.${Buffer.from('{"sub":"agent"}').toString('base64url')}.`, status: 401, code: 'UNAUTHENTICATED' },
  { name: 'Basic credentials instead of a bearer token', method: 'GET', url: VAULTS, auth: 'Basic dXNlcjpwYXNz', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'an empty bearer token', method: 'GET', url: VAULTS, auth: 'Bearer ', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'a bearer token with spaces and quotes', method: 'GET', url: VAULTS, auth: 'Bearer a b "c"', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'a 600-character bearer token', method: 'GET', url: VAULTS, auth: `Bearer ${'A'.repeat(600)}`, status: 401, code: 'UNAUTHENTICATED' },
  { name: 'a garbage Authorization header', method: 'GET', url: VAULT, auth: '\u00ff\u00fe garbage', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'an unauthenticated request with invalid JSON is refused as unauthenticated first', method: 'PUT', url: KEPT, ...jsonText('{"value":'), auth: 'none', status: 401, code: 'UNAUTHENTICATED' },

  // --- routes that do not exist --------------------------------------------------------------
  { name: 'an unknown endpoint', method: 'GET', url: '/v1/nope', status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'an unknown API version', method: 'GET', url: '/v2/vaults', status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'an unknown endpoint, unauthenticated', method: 'GET', url: '/v1/nope', auth: 'none', status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'a method the collection does not have', method: 'PATCH', url: VAULTS, ...OK_PUT, status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'a vault URL with a trailing slash', method: 'GET', url: `${VAULT}/`, status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'PUT on the secrets collection without a path', method: 'PUT', url: SECRETS, ...OK_PUT, status: 404, code: 'ROUTE_NOT_FOUND' },
  // Fastify refuses a malformed %-escape, or a parameter over the router's maxParamLength,
  // before routing; app.ts answers both through frameworkErrors.
  { name: 'a malformed %-escape (%ff) in a secret path', method: 'PUT', url: `${SECRETS}/a%ffb`, ...OK_PUT, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an invalid %-escape (%zz) in a secret path', method: 'GET', url: `${SECRETS}/a%zzb`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a 3000-character vault id', method: 'GET', url: `${VAULTS}/${'a'.repeat(3000)}`, status: 400, code: 'VALIDATION_FAILED' },

  // --- POST /v1/vaults: the body ------------------------------------------------------------
  { name: 'list vaults: an unknown query parameter', method: 'GET', url: `${VAULTS}?owner=me`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: invalid JSON text', method: 'POST', url: VAULTS, ...jsonText('{name: vault}'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: truncated JSON', method: 'POST', url: VAULTS, ...jsonText('{"name":"ab'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: JSON followed by garbage', method: 'POST', url: VAULTS, ...jsonText('{"name":"a"} x'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: an empty body with a JSON content type', method: 'POST', url: VAULTS, ...jsonText(''), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: a JSON array', method: 'POST', url: VAULTS, ...jsonText('[{"name":"a"}]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a JSON number', method: 'POST', url: VAULTS, ...jsonText('42'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a JSON string', method: 'POST', url: VAULTS, ...jsonText('"a-vault"'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: JSON null', method: 'POST', url: VAULTS, ...jsonText('null'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a text/plain body', method: 'POST', url: VAULTS, headers: { 'content-type': 'text/plain' }, body: '{"name":"a"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create vault: a form-urlencoded body', method: 'POST', url: VAULTS, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=a', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create vault: a body without a content type', method: 'POST', url: VAULTS, body: '{"name":"a"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create vault: a body over 512 KiB', method: 'POST', url: VAULTS, ...jsonText(OVER_BODY_LIMIT), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'create vault: an unknown field', method: 'POST', url: VAULTS, ...json({ name: 'a', owner: 'me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: no name', method: 'POST', url: VAULTS, ...json({ description: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a numeric name', method: 'POST', url: VAULTS, ...json({ name: 7 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a blank name', method: 'POST', url: VAULTS, ...json({ name: '   ' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a name with a control character', method: 'POST', url: VAULTS, ...json({ name: 'a\u0007b' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a 101-character name', method: 'POST', url: VAULTS, ...json({ name: 'n'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a description that is an object', method: 'POST', url: VAULTS, ...json({ name: 'a', description: { x: 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a 1001-character description', method: 'POST', url: VAULTS, ...json({ name: 'a', description: 'd'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a description with a NUL character', method: 'POST', url: VAULTS, ...json({ name: 'nul-vault', description: 'a\u0000b' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a __proto__ key', method: 'POST', url: VAULTS, ...jsonText('{"name":"a","__proto__":{"admin":true}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: a constructor.prototype key', method: 'POST', url: VAULTS, ...jsonText('{"name":"a","constructor":{"prototype":{"admin":true}}}'), status: 400, code: 'INVALID_JSON' },

  // --- GET/DELETE /v1/vaults/{id} -------------------------------------------------------------
  { name: 'describe vault: an id that is not a UUID', method: 'GET', url: `${VAULTS}/not-a-uuid`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe vault: an id with SQL in it', method: 'GET', url: `${VAULTS}/${encodeURIComponent("' OR 1=1 --")}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe vault: a UUID with non-hex characters', method: 'GET', url: `${VAULTS}/zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe vault: a vault that does not exist', method: 'GET', url: `${VAULTS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'delete vault: an id that is not a UUID', method: 'DELETE', url: `${VAULTS}/123`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: force=maybe', method: 'DELETE', url: `${VAULT}?force=maybe`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: force=TRUE (case matters)', method: 'DELETE', url: `${VAULT}?force=TRUE`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: force given twice', method: 'DELETE', url: `${VAULT}?force=true&force=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: an unknown query parameter', method: 'DELETE', url: `${VAULT}?cascade=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: invalid JSON in the body', method: 'DELETE', url: VAULT, ...jsonText('{oops'), status: 400, code: 'INVALID_JSON' },
  { name: 'delete vault: an empty body with a JSON content type', method: 'DELETE', url: VAULT, ...jsonText(''), status: 400, code: 'INVALID_JSON' },
  { name: 'delete vault: a vault that holds secrets, without force', method: 'DELETE', url: VAULT, status: 409, code: 'VAULT_NOT_EMPTY' },

  // --- GET /v1/vaults/{id}/secrets ------------------------------------------------------------
  { name: 'list secrets: a vault id that is not a UUID', method: 'GET', url: `${VAULTS}/nope/secrets`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=0', method: 'GET', url: `${SECRETS}?limit=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=100000', method: 'GET', url: `${SECRETS}?limit=100000`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=-1', method: 'GET', url: `${SECRETS}?limit=-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=abc', method: 'GET', url: `${SECRETS}?limit=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=1.5', method: 'GET', url: `${SECRETS}?limit=1.5`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit given twice', method: 'GET', url: `${SECRETS}?limit=1&limit=2`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: an unknown query parameter', method: 'GET', url: `${SECRETS}?sort=value`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a cursor that decodes to no path', method: 'GET', url: `${SECRETS}?cursor=AAAA`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a cursor that is not base64url', method: 'GET', url: `${SECRETS}?cursor=${encodeURIComponent('!!not base64!!')}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a 1001-character cursor', method: 'GET', url: `${SECRETS}?cursor=${'A'.repeat(1001)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a prefix with an empty segment', method: 'GET', url: `${SECRETS}?prefix=a//b`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'list secrets: a prefix of ..', method: 'GET', url: `${SECRETS}?prefix=..`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'list secrets: a prefix with a glob', method: 'GET', url: `${SECRETS}?prefix=a/*`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'list secrets: a 601-character prefix', method: 'GET', url: `${SECRETS}?prefix=${'p'.repeat(601)}`, status: 400, code: 'VALIDATION_FAILED' },

  // --- PUT /v1/vaults/{id}/secrets/{path}: the body -------------------------------------------
  { name: 'write secret: invalid JSON text', method: 'PUT', url: KEPT, ...jsonText("{'value': 'x'}"), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: truncated JSON', method: 'PUT', url: KEPT, ...jsonText('{"value":"abc'), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: an empty body with a JSON content type', method: 'PUT', url: KEPT, ...jsonText(''), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: a JSON array', method: 'PUT', url: KEPT, ...jsonText('[{"value":"x"}]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a JSON number', method: 'PUT', url: KEPT, ...jsonText('1e400'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a JSON string', method: 'PUT', url: KEPT, ...jsonText('"the value"'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: JSON null', method: 'PUT', url: KEPT, ...jsonText('null'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a text/plain body', method: 'PUT', url: KEPT, headers: { 'content-type': 'text/plain' }, body: 'the value', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'write secret: a form-urlencoded body', method: 'PUT', url: KEPT, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'value=x', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'write secret: a body without a content type', method: 'PUT', url: KEPT, body: '{"value":"x"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'write secret: a body over 512 KiB', method: 'PUT', url: KEPT, ...jsonText(OVER_BODY_LIMIT), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'write secret: a value of 64 KiB + 1 characters', method: 'PUT', url: KEPT, ...json({ value: 'v'.repeat(64 * 1024 + 1) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a value under 64 Ki characters but over 64 KiB of UTF-8', method: 'PUT', url: KEPT, ...json({ value: '\u00e9'.repeat(40_000) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: no value', method: 'PUT', url: KEPT, ...json({ type: 'note' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a numeric value', method: 'PUT', url: KEPT, ...json({ value: 12345 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a null value', method: 'PUT', url: KEPT, ...json({ value: null }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an object value', method: 'PUT', url: KEPT, ...json({ value: { nested: 'x' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an array value', method: 'PUT', url: KEPT, ...json({ value: ['x'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an unknown field', method: 'PUT', url: KEPT, ...json({ value: 'x', owner: 'me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a field that differs only in case', method: 'PUT', url: KEPT, ...json({ Value: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: tier 'P9'", method: 'PUT', url: KEPT, ...json({ value: 'x', tier: 'P9' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: tier 'p0' (case matters)", method: 'PUT', url: KEPT, ...json({ value: 'x', tier: 'p0' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a numeric tier', method: 'PUT', url: KEPT, ...json({ value: 'x', tier: 0 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: type 'nope'", method: 'PUT', url: KEPT, ...json({ value: 'x', type: 'nope' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata that is an array', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: ['a', 'b'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata that is a string', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: 'owner=me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata with a nested object', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { owner: { name: 'me' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata with an array value', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { tags: ['a'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata with 33 keys', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: manyKeys }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a 65-character metadata key', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { ['k'.repeat(65)]: 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an empty metadata key', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { '': 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a metadata key with a space', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { 'two words': 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a 1025-character metadata value', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { note: 'm'.repeat(1025) } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a metadata value with a NUL character', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { note: 'a\u0000b' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a metadata value with a lone surrogate', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { note: 'a\ud800b' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: expires_at 'tomorrow'", method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: 'tomorrow' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a numeric expires_at', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: 1_900_000_000 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at on 30 February', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '2030-02-30T00:00:00Z' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at without a time zone', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '2030-01-01T00:00:00' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at in year 0000', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '0000-01-01T00:00:00Z' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at with a +23:59 offset', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '2030-01-01T00:00:00+23:59' }), status: 400, code: 'VALIDATION_FAILED' },
  // Valid ISO text, but year 0 (1 BC) in UTC: on PGlite the row is written and then cannot be
  // read back (Invalid Date), on PostgreSQL it is stored as an expiry in 1 BC.
  { name: 'write secret: expires_at that falls before year 1 in UTC', method: 'PUT', url: '/v1/vaults/{scratch}/secrets/poison/expiry', ...json({ value: 'x', expires_at: '0001-01-01T00:00:00+01:00' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a __proto__ key', method: 'PUT', url: KEPT, ...jsonText('{"value":"x","__proto__":{"tier":"P2"}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: a __proto__ key inside metadata', method: 'PUT', url: KEPT, ...jsonText('{"value":"x","metadata":{"__proto__":{"polluted":true}}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: a constructor.prototype key', method: 'PUT', url: KEPT, ...jsonText('{"value":"x","constructor":{"prototype":{"polluted":true}}}'), status: 400, code: 'INVALID_JSON' },

  // --- PUT: preconditions ---------------------------------------------------------------------
  { name: "write secret: If-Match 'yesterday'", method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': 'yesterday' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match "0"', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '"0"' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match -1', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '-1' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match with 11 digits', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '99999999999' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match with two etags', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '"1", "2"' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-None-Match with a version', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-none-match': '"2"' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: both If-Match and If-None-Match', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '"2"', 'if-none-match': '*' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: a 40-character If-Match', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '1'.repeat(40) }, body: OK_PUT.body, status: 400, code: 'VALIDATION_FAILED' },

  // --- PUT: the path ---------------------------------------------------------------------------
  { name: 'write secret: a vault id that is not a UUID', method: 'PUT', url: `${VAULTS}/xyz/secrets/a`, ...OK_PUT, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a path of ..', method: 'PUT', url: `${SECRETS}/..`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path through ..', method: 'PUT', url: `${SECRETS}/keep/../me`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path through an encoded %2e%2e', method: 'PUT', url: `${SECRETS}/keep/%2e%2e/keep/me`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a . segment', method: 'PUT', url: `${SECRETS}/./keep/me`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with an empty segment (a//b)', method: 'PUT', url: `${SECRETS}/a//b`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with an encoded empty segment (a%2F%2Fb)', method: 'PUT', url: `${SECRETS}/a%2F%2Fb`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a trailing slash', method: 'PUT', url: `${KEPT}/`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: an empty path', method: 'PUT', url: `${SECRETS}/`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with %00', method: 'PUT', url: `${SECRETS}/keep%00/me`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with *', method: 'PUT', url: `${SECRETS}/keep/*`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a space', method: 'PUT', url: `${SECRETS}/keep%20me`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a backslash', method: 'PUT', url: `${SECRETS}/keep%5Cme`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with %', method: 'PUT', url: `${SECRETS}/keep%25me`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a zero-width space', method: 'PUT', url: `${SECRETS}/${encodeURIComponent('keep\u200bme')}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a right-to-left override', method: 'PUT', url: `${SECRETS}/${encodeURIComponent('em\u202epeek')}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a 600-character path segment', method: 'PUT', url: `${SECRETS}/${'s'.repeat(600)}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a 600-character path of short segments', method: 'PUT', url: `${SECRETS}/${`${'s'.repeat(29)}/`.repeat(19)}${'s'.repeat(30)}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path of 33 segments', method: 'PUT', url: `${SECRETS}/${Array.from({ length: 33 }, () => 'd').join('/')}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a 3000-character path', method: 'PUT', url: `${SECRETS}/${'s'.repeat(3000)}`, ...OK_PUT, status: 400, code: 'VALIDATION_FAILED' },

  // --- GET /v1/vaults/{id}/secrets/{path} -------------------------------------------------------
  { name: 'read secret: version=0', method: 'GET', url: `${KEPT}?version=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version=abc', method: 'GET', url: `${KEPT}?version=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version=-1', method: 'GET', url: `${KEPT}?version=-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version=1.5', method: 'GET', url: `${KEPT}?version=1.5`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version beyond a 32-bit integer', method: 'GET', url: `${KEPT}?version=2147483648`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: an empty version', method: 'GET', url: `${KEPT}?version=`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version given twice', method: 'GET', url: `${KEPT}?version=1&version=2`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: an unknown query parameter', method: 'GET', url: `${KEPT}?reveal=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: a vault id that is not a UUID', method: 'GET', url: `${VAULTS}/1/secrets/${KEPT_PATH}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: a path through ..', method: 'GET', url: `${SECRETS}/other/../${KEPT_PATH}`, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with an empty segment', method: 'GET', url: `${SECRETS}/keep//me`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with a trailing slash', method: 'GET', url: `${KEPT}/`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with %00', method: 'GET', url: `${KEPT}%00`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with *', method: 'GET', url: `${SECRETS}/keep/*`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a secret that does not exist', method: 'GET', url: `${SECRETS}/no/such/secret`, status: 404, code: 'NOT_FOUND' },
  { name: 'read secret: a version that does not exist', method: 'GET', url: `${KEPT}?version=99`, status: 404, code: 'NOT_FOUND' },

  // --- DELETE /v1/vaults/{id}/secrets/{path} ----------------------------------------------------
  { name: 'delete secret: version=0', method: 'DELETE', url: `${KEPT}?version=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: version=abc', method: 'DELETE', url: `${KEPT}?version=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: an unknown query parameter', method: 'DELETE', url: `${KEPT}?force=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: a vault id that is not a UUID', method: 'DELETE', url: `${VAULTS}/vault/secrets/${KEPT_PATH}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: a path through ..', method: 'DELETE', url: `${SECRETS}/x/../${KEPT_PATH}`, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: a path with an empty segment', method: 'DELETE', url: `${SECRETS}/keep//me`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: a path with *', method: 'DELETE', url: `${SECRETS}/*`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: a path with a trailing slash', method: 'DELETE', url: `${KEPT}/`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: invalid JSON in the body', method: 'DELETE', url: KEPT, ...jsonText('{"version":'), status: 400, code: 'INVALID_JSON' },
  // === The access routes (agents, policies, explain, members, teams, roles, access, approvals) ===
  // `{agent}`, `{policy}`, … are the kept resources made in `before`; `{missing}` names nothing.

  // --- POST /v1/agents ---------------------------------------------------------------------------
  { name: 'create agent: invalid JSON text', method: 'POST', url: AGENTS, ...jsonText('{name: bot}'), status: 400, code: 'INVALID_JSON' },
  { name: 'create agent: a JSON array', method: 'POST', url: AGENTS, ...jsonText('[{"name":"bot"}]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a text/plain body', method: 'POST', url: AGENTS, headers: { 'content-type': 'text/plain' }, body: '{"name":"bot"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create agent: an unknown field', method: 'POST', url: AGENTS, ...json({ name: 'bot', api_key: 'mine' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: no name', method: 'POST', url: AGENTS, ...json({ description: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a numeric name', method: 'POST', url: AGENTS, ...json({ name: 42 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a blank name', method: 'POST', url: AGENTS, ...json({ name: ' \t ' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a 101-character name', method: 'POST', url: AGENTS, ...json({ name: 'n'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a name with a control character', method: 'POST', url: AGENTS, ...json({ name: 'bot\u001b[31m' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a name with a lone surrogate', method: 'POST', url: AGENTS, ...json({ name: 'bot\ud800' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a 1001-character description', method: 'POST', url: AGENTS, ...json({ name: 'bot', description: 'd'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a token lifetime of 59 s', method: 'POST', url: AGENTS, ...json({ name: 'bot', token_ttl_seconds: 59 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a token lifetime over a day', method: 'POST', url: AGENTS, ...json({ name: 'bot', token_ttl_seconds: 86_401 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a fractional token lifetime', method: 'POST', url: AGENTS, ...json({ name: 'bot', token_ttl_seconds: 600.5 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a token lifetime as text', method: 'POST', url: AGENTS, ...json({ name: 'bot', token_ttl_seconds: '900' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: a __proto__ key', method: 'POST', url: AGENTS, ...jsonText('{"name":"bot","__proto__":{"active":false}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'create agent: an unknown query parameter', method: 'POST', url: `${AGENTS}?dry_run=1`, ...json({ name: 'bot' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create agent: the name of the kept agent', method: 'POST', url: AGENTS, ...json({ name: 'Bad-Input-Agent' }), status: 409, code: 'CONFLICT' },
  { name: 'list agents: an unknown query parameter', method: 'GET', url: `${AGENTS}?active=true`, status: 400, code: 'VALIDATION_FAILED' },

  // --- /v1/agents/{id} ---------------------------------------------------------------------------
  { name: 'describe agent: an id that is not a UUID', method: 'GET', url: `${AGENTS}/bad-input-agent`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe agent: an id with SQL in it', method: 'GET', url: `${AGENTS}/${encodeURIComponent("1' OR '1'='1")}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe agent: an unknown query parameter', method: 'GET', url: `${AGENT}?with=key`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe agent: an agent that does not exist', method: 'GET', url: `${AGENTS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'update agent: an id that is not a UUID', method: 'PATCH', url: `${AGENTS}/123`, ...json({ description: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "update agent: active 'false' as text", method: 'PATCH', url: AGENT, ...json({ active: 'false' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update agent: active null', method: 'PATCH', url: AGENT, ...json({ active: null }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update agent: an unknown field (its key)', method: 'PATCH', url: AGENT, ...json({ api_key: 'sr_agent_x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update agent: an empty name', method: 'PATCH', url: AGENT, ...json({ name: '' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update agent: a token lifetime of 0', method: 'PATCH', url: AGENT, ...json({ token_ttl_seconds: 0 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update agent: a JSON array', method: 'PATCH', url: AGENT, ...jsonText('[]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update agent: truncated JSON', method: 'PATCH', url: AGENT, ...jsonText('{"active":fal'), status: 400, code: 'INVALID_JSON' },
  { name: 'update agent: an agent that does not exist', method: 'PATCH', url: `${AGENTS}/{missing}`, ...json({ description: 'x' }), status: 404, code: 'NOT_FOUND' },
  { name: 'delete agent: an id that is not a UUID', method: 'DELETE', url: `${AGENTS}/not-an-agent`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete agent: an unknown query parameter', method: 'DELETE', url: `${AGENT}?force=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete agent: invalid JSON in the body', method: 'DELETE', url: AGENT, ...jsonText('{'), status: 400, code: 'INVALID_JSON' },
  { name: 'rotate agent key: an id that is not a UUID', method: 'POST', url: `${AGENTS}/x/rotate-key`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'rotate agent key: an unknown query parameter', method: 'POST', url: `${AGENT}/rotate-key?keep_old=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'rotate agent key: an agent that does not exist', method: 'POST', url: `${AGENTS}/{missing}/rotate-key`, status: 404, code: 'NOT_FOUND' },

  // --- POST /v1/auth/agent-token (unauthenticated: the body is the credential) --------------------
  { name: 'agent token: invalid JSON text', method: 'POST', url: AGENT_TOKEN, ...jsonText('{"agent_id":'), auth: 'none', status: 400, code: 'INVALID_JSON' },
  { name: 'agent token: a JSON array', method: 'POST', url: AGENT_TOKEN, ...jsonText('[]'), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: a form-urlencoded body', method: 'POST', url: AGENT_TOKEN, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'agent_id=x&api_key=y', auth: 'none', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'agent token: an agent id that is not a UUID', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: 'bot', api_key: 'sr_agent_x' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: an empty API key', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: '' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: a 201-character API key', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: 'k'.repeat(201) }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: a numeric API key', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: 7 }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: no API key', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: an unknown field (a scope)', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: 'sr_agent_x', scope: 'admin' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: an unknown query parameter', method: 'POST', url: `${AGENT_TOKEN}?ttl=99999`, ...json({ agent_id: '{agent}', api_key: 'sr_agent_x' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'agent token: a key that is not an agent key', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: 'not-a-key' }), auth: 'none', status: 401, code: 'UNAUTHENTICATED' },
  { name: "agent token: the org's root token as the API key", method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: '{root}' }), auth: 'none', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'agent token: a well-formed key of nobody', method: 'POST', url: AGENT_TOKEN, ...json({ agent_id: '{agent}', api_key: `sr_agent_${'A'.repeat(86)}` }), auth: 'none', status: 401, code: 'UNAUTHENTICATED' },

  // --- /v1/vaults/{id}/policies ------------------------------------------------------------------
  { name: 'create policy: invalid JSON text', method: 'POST', url: POLICIES, ...jsonText("{'effect':'allow'}"), status: 400, code: 'INVALID_JSON' },
  { name: 'create policy: a JSON string', method: 'POST', url: POLICIES, ...jsonText('"allow all"'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an unknown field', method: 'POST', url: POLICIES, ...policy({ priority: 1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a deny policy that requires MFA', method: 'POST', url: POLICIES, ...policy({ effect: 'deny', conditions: { mfa_required: true } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a deny policy that requires a reason', method: 'POST', url: POLICIES, ...policy({ effect: 'deny', conditions: { reason_required: true } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: principal type 'group'", method: 'POST', url: POLICIES, ...policy({ principal_type: 'group' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an agent principal that is not a UUID', method: 'POST', url: POLICIES, ...policy({ principal_type: 'agent', principal_id: 'bad-input-agent' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: role 'superuser'", method: 'POST', url: POLICIES, ...policy({ principal_type: 'role', principal_id: 'superuser' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a 101-character principal id', method: 'POST', url: POLICIES, ...policy({ principal_id: 'p'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a numeric principal id', method: 'POST', url: POLICIES, ...policy({ principal_id: 12 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a member principal that is not in the org', method: 'POST', url: POLICIES, ...policy({ principal_type: 'user', principal_id: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a custom role that is not in the org', method: 'POST', url: POLICIES, ...policy({ principal_type: 'role', principal_id: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: no permissions', method: 'POST', url: POLICIES, ...policy({ permissions: [] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: permission 'fly'", method: 'POST', url: POLICIES, ...policy({ permissions: ['read', 'fly'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: permission 'READ' (case matters)", method: 'POST', url: POLICIES, ...policy({ permissions: ['READ'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a repeated permission', method: 'POST', url: POLICIES, ...policy({ permissions: ['read', 'read'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: permissions as text', method: 'POST', url: POLICIES, ...policy({ permissions: 'read' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: 8 permissions', method: 'POST', url: POLICIES, ...policy({ permissions: ['describe', 'read', 'write', 'delete', 'share', 'detokenize', 'admin', 'read'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an empty pattern', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: '' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a pattern with an empty segment', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: '/a//b' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a pattern through ..', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: '/keep/../**' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a pattern with *** ', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: '/a/***' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a pattern with a NUL character', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: '/a\u0000/*' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a pattern with a regex in it', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: '/(a|b)+/[x]' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a 2049-character pattern', method: 'POST', url: POLICIES, ...policy({ secret_path_pattern: `/${'p'.repeat(2048)}` }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: effect 'maybe'", method: 'POST', url: POLICIES, ...policy({ effect: 'maybe' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an unknown condition', method: 'POST', url: POLICIES, ...policy({ conditions: { geo: 'EU' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: conditions as an array', method: 'POST', url: POLICIES, ...policy({ conditions: [] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a /33 IPv4 block', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['10.0.0.0/33'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a /129 IPv6 block', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['2001:db8::/129'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an allowlist entry that is not an address', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['intranet'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an IPv4 address with a 256 octet', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['10.0.0.256/32'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a block with two prefixes', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['10.0.0.0/8/16'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a block with a zone id', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['fe80::1%eth0/64'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an IPv4-mapped block reaching past the IPv4 part', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: ['::ffff:10.0.0.0/95'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an empty allowlist', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: [] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an allowlist of 51 blocks', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: Array.from({ length: 51 }, (_, i) => `10.0.${i}.0/24`) } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a 65-character allowlist entry', method: 'POST', url: POLICIES, ...policy({ conditions: { ip_allowlist: [`${'1'.repeat(62)}/8`] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a time window starting at 25:00', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '25:00', end: '26:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a time window ending at 24:01', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '09:00', end: '24:01' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a time window starting at 24:00', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '24:00', end: '08:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a time window in H:MM', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '9:00', end: '17:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an empty time window (start = end)', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '09:00', end: '09:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: day 7 in a time window', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { days: [7], start: '09:00', end: '17:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a repeated day in a time window', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { days: [1, 1], start: '09:00', end: '17:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: no days in a time window', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { days: [], start: '09:00', end: '17:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an unknown time zone', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '09:00', end: '17:00', timezone: 'Mars/Olympus_Mons' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a time window without an end', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '09:00' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: an unknown field in a time window', method: 'POST', url: POLICIES, ...policy({ conditions: { time_window: { start: '09:00', end: '17:00', dst: true } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: mfa_required 'yes'", method: 'POST', url: POLICIES, ...policy({ conditions: { mfa_required: 'yes' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create policy: expires_at 'next week'", method: 'POST', url: POLICIES, ...policy({ expires_at: 'next week' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: expires_at in year 0000', method: 'POST', url: POLICIES, ...policy({ expires_at: '0000-01-01T00:00:00Z' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a 1001-character description', method: 'POST', url: POLICIES, ...policy({ description: 'd'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a vault id that is not a UUID', method: 'POST', url: `${VAULTS}/v/policies`, ...policy({}), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create policy: a vault that does not exist', method: 'POST', url: `${VAULTS}/{missing}/policies`, ...policy({}), status: 404, code: 'NOT_FOUND' },
  { name: 'list policies: a vault id that is not a UUID', method: 'GET', url: `${VAULTS}/v/policies`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list policies: an unknown query parameter', method: 'GET', url: `${POLICIES}?principal=x`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe policy: a policy id that is not a UUID', method: 'GET', url: `${POLICIES}/p-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe policy: an unknown query parameter', method: 'GET', url: `${POLICY}?explain=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe policy: a policy that does not exist', method: 'GET', url: `${POLICIES}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'describe policy: the policy under another vault of the org', method: 'GET', url: `${VAULTS}/{scratch}/policies/{policy}`, status: 404, code: 'NOT_FOUND' },
  { name: 'replace policy: a policy id that is not a UUID', method: 'PUT', url: `${POLICIES}/p-1`, ...policy({}), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace policy: no body', method: 'PUT', url: POLICY, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace policy: an unknown field', method: 'PUT', url: POLICY, ...policy({ id: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "replace policy: permission 'root'", method: 'PUT', url: POLICY, ...policy({ permissions: ['root'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace policy: an invalid CIDR', method: 'PUT', url: POLICY, ...policy({ conditions: { ip_allowlist: ['10.0.0.0/-1'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace policy: a policy that does not exist', method: 'PUT', url: `${POLICIES}/{missing}`, ...policy({}), status: 404, code: 'NOT_FOUND' },
  { name: 'delete policy: a policy id that is not a UUID', method: 'DELETE', url: `${POLICIES}/*`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete policy: an unknown query parameter', method: 'DELETE', url: `${POLICY}?cascade=1`, status: 400, code: 'VALIDATION_FAILED' },

  // --- GET /v1/authz/explain -----------------------------------------------------------------------
  { name: 'explain: no query at all', method: 'GET', url: EXPLAIN, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: no principal', method: 'GET', url: `${EXPLAIN}?action=read&resource=org:vaults`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: principal 'user:' without an id", method: 'GET', url: explain({ principal: 'user:' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a principal id that is not a UUID', method: 'GET', url: explain({ principal: 'user:ada' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: principal kind 'bot'", method: 'GET', url: explain({ principal: 'bot:{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a principal without a kind', method: 'GET', url: explain({ principal: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a 201-character principal', method: 'GET', url: explain({ principal: `user:${'a'.repeat(196)}` }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: action 'fly'", method: 'GET', url: explain({ action: 'fly' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: an empty action', method: 'GET', url: explain({ action: '' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: resource 'org:nowhere'", method: 'GET', url: explain({ resource: 'org:nowhere' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: resource 'secret:x'", method: 'GET', url: explain({ resource: 'secret:x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a vault id that is not a UUID', method: 'GET', url: explain({ resource: 'vault:payments' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a secret path with an empty segment', method: 'GET', url: explain({ resource: 'vault:{vault}/keep//me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a secret path through ..', method: 'GET', url: explain({ resource: 'vault:{vault}/x/../keep/me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a secret path with a glob', method: 'GET', url: explain({ resource: 'vault:{vault}/keep/*' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a 1201-character resource', method: 'GET', url: explain({ resource: `vault:{vault}/${'r'.repeat(1200)}` }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: ip '999.1.1.1'", method: 'GET', url: explain({ ip: '999.1.1.1' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: an ip that is a CIDR block', method: 'GET', url: explain({ ip: '10.0.0.0/8' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: reason '2'", method: 'GET', url: explain({ reason: '2' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "explain: mfa 'true'", method: 'GET', url: explain({ mfa: 'true' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: an unknown query parameter', method: 'GET', url: explain({ verbose: '1' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: principal given twice', method: 'GET', url: `${explain({})}&principal=user:{member}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'explain: a vault that does not exist', method: 'GET', url: explain({ resource: 'vault:{missing}/keep/me' }), status: 404, code: 'NOT_FOUND' },

  // --- /v1/members -------------------------------------------------------------------------------
  { name: 'add member: invalid JSON text', method: 'POST', url: MEMBERS, ...jsonText('{"email":"a@b.example",}'), status: 400, code: 'INVALID_JSON' },
  { name: 'add member: no e-mail', method: 'POST', url: MEMBERS, ...json({ role: 'employee' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: no role', method: 'POST', url: MEMBERS, ...json({ email: 'new@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "add member: e-mail 'not-an-email'", method: 'POST', url: MEMBERS, ...member({ email: 'not-an-email' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an e-mail with one label', method: 'POST', url: MEMBERS, ...member({ email: 'ada@localhost' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an e-mail with two @', method: 'POST', url: MEMBERS, ...member({ email: 'ada@@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an e-mail with a quoted local part', method: 'POST', url: MEMBERS, ...member({ email: '"ada lovelace"@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an e-mail with a space', method: 'POST', url: MEMBERS, ...member({ email: 'ada lovelace@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an e-mail with a numeric top-level domain', method: 'POST', url: MEMBERS, ...member({ email: 'ada@10.0.0.1' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a non-ASCII e-mail', method: 'POST', url: MEMBERS, ...member({ email: 'ad\u00e1@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a 65-character local part', method: 'POST', url: MEMBERS, ...member({ email: `${'a'.repeat(65)}@example.com` }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a 255-character e-mail', method: 'POST', url: MEMBERS, ...member({ email: `ada@${Array.from({ length: 4 }, () => 'd'.repeat(61)).join('.')}.com` }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an e-mail with a newline (header injection)', method: 'POST', url: MEMBERS, ...member({ email: 'ada@example.com\nBcc: eve@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a numeric e-mail', method: 'POST', url: MEMBERS, ...member({ email: 42 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "add member: role 'superuser'", method: 'POST', url: MEMBERS, ...member({ role: 'superuser' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "add member: role 'Owner' (case matters)", method: 'POST', url: MEMBERS, ...member({ role: 'Owner' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a role UUID that names no role', method: 'POST', url: MEMBERS, ...member({ role: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a numeric role', method: 'POST', url: MEMBERS, ...member({ role: 1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a 101-character display name', method: 'POST', url: MEMBERS, ...member({ display_name: 'n'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a display name with a control character', method: 'POST', url: MEMBERS, ...member({ display_name: 'Ada\u0000' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: a display name with a lone surrogate', method: 'POST', url: MEMBERS, ...member({ display_name: '\udc00Ada' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add member: an unknown field (a password)', method: 'POST', url: MEMBERS, ...member({ password: 'hunter2' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "add member: the kept member's e-mail, in capitals", method: 'POST', url: MEMBERS, ...member({ email: KEPT_EMAIL.toUpperCase() }), status: 409, code: 'CONFLICT' },
  { name: 'list members: an unknown query parameter', method: 'GET', url: `${MEMBERS}?role=owner`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe member: an id that is not a UUID', method: 'GET', url: `${MEMBERS}/ada`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe member: an e-mail instead of an id', method: 'GET', url: `${MEMBERS}/${encodeURIComponent(KEPT_EMAIL)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe member: a member that does not exist', method: 'GET', url: `${MEMBERS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'update member: an id that is not a UUID', method: 'PATCH', url: `${MEMBERS}/1`, ...json({ display_name: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "update member: active 'no'", method: 'PATCH', url: MEMBER, ...json({ active: 'no' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "update member: role 'root'", method: 'PATCH', url: MEMBER, ...json({ role: 'root' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update member: a role UUID that names no role', method: 'PATCH', url: MEMBER, ...json({ role: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update member: a 101-character display name', method: 'PATCH', url: MEMBER, ...json({ display_name: 'n'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update member: the e-mail (not changeable)', method: 'PATCH', url: MEMBER, ...json({ email: 'other@example.com' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update member: a member that does not exist', method: 'PATCH', url: `${MEMBERS}/{missing}`, ...json({ display_name: 'x' }), status: 404, code: 'NOT_FOUND' },
  { name: 'remove member: an id that is not a UUID', method: 'DELETE', url: `${MEMBERS}/me`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'remove member: an unknown query parameter', method: 'DELETE', url: `${MEMBER}?notify=1`, status: 400, code: 'VALIDATION_FAILED' },

  // --- /v1/teams ---------------------------------------------------------------------------------
  { name: 'create team: no name', method: 'POST', url: TEAMS, ...json({ description: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create team: a blank name', method: 'POST', url: TEAMS, ...json({ name: '\u00a0 ' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create team: a 101-character name', method: 'POST', url: TEAMS, ...json({ name: 't'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create team: a name with a newline', method: 'POST', url: TEAMS, ...json({ name: 'ops\nadmins' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create team: members in the body (unknown field)', method: 'POST', url: TEAMS, ...json({ name: 'ops', members: ['{member}'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create team: a 1001-character description', method: 'POST', url: TEAMS, ...json({ name: 'ops', description: 'd'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create team: a JSON null', method: 'POST', url: TEAMS, ...jsonText('null'), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create team: the kept team's name, in capitals", method: 'POST', url: TEAMS, ...json({ name: 'BAD-INPUT-TEAM' }), status: 409, code: 'CONFLICT' },
  { name: 'list teams: an unknown query parameter', method: 'GET', url: `${TEAMS}?member={member}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe team: an id that is not a UUID', method: 'GET', url: `${TEAMS}/ops`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe team: a team that does not exist', method: 'GET', url: `${TEAMS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'update team: a numeric name', method: 'PATCH', url: TEAM, ...json({ name: 1 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update team: a 101-character name', method: 'PATCH', url: TEAM, ...json({ name: 't'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update team: an unknown field', method: 'PATCH', url: TEAM, ...json({ owner: '{member}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update team: an id that is not a UUID', method: 'PATCH', url: `${TEAMS}/x`, ...json({ name: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update team: a team that does not exist', method: 'PATCH', url: `${TEAMS}/{missing}`, ...json({ name: 'x' }), status: 404, code: 'NOT_FOUND' },
  { name: 'delete team: an id that is not a UUID', method: 'DELETE', url: `${TEAMS}/x`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete team: an unknown query parameter', method: 'DELETE', url: `${TEAM}?force=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add team member: a team id that is not a UUID', method: 'PUT', url: `${TEAMS}/ops/members/{member}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add team member: a member id that is not a UUID', method: 'PUT', url: `${TEAM}/members/ada`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add team member: an unknown query parameter', method: 'PUT', url: `${TEAM}/members/{member}?role=lead`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'add team member: a member that does not exist', method: 'PUT', url: `${TEAM}/members/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'add team member: a team that does not exist', method: 'PUT', url: `${TEAMS}/{missing}/members/{member}`, status: 404, code: 'NOT_FOUND' },
  { name: 'add team member: an agent instead of a member', method: 'PUT', url: `${TEAM}/members/{agent}`, status: 404, code: 'NOT_FOUND' },
  { name: 'remove team member: a member id that is not a UUID', method: 'DELETE', url: `${TEAM}/members/x`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'remove team member: a member not in the team', method: 'DELETE', url: `${TEAM}/members/{missing}`, status: 404, code: 'NOT_FOUND' },

  // --- /v1/roles ---------------------------------------------------------------------------------
  { name: 'list roles: an unknown query parameter', method: 'GET', url: `${ROLES}?built_in=false`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "describe role: 'superuser' (neither built in nor a UUID)", method: 'GET', url: `${ROLES}/superuser`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "describe role: 'Owner' (case matters)", method: 'GET', url: `${ROLES}/Owner`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe role: a role that does not exist', method: 'GET', url: `${ROLES}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'create role: no name', method: 'POST', url: ROLES, ...json({ org_grants: {} }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: the built-in name 'owner'", method: 'POST', url: ROLES, ...role({ name: 'owner' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: the built-in name 'ADMIN'", method: 'POST', url: ROLES, ...role({ name: 'ADMIN' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: org area 'nuclear'", method: 'POST', url: ROLES, ...role({ org_grants: { nuclear: ['admin'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: action 'fly' on an org area", method: 'POST', url: ROLES, ...role({ org_grants: { vaults: ['fly'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: org grants as an array', method: 'POST', url: ROLES, ...role({ org_grants: ['vaults'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: actions as text', method: 'POST', url: ROLES, ...role({ org_grants: { vaults: 'describe' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: vault scope 'some'", method: 'POST', url: ROLES, ...role({ vault_scope: 'some', vault_actions: ['read'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: vault action 'fly'", method: 'POST', url: ROLES, ...role({ vault_scope: 'all', vault_actions: ['fly'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: vault actions without a scope', method: 'POST', url: ROLES, ...role({ vault_actions: ['read'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: a vault scope without actions', method: 'POST', url: ROLES, ...role({ vault_scope: 'team' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: a restricted role that administers policies', method: 'POST', url: ROLES, ...role({ restricted: true, org_grants: { policies: ['admin'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: restricted 'yes'", method: 'POST', url: ROLES, ...role({ restricted: 'yes' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: an unknown field', method: 'POST', url: ROLES, ...role({ built_in: true }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create role: a 101-character name', method: 'POST', url: ROLES, ...role({ name: 'r'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "create role: the kept role's name", method: 'POST', url: ROLES, ...role({ name: 'bad-input-role' }), status: 409, code: 'CONFLICT' },
  { name: "replace role: the built-in 'owner'", method: 'PUT', url: `${ROLES}/owner`, ...role({ name: 'owner-2' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "replace role: 'nope' (neither built in nor a UUID)", method: 'PUT', url: `${ROLES}/nope`, ...role({}), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace role: an unknown org area', method: 'PUT', url: ROLE, ...role({ org_grants: { everything: ['admin'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace role: no body', method: 'PUT', url: ROLE, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'replace role: a role that does not exist', method: 'PUT', url: `${ROLES}/{missing}`, ...role({ name: 'ghost' }), status: 404, code: 'NOT_FOUND' },
  { name: "delete role: the built-in 'admin'", method: 'DELETE', url: `${ROLES}/admin`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete role: an id that is neither built in nor a UUID', method: 'DELETE', url: `${ROLES}/x`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete role: a role a member holds', method: 'DELETE', url: ROLE, status: 409, code: 'CONFLICT' },

  // --- /v1/access ----------------------------------------------------------------------------------
  { name: "access matrix: format 'xml'", method: 'GET', url: `${ACCESS}/matrix?format=xml`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'access matrix: format given twice', method: 'GET', url: `${ACCESS}/matrix?format=csv&format=json`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'access matrix: an unknown query parameter', method: 'GET', url: `${ACCESS}/matrix?vault={vault}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: no due date', method: 'POST', url: REVIEWS, ...json({ name: 'q3' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: a due date in the past', method: 'POST', url: REVIEWS, ...json({ name: 'q3', due_at: '2001-01-01T00:00:00Z' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "open review: due date 'soon'", method: 'POST', url: REVIEWS, ...json({ name: 'q3', due_at: 'soon' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: no name', method: 'POST', url: REVIEWS, ...json({ due_at: FUTURE }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: a reviewer id that is not a UUID', method: 'POST', url: REVIEWS, ...json({ name: 'q3', due_at: FUTURE, reviewer_member_id: 'ada' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: a reviewer that is not a member', method: 'POST', url: REVIEWS, ...json({ name: 'q3', due_at: FUTURE, reviewer_member_id: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: a reviewer who may not review (an employee)', method: 'POST', url: REVIEWS, ...json({ name: 'q3', due_at: FUTURE, reviewer_member_id: '{member}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'open review: an unknown field', method: 'POST', url: REVIEWS, ...json({ name: 'q3', due_at: FUTURE, items: [] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list reviews: an unknown query parameter', method: 'GET', url: `${REVIEWS}?status=open`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe review: an id that is not a UUID', method: 'GET', url: `${REVIEWS}/q3`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe review: a review that does not exist', method: 'GET', url: `${REVIEWS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: "decide review item: decision 'maybe'", method: 'POST', url: ITEM_DECISION, ...json({ decision: 'maybe' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'decide review item: no decision', method: 'POST', url: ITEM_DECISION, ...json({ note: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'decide review item: a 1001-character note', method: 'POST', url: ITEM_DECISION, ...json({ decision: 'keep', note: 'n'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'decide review item: an unknown field', method: 'POST', url: ITEM_DECISION, ...json({ decision: 'keep', policy_id: '{policy}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'decide review item: a review id that is not a UUID', method: 'POST', url: `${REVIEWS}/x/items/{item}/decision`, ...json({ decision: 'keep' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'decide review item: an item id that is not a UUID', method: 'POST', url: `${REVIEW}/items/1/decision`, ...json({ decision: 'keep' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'decide review item: an item that does not exist', method: 'POST', url: `${REVIEW}/items/{missing}/decision`, ...json({ decision: 'keep' }), status: 404, code: 'NOT_FOUND' },
  { name: 'remind reviewer: an id that is not a UUID', method: 'POST', url: `${REVIEWS}/x/reminders`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'remind reviewer: an unknown query parameter', method: 'POST', url: `${REVIEW}/reminders?to=eve@example.com`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'close review: an id that is not a UUID', method: 'POST', url: `${REVIEWS}/x/close`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'close review: a review that does not exist', method: 'POST', url: `${REVIEWS}/{missing}/close`, status: 404, code: 'NOT_FOUND' },

  // --- /v1/approvals (requests sent by the org's employee: a root token never requests) ----------
  { name: 'request access: a vault id that is not a UUID', method: 'POST', url: APPROVALS, ...approval({ vault_id: 'payments' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: an empty pattern', method: 'POST', url: APPROVALS, ...approval({ secret_path_pattern: '' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a pattern with an empty segment', method: 'POST', url: APPROVALS, ...approval({ secret_path_pattern: '/keep//*' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a 1025-character pattern', method: 'POST', url: APPROVALS, ...approval({ secret_path_pattern: `/${'p'.repeat(1024)}` }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: no permissions', method: 'POST', url: APPROVALS, ...approval({ permissions: [] }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: "request access: permission 'everything'", method: 'POST', url: APPROVALS, ...approval({ permissions: ['everything'] }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a repeated permission', method: 'POST', url: APPROVALS, ...approval({ permissions: ['read', 'read'] }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: an empty reason', method: 'POST', url: APPROVALS, ...approval({ reason: '' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a blank reason', method: 'POST', url: APPROVALS, ...approval({ reason: ' \n ' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a 1001-character reason', method: 'POST', url: APPROVALS, ...approval({ reason: 'r'.repeat(1001) }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a duration of 59 s', method: 'POST', url: APPROVALS, ...approval({ duration_seconds: 59 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a duration over a year', method: 'POST', url: APPROVALS, ...approval({ duration_seconds: 31_536_001 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a duration as text', method: 'POST', url: APPROVALS, ...approval({ duration_seconds: '3600' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: an unknown field (for someone else)', method: 'POST', url: APPROVALS, ...approval({ requester_id: '{member}' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'request access: a vault that does not exist', method: 'POST', url: APPROVALS, ...approval({ vault_id: '{missing}' }), auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: 'request access: as the root token', method: 'POST', url: APPROVALS, ...approval({}), status: 400, code: 'VALIDATION_FAILED' },
  { name: "list access requests: status 'open'", method: 'GET', url: `${APPROVALS}?status=open`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list access requests: status given twice', method: 'GET', url: `${APPROVALS}?status=pending&status=denied`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list access requests: an unknown query parameter', method: 'GET', url: `${APPROVALS}?vault={vault}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe access request: an id that is not a UUID', method: 'GET', url: `${APPROVALS}/42`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe access request: one that does not exist', method: 'GET', url: `${APPROVALS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'approve: a duration of 59 s', method: 'POST', url: `${APPROVAL}/approve`, ...json({ duration_seconds: 59 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'approve: a 1001-character note', method: 'POST', url: `${APPROVAL}/approve`, ...json({ note: 'n'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'approve: an unknown field (other permissions)', method: 'POST', url: `${APPROVAL}/approve`, ...json({ permissions: ['admin'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'approve: a JSON array', method: 'POST', url: `${APPROVAL}/approve`, ...jsonText('[]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'approve: an id that is not a UUID', method: 'POST', url: `${APPROVALS}/x/approve`, ...json({}), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'approve: one that does not exist', method: 'POST', url: `${APPROVALS}/{missing}/approve`, ...json({}), status: 404, code: 'NOT_FOUND' },
  { name: 'approve: by its own requester', method: 'POST', url: `${APPROVAL}/approve`, ...json({}), auth: 'employee', status: 403, code: 'SEPARATION_OF_DUTIES' },
  { name: 'deny: a duration (deny takes none)', method: 'POST', url: `${APPROVAL}/deny`, ...json({ duration_seconds: 3600 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'deny: a note that is an object', method: 'POST', url: `${APPROVAL}/deny`, ...json({ note: { text: 'no' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'deny: an id that is not a UUID', method: 'POST', url: `${APPROVALS}/x/deny`, ...json({}), status: 400, code: 'VALIDATION_FAILED' },

  // --- /v1/audit (the audit routes take queries and bodies too) ---------------------------------
  { name: "audit events: outcome 'maybe'", method: 'GET', url: `${AUDIT}/events?outcome=maybe`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "audit events: action 'vault.explode'", method: 'GET', url: `${AUDIT}/events?action=vault.explode`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit events: limit=0', method: 'GET', url: `${AUDIT}/events?limit=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "audit events: from 'yesterday'", method: 'GET', url: `${AUDIT}/events?from=yesterday`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit events: cursor=-1', method: 'GET', url: `${AUDIT}/events?cursor=-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit events: a 701-character resource', method: 'GET', url: `${AUDIT}/events?resource=${'r'.repeat(701)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit events: an unknown query parameter', method: 'GET', url: `${AUDIT}/events?org=other`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit proof: seq 0', method: 'GET', url: `${AUDIT}/events/0/proof`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "audit proof: seq 'first'", method: 'GET', url: `${AUDIT}/events/first/proof`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit proof: tree_size=abc', method: 'GET', url: `${AUDIT}/events/1/proof?tree_size=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit consistency: from after to', method: 'GET', url: `${AUDIT}/consistency?from=3&to=2`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit consistency: no to', method: 'GET', url: `${AUDIT}/consistency?from=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit latest head: an unknown query parameter', method: 'GET', url: `${AUDIT}/heads/latest?x=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit heads: an unknown query parameter', method: 'GET', url: `${AUDIT}/heads?x=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'sign audit head: an unknown query parameter', method: 'POST', url: `${AUDIT}/heads?size=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'audit export: an unknown query parameter', method: 'GET', url: `${AUDIT}/export?format=csv`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "create sink: kind 'ftp'", method: 'POST', url: `${AUDIT}/sinks`, ...json({ kind: 'ftp', name: 's', url: 'ftp://example.com/' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create sink: a syslog port of 70000', method: 'POST', url: `${AUDIT}/sinks`, ...json({ kind: 'syslog', name: 's', host: '127.0.0.1', port: 70_000 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create sink: a syslog host with a space', method: 'POST', url: `${AUDIT}/sinks`, ...json({ kind: 'syslog', name: 's', host: 'siem host', port: 514 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create sink: an unknown field', method: 'POST', url: `${AUDIT}/sinks`, ...json({ kind: 'syslog', name: 's', host: '127.0.0.1', port: 514, secret: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list sinks: an unknown query parameter', method: 'GET', url: `${AUDIT}/sinks?kind=syslog`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete sink: an id that is not a UUID', method: 'DELETE', url: `${AUDIT}/sinks/siem`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete sink: a sink that does not exist', method: 'DELETE', url: `${AUDIT}/sinks/{missing}`, status: 404, code: 'NOT_FOUND' },

  // === Sign-in (anyone may call; the body is the credential) ====================================

  // --- POST /v1/auth/email/start -------------------------------------------------------------------
  { name: 'e-mail code: invalid JSON text', method: 'POST', url: EMAIL_START, ...jsonText('{"email":'), auth: 'none', status: 400, code: 'INVALID_JSON' },
  { name: 'e-mail code: a JSON array', method: 'POST', url: EMAIL_START, ...jsonText('["a@example.com"]'), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: a form-urlencoded body', method: 'POST', url: EMAIL_START, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'email=a%40example.com', auth: 'none', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'e-mail code: no e-mail', method: 'POST', url: EMAIL_START, ...json({}), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: a numeric e-mail', method: 'POST', url: EMAIL_START, ...json({ email: 42 }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: a 255-character e-mail', method: 'POST', url: EMAIL_START, ...json({ email: `${'a'.repeat(243)}@example.com` }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: two addresses', method: 'POST', url: EMAIL_START, ...json({ email: 'ada@example.com, eve@example.com' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: an address with a newline (header injection)', method: 'POST', url: EMAIL_START, ...json({ email: 'ada@example.com\nBcc: eve@example.com' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: an unknown field', method: 'POST', url: EMAIL_START, ...json({ email: 'ada@example.com', org_id: '{missing}' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail code: an unknown query parameter', method: 'POST', url: `${EMAIL_START}?resend=1`, ...json({ email: 'ada@example.com' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },

  // --- POST /v1/auth/email/verify ------------------------------------------------------------------
  { name: 'e-mail sign-in: no code', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'ada@example.com' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail sign-in: a numeric code', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'ada@example.com', code: 123456 }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail sign-in: a 33-character code', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'ada@example.com', code: '1'.repeat(33) }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: "e-mail sign-in: session 'jwt'", method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'ada@example.com', code: '123456', session: 'jwt' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail sign-in: an org id that is not a UUID', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'ada@example.com', code: '123456', org_id: 'acme' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail sign-in: an unknown field', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'ada@example.com', code: '123456', remember: true }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail sign-in: an address that is not one', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'not an address', code: '123456' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'e-mail sign-in: a code nobody was sent', method: 'POST', url: EMAIL_VERIFY, ...json({ email: 'nobody.sent@example.com', code: '123456' }), auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },

  // --- POST /v1/auth/password --------------------------------------------------------------------
  { name: 'password sign-in: an empty password', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ email: '{passworded}', password: '' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'password sign-in: a 1025-character password', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ email: '{passworded}', password: 'p'.repeat(1025) }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'password sign-in: a numeric password', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ email: '{passworded}', password: 12345678 }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'password sign-in: no e-mail', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ password: PASSWORD }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'password sign-in: an unknown field (a code)', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ email: '{passworded}', password: PASSWORD, code: '123456' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'password sign-in: the wrong password', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ email: '{passworded}', password: `${PASSWORD}!` }), auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },
  { name: 'password sign-in: an address nobody has', method: 'POST', url: PASSWORD_SIGN_IN, ...json({ email: 'nobody.here@example.com', password: PASSWORD }), auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },

  // --- POST /v1/auth/mfa ---------------------------------------------------------------------------
  { name: 'second factor: neither a code nor a recovery code', method: 'POST', url: MFA, ...json({ mfa_token: 'sr_mfa_x' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'second factor: both a code and a recovery code', method: 'POST', url: MFA, ...json({ mfa_token: 'sr_mfa_x', code: '123456', recovery_code: 'abcd-efgh' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'second factor: a 257-character MFA token', method: 'POST', url: MFA, ...json({ mfa_token: 'm'.repeat(257), code: '123456' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'second factor: a numeric code', method: 'POST', url: MFA, ...json({ mfa_token: 'sr_mfa_x', code: 123456 }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'second factor: an unknown field', method: 'POST', url: MFA, ...json({ mfa_token: 'sr_mfa_x', code: '123456', trust_device: true }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'second factor: no MFA token (nor its cookie)', method: 'POST', url: MFA, ...json({ code: '123456' }), auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },
  { name: 'second factor: an MFA token that is not one of ours', method: 'POST', url: MFA, ...json({ mfa_token: `sr_mfa_${'A'.repeat(86)}`, code: '123456' }), auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },
  { name: "second factor: the org's root token as the MFA token", method: 'POST', url: MFA, ...json({ mfa_token: '{root}', code: '123456' }), auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },

  // --- POST /v1/auth/refresh -----------------------------------------------------------------------
  { name: 'refresh: a 257-character refresh token', method: 'POST', url: REFRESH, ...json({ refresh_token: 'r'.repeat(257) }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'refresh: a numeric refresh token', method: 'POST', url: REFRESH, ...json({ refresh_token: 1 }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'refresh: an unknown field', method: 'POST', url: REFRESH, ...json({ refresh_token: 'sr_refresh_x', org_id: '{missing}' }), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'refresh: a JSON array', method: 'POST', url: REFRESH, ...jsonText('["sr_refresh_x"]'), auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'refresh: a refresh token that is not one of ours', method: 'POST', url: REFRESH, ...json({ refresh_token: `sr_refresh_${'A'.repeat(86)}` }), auth: 'none', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'refresh: no refresh token at all', method: 'POST', url: REFRESH, auth: 'none', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'refresh: a refresh cookie without the CSRF token', method: 'POST', url: REFRESH, headers: { cookie: `__Host-sr_refresh=sr_refresh_${'A'.repeat(86)}` }, auth: 'none', status: 403, code: 'CSRF_FAILED' },

  // --- /v1/auth/oidc -----------------------------------------------------------------------------
  { name: 'identity providers: an unknown query parameter', method: 'GET', url: `${OIDC}/providers?all=1`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC start: a provider name in capitals', method: 'GET', url: `${OIDC}/Test/start`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC start: a 33-character provider name', method: 'GET', url: `${OIDC}/${'p'.repeat(33)}/start`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC start: a provider that is not configured', method: 'GET', url: `${OIDC}/nope/start`, auth: 'none', status: 404, code: 'NOT_FOUND' },
  { name: 'OIDC start: a 513-character return path', method: 'GET', url: `${OIDC}/test/start?return_to=/${'r'.repeat(512)}`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC start: an unknown query parameter', method: 'GET', url: `${OIDC}/test/start?prompt=none`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC callback: a state nobody started, without the binding cookie', method: 'GET', url: `${OIDC}/test/callback?code=abc&state=xyz`, auth: 'none', status: 401, code: 'SIGN_IN_FAILED' },
  { name: 'OIDC callback: a state given twice', method: 'GET', url: `${OIDC}/test/callback?code=abc&state=x&state=y`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC callback: a 4097-character parameter', method: 'GET', url: `${OIDC}/test/callback?code=${'c'.repeat(4097)}&state=x`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'OIDC callback: a provider that is not configured', method: 'GET', url: `${OIDC}/nope/callback?code=abc&state=xyz`, auth: 'none', status: 404, code: 'NOT_FOUND' },
  { name: 'OIDC callback: a provider name with a dot', method: 'GET', url: `${OIDC}/te.st/callback?code=abc&state=xyz`, auth: 'none', status: 400, code: 'VALIDATION_FAILED' },

  // === The signed-in person (sent as the kept member's session unless said) ======================
  { name: 'who am I: an unknown query parameter', method: 'GET', url: `${ME}?expand=orgs`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: "who am I: the org's root token (no person)", method: 'GET', url: ME, status: 401, code: 'UNAUTHENTICATED' },
  { name: "who am I: the member's personal token (no session)", method: 'GET', url: ME, auth: 'personal', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'delete my account: an unknown query parameter', method: 'DELETE', url: `${ME}?force=true`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete my account: while a member of an org', method: 'DELETE', url: ME, auth: 'employee', status: 409, code: 'INVALID_STATE' },
  { name: 'my orgs: an unknown query parameter', method: 'GET', url: `${ME}/orgs?role=owner`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'switch org: an org id that is not a UUID', method: 'POST', url: '/v1/auth/switch', ...json({ org_id: 'acme' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'switch org: no org id', method: 'POST', url: '/v1/auth/switch', ...json({}), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'switch org: an org id as a number', method: 'POST', url: '/v1/auth/switch', ...json({ org_id: 1 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'switch org: an unknown field', method: 'POST', url: '/v1/auth/switch', ...json({ org_id: null, member_id: '{member}' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'switch org: an org the person is not in', method: 'POST', url: '/v1/auth/switch', ...json({ org_id: '{missing}' }), auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: 'step-up: neither a code nor a recovery code', method: 'POST', url: '/v1/auth/step-up', ...json({}), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'step-up: both a code and a recovery code', method: 'POST', url: '/v1/auth/step-up', ...json({ code: '123456', recovery_code: 'abcd-efgh' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'step-up: a 65-character recovery code', method: 'POST', url: '/v1/auth/step-up', ...json({ recovery_code: 'r'.repeat(65) }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'step-up: a code with no authenticator enrolled', method: 'POST', url: '/v1/auth/step-up', ...json({ code: '123456' }), auth: 'employee', status: 401, code: 'SIGN_IN_FAILED' },
  { name: 'sign out: an unknown query parameter', method: 'POST', url: '/v1/auth/sign-out?all=1', auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'sign out: invalid JSON in the body', method: 'POST', url: '/v1/auth/sign-out', ...jsonText('{'), auth: 'employee', status: 400, code: 'INVALID_JSON' },
  { name: 'sign out everywhere: an unknown query parameter', method: 'POST', url: '/v1/auth/sign-out-everywhere?keep=this', auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'sign out everywhere: invalid JSON in the body', method: 'POST', url: '/v1/auth/sign-out-everywhere', ...jsonText('[1,'), auth: 'employee', status: 400, code: 'INVALID_JSON' },
  { name: 'my sessions: an unknown query parameter', method: 'GET', url: `${MY_SESSIONS}?all=1`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'end a session: an id that is not a UUID', method: 'DELETE', url: `${MY_SESSIONS}/current`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'end a session: a session that does not exist', method: 'DELETE', url: `${MY_SESSIONS}/{missing}`, auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: "end a session: another person's session", method: 'DELETE', url: `${MY_SESSIONS}/{holder-session}`, auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: 'end a session: an unknown query parameter', method: 'DELETE', url: `${MY_SESSIONS}/{session}?reason=x`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'enrol TOTP: an unknown query parameter', method: 'POST', url: `${TOTP}?algorithm=SHA1`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'confirm TOTP: no code', method: 'POST', url: `${TOTP}/confirm`, ...json({}), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'confirm TOTP: a 33-character code', method: 'POST', url: `${TOTP}/confirm`, ...json({ code: '1'.repeat(33) }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'confirm TOTP: an unknown field (the secret)', method: 'POST', url: `${TOTP}/confirm`, ...json({ code: '123456', secret: 'JBSWY3DPEHPK3PXP' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'confirm TOTP: no enrolment was started', method: 'POST', url: `${TOTP}/confirm`, ...json({ code: '123456' }), auth: 'employee', status: 409, code: 'INVALID_STATE' },
  { name: 'remove TOTP: an unknown query parameter', method: 'DELETE', url: `${TOTP}?all=1`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'remove TOTP: without a recent second factor', method: 'DELETE', url: TOTP, auth: 'stale', status: 403, code: 'STEP_UP_REQUIRED' },
  { name: 'new recovery codes: no authenticator enrolled', method: 'POST', url: `${ME}/mfa/recovery-codes`, auth: 'employee', status: 409, code: 'INVALID_STATE' },
  { name: 'new recovery codes: without a recent second factor', method: 'POST', url: `${ME}/mfa/recovery-codes`, auth: 'stale', status: 403, code: 'STEP_UP_REQUIRED' },
  { name: 'new recovery codes: an unknown query parameter', method: 'POST', url: `${ME}/mfa/recovery-codes?count=100`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: a common password', method: 'PUT', url: `${ME}/password`, ...json({ password: 'password' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: 7 characters', method: 'PUT', url: `${ME}/password`, ...json({ password: 'Qz7!xkp' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: 129 characters', method: 'PUT', url: `${ME}/password`, ...json({ password: `Qz7!${'x'.repeat(125)}` }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: 1025 characters', method: 'PUT', url: `${ME}/password`, ...json({ password: 'p'.repeat(1025) }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: a numeric password', method: 'PUT', url: `${ME}/password`, ...json({ password: 123456789 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: no password', method: 'PUT', url: `${ME}/password`, ...json({}), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'set password: an unknown field (the old one)', method: 'PUT', url: `${ME}/password`, ...json({ password: PASSWORD, old_password: 'x' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create org: a blank name', method: 'POST', url: '/v1/orgs', ...json({ name: '  ' }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create org: a 101-character name', method: 'POST', url: '/v1/orgs', ...json({ name: 'o'.repeat(101) }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create org: a name with a control character', method: 'POST', url: '/v1/orgs', ...json({ name: 'acme\u0007' }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create org: an unknown field', method: 'POST', url: '/v1/orgs', ...json({ name: 'acme-unknown', owner: '{member}' }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: "create org: an existing org's name, in capitals", method: 'POST', url: '/v1/orgs', ...json({ name: ORG_NAME.toUpperCase() }), auth: 'loner', status: 409, code: 'CONFLICT' },
  { name: 'accept invitation: an empty token', method: 'POST', url: `${INVITATIONS}/accept`, ...json({ token: '' }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'accept invitation: a 4097-character token', method: 'POST', url: `${INVITATIONS}/accept`, ...json({ token: 't'.repeat(4097) }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'accept invitation: an unknown field', method: 'POST', url: `${INVITATIONS}/accept`, ...json({ token: 'x', role: 'owner' }), auth: 'loner', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'accept invitation: a token that is not one', method: 'POST', url: `${INVITATIONS}/accept`, ...json({ token: 'not.a.token' }), auth: 'loner', status: 404, code: 'NOT_FOUND' },
  { name: "accept invitation: someone else's invitation", method: 'POST', url: `${INVITATIONS}/accept`, ...json({ token: '{invitation-token}' }), auth: 'loner', status: 404, code: 'NOT_FOUND' },

  // === The org, its invitations and tokens ========================================================
  { name: 'describe org: an unknown query parameter', method: 'GET', url: `${ORG}?with=members`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "update org: require_mfa 'yes'", method: 'PATCH', url: ORG, ...json({ require_mfa: 'yes' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update org: its name (not changeable here)', method: 'PATCH', url: ORG, ...json({ name: 'renamed' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update org: a JSON array', method: 'PATCH', url: ORG, ...jsonText('[]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'update org: by an employee', method: 'PATCH', url: ORG, ...json({ require_mfa: true }), auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: 'leave org: as the root token (no member)', method: 'POST', url: `${ORG}/leave`, status: 409, code: 'INVALID_STATE' },
  { name: 'leave org: an unknown query parameter', method: 'POST', url: `${ORG}/leave?member={member}`, auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'transfer ownership: a member id that is not a UUID', method: 'POST', url: `${ORG}/transfer-ownership`, ...json({ member_id: 'ada' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'transfer ownership: no member id', method: 'POST', url: `${ORG}/transfer-ownership`, ...json({}), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'transfer ownership: a member that does not exist', method: 'POST', url: `${ORG}/transfer-ownership`, ...json({ member_id: '{missing}' }), status: 404, code: 'NOT_FOUND' },
  { name: 'transfer ownership: to an agent', method: 'POST', url: `${ORG}/transfer-ownership`, ...json({ member_id: '{agent}' }), status: 404, code: 'NOT_FOUND' },
  { name: 'transfer ownership: by an employee', method: 'POST', url: `${ORG}/transfer-ownership`, ...json({ member_id: '{member}' }), auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: "invite: e-mail 'not-an-email'", method: 'POST', url: INVITATIONS, ...json({ email: 'not-an-email', role: 'employee' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'invite: an e-mail with a newline (header injection)', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com\nBcc: eve@example.com', role: 'employee' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "invite: role 'superuser'", method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: 'superuser' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'invite: a role UUID that names no role', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: '{missing}' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'invite: expires in 721 hours', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: 'employee', expires_in_hours: 721 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'invite: expires in 0 hours', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: 'employee', expires_in_hours: 0 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'invite: expires in 1.5 hours', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: 'employee', expires_in_hours: 1.5 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'invite: an unknown field (a message)', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: 'employee', message: 'hi' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "invite: the kept member's e-mail, in capitals", method: 'POST', url: INVITATIONS, ...json({ email: KEPT_EMAIL.toUpperCase(), role: 'employee' }), status: 409, code: 'CONFLICT' },
  { name: 'invite: by an employee', method: 'POST', url: INVITATIONS, ...json({ email: 'ada@example.com', role: 'employee' }), auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: 'list invitations: an unknown query parameter', method: 'GET', url: `${INVITATIONS}?status=pending`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'revoke invitation: an id that is not a UUID', method: 'DELETE', url: `${INVITATIONS}/latest`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'revoke invitation: one that does not exist', method: 'DELETE', url: `${INVITATIONS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'revoke invitation: by an employee', method: 'DELETE', url: INVITATION, auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: 'create token: as the root token (tokens do not make tokens)', method: 'POST', url: TOKENS, ...json({ description: 'script' }), status: 409, code: 'INVALID_STATE' },
  { name: 'create token: no description', method: 'POST', url: TOKENS, ...json({ expires_in_days: 30 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create token: a blank description', method: 'POST', url: TOKENS, ...json({ description: '   ' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create token: a 201-character description', method: 'POST', url: TOKENS, ...json({ description: 'd'.repeat(201) }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create token: expires in 366 days', method: 'POST', url: TOKENS, ...json({ description: 'script', expires_in_days: 366 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create token: expires in 0 days', method: 'POST', url: TOKENS, ...json({ description: 'script', expires_in_days: 0 }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create token: an unknown field (a role)', method: 'POST', url: TOKENS, ...json({ description: 'script', role: 'owner' }), auth: 'employee', status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list tokens: an unknown query parameter', method: 'GET', url: `${TOKENS}?kind=root`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'revoke token: an id that is not a UUID', method: 'DELETE', url: `${TOKENS}/sr_user_x`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'revoke token: one that does not exist', method: 'DELETE', url: `${TOKENS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: "revoke token: the org's root token, by an employee", method: 'DELETE', url: `${TOKENS}/{root-token}`, auth: 'employee', status: 404, code: 'NOT_FOUND' },
  { name: "revoke token: the org's last way in as an owner", method: 'DELETE', url: `${TOKENS}/{root-token}`, status: 409, code: 'INVALID_STATE' },
  { name: "end a member's sessions: an id that is not a UUID", method: 'POST', url: `${MEMBERS}/ada/sessions/revoke`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "end a member's sessions: a member that does not exist", method: 'POST', url: `${MEMBERS}/{missing}/sessions/revoke`, status: 404, code: 'NOT_FOUND' },
  { name: "end a member's sessions: an unknown query parameter", method: 'POST', url: `${MEMBER}/sessions/revoke?notify=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: "end a member's sessions: by an employee", method: 'POST', url: `${MEMBER}/sessions/revoke`, auth: 'employee', status: 404, code: 'NOT_FOUND' },
];

/** A response, whichever way the request was sent. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

const missingVault = randomUUID();
const expand = (text: string) =>
  text
    .replaceAll('{vault}', vaultId)
    .replaceAll('{scratch}', scratchVaultId)
    .replaceAll('{missing}', missingVault)
    .replaceAll('{agent}', kept.agent.id)
    .replaceAll('{policy}', kept.policy)
    .replaceAll('{member}', kept.member.id)
    .replaceAll('{team}', kept.team)
    .replaceAll('{role}', kept.role)
    .replaceAll('{review}', kept.review)
    .replaceAll('{item}', kept.item)
    .replaceAll('{approval}', kept.approval)
    .replaceAll('{sink}', kept.sink)
    .replaceAll('{invitation-token}', kept.invitationToken)
    .replaceAll('{invitation}', kept.invitation)
    .replaceAll('{token}', kept.token)
    .replaceAll('{root-token}', tokenIdOf(org.token))
    .replaceAll('{session}', kept.member.sessionId)
    .replaceAll('{holder-session}', kept.holder.sessionId)
    .replaceAll('{passworded}', passworded.email)
    .replaceAll('{root}', org.token);

function authorizationOf(auth: string | undefined): Record<string, string> {
  if (auth === 'none') return {};
  // The org's employee (it requested the kept approval); an agent's API key, which is no bearer token.
  if (auth === 'employee') return { authorization: `Bearer ${kept.member.token}` };
  if (auth === 'agent-key') return { authorization: `Bearer ${kept.agent.apiKey}` };
  // The kept member's own session with no recent second factor; a person who belongs to no org.
  if (auth === 'stale') return { authorization: `Bearer ${staleSession}` };
  if (auth === 'loner') return { authorization: `Bearer ${loner.token}` };
  if (auth === 'personal') return { authorization: `Bearer ${kept.member.personalToken}` };
  return { authorization: auth === undefined || auth === 'token' ? `Bearer ${org.token}` : auth };
}

/** Sends `c` over a real socket, the path byte for byte. */
function sendRaw(method: Method, path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function send(c: BadInput): Promise<Answer> {
  const headers = { ...authorizationOf(c.auth), ...c.headers };
  const url = expand(c.url);
  const body = c.body === undefined ? undefined : expand(c.body);
  if (c.raw) return sendRaw(c.method, url, headers, body);
  const res = await t.app.inject({ method: c.method, url, headers, ...(body === undefined ? {} : { payload: body }) });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

// Stack frames, SQL and internals that must never reach a client.
const INTERNALS = [/\n\s+at /, /\bat (?:file:\/\/|\/|node:)/, /node_modules/, /\bSELECT\b/, /\bINSERT INTO\b/, /\bDELETE FROM\b/, /\bUPDATE \w+ SET\b/, /"stack"/, /pglite/i, /\bFST_ERR_/];

/** Asserts `res` is an RFC 9457 problem document with a 4xx status (and `code` if given). */
function assertClientProblem(res: Answer, label: string, expected?: { status: number; code: ErrorCode }): void {
  const where = `${label}: ${res.status} ${res.body.slice(0, 300)}`;
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${where}`);
  if (expected) assert.equal(res.status, expected.status, where);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, where);
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    assert.fail(`the body is not JSON: ${where}`);
  }
  if (expected) assert.equal(problem.code, expected.code, where);
  assert.equal(typeof problem.code, 'string', where);
  const code = problem.code as ErrorCode;
  assert.ok(code in errorCatalogue, `unknown code: ${where}`);
  assert.equal(problem.status, res.status, where);
  assert.equal(problem.type, `urn:strongroom:problem:${code.toLowerCase().replaceAll('_', '-')}`, where);
  assert.equal(problem.title, errorCatalogue[code].title, where);
  assert.equal(typeof problem.detail, 'string', where);
  assert.equal(typeof problem.requestId, 'string', where);
  assert.ok((problem.requestId as string).length > 0, where);
  // The header (set by an onSend hook) names the same request when it is there.
  if (res.headers['x-request-id'] !== undefined) assert.equal(res.headers['x-request-id'], problem.requestId, where);
  for (const pattern of INTERNALS) assert.doesNotMatch(res.body, pattern, where);
  if (code === 'UNAUTHENTICATED') assert.match(String(res.headers['www-authenticate']), /^Bearer /, where);
}

/**
 * Maps a request (method and URL, placeholders or not) to the OpenAPI route it is meant for:
 * `{name}` is one segment (possibly empty or malformed), `{*}` the rest; 'other' when none.
 */
function routeMatcher(routeList: string[]): (method: string, url: string) => string {
  const compiled = routeList.map((route) => {
    const [m, path] = route.split(' ') as [string, string];
    const source = path
      .split('/')
      .map((seg) => (seg === '{*}' ? '.*' : /^\{[^}]+\}$/.test(seg) ? '[^/]*' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
      .join('/');
    // Literal segments first: `/heads/latest` before `/heads/{x}`.
    const literal = path.split('/').filter((seg) => !seg.startsWith('{')).length;
    return { route, m, re: new RegExp(`^${source}$`), literal };
  });
  compiled.sort((x, y) => y.literal - x.literal);
  return (method, url) => {
    const path = url.split('?')[0] ?? '';
    return compiled.find((c) => c.m === method && c.re.test(path))?.route ?? 'other';
  };
}

describe('a table of malformed requests', () => {
  test('the table covers every route of the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([m, op]) => ({ route: `${m.toUpperCase()} ${path}`, method: m.toUpperCase(), path, bearer: op.security !== undefined })),
    );
    const routeOf = routeMatcher(operations.map((o) => o.route));
    const inputOf = (c: BadInput) => routeOf(c.method, c.url);
    // Every authenticated route refuses a missing or unknown token.
    const bearer = operations.filter((o) => o.bearer).map((o) => o.route).sort();
    assert.deepEqual([...new Set(routes.map((r) => routeOf(r.method, r.url)))].sort(), bearer, 'the 401 cases name every authenticated route');
    // Every route but the public GETs (health, JWKS) has bad input of its own.
    const covered = new Set(cases.filter((c) => c.status !== 401 || c.url.startsWith(AGENT_TOKEN)).map(inputOf));
    const needing = operations.filter((o) => o.path.startsWith('/v1/')).map((o) => o.route);
    assert.deepEqual(needing.filter((r) => !covered.has(r)), [], 'routes without a bad-input case (besides authentication)');
    const astray = cases.filter((c) => inputOf(c) === 'other' && c.code !== 'ROUTE_NOT_FOUND');
    assert.deepEqual(astray.map((c) => c.name), [], 'cases that reach no route must say so (ROUTE_NOT_FOUND)');
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  });

  for (const c of cases) {
    test(`${c.name} answers ${c.status} ${c.code} as problem+json`, async () => {
      const res = await send(c);
      assertClientProblem(res, c.name, { status: c.status, code: c.code });
    });
  }
});

// --- generated inputs ------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so every run sends the same inputs. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function createFuzzer(seed: number) {
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => random() < p;

  // Code point ranges worth mixing: ASCII, controls, Latin and CJK, combining marks, lone
  // surrogates, zero-width and bidi controls, astral emoji, noncharacters.
  const ranges: readonly [number, number][] = [
    [0x20, 0x7e],
    [0x00, 0x1f],
    [0x7f, 0x9f],
    [0xa0, 0x2fff],
    [0x300, 0x36f],
    [0x4e00, 0x9fff],
    [0xd800, 0xdfff],
    [0x200b, 0x200f],
    [0x202a, 0x202e],
    [0xfdd0, 0xfdef],
    [0xfff0, 0xffff],
    [0x1f300, 0x1faff],
    [0xe0000, 0xe007f],
  ];
  const specials = ['"', '\\', '/', '\u0000', '%00', '..', '${', '{{', "'", '\r\n', '<script>'];

  function unicode(maxLength: number): string {
    let out = '';
    const length = int(maxLength + 1);
    while (out.length < length) {
      if (chance(0.05)) {
        out += pick(specials);
        continue;
      }
      const [lo, hi] = pick(ranges);
      const cp = lo + int(hi - lo + 1);
      // Lone surrogates on purpose: String.fromCharCode makes them, fromCodePoint would pair them.
      out += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    return out;
  }

  const oddKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'value ', 'VALUE', 'tier', '$where', '\u0000', 'a.b', '0'];
  function key(): string {
    return chance(0.4) ? pick(oddKeys) : unicode(20);
  }

  /** Sets an own, enumerable property, so that JSON.stringify writes even `__proto__`. */
  function set(target: Record<string, unknown>, k: string, v: unknown): void {
    Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
  }

  function scalar(): unknown {
    switch (int(9)) {
      case 0:
        return unicode(40);
      case 1:
        return int(2 ** 31) - 2 ** 30;
      case 2:
        return pick([0, -0, 1e308, -1e308, 2 ** 53 + 1, 0.1, Number.MAX_SAFE_INTEGER, -1]);
      case 3:
        return chance(0.5);
      case 4:
        return null;
      case 5:
        return pick(['P0', 'P1', 'P2', 'api_key', 'other', 'true', '1', '2030-01-01T00:00:00Z', '']);
      case 6:
        return 'x'.repeat(pick([1024, 1025, 65_536, 65_537]));
      case 7:
        return datetime();
      default:
        return unicode(8);
    }
  }

  function nested(depth: number): unknown {
    let v: unknown = scalar();
    for (let i = 0; i < depth; i++) {
      if (chance(0.5)) v = [v];
      else {
        const o: Record<string, unknown> = {};
        set(o, key(), v);
        v = o;
      }
    }
    return v;
  }

  function anyValue(depth = 0): unknown {
    const roll = int(10);
    if (roll === 0) return nested(1 + int(300));
    if (depth < 3 && roll === 1) return Array.from({ length: int(5) }, () => anyValue(depth + 1));
    if (depth < 3 && roll === 2) {
      const o: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) set(o, key(), anyValue(depth + 1));
      return o;
    }
    return scalar();
  }

  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  /** ISO-8601-shaped text with fields anywhere in (and a little past) their ranges. */
  function datetime(): string {
    const date = `${pad(int(10_000), 4)}-${pad(int(14), 2)}-${pad(int(33), 2)}`;
    const time = `${pad(int(25), 2)}:${pad(int(61), 2)}:${pad(int(61), 2)}${chance(0.3) ? `.${pad(int(1000), 3)}` : ''}`;
    const zone = pick(['Z', '', `${pick(['+', '-'])}${pad(int(24), 2)}:${pad(int(60), 2)}`]);
    return `${date}T${time}${zone}`;
  }

  const fields = ['value', 'type', 'tier', 'metadata', 'expires_at'] as const;
  const metadataKeyChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-';
  const metadataKey = () => Array.from({ length: 1 + int(20) }, () => pick([...metadataKeyChars])).join('');

  /** A valid PUT body with 1–3 random mutations; sometimes not an object at all. */
  function putBody(): unknown {
    const body: Record<string, unknown> = {
      value: 'fuzz-value',
      type: 'api_key',
      tier: 'P1',
      metadata: { owner: 'fuzz' },
      expires_at: '2099-01-01T00:00:00Z',
    };
    for (let n = 1 + int(3); n > 0; n--) {
      switch (int(10)) {
        case 0:
          set(body, pick(fields), anyValue());
          break;
        case 1:
          delete body[pick(fields)];
          break;
        case 2:
          set(body, key(), anyValue());
          break;
        case 3: {
          const metadata = (typeof body.metadata === 'object' && body.metadata !== null ? body.metadata : {}) as Record<string, unknown>;
          set(metadata, metadataKey(), chance(0.7) ? unicode(60) : scalar());
          set(body, 'metadata', metadata);
          break;
        }
        case 4: {
          const metadata: Record<string, unknown> = {};
          for (let i = int(40); i > 0; i--) set(metadata, chance(0.8) ? metadataKey() : key(), chance(0.8) ? scalar() : anyValue());
          set(body, 'metadata', metadata);
          break;
        }
        case 5:
          set(body, 'expires_at', chance(0.8) ? datetime() : anyValue());
          break;
        case 6:
          set(body, 'value', chance(0.9) ? unicode(200) : unicode(70_000));
          break;
        case 7:
          set(body, pick(['type', 'tier']), pick(['api_key', 'P0', 'P9', 'nope', 'API_KEY', '', 'other\u0000', unicode(10)]));
          break;
        case 8:
          set(body, 'value', nested(1 + int(50)));
          break;
        default:
          return anyValue();
      }
    }
    return body;
  }

  return { putBody, anyValue, unicode, key, set, scalar, nested, pick, int, chance };
}

/** What the server logged about a failed request (its error's code and message), to name the bug. */
function serverReason(requestId: unknown): string {
  for (const line of t.logs) {
    if (typeof requestId !== 'string' || !line.includes(requestId)) continue;
    const record = JSON.parse(line) as { err?: { code?: string; message?: string } };
    if (record.err) return `[logged: ${record.err.code ?? '-'} ${record.err.message ?? ''}]`;
  }
  return '[nothing logged]';
}

describe('generated malformed writes', () => {
  const accepted: string[] = [];

  test('a few hundred random mutations of a valid write never answer 5xx, and every refusal is a 4xx problem', async () => {
    const fuzzer = createFuzzer(0x5eed_1e55);
    const failures: string[] = [];
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const payload = JSON.stringify(fuzzer.putBody());
      const res = await t.app.inject({
        method: 'PUT',
        url: `/v1/vaults/${fuzzVaultId}/secrets/fuzz/case-${i}`,
        headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
        payload,
      });
      const answer: Answer = { status: res.statusCode, headers: res.headers, body: res.body };
      if (res.statusCode === 200 || res.statusCode === 201) {
        accepted.push(`fuzz/case-${i}`);
        continue;
      }
      try {
        assertClientProblem(answer, `case ${i}`);
        refused++;
      } catch {
        failures.push(`#${i} ${res.statusCode} ${serverReason(res.headers['x-request-id'])}\n    sent: ${JSON.stringify(payload.slice(0, 400))}`);
      }
    }
    assert.equal(failures.length, 0, `${failures.length} generated requests were not answered with 2xx or a 4xx problem:\n${failures.slice(0, 15).join('\n')}`);
    // The generator must exercise both outcomes, or it tests nothing.
    assert.ok(accepted.length > 0, 'no generated write was accepted');
    assert.ok(refused > 100, `only ${refused} generated writes were refused`);
  });

  test('every generated write that was accepted reads back (or is expired), and the vault still lists', async () => {
    assert.ok(accepted.length > 0);
    const broken: string[] = [];
    for (const path of accepted) {
      const res = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${fuzzVaultId}/secrets/${path}` });
      if (res.statusCode !== 200 && !(res.statusCode === 410 && res.json().code === 'SECRET_EXPIRED')) {
        broken.push(`${path}: ${res.statusCode} ${serverReason(res.headers['x-request-id'])}`);
      }
    }
    assert.deepEqual(broken, []);
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${fuzzVaultId}/secrets?limit=1000` });
    assert.equal(list.statusCode, 200, `${list.body.slice(0, 200)} ${serverReason(list.headers['x-request-id'])}`);
    assert.equal(list.json().secrets.length, accepted.length);
  });
});

// --- generated inputs on every route --------------------------------------------------------

/** A valid request for one route, in an org of its own; the generator mutates it. */
interface Template {
  route: string; // METHOD + OpenAPI path
  params?: () => Record<string, string>;
  query?: () => Record<string, string>;
  body?: () => unknown;
  /**
   * The org's root token (default), its employee (who requests access, signed in), no token, or
   * a caller made for each request (a route that ends its caller's session, or the person).
   */
  as?: 'member' | 'none' | (() => Promise<string>);
  /** Request headers besides Authorization (the cookie a browser sends back to an OIDC callback). */
  headers?: () => Record<string, string>;
}

/** What the OpenAPI document says a route takes: its path and query parameters, its body's fields. */
interface OperationInput {
  route: string;
  path: string;
  query: string[];
  fields: string[];
  /** The redirects the route answers with when it succeeds (a browser's OIDC sign-in). */
  redirects: number[];
}

describe('generated malformed requests on every route', () => {
  test('random mutations of a valid request to every route (params, query, body) never answer 5xx; every refusal is a 4xx problem', async (ctx) => {
    // An org of its own: accepted mutations change only it.
    const gen = await t.createOrg();
    const genVault = await createVault(t, gen, 'gen-vault');
    await putSecret(t, gen, genVault, 'keep/me', { value: 'gen' });
    const asGen = async (method: Method, url: string, payload?: Record<string, unknown>) => {
      const res = await t.call(gen.token, { method, url, ...(payload ? { payload } : {}) });
      assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
      return res.statusCode === 204 ? {} : res.json();
    };
    const agent = await createAgent(t, gen, 'gen-agent');
    const doomedAgent = await createAgent(t, gen, 'gen-agent-doomed');
    const policyId = await createPolicy(t, gen, genVault, { principal_type: 'agent', principal_id: agent.id, secret_path_pattern: '/keep/*', permissions: ['read'] });
    const doomedPolicy = await createPolicy(t, gen, genVault, { principal_type: 'role', principal_id: 'employee', secret_path_pattern: '/x/*', permissions: ['read'] });
    const employee = await createMember(t, gen, 'employee');
    const reviewer = await createMember(t, gen, 'admin');
    const doomedVault = await createVault(t, gen, 'gen-vault-doomed');
    const target = await createMember(t, gen, 'employee');
    const doomedMember = await createMember(t, gen, 'employee');
    const team = (await asGen('POST', '/v1/teams', { name: 'gen-team' })).id as string;
    const doomedTeam = (await asGen('POST', '/v1/teams', { name: 'gen-team-doomed' })).id as string;
    const role = (await asGen('POST', '/v1/roles', { name: 'gen-role', org_grants: { vaults: ['describe'] } })).id as string;
    const doomedRole = (await asGen('POST', '/v1/roles', { name: 'gen-role-doomed' })).id as string;
    const campaign = await asGen('POST', '/v1/access/reviews', { name: 'gen-review', due_at: FUTURE });
    const approvalIds: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await t.call(employee.token, {
        method: 'POST',
        url: '/v1/approvals',
        payload: { vault_id: genVault, secret_path_pattern: `/gen${i}/*`, permissions: ['read'], reason: 'generated' },
      });
      assert.equal(res.statusCode, 201, res.body);
      approvalIds.push(res.json().id);
    }
    const sink = (await asGen('POST', '/v1/audit/sinks', { kind: 'syslog', name: 'gen-sink', host: '127.0.0.1', port: 9, tls: false })).id as string;
    let n = 0;
    const unique = (what: string) => `${what}-${++n}`;

    // The identity routes: people (some in the org, most in none) and what they act on.
    const person = await signInWithoutOrg(t);
    const personOtherSession = (await openSession(t, person.userId, null)).sessionId;
    const genPassworded = await signInWithoutOrg(t);
    const twoFactor = await signInWithoutOrg(t);
    for (const p of [genPassworded, twoFactor]) {
      const set = await t.call(p.token, { method: 'PUT', url: '/v1/me/password', payload: { password: PASSWORD } });
      assert.equal(set.statusCode, 204, set.body);
    }
    const twoFactorDevice = await enrolTotp(t, twoFactor.token);
    const remover = await signInWithoutOrg(t);
    await enrolTotp(t, remover.token);
    const regenerator = await signInWithoutOrg(t);
    await enrolTotp(t, regenerator.token);
    const confirmer = await signInWithoutOrg(t);
    const enrolled = await t.call(confirmer.token, { method: 'POST', url: '/v1/me/mfa/totp' });
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    const confirmerSecret = base32Decode(enrolled.json().secret);
    const founder = await signInWithoutOrg(t);
    const switcher = await createMember(t, gen, 'employee');
    const heir = await createMember(t, gen, 'employee');
    const tokenHolder = await createMember(t, gen, 'employee');
    const invitee = await signInWithoutOrg(t);
    const invitation = (await asGen('POST', '/v1/invitations', { email: invitee.email, role: 'employee' })).token as string;
    const doomedInvitation = (await asGen('POST', '/v1/invitations', { email: personEmail('doomed'), role: 'employee' })).id as string;
    // Credentials the sign-in templates present once (the unmutated request uses them up).
    const verifyEmail = personEmail('verify');
    const verifyCode = await mailedCode(t, mail, verifyEmail);
    const firstFactor = await t.call(undefined, { method: 'POST', url: '/v1/auth/password', payload: { email: twoFactor.email, password: PASSWORD } });
    assert.equal(firstFactor.json().mfa_required, true, firstFactor.body);
    const mfaToken = firstFactor.json().mfa_token as string;
    const refreshToken = (await signInByEmail(t, mail, personEmail('refresh'))).refresh_token;
    // An OIDC sign-in started in a browser and signed in at the provider: where it comes back.
    const started = await t.call(undefined, { method: 'GET', url: '/v1/auth/oidc/test/start' });
    assert.equal(started.statusCode, 302, started.body);
    const binding = started.cookies.find((c) => c.name === '__Host-sr_oidc')?.value as string;
    const back = await provider.login(String(started.headers.location), 'ada');

    const policyBody = () => ({
      principal_type: 'role',
      principal_id: 'employee',
      secret_path_pattern: '/gen/**',
      permissions: ['describe', 'read'],
      effect: 'allow',
      conditions: { ip_allowlist: ['10.0.0.0/8', '2001:db8::/32'], time_window: { days: [1, 2, 3], start: '08:00', end: '18:00', timezone: 'Europe/Paris' }, mfa_required: false, reason_required: true },
      expires_at: '2099-01-01T00:00:00Z',
      description: 'generated',
    });
    const roleBody = () => ({ name: unique('gen-role'), description: 'generated', org_grants: { vaults: ['describe'], teams: ['describe'] }, vault_scope: 'team', vault_actions: ['describe', 'read'], restricted: false });
    const templates: Template[] = [
      { route: 'POST /v1/vaults', body: () => ({ name: unique('gen-v'), description: 'generated' }) },
      { route: 'GET /v1/vaults' },
      { route: 'GET /v1/vaults/{vaultId}', params: () => ({ vaultId: genVault }) },
      { route: 'GET /v1/vaults/{vaultId}/secrets', params: () => ({ vaultId: genVault }), query: () => ({ prefix: 'keep', limit: '10' }) },
      {
        route: 'PUT /v1/vaults/{vaultId}/secrets/{*}',
        params: () => ({ vaultId: genVault, '*': 'gen/secret' }),
        body: () => ({ value: 'v', type: 'api_key', tier: 'P1', metadata: { owner: 'gen' }, expires_at: '2099-01-01T00:00:00Z' }),
      },
      { route: 'GET /v1/vaults/{vaultId}/secrets/{*}', params: () => ({ vaultId: genVault, '*': 'keep/me' }), query: () => ({ version: '1' }) },
      { route: 'GET /v1/audit/events', query: () => ({ limit: '5', outcome: 'success', action: 'vault.create' }) },
      { route: 'GET /v1/audit/events/{seq}/proof', params: () => ({ seq: '1' }) },
      { route: 'GET /v1/audit/consistency', query: () => ({ from: '1', to: '2' }) },
      { route: 'GET /v1/audit/heads/latest' },
      { route: 'GET /v1/audit/heads' },
      { route: 'POST /v1/audit/heads' },
      { route: 'GET /v1/audit/export' },
      { route: 'POST /v1/audit/sinks', body: () => ({ kind: 'syslog', name: unique('gen-sink'), host: '127.0.0.1', port: 9, tls: false, app_name: 'gen' }) },
      { route: 'GET /v1/audit/sinks' },
      { route: 'POST /v1/agents', body: () => ({ name: unique('gen-agent'), description: 'generated', token_ttl_seconds: 900 }) },
      { route: 'GET /v1/agents' },
      { route: 'GET /v1/agents/{agentId}', params: () => ({ agentId: agent.id }) },
      { route: 'PATCH /v1/agents/{agentId}', params: () => ({ agentId: agent.id }), body: () => ({ description: 'patched', token_ttl_seconds: 600 }) },
      { route: 'POST /v1/auth/agent-token', body: () => ({ agent_id: agent.id, api_key: agent.apiKey }), as: 'none' },
      { route: 'POST /v1/vaults/{vaultId}/policies', params: () => ({ vaultId: genVault }), body: policyBody },
      { route: 'GET /v1/vaults/{vaultId}/policies', params: () => ({ vaultId: genVault }) },
      { route: 'GET /v1/vaults/{vaultId}/policies/{policyId}', params: () => ({ vaultId: genVault, policyId }) },
      { route: 'PUT /v1/vaults/{vaultId}/policies/{policyId}', params: () => ({ vaultId: genVault, policyId }), body: () => ({ ...policyBody(), principal_type: 'agent', principal_id: agent.id }) },
      {
        route: 'GET /v1/authz/explain',
        query: () => ({ principal: `agent:${agent.id}`, action: 'read', resource: `vault:${genVault}/keep/me`, ip: '10.1.2.3', reason: '1', mfa: '0' }),
      },
      { route: 'POST /v1/members', body: () => ({ email: `${unique('gen')}@example.com`, display_name: 'Gen', role: 'employee' }) },
      { route: 'GET /v1/members' },
      { route: 'GET /v1/members/{memberId}', params: () => ({ memberId: target.id }) },
      { route: 'PATCH /v1/members/{memberId}', params: () => ({ memberId: target.id }), body: () => ({ display_name: 'Patched', role: 'employee', active: true }) },
      { route: 'POST /v1/teams', body: () => ({ name: unique('gen-team'), description: 'generated' }) },
      { route: 'GET /v1/teams' },
      { route: 'GET /v1/teams/{teamId}', params: () => ({ teamId: team }) },
      { route: 'PATCH /v1/teams/{teamId}', params: () => ({ teamId: team }), body: () => ({ description: 'patched' }) },
      { route: 'PUT /v1/teams/{teamId}/members/{memberId}', params: () => ({ teamId: team, memberId: target.id }) },
      { route: 'GET /v1/roles' },
      { route: 'GET /v1/roles/{roleId}', params: () => ({ roleId: role }) },
      { route: 'POST /v1/roles', body: roleBody },
      { route: 'PUT /v1/roles/{roleId}', params: () => ({ roleId: role }), body: roleBody },
      { route: 'GET /v1/access/matrix', query: () => ({ format: 'csv' }) },
      { route: 'POST /v1/access/reviews', body: () => ({ name: unique('gen-review'), due_at: FUTURE, reviewer_member_id: reviewer.id }) },
      { route: 'GET /v1/access/reviews' },
      { route: 'GET /v1/access/reviews/{reviewId}', params: () => ({ reviewId: campaign.id }) },
      {
        route: 'POST /v1/access/reviews/{reviewId}/items/{itemId}/decision',
        params: () => ({ reviewId: campaign.id, itemId: campaign.items[0].id }),
        body: () => ({ decision: 'keep', note: 'generated' }),
      },
      { route: 'POST /v1/access/reviews/{reviewId}/reminders', params: () => ({ reviewId: campaign.id }) },
      { route: 'POST /v1/approvals', body: () => ({ vault_id: genVault, secret_path_pattern: '/gen/*', permissions: ['read'], reason: 'generated', duration_seconds: 3600 }), as: 'member' },
      { route: 'GET /v1/approvals', query: () => ({ status: 'pending' }) },
      { route: 'GET /v1/approvals/{approvalId}', params: () => ({ approvalId: approvalIds[0] as string }) },
      { route: 'POST /v1/approvals/{approvalId}/deny', params: () => ({ approvalId: approvalIds[1] as string }), body: () => ({ note: 'generated' }) },
      { route: 'POST /v1/approvals/{approvalId}/approve', params: () => ({ approvalId: approvalIds[0] as string }), body: () => ({ note: 'generated', duration_seconds: 600 }) },
      // Sign-in.
      { route: 'POST /v1/auth/email/start', body: () => ({ email: personEmail('gen') }), as: 'none' },
      { route: 'POST /v1/auth/email/verify', body: () => ({ email: verifyEmail, code: verifyCode, session: 'token' }), as: 'none' },
      { route: 'POST /v1/auth/password', body: () => ({ email: genPassworded.email, password: PASSWORD, session: 'token' }), as: 'none' },
      { route: 'POST /v1/auth/mfa', body: () => ({ mfa_token: mfaToken, recovery_code: twoFactorDevice.recoveryCodes[0], session: 'token' }), as: 'none' },
      { route: 'POST /v1/auth/refresh', body: () => ({ refresh_token: refreshToken }), as: 'none' },
      { route: 'GET /v1/auth/oidc/providers', as: 'none' },
      { route: 'GET /v1/auth/oidc/{provider}/start', params: () => ({ provider: 'test' }), query: () => ({ return_to: '/dashboard' }), as: 'none' },
      {
        route: 'GET /v1/auth/oidc/{provider}/callback',
        params: () => ({ provider: 'test' }),
        query: () => Object.fromEntries(back.searchParams),
        headers: () => ({ cookie: `__Host-sr_oidc=${binding}` }),
        as: 'none',
      },
      // The signed-in person. Routes that end the caller's session, or the caller, get a new one each time.
      { route: 'GET /v1/me', as: 'member' },
      { route: 'GET /v1/me/orgs', as: 'member' },
      { route: 'GET /v1/me/sessions', as: 'member' },
      { route: 'DELETE /v1/me/sessions/{sessionId}', params: () => ({ sessionId: personOtherSession }), as: async () => person.token },
      { route: 'POST /v1/auth/switch', body: () => ({ org_id: gen.orgId }), as: async () => (await openSession(t, switcher.userId, gen.orgId)).token },
      { route: 'POST /v1/auth/step-up', body: () => ({ recovery_code: twoFactorDevice.recoveryCodes[1] }), as: async () => twoFactor.token },
      { route: 'POST /v1/auth/sign-out', as: async () => (await openSession(t, person.userId, null)).token },
      { route: 'POST /v1/auth/sign-out-everywhere', as: async () => (await signInWithoutOrg(t)).token },
      { route: 'POST /v1/me/mfa/totp', as: async () => person.token },
      {
        route: 'POST /v1/me/mfa/totp/confirm',
        body: () => ({ code: totpCode(confirmerSecret, totpStep(new Date())) }),
        as: async () => confirmer.token,
      },
      { route: 'POST /v1/me/mfa/recovery-codes', as: async () => regenerator.token },
      { route: 'DELETE /v1/me/mfa/totp', as: async () => remover.token },
      { route: 'PUT /v1/me/password', body: () => ({ password: `${PASSWORD}-${unique('pw')}` }), as: async () => person.token },
      { route: 'DELETE /v1/me', as: async () => (await signInWithoutOrg(t)).token },
      { route: 'POST /v1/orgs', body: () => ({ name: unique(`gen-founded-${process.pid}`) }), as: async () => founder.token },
      { route: 'POST /v1/invitations/accept', body: () => ({ token: invitation }), as: async () => invitee.token },
      // The org, its invitations and tokens.
      { route: 'GET /v1/org' },
      { route: 'PATCH /v1/org', body: () => ({ require_mfa: false, password_sign_in: false }) },
      { route: 'POST /v1/org/leave', as: async () => (await createMember(t, gen, 'employee')).token },
      { route: 'POST /v1/org/transfer-ownership', body: () => ({ member_id: heir.id }) },
      { route: 'POST /v1/invitations', body: () => ({ email: personEmail('gen-invited'), role: 'employee', expires_in_hours: 48 }) },
      { route: 'GET /v1/invitations' },
      { route: 'DELETE /v1/invitations/{invitationId}', params: () => ({ invitationId: doomedInvitation }) },
      { route: 'POST /v1/tokens', body: () => ({ description: 'generated', expires_in_days: 30 }), as: 'member' },
      { route: 'GET /v1/tokens', as: 'member' },
      { route: 'DELETE /v1/tokens/{tokenId}', params: () => ({ tokenId: tokenIdOf(tokenHolder.personalToken) }) },
      { route: 'POST /v1/members/{memberId}/sessions/revoke', params: () => ({ memberId: target.id }) },
      // What removes or rotates things last, so the rest reach real resources.
      { route: 'POST /v1/agents/{agentId}/rotate-key', params: () => ({ agentId: doomedAgent.id }) },
      { route: 'POST /v1/access/reviews/{reviewId}/close', params: () => ({ reviewId: campaign.id }) },
      { route: 'DELETE /v1/teams/{teamId}/members/{memberId}', params: () => ({ teamId: team, memberId: target.id }) },
      { route: 'DELETE /v1/vaults/{vaultId}/secrets/{*}', params: () => ({ vaultId: genVault, '*': 'gen/secret' }), query: () => ({ version: '1' }) },
      { route: 'DELETE /v1/vaults/{vaultId}/policies/{policyId}', params: () => ({ vaultId: genVault, policyId: doomedPolicy }) },
      { route: 'DELETE /v1/agents/{agentId}', params: () => ({ agentId: doomedAgent.id }) },
      { route: 'DELETE /v1/members/{memberId}', params: () => ({ memberId: doomedMember.id }) },
      { route: 'DELETE /v1/teams/{teamId}', params: () => ({ teamId: doomedTeam }) },
      { route: 'DELETE /v1/roles/{roleId}', params: () => ({ roleId: doomedRole }) },
      { route: 'DELETE /v1/audit/sinks/{sinkId}', params: () => ({ sinkId: sink }) },
      { route: 'DELETE /v1/vaults/{vaultId}', params: () => ({ vaultId: doomedVault }), query: () => ({ force: 'false' }) },
    ];

    // The document says what each route takes; every route of it has a template.
    const doc = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as {
      paths: Record<string, Record<string, { responses?: Record<string, unknown>; parameters?: { in: string; name: string }[]; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; oneOf?: { properties?: Record<string, unknown> }[]; anyOf?: { properties?: Record<string, unknown> }[] } }> } }>>;
    };
    const inputs = new Map<string, OperationInput>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [m, op] of Object.entries(ops)) {
        const schema = op.requestBody?.content['application/json']?.schema;
        const variants = schema ? [schema, ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])] : [];
        inputs.set(`${m.toUpperCase()} ${path}`, {
          route: `${m.toUpperCase()} ${path}`,
          path,
          query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
          fields: [...new Set(variants.flatMap((v) => Object.keys(v.properties ?? {})))],
          redirects: Object.keys(op.responses ?? {}).map(Number).filter((status) => status >= 300 && status < 400),
        });
      }
    }
    assert.deepEqual(
      [...inputs.keys()].filter((r) => !templates.some((tpl) => tpl.route === r)),
      [],
      'routes of the OpenAPI document without a generator template',
    );
    assert.deepEqual(templates.filter((tpl) => !inputs.has(tpl.route)).map((tpl) => tpl.route), [], 'templates of routes the document does not have');

    const fuzz = createFuzzer(0xacce55);
    const { pick, int, chance, unicode, anyValue, key, set, scalar } = fuzz;
    const junkIds = () =>
      pick([
        '',
        'x',
        '0',
        '-1',
        '1e3',
        '18446744073709551616',
        'owner',
        'null',
        'undefined',
        '00000000-0000-0000-0000-000000000000',
        'ffffffff-ffff-ffff-ffff-ffffffffffff',
        randomUUID(),
        randomUUID().toUpperCase(),
        `{${randomUUID()}}`,
        `${randomUUID()}x`,
        randomUUID().replaceAll('-', ''),
        "' OR 1=1 --",
        '..',
        '%00',
        '%zz',
        '\u0000',
        'a'.repeat(3000),
        unicode(40),
      ]);
    const junkQueryValue = () => pick(['', 'true', 'false', '0', '1', '-1', '1.5', 'NaN', 'x'.repeat(2000), '%', '%ff', randomUUID(), unicode(30), String(2 ** 64)]);

    function mutateBody(body: unknown, fields: string[]): unknown {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return anyValue();
      const o = { ...(body as Record<string, unknown>) };
      const field = () => (fields.length > 0 && chance(0.8) ? pick(fields) : key());
      switch (int(8)) {
        case 0:
          set(o, field(), anyValue());
          break;
        case 1:
          delete o[pick(Object.keys(o).length > 0 ? Object.keys(o) : [''])];
          break;
        case 2:
          set(o, key(), anyValue());
          break;
        case 3:
          set(o, field(), chance(0.5) ? unicode(300) : 'z'.repeat(pick([101, 1001, 2049, 70_000])));
          break;
        case 4: {
          // One level down: a field of a nested object (conditions, org_grants, metadata).
          const nestedKey = Object.keys(o).find((k) => typeof o[k] === 'object' && o[k] !== null && !Array.isArray(o[k]));
          if (nestedKey === undefined) set(o, field(), scalar());
          else {
            const inner = { ...(o[nestedKey] as Record<string, unknown>) };
            set(inner, chance(0.5) ? pick(Object.keys(inner).length > 0 ? Object.keys(inner) : ['x']) : key(), anyValue());
            set(o, nestedKey, inner);
          }
          break;
        }
        case 5: {
          // An array field: a wrong element, a repeat, many elements.
          const arrayKey = Object.keys(o).find((k) => Array.isArray(o[k]));
          if (arrayKey === undefined) set(o, field(), [scalar()]);
          else {
            const arr = [...(o[arrayKey] as unknown[])];
            const roll = int(3);
            if (roll === 0) arr.push(scalar());
            else if (roll === 1) arr.push(...arr);
            else arr.push(...Array.from({ length: 60 }, () => arr[0] ?? scalar()));
            set(o, arrayKey, arr);
          }
          break;
        }
        case 6:
          set(o, field(), null);
          break;
        default:
          return anyValue();
      }
      return o;
    }

    /** %-encodes any text, lone surrogates too (as UTF-8 would carry them: U+FFFD). */
    const enc = (text: string) => {
      try {
        return encodeURIComponent(text);
      } catch {
        return [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
      }
    };

    /** The template's own request. */
    function unmutated(tpl: Template, input: OperationInput): { url: string; payload?: string } {
      const params = tpl.params?.() ?? {};
      const path = input.path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === '*' ? (params[name] ?? '') : enc(params[name] ?? '')));
      const qs = Object.entries(tpl.query?.() ?? {})
        .map(([q, v]) => `${enc(q)}=${enc(v)}`)
        .join('&');
      const body = tpl.body?.();
      return { url: qs === '' ? path : `${path}?${qs}`, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) };
    }

    function build(tpl: Template, input: OperationInput): { url: string; payload?: string } {
      const params = tpl.params?.() ?? {};
      const query: [string, string][] = Object.entries(tpl.query?.() ?? {});
      let body = tpl.body?.();
      const rawParams = new Set<string>();
      for (let k = 1 + int(3); k > 0; k--) {
        const where = pick([...(body === undefined ? [] : ['body', 'body', 'body']), ...(Object.keys(params).length > 0 ? ['param', 'param'] : []), 'query']);
        if (where === 'body') body = mutateBody(body, input.fields);
        else if (where === 'param') {
          const name = pick(Object.keys(params));
          params[name] = name === '*' ? pick([`${unicode(20)}/x`, 'a//b', '../x', 'a/'.repeat(40), unicode(60)]) : junkIds();
          if (chance(0.15)) rawParams.add(name);
        } else {
          const roll = int(3);
          const known = [...input.query, ...query.map(([q]) => q)];
          if (roll === 0 && known.length > 0) query.push([pick(known), junkQueryValue()]);
          else if (roll === 1 && query.length > 0) {
            const i = int(query.length);
            query[i] = [query[i]?.[0] as string, junkQueryValue()];
          } else query.push([chance(0.5) ? unicode(10) : pick(['limit', 'cursor', 'org', 'org_id', '__proto__', 'format', 'status']), junkQueryValue()]);
        }
      }
      const path = input.path
        .split('/')
        .map((seg) => {
          const name = /^\{(.+)\}$/.exec(seg)?.[1];
          if (name === undefined) return seg;
          const value = params[name] ?? '';
          if (name === '*') return value.split('/').map((part) => (rawParams.has(name) ? part : enc(part))).join('/');
          return rawParams.has(name) ? value : enc(value);
        })
        .join('/');
      const qs = query.map(([q, v]) => `${enc(q)}=${enc(v)}`).join('&');
      const url = qs === '' ? path : `${path}?${qs}`;
      return body === undefined ? { url } : { url, payload: JSON.stringify(body) };
    }

    const failures: string[] = [];
    /** Templates whose unmutated request was not accepted: the generator must start from valid input. */
    const invalidTemplates: string[] = [];
    const accepted = new Map<string, number>();
    let refused = 0;
    const PER_ROUTE = 12;
    for (const tpl of templates) {
      const input = inputs.get(tpl.route) as OperationInput;
      const method = tpl.route.split(' ')[0] as Method;
      for (let i = -1; i < PER_ROUTE; i++) {
        // #-1 is the template itself, unmutated.
        const { url, payload } = i < 0 ? unmutated(tpl, input) : build(tpl, input);
        const token = typeof tpl.as === 'function' ? await tpl.as() : tpl.as === 'none' ? undefined : tpl.as === 'member' ? employee.token : gen.token;
        const res = await t.app.inject({
          method,
          url,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            ...tpl.headers?.(),
          },
          ...(payload === undefined ? {} : { payload }),
        });
        const succeeded = (res.statusCode >= 200 && res.statusCode < 300) || input.redirects.includes(res.statusCode);
        if (i < 0 && !succeeded) invalidTemplates.push(`${tpl.route}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        if (succeeded) {
          if (i < 0) continue;
          accepted.set(tpl.route, (accepted.get(tpl.route) ?? 0) + 1);
          continue;
        }
        try {
          assertClientProblem({ status: res.statusCode, headers: res.headers, body: res.body }, `${tpl.route} #${i}`);
          refused++;
        } catch {
          failures.push(
            `${tpl.route} #${i}: ${method} ${url.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 200)} ${serverReason(res.headers['x-request-id'])}` +
              (payload === undefined ? '' : `\n    sent: ${JSON.stringify(payload.slice(0, 300))}`),
          );
        }
      }
    }
    assert.deepEqual(invalidTemplates, [], 'every template, unmutated, is accepted');
    assert.equal(failures.length, 0, `${failures.length} generated requests were not answered with 2xx or a 4xx problem:\n${failures.slice(0, 25).join('\n')}`);
    assert.ok(refused > templates.length * PER_ROUTE * 0.5, `only ${refused} generated requests were refused`);
    assert.ok(accepted.size > 0, 'no generated request was accepted');
    ctx.diagnostic(`${refused} refused, ${[...accepted.values()].reduce((x, y) => x + y, 0)} accepted on ${accepted.size} of ${templates.length} routes`);

    // The org still answers every listing after what was accepted and refused.
    for (const url of [
      '/v1/vaults',
      '/v1/agents',
      '/v1/members',
      '/v1/teams',
      '/v1/roles',
      '/v1/access/matrix',
      '/v1/access/reviews',
      '/v1/approvals',
      '/v1/audit/sinks',
      '/v1/audit/events?limit=1000',
      '/v1/org',
      '/v1/invitations',
      '/v1/tokens',
    ]) {
      const res = await t.call(gen.token, { method: 'GET', url });
      assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)} ${serverReason(res.headers['x-request-id'])}`);
    }
    const employeeStill = await t.call(employee.token, { method: 'GET', url: '/v1/approvals' });
    assert.equal(employeeStill.statusCode, 200);
    // The people too: their profile, orgs and sessions still answer.
    for (const token of [employee.token, person.token, founder.token]) {
      for (const url of ['/v1/me', '/v1/me/orgs', '/v1/me/sessions']) {
        const res = await t.call(token, { method: 'GET', url });
        assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 200)} ${serverReason(res.headers['x-request-id'])}`);
      }
    }
  });
});

describe('after every malformed request', () => {
  test('the data loses nothing: the vault and the secret written before still read back unchanged', async () => {
    const read = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/${KEPT_PATH}` });
    assert.equal(read.statusCode, 200, read.body);
    const secret = read.json();
    assert.equal(secret.value, KEPT_VALUE);
    assert.equal(secret.version, 2);
    assert.equal(secret.current_version, 2);
    assert.equal(secret.type, 'password');
    assert.equal(secret.tier, 'P0');
    assert.deepEqual(secret.metadata, { owner: 'ops' });
    const first = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/${KEPT_PATH}?version=1` });
    assert.equal(first.json().value, 'kept-value-v1');

    const vault = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}` });
    assert.equal(vault.statusCode, 200);
    assert.equal(vault.json().name, 'bad-input-vault');
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets?prefix=keep` });
    assert.deepEqual(list.json().secrets.map((s: { path: string }) => s.path), ['/keep/me']);
    // No vault was created by a refused request.
    const vaults = await t.call(org.token, { method: 'GET', url: '/v1/vaults' });
    assert.deepEqual(vaults.json().vaults.map((v: { name: string }) => v.name), ['bad-input-fuzz', 'bad-input-scratch', 'bad-input-vault']);
  });

  test("the org's agent, policy, members, team, role, review, access request, sink, settings, invitation and tokens read back unchanged", async () => {
    assert.deepEqual(await describeKept(), keptBefore);
    // The kept member is still signed in (no refused request ended its session), and its personal token works.
    for (const token of [kept.member.token, kept.member.personalToken]) {
      const res = await t.call(token, { method: 'GET', url: '/v1/vaults' });
      assert.equal(res.statusCode, 200, res.body);
    }
    const me = await t.call(kept.member.token, { method: 'GET', url: '/v1/me' });
    assert.equal(me.json().email, KEPT_EMAIL);
    assert.equal(me.json().password_set, false, 'no refused request set its password');
    assert.deepEqual(me.json().mfa, { totp: false, recent: true });
    // The kept agent still gets a token, and reads through its policy.
    const token = await agentAccessToken(t, kept.agent);
    const read = await t.call(token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/${KEPT_PATH}` });
    assert.equal(read.statusCode, 200, read.body);
    assert.equal(read.json().value, KEPT_VALUE);
  });

  test('a vault that received only refused writes still lists, and holds no secret', async () => {
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${scratchVaultId}/secrets` });
    assert.equal(list.statusCode, 200, `${list.body.slice(0, 200)} ${serverReason(list.headers['x-request-id'])}`);
    assert.deepEqual(list.json().secrets, []);
  });
});
