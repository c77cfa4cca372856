import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { parseToken } from '../src/domains/tokens/tokens.fns.js';
import { INSTALLATION_ORG_ID } from '../src/identity/identity.service.js';
import { base32Decode, totpCode, totpStep } from '../src/identity/totp.js';
import {
  agentAccessToken,
  createAgent,
  createMember,
  createPolicy,
  createTestApp,
  createVault,
  putSecret,
  signInAsMember,
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
  type TestAuthenticator,
  type TestPerson,
} from './support/routes.js';

// Acceptance (A1): every route of the API has a test that shows its audit event, for a success
// and for a failure. The table is checked against the OpenAPI document, so a new route cannot
// be left out.

let t: TestApp;
let org: TestOrg;
let vaultId: string;
/** Sign-in codes are read from what the app mailed. */
const mail = createCapturingMailer();
/** A real OpenID provider on loopback, so an OIDC sign-in can start and finish. */
let provider: TestOidcProvider;
const PUBLIC_URL = 'http://127.0.0.1:8400';
const oidcEmail = personEmail('oidc');

before(async () => {
  provider = await startOidcProvider({
    redirectUris: [`${PUBLIC_URL}/v1/auth/oidc/test/callback`],
    accounts: { ada: { email: oidcEmail, email_verified: true, name: 'Ada' } },
  });
  // Sinks on loopback are allowed here, so a sink can be created without a public SIEM.
  t = await createTestApp({
    audit: { sinksAllowPrivateNetworks: true },
    identity: {
      publicUrl: PUBLIC_URL,
      mailer: mail.mailer,
      oidcProviders: [{ id: 'test', name: 'Test', issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret }],
    },
  });
  org = await t.createOrg();
  vaultId = await createVault(t, org, 'audited');
  await putSecret(t, org, vaultId, 'stripe/key', { value: 'v1' });
  await putSecret(t, org, vaultId, 'stripe/key', { value: 'v2' });
});
after(async () => {
  await t.close();
  await provider.close();
});

interface Expected {
  action: string;
  outcome: 'success' | 'failure' | 'error';
  status: number | null;
  resource: RegExp;
  version?: number;
  /**
   * The authorization decision the event carries (P4): `null` when no decision gated the
   * request (it must then carry none), left out where the test does not look.
   */
  authz?: { allow: boolean; action: string } | null;
  /** Who the event names as the actor; the root token when left out (not checked). */
  actor?: { type: string; id: string };
  /** The chain the event is in (and no other): the test org's when left out. */
  org?: string;
}

/** Who sends a request: a bearer token, or `null` for none. The org's root token by default. */
type As = () => Promise<string | null> | string | null;

/**
 * One route's success and failure. A request may be made just before it is sent (a code just
 * mailed, an invitation just made); the expected event may name what the answer names (an org
 * the request created).
 */
interface Case {
  route: string;
  success: () => InjectOptions | Promise<InjectOptions>;
  successEvent: (res: LightMyRequestResponse) => Expected;
  successAs?: As;
  failure: () => InjectOptions | Promise<InjectOptions>;
  failureEvent: (res: LightMyRequestResponse) => Expected;
  failureAs?: As;
}

const allowed = (action: string) => ({ allow: true, action });
const refused = (action: string) => ({ allow: false, action });
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ref = (type: string, id: string) => new RegExp(`^${type}:${id}$`);
const future = () => new Date(Date.now() + 7 * 86_400_000).toISOString();

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

  // --- agents --------------------------------------------------------------------------------
  {
    route: 'POST /v1/agents',
    success: () => ({ method: 'POST', url: '/v1/agents', payload: { name: `a-${randomUUID()}` } }),
    successEvent: () => ({ action: 'agent.create', outcome: 'success', status: null, resource: ref('agent', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/agents', payload: { name: 'refused' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'agent.create', outcome: 'failure', status: 404, resource: /^agent:\(new\)$/, authz: refused('admin'), actor: { type: 'user', id: employee.id } }),
  },
  {
    route: 'GET /v1/agents',
    success: () => ({ method: 'GET', url: '/v1/agents' }),
    successEvent: () => ({ action: 'agent.list', outcome: 'success', status: 200, resource: /^org:/, authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/agents' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'agent.list', outcome: 'failure', status: 404, resource: /^org:/, authz: refused('describe') }),
  },
  {
    route: 'GET /v1/agents/{agentId}',
    success: () => ({ method: 'GET', url: `/v1/agents/${subject.id}` }),
    successEvent: () => ({ action: 'agent.describe', outcome: 'success', status: 200, resource: ref('agent', subject.id), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: `/v1/agents/${subject.id}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'agent.describe', outcome: 'failure', status: 404, resource: ref('agent', subject.id), authz: refused('describe') }),
  },
  {
    route: 'PATCH /v1/agents/{agentId}',
    success: () => ({ method: 'PATCH', url: `/v1/agents/${subject.id}`, payload: { description: 'audited change' } }),
    successEvent: () => ({ action: 'agent.update', outcome: 'success', status: null, resource: ref('agent', subject.id), authz: allowed('admin') }),
    // A missing agent: allowed, and then not found.
    failure: () => ({ method: 'PATCH', url: `/v1/agents/${missingVault}`, payload: { description: 'nobody' } }),
    failureEvent: () => ({ action: 'agent.update', outcome: 'failure', status: 404, resource: ref('agent', missingVault), authz: allowed('admin') }),
  },
  {
    route: 'POST /v1/agents/{agentId}/rotate-key',
    success: () => ({ method: 'POST', url: `/v1/agents/${subject.id}/rotate-key` }),
    successEvent: () => ({ action: 'agent.key.rotate', outcome: 'success', status: null, resource: ref('agent', subject.id), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: `/v1/agents/${missingVault}/rotate-key` }),
    failureEvent: () => ({ action: 'agent.key.rotate', outcome: 'failure', status: 404, resource: ref('agent', missingVault), authz: allowed('admin') }),
  },
  {
    route: 'DELETE /v1/agents/{agentId}',
    success: () => ({ method: 'DELETE', url: `/v1/agents/${subject.id}` }),
    successEvent: () => ({ action: 'agent.delete', outcome: 'success', status: null, resource: ref('agent', subject.id), authz: allowed('admin') }),
    failure: () => ({ method: 'DELETE', url: `/v1/agents/${requester.id}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'agent.delete', outcome: 'failure', status: 404, resource: ref('agent', requester.id), authz: refused('admin') }),
  },
  {
    route: 'POST /v1/auth/agent-token',
    success: () => ({ method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: requester.id, api_key: requester.apiKey } }),
    successAs: () => null,
    successEvent: () => ({
      action: 'agent.token.issue',
      outcome: 'success',
      status: 200,
      resource: ref('agent', requester.id),
      authz: null,
      actor: { type: 'agent', id: requester.id },
    }),
    // The right agent, a wrong key: recorded in the org the key names, as a failed authentication.
    failure: () => ({ method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: requester.id, api_key: tampered(requester.apiKey) } }),
    failureAs: () => null,
    failureEvent: () => ({
      action: 'auth.failure',
      outcome: 'failure',
      status: 401,
      resource: /^agent:\(unverified\)$/,
      authz: null,
      actor: { type: 'anonymous', id: '-' },
    }),
  },

  // --- policies ------------------------------------------------------------------------------
  {
    route: 'POST /v1/vaults/{vaultId}/policies',
    success: () => ({ method: 'POST', url: `/v1/vaults/${vaultId}/policies`, payload: policyBody('/new/*') }),
    successEvent: () => ({ action: 'policy.create', outcome: 'success', status: null, resource: ref('policy', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: `/v1/vaults/${vaultId}/policies`, payload: policyBody('/refused/*') }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'policy.create', outcome: 'failure', status: 404, resource: /^policy:\(new\)$/, authz: refused('admin') }),
  },
  {
    route: 'GET /v1/vaults/{vaultId}/policies',
    success: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/policies` }),
    successEvent: () => ({ action: 'policy.list', outcome: 'success', status: 200, resource: ref('vault', vaultId), authz: allowed('admin') }),
    // A role restricted by separation of duties never manages policies.
    failure: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/policies` }),
    failureAs: () => office.token,
    failureEvent: () => ({ action: 'policy.list', outcome: 'failure', status: 403, resource: ref('vault', vaultId), authz: refused('admin') }),
  },
  {
    route: 'GET /v1/vaults/{vaultId}/policies/{policyId}',
    success: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/policies/${policyId}` }),
    successEvent: () => ({ action: 'policy.describe', outcome: 'success', status: 200, resource: ref('policy', policyId), authz: allowed('admin') }),
    failure: () => ({ method: 'GET', url: `/v1/vaults/${vaultId}/policies/${missingVault}` }),
    failureEvent: () => ({ action: 'policy.describe', outcome: 'failure', status: 404, resource: ref('policy', missingVault), authz: allowed('admin') }),
  },
  {
    route: 'PUT /v1/vaults/{vaultId}/policies/{policyId}',
    success: () => ({ method: 'PUT', url: `/v1/vaults/${vaultId}/policies/${policyId}`, payload: policyBody('/changed/*') }),
    successEvent: () => ({ action: 'policy.update', outcome: 'success', status: null, resource: ref('policy', policyId), authz: allowed('admin') }),
    failure: () => ({ method: 'PUT', url: `/v1/vaults/${vaultId}/policies/${policyId}`, payload: policyBody('/refused/*') }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'policy.update', outcome: 'failure', status: 404, resource: ref('policy', policyId), authz: refused('admin') }),
  },
  {
    route: 'DELETE /v1/vaults/{vaultId}/policies/{policyId}',
    success: () => ({ method: 'DELETE', url: `/v1/vaults/${vaultId}/policies/${policyToDelete}` }),
    successEvent: () => ({ action: 'policy.delete', outcome: 'success', status: null, resource: ref('policy', policyToDelete), authz: allowed('admin') }),
    failure: () => ({ method: 'DELETE', url: `/v1/vaults/${vaultId}/policies/${policyId}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'policy.delete', outcome: 'failure', status: 404, resource: ref('policy', policyId), authz: refused('admin') }),
  },
  {
    route: 'GET /v1/authz/explain',
    success: () => ({ method: 'GET', url: `/v1/authz/explain?principal=user:${employee.id}&action=read&resource=vault:${vaultId}/stripe/key` }),
    successEvent: () => ({ action: 'authz.explain', outcome: 'success', status: 200, resource: /^authz:explain$/, authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: `/v1/authz/explain?principal=user:${employee.id}&action=read&resource=org:vaults` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'authz.explain', outcome: 'failure', status: 404, resource: /^authz:explain$/, authz: refused('describe') }),
  },

  // --- members -------------------------------------------------------------------------------
  {
    route: 'POST /v1/members',
    success: () => ({ method: 'POST', url: '/v1/members', payload: { email: `${randomUUID()}@example.com`, role: 'employee' } }),
    successEvent: () => ({ action: 'member.create', outcome: 'success', status: null, resource: ref('member', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/members', payload: { email: `${randomUUID()}@example.com`, role: 'employee' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'member.create', outcome: 'failure', status: 404, resource: /^member:\(new\)$/, authz: refused('admin') }),
  },
  {
    route: 'GET /v1/members',
    success: () => ({ method: 'GET', url: '/v1/members' }),
    successEvent: () => ({ action: 'member.list', outcome: 'success', status: 200, resource: /^org:/, authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/members' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'member.list', outcome: 'failure', status: 404, resource: /^org:/, authz: refused('describe') }),
  },
  {
    route: 'GET /v1/members/{memberId}',
    success: () => ({ method: 'GET', url: `/v1/members/${colleague.id}` }),
    successEvent: () => ({ action: 'member.describe', outcome: 'success', status: 200, resource: ref('member', colleague.id), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: `/v1/members/${missingVault}` }),
    failureEvent: () => ({ action: 'member.describe', outcome: 'failure', status: 404, resource: ref('member', missingVault), authz: allowed('describe') }),
  },
  {
    route: 'PATCH /v1/members/{memberId}',
    success: () => ({ method: 'PATCH', url: `/v1/members/${colleague.id}`, payload: { display_name: 'Audited Colleague' } }),
    successEvent: () => ({ action: 'member.update', outcome: 'success', status: null, resource: ref('member', colleague.id), authz: allowed('admin') }),
    failure: () => ({ method: 'PATCH', url: `/v1/members/${colleague.id}`, payload: { role: 'admin' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'member.update', outcome: 'failure', status: 404, resource: ref('member', colleague.id), authz: refused('admin') }),
  },
  {
    route: 'DELETE /v1/members/{memberId}',
    success: () => ({ method: 'DELETE', url: `/v1/members/${memberToDelete.id}` }),
    successEvent: () => ({ action: 'member.delete', outcome: 'success', status: null, resource: ref('member', memberToDelete.id), authz: allowed('admin') }),
    failure: () => ({ method: 'DELETE', url: `/v1/members/${colleague.id}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'member.delete', outcome: 'failure', status: 404, resource: ref('member', colleague.id), authz: refused('admin') }),
  },

  // --- teams ---------------------------------------------------------------------------------
  {
    route: 'POST /v1/teams',
    success: () => ({ method: 'POST', url: '/v1/teams', payload: { name: `t-${randomUUID()}` } }),
    successEvent: () => ({ action: 'team.create', outcome: 'success', status: null, resource: ref('team', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/teams', payload: { name: 'refused-team' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'team.create', outcome: 'failure', status: 404, resource: /^team:\(new\)$/, authz: refused('admin') }),
  },
  {
    route: 'GET /v1/teams',
    success: () => ({ method: 'GET', url: '/v1/teams' }),
    successEvent: () => ({ action: 'team.list', outcome: 'success', status: 200, resource: /^org:/, authz: allowed('describe') }),
    // An agent has no role: the org's teams are not its to see.
    failure: () => ({ method: 'GET', url: '/v1/teams' }),
    failureAs: () => agentAccessToken(t, requester),
    failureEvent: () => ({ action: 'team.list', outcome: 'failure', status: 404, resource: /^org:/, authz: refused('describe'), actor: { type: 'agent', id: requester.id } }),
  },
  {
    route: 'GET /v1/teams/{teamId}',
    success: () => ({ method: 'GET', url: `/v1/teams/${teamId}` }),
    successEvent: () => ({ action: 'team.describe', outcome: 'success', status: 200, resource: ref('team', teamId), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: `/v1/teams/${missingVault}` }),
    failureEvent: () => ({ action: 'team.describe', outcome: 'failure', status: 404, resource: ref('team', missingVault), authz: allowed('describe') }),
  },
  {
    route: 'PATCH /v1/teams/{teamId}',
    success: () => ({ method: 'PATCH', url: `/v1/teams/${teamId}`, payload: { description: 'audited' } }),
    successEvent: () => ({ action: 'team.update', outcome: 'success', status: null, resource: ref('team', teamId), authz: allowed('admin') }),
    failure: () => ({ method: 'PATCH', url: `/v1/teams/${missingVault}`, payload: { description: 'nobody' } }),
    failureEvent: () => ({ action: 'team.update', outcome: 'failure', status: 404, resource: ref('team', missingVault), authz: allowed('admin') }),
  },
  {
    route: 'PUT /v1/teams/{teamId}/members/{memberId}',
    success: () => ({ method: 'PUT', url: `/v1/teams/${teamId}/members/${colleague.id}` }),
    successEvent: () => ({ action: 'team.member.add', outcome: 'success', status: null, resource: ref('team', teamId), authz: allowed('admin') }),
    failure: () => ({ method: 'PUT', url: `/v1/teams/${teamId}/members/${missingVault}` }),
    failureEvent: () => ({ action: 'team.member.add', outcome: 'failure', status: 404, resource: ref('team', teamId), authz: allowed('admin') }),
  },
  {
    route: 'DELETE /v1/teams/{teamId}/members/{memberId}',
    success: () => ({ method: 'DELETE', url: `/v1/teams/${teamId}/members/${colleague.id}` }),
    successEvent: () => ({ action: 'team.member.remove', outcome: 'success', status: null, resource: ref('team', teamId), authz: allowed('admin') }),
    // No longer in the team.
    failure: () => ({ method: 'DELETE', url: `/v1/teams/${teamId}/members/${colleague.id}` }),
    failureEvent: () => ({ action: 'team.member.remove', outcome: 'failure', status: 404, resource: ref('team', teamId), authz: allowed('admin') }),
  },
  {
    route: 'DELETE /v1/teams/{teamId}',
    success: () => ({ method: 'DELETE', url: `/v1/teams/${teamToDelete}` }),
    successEvent: () => ({ action: 'team.delete', outcome: 'success', status: null, resource: ref('team', teamToDelete), authz: allowed('admin') }),
    failure: () => ({ method: 'DELETE', url: `/v1/teams/${teamId}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'team.delete', outcome: 'failure', status: 404, resource: ref('team', teamId), authz: refused('admin') }),
  },

  // --- roles ---------------------------------------------------------------------------------
  {
    route: 'GET /v1/roles',
    success: () => ({ method: 'GET', url: '/v1/roles' }),
    successEvent: () => ({ action: 'role.list', outcome: 'success', status: 200, resource: /^org:/, authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/roles' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'role.list', outcome: 'failure', status: 404, resource: /^org:/, authz: refused('describe') }),
  },
  {
    route: 'GET /v1/roles/{roleId}',
    success: () => ({ method: 'GET', url: `/v1/roles/${roleId}` }),
    successEvent: () => ({ action: 'role.describe', outcome: 'success', status: 200, resource: ref('role', roleId), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: `/v1/roles/${missingVault}` }),
    failureEvent: () => ({ action: 'role.describe', outcome: 'failure', status: 404, resource: ref('role', missingVault), authz: allowed('describe') }),
  },
  {
    route: 'POST /v1/roles',
    success: () => ({ method: 'POST', url: '/v1/roles', payload: { name: `r-${randomUUID()}`, org_grants: { vaults: ['describe'] } } }),
    successEvent: () => ({ action: 'role.create', outcome: 'success', status: null, resource: ref('role', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/roles', payload: { name: 'refused-role' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'role.create', outcome: 'failure', status: 404, resource: /^role:\(new\)$/, authz: refused('admin') }),
  },
  {
    route: 'PUT /v1/roles/{roleId}',
    success: () => ({ method: 'PUT', url: `/v1/roles/${roleId}`, payload: { name: 'audited-role', org_grants: { teams: ['describe'] } } }),
    successEvent: () => ({ action: 'role.update', outcome: 'success', status: null, resource: ref('role', roleId), authz: allowed('admin') }),
    // Built-in roles are not changed: allowed on the area, refused as invalid.
    failure: () => ({ method: 'PUT', url: '/v1/roles/owner', payload: { name: 'not-owner' } }),
    failureEvent: () => ({ action: 'role.update', outcome: 'failure', status: 400, resource: /^role:owner$/, authz: allowed('admin') }),
  },
  {
    route: 'DELETE /v1/roles/{roleId}',
    success: () => ({ method: 'DELETE', url: `/v1/roles/${roleToDelete}` }),
    successEvent: () => ({ action: 'role.delete', outcome: 'success', status: null, resource: ref('role', roleToDelete), authz: allowed('admin') }),
    failure: () => ({ method: 'DELETE', url: `/v1/roles/${roleId}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'role.delete', outcome: 'failure', status: 404, resource: ref('role', roleId), authz: refused('admin') }),
  },

  // --- access matrix and reviews -------------------------------------------------------------
  {
    route: 'GET /v1/access/matrix',
    success: () => ({ method: 'GET', url: '/v1/access/matrix?format=csv' }),
    successEvent: () => ({ action: 'access.matrix', outcome: 'success', status: 200, resource: /^org:/, authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/access/matrix' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'access.matrix', outcome: 'failure', status: 404, resource: /^org:/, authz: refused('describe') }),
  },
  {
    route: 'POST /v1/access/reviews',
    success: () => ({ method: 'POST', url: '/v1/access/reviews', payload: { name: 'audited review', due_at: future() } }),
    successEvent: () => ({ action: 'access.review.create', outcome: 'success', status: null, resource: ref('access_review', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/access/reviews', payload: { name: 'refused review', due_at: future() } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'access.review.create', outcome: 'failure', status: 404, resource: /^access_review:\(new\)$/, authz: refused('admin') }),
  },
  {
    route: 'GET /v1/access/reviews',
    success: () => ({ method: 'GET', url: '/v1/access/reviews' }),
    successEvent: () => ({ action: 'access.review.list', outcome: 'success', status: 200, resource: /^org:/, authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/access/reviews' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'access.review.list', outcome: 'failure', status: 404, resource: /^org:/, authz: refused('describe') }),
  },
  {
    route: 'GET /v1/access/reviews/{reviewId}',
    success: () => ({ method: 'GET', url: `/v1/access/reviews/${review.id}` }),
    successEvent: () => ({ action: 'access.review.describe', outcome: 'success', status: 200, resource: ref('access_review', review.id), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: `/v1/access/reviews/${missingVault}` }),
    failureEvent: () => ({ action: 'access.review.describe', outcome: 'failure', status: 404, resource: ref('access_review', missingVault), authz: allowed('describe') }),
  },
  {
    route: 'POST /v1/access/reviews/{reviewId}/items/{itemId}/decision',
    success: () => ({ method: 'POST', url: `/v1/access/reviews/${review.id}/items/${review.items[0]}/decision`, payload: { decision: 'keep' } }),
    successEvent: () => ({ action: 'access.review.decide', outcome: 'success', status: null, resource: ref('access_review', review.id), authz: allowed('admin') }),
    // A decision is final.
    failure: () => ({ method: 'POST', url: `/v1/access/reviews/${review.id}/items/${review.items[0]}/decision`, payload: { decision: 'revoke' } }),
    failureEvent: () => ({ action: 'access.review.decide', outcome: 'failure', status: 409, resource: ref('access_review', review.id), authz: allowed('admin') }),
  },
  {
    route: 'POST /v1/access/reviews/{reviewId}/reminders',
    success: () => ({ method: 'POST', url: `/v1/access/reviews/${review.id}/reminders` }),
    successEvent: () => ({ action: 'access.review.remind', outcome: 'success', status: null, resource: ref('access_review', review.id), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: `/v1/access/reviews/${review.id}/reminders` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'access.review.remind', outcome: 'failure', status: 404, resource: ref('access_review', review.id), authz: refused('admin') }),
  },
  {
    route: 'POST /v1/access/reviews/{reviewId}/close',
    success: () => ({ method: 'POST', url: `/v1/access/reviews/${review.id}/close` }),
    successEvent: () => ({ action: 'access.review.close', outcome: 'success', status: null, resource: ref('access_review', review.id), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: `/v1/access/reviews/${review.id}/close` }),
    failureEvent: () => ({ action: 'access.review.close', outcome: 'failure', status: 409, resource: ref('access_review', review.id), authz: allowed('admin') }),
  },

  // --- approvals -----------------------------------------------------------------------------
  {
    // An agent asks for itself: no decision gates a request for access.
    route: 'POST /v1/approvals',
    success: () => ({ method: 'POST', url: '/v1/approvals', payload: approvalBody('/asked/*') }),
    successAs: () => agentAccessToken(t, requester),
    successEvent: () => ({ action: 'approval.request', outcome: 'success', status: null, resource: ref('approval', UUID), authz: null, actor: { type: 'agent', id: requester.id } }),
    // A root token holds every grant already, so it cannot request.
    failure: () => ({ method: 'POST', url: '/v1/approvals', payload: approvalBody('/asked/*') }),
    failureEvent: () => ({ action: 'approval.request', outcome: 'failure', status: 400, resource: /^approval:\(new\)$/, authz: null }),
  },
  {
    // The list is filtered (the caller's own, and those it may decide), not gated.
    route: 'GET /v1/approvals',
    success: () => ({ method: 'GET', url: '/v1/approvals?status=pending' }),
    successEvent: () => ({ action: 'approval.list', outcome: 'success', status: 200, resource: /^org:/, authz: null }),
    failure: () => ({ method: 'GET', url: '/v1/approvals?status=maybe' }),
    failureEvent: () => ({ action: 'approval.list', outcome: 'failure', status: 400, resource: /^org:/, authz: null }),
  },
  {
    route: 'GET /v1/approvals/{approvalId}',
    success: () => ({ method: 'GET', url: `/v1/approvals/${approvalToApprove}` }),
    successEvent: () => ({ action: 'approval.describe', outcome: 'success', status: 200, resource: ref('approval', approvalToApprove), authz: allowed('admin') }),
    failure: () => ({ method: 'GET', url: `/v1/approvals/${approvalToApprove}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'approval.describe', outcome: 'failure', status: 404, resource: ref('approval', approvalToApprove), authz: refused('admin') }),
  },
  {
    route: 'POST /v1/approvals/{approvalId}/approve',
    success: () => ({ method: 'POST', url: `/v1/approvals/${approvalToApprove}/approve`, payload: { note: 'ok', duration_seconds: 3600 } }),
    successEvent: () => ({ action: 'approval.approve', outcome: 'success', status: null, resource: ref('approval', approvalToApprove), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: `/v1/approvals/${approvalToDeny}/approve`, payload: {} }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'approval.approve', outcome: 'failure', status: 404, resource: ref('approval', approvalToDeny), authz: refused('admin') }),
  },
  {
    route: 'POST /v1/approvals/{approvalId}/deny',
    success: () => ({ method: 'POST', url: `/v1/approvals/${approvalToDeny}/deny`, payload: { note: 'no' } }),
    successEvent: () => ({ action: 'approval.deny', outcome: 'success', status: null, resource: ref('approval', approvalToDeny), authz: allowed('admin') }),
    // Already approved: a decision is final.
    failure: () => ({ method: 'POST', url: `/v1/approvals/${approvalToApprove}/deny`, payload: {} }),
    failureEvent: () => ({ action: 'approval.deny', outcome: 'failure', status: 409, resource: ref('approval', approvalToApprove), authz: allowed('admin') }),
  },

  // --- sign-in (anyone may call) -----------------------------------------------------------
  // Identity events go to the chain of the org the session opens in, or to the installation's
  // when there is none; a refusal keeps the route's action (`public`), with an anonymous actor
  // until the route has learnt who it was.
  {
    route: 'POST /v1/auth/email/start',
    success: () => ({ method: 'POST', url: '/v1/auth/email/start', payload: { email: signer.email } }),
    successAs: () => null,
    successEvent: () => ({ action: 'auth.email_code.send', outcome: 'success', status: 202, resource: /^user:-$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'POST', url: '/v1/auth/email/start', payload: { email: 'not an address' } }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.email_code.send', outcome: 'failure', status: 400, resource: /^user:-$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    // A member signs in: the session opens in the member's org, and the event is that org's.
    route: 'POST /v1/auth/email/verify',
    success: async () => ({ method: 'POST', url: '/v1/auth/email/verify', payload: { email: signer.email, code: await mailedCode(t, mail, signer.email) } }),
    successAs: () => null,
    successEvent: () => ({ action: 'auth.signin', outcome: 'success', status: 200, resource: ref('user', signer.userId), authz: null, actor: { type: 'user', id: signer.userId } }),
    // The code was used: nobody is signed in, and the installation records the attempt.
    failure: () => ({ method: 'POST', url: '/v1/auth/email/verify', payload: { email: signer.email, code: mail.codeFor(signer.email) } }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.signin', outcome: 'failure', status: 401, resource: /^user:\(unknown\)$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    // The person belongs to no org: the session opens in none, and the installation records it.
    route: 'POST /v1/auth/password',
    success: () => ({ method: 'POST', url: '/v1/auth/password', payload: { email: passworded.email, password: PASSWORD } }),
    successAs: () => null,
    successEvent: () => ({ action: 'auth.signin', outcome: 'success', status: 200, resource: ref('user', passworded.userId), authz: null, actor: { type: 'user', id: passworded.userId }, org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'POST', url: '/v1/auth/password', payload: { email: passworded.email, password: `${PASSWORD}-not` } }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.signin', outcome: 'failure', status: 401, resource: /^user:\(unknown\)$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    route: 'POST /v1/auth/mfa',
    success: async () => {
      const first = await t.call(undefined, { method: 'POST', url: '/v1/auth/password', payload: { email: twoFactor.email, password: PASSWORD } });
      assert.equal(first.json().mfa_required, true, first.body);
      return { method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: first.json().mfa_token, recovery_code: authenticator.recoveryCodes[0] } };
    },
    successAs: () => null,
    successEvent: () => ({ action: 'auth.mfa.verify', outcome: 'success', status: 200, resource: ref('user', twoFactor.userId), authz: null, actor: { type: 'user', id: twoFactor.userId }, org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: `sr_mfa_${'A'.repeat(86)}`, code: '123456' } }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.mfa.verify', outcome: 'failure', status: 401, resource: /^user:\(unknown\)$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    // A refresh is recorded in the chain of the session's org.
    route: 'POST /v1/auth/refresh',
    success: async () => ({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: (await signInByEmail(t, mail, signer.email)).refresh_token } }),
    successAs: () => null,
    successEvent: () => ({ action: 'auth.refresh', outcome: 'success', status: 200, resource: ref('user', signer.userId), authz: null, actor: { type: 'user', id: signer.userId } }),
    failure: () => ({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: `sr_refresh_${'A'.repeat(86)}` } }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.refresh', outcome: 'failure', status: 401, resource: /^user:\(unknown\)$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    route: 'GET /v1/auth/oidc/providers',
    success: () => ({ method: 'GET', url: '/v1/auth/oidc/providers' }),
    successAs: () => null,
    successEvent: () => ({ action: 'auth.oidc.start', outcome: 'success', status: 200, resource: /^user:-$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'GET', url: '/v1/auth/oidc/providers?x=1' }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.oidc.start', outcome: 'failure', status: 400, resource: /^user:-$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    route: 'GET /v1/auth/oidc/{provider}/start',
    success: () => ({ method: 'GET', url: '/v1/auth/oidc/test/start' }),
    successAs: () => null,
    successEvent: () => ({ action: 'auth.oidc.start', outcome: 'success', status: 302, resource: /^user:-$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
    // No provider of that name is configured.
    failure: () => ({ method: 'GET', url: '/v1/auth/oidc/nope/start' }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.oidc.start', outcome: 'failure', status: 404, resource: /^user:-$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },
  {
    // The browser back from the provider, with the cookie its start set; the person has no org.
    route: 'GET /v1/auth/oidc/{provider}/callback',
    success: async () => {
      const start = await t.call(undefined, { method: 'GET', url: '/v1/auth/oidc/test/start' });
      assert.equal(start.statusCode, 302, start.body);
      const binding = start.cookies.find((c) => c.name === '__Host-sr_oidc')?.value;
      const back = await provider.login(String(start.headers.location), 'ada');
      return { method: 'GET', url: `${back.pathname}${back.search}`, headers: { cookie: `__Host-sr_oidc=${binding}` } };
    },
    successAs: () => null,
    successEvent: () => ({ action: 'auth.oidc.callback', outcome: 'success', status: 303, resource: ref('user', oidcPerson.userId), authz: null, actor: { type: 'user', id: oidcPerson.userId }, org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'GET', url: '/v1/auth/oidc/nope/callback?code=x&state=y' }),
    failureAs: () => null,
    failureEvent: () => ({ action: 'auth.oidc.callback', outcome: 'failure', status: 404, resource: /^user:\(unknown\)$/, authz: null, actor: ANONYMOUS, org: INSTALLATION_ORG_ID }),
  },

  // --- the signed-in person ----------------------------------------------------------------
  // Recorded in the session's org (the employee's sessions are in the test org), or in the
  // installation's chain for a session in none; the actor is the person (user id).
  {
    route: 'GET /v1/me',
    success: () => ({ method: 'GET', url: '/v1/me' }),
    successAs: () => employee.token,
    successEvent: () => ({ action: 'me.describe', outcome: 'success', status: 200, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
    failure: () => ({ method: 'GET', url: '/v1/me?x=1' }),
    failureAs: () => loner.token,
    failureEvent: () => ({ action: 'me.describe', outcome: 'failure', status: 400, resource: ref('user', loner.userId), authz: null, actor: person(loner), org: INSTALLATION_ORG_ID }),
  },
  {
    route: 'GET /v1/me/orgs',
    success: () => ({ method: 'GET', url: '/v1/me/orgs' }),
    successAs: () => loner.token,
    successEvent: () => ({ action: 'me.orgs', outcome: 'success', status: 200, resource: ref('user', loner.userId), authz: null, actor: person(loner), org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'GET', url: '/v1/me/orgs?x=1' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'me.orgs', outcome: 'failure', status: 400, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'GET /v1/me/sessions',
    success: () => ({ method: 'GET', url: '/v1/me/sessions' }),
    successAs: () => employee.token,
    successEvent: () => ({ action: 'session.list', outcome: 'success', status: 200, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
    failure: () => ({ method: 'GET', url: '/v1/me/sessions?x=1' }),
    failureAs: () => loner.token,
    failureEvent: () => ({ action: 'session.list', outcome: 'failure', status: 400, resource: ref('user', loner.userId), authz: null, actor: person(loner), org: INSTALLATION_ORG_ID }),
  },
  {
    route: 'DELETE /v1/me/sessions/{sessionId}',
    success: () => ({ method: 'DELETE', url: `/v1/me/sessions/${employeeOtherSession}` }),
    successAs: () => employee.token,
    successEvent: () => ({ action: 'session.revoke', outcome: 'success', status: 204, resource: ref('session', employeeOtherSession), authz: null, actor: person(employee) }),
    // Another person's session: not the caller's to end, and not found.
    failure: () => ({ method: 'DELETE', url: `/v1/me/sessions/${loner.sessionId}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'session.revoke', outcome: 'failure', status: 404, resource: ref('session', loner.sessionId), authz: null, actor: person(employee) }),
  },
  {
    // Out of any org: the event follows the session to the installation's chain.
    route: 'POST /v1/auth/switch',
    success: () => ({ method: 'POST', url: '/v1/auth/switch', payload: { org_id: null } }),
    successAs: () => switcher.token,
    successEvent: () => ({ action: 'auth.switch', outcome: 'success', status: 200, resource: ref('user', switcher.userId), authz: null, actor: person(switcher), org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'POST', url: '/v1/auth/switch', payload: { org_id: missingVault } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'auth.switch', outcome: 'failure', status: 404, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'POST /v1/auth/step-up',
    success: () => ({ method: 'POST', url: '/v1/auth/step-up', payload: { recovery_code: authenticator.recoveryCodes[1] } }),
    successAs: () => twoFactor.token,
    successEvent: () => ({ action: 'auth.step_up', outcome: 'success', status: 204, resource: ref('user', twoFactor.userId), authz: null, actor: person(twoFactor), org: INSTALLATION_ORG_ID }),
    // The employee has no authenticator: no code is right.
    failure: () => ({ method: 'POST', url: '/v1/auth/step-up', payload: { code: '123456' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'auth.step_up', outcome: 'failure', status: 401, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'POST /v1/me/mfa/totp',
    success: () => ({ method: 'POST', url: '/v1/me/mfa/totp' }),
    successAs: () => loner.token,
    successEvent: () => ({ action: 'mfa.totp.enrol', outcome: 'success', status: 201, resource: ref('user', loner.userId), authz: null, actor: person(loner), org: INSTALLATION_ORG_ID }),
    // One authenticator at a time.
    failure: () => ({ method: 'POST', url: '/v1/me/mfa/totp' }),
    failureAs: () => twoFactor.token,
    failureEvent: () => ({ action: 'mfa.totp.enrol', outcome: 'failure', status: 409, resource: ref('user', twoFactor.userId), authz: null, actor: person(twoFactor), org: INSTALLATION_ORG_ID }),
  },
  {
    route: 'POST /v1/me/mfa/totp/confirm',
    success: async () => {
      const enrol = await t.call(confirmer.token, { method: 'POST', url: '/v1/me/mfa/totp' });
      assert.equal(enrol.statusCode, 201, enrol.body);
      const secret = base32Decode(enrol.json().secret);
      return { method: 'POST', url: '/v1/me/mfa/totp/confirm', payload: { code: totpCode(secret, totpStep(new Date())) } };
    },
    successAs: () => confirmer.token,
    successEvent: () => ({ action: 'mfa.totp.confirm', outcome: 'success', status: 200, resource: ref('user', confirmer.userId), authz: null, actor: person(confirmer), org: INSTALLATION_ORG_ID }),
    // Nothing to confirm: no enrolment was started.
    failure: () => ({ method: 'POST', url: '/v1/me/mfa/totp/confirm', payload: { code: '123456' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'mfa.totp.confirm', outcome: 'failure', status: 409, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'POST /v1/me/mfa/recovery-codes',
    success: () => ({ method: 'POST', url: '/v1/me/mfa/recovery-codes' }),
    successAs: () => twoFactor.token,
    successEvent: () => ({ action: 'mfa.recovery_codes.regenerate', outcome: 'success', status: 200, resource: ref('user', twoFactor.userId), authz: null, actor: person(twoFactor), org: INSTALLATION_ORG_ID }),
    // No authenticator: no recovery codes to replace.
    failure: () => ({ method: 'POST', url: '/v1/me/mfa/recovery-codes' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'mfa.recovery_codes.regenerate', outcome: 'failure', status: 409, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'DELETE /v1/me/mfa/totp',
    success: () => ({ method: 'DELETE', url: '/v1/me/mfa/totp' }),
    successAs: () => twoFactor.token,
    successEvent: () => ({ action: 'mfa.totp.remove', outcome: 'success', status: 204, resource: ref('user', twoFactor.userId), authz: null, actor: person(twoFactor), org: INSTALLATION_ORG_ID }),
    // A session whose second factor is not recent: step up first.
    failure: () => ({ method: 'DELETE', url: '/v1/me/mfa/totp' }),
    failureAs: () => employeeStale,
    failureEvent: () => ({ action: 'mfa.totp.remove', outcome: 'failure', status: 403, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'PUT /v1/me/password',
    success: () => ({ method: 'PUT', url: '/v1/me/password', payload: { password: `${PASSWORD}-loner` } }),
    successAs: () => loner.token,
    successEvent: () => ({ action: 'password.set', outcome: 'success', status: 204, resource: ref('user', loner.userId), authz: null, actor: person(loner), org: INSTALLATION_ORG_ID }),
    // A common password.
    failure: () => ({ method: 'PUT', url: '/v1/me/password', payload: { password: 'password' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'password.set', outcome: 'failure', status: 400, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'POST /v1/auth/sign-out',
    success: () => ({ method: 'POST', url: '/v1/auth/sign-out' }),
    successAs: () => employeeThird.token,
    successEvent: () => ({ action: 'auth.signout', outcome: 'success', status: 204, resource: ref('session', employeeThird.sessionId), authz: null, actor: person(employee) }),
    failure: () => ({ method: 'POST', url: '/v1/auth/sign-out?x=1' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'auth.signout', outcome: 'failure', status: 400, resource: ref('session', employee.sessionId), authz: null, actor: person(employee) }),
  },
  {
    route: 'POST /v1/auth/sign-out-everywhere',
    success: () => ({ method: 'POST', url: '/v1/auth/sign-out-everywhere' }),
    successAs: () => departing.token,
    successEvent: () => ({ action: 'auth.signout.everywhere', outcome: 'success', status: 200, resource: ref('user', departing.userId), authz: null, actor: person(departing), org: INSTALLATION_ORG_ID }),
    failure: () => ({ method: 'POST', url: '/v1/auth/sign-out-everywhere?x=1' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'auth.signout.everywhere', outcome: 'failure', status: 400, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    route: 'DELETE /v1/me',
    success: () => ({ method: 'DELETE', url: '/v1/me' }),
    successAs: () => deleting.token,
    successEvent: () => ({ action: 'me.delete', outcome: 'success', status: 204, resource: ref('user', deleting.userId), authz: null, actor: person(deleting), org: INSTALLATION_ORG_ID }),
    // A member of an org leaves it first.
    failure: () => ({ method: 'DELETE', url: '/v1/me' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'me.delete', outcome: 'failure', status: 409, resource: ref('user', employee.userId), authz: null, actor: person(employee) }),
  },
  {
    // Recorded in the new org's chain, with its founder named as the org's member.
    route: 'POST /v1/orgs',
    success: () => ({ method: 'POST', url: '/v1/orgs', payload: { name: foundedName } }),
    successAs: () => founder.token,
    successEvent: (res) => ({
      action: 'org.create',
      outcome: 'success',
      status: null,
      resource: ref('org', res.json().id),
      authz: null,
      actor: { type: 'user', id: res.json().member_id },
      org: res.json().id,
    }),
    // The name is taken (whatever its case): no org, so the session's chain records it.
    failure: () => ({ method: 'POST', url: '/v1/orgs', payload: { name: foundedName.toUpperCase() } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'org.create', outcome: 'failure', status: 409, resource: /^org:\(new\)$/, authz: null, actor: person(employee) }),
  },
  {
    // Recorded in the invitation's org, naming the new member.
    route: 'POST /v1/invitations/accept',
    success: async () => ({ method: 'POST', url: '/v1/invitations/accept', payload: { token: (acceptedInvitation = await invite(invitee.email)).token } }),
    successAs: () => invitee.token,
    successEvent: (res) => ({
      action: 'invitation.accept',
      outcome: 'success',
      status: null,
      resource: ref('invitation', acceptedInvitation.id),
      authz: null,
      actor: { type: 'user', id: res.json().member_id },
    }),
    // Someone else's invitation: the signed token names the org, which records the attempt.
    failure: async () => ({ method: 'POST', url: '/v1/invitations/accept', payload: { token: (refusedInvitation = await invite(personEmail('invited'))).token } }),
    failureAs: () => loner.token,
    failureEvent: () => ({ action: 'invitation.accept', outcome: 'failure', status: 404, resource: ref('invitation', refusedInvitation.id), authz: null, actor: person(loner) }),
  },

  // --- the org, its invitations and tokens ---------------------------------------------------
  {
    route: 'GET /v1/org',
    success: () => ({ method: 'GET', url: '/v1/org' }),
    successEvent: () => ({ action: 'org.describe', outcome: 'success', status: 200, resource: ref('org', org.orgId), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/org' }),
    failureAs: () => agentAccessToken(t, requester),
    failureEvent: () => ({ action: 'org.describe', outcome: 'failure', status: 404, resource: ref('org', org.orgId), authz: refused('describe'), actor: { type: 'agent', id: requester.id } }),
  },
  {
    route: 'PATCH /v1/org',
    success: () => ({ method: 'PATCH', url: '/v1/org', payload: { require_mfa: false, password_sign_in: false } }),
    successEvent: () => ({ action: 'org.update', outcome: 'success', status: null, resource: ref('org', org.orgId), authz: allowed('admin') }),
    // An admin whose second factor is not recent: step up first.
    failure: () => ({ method: 'PATCH', url: '/v1/org', payload: { require_mfa: true } }),
    failureAs: () => staleAdmin,
    failureEvent: () => ({ action: 'org.update', outcome: 'failure', status: 403, resource: ref('org', org.orgId), authz: refused('admin') }),
  },
  {
    route: 'POST /v1/org/transfer-ownership',
    success: () => ({ method: 'POST', url: '/v1/org/transfer-ownership', payload: { member_id: heir.id } }),
    successEvent: () => ({ action: 'org.transfer', outcome: 'success', status: null, resource: ref('org', org.orgId), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/org/transfer-ownership', payload: { member_id: colleague.id } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'org.transfer', outcome: 'failure', status: 404, resource: ref('org', org.orgId), authz: refused('admin'), actor: { type: 'user', id: employee.id } }),
  },
  {
    route: 'POST /v1/org/leave',
    success: () => ({ method: 'POST', url: '/v1/org/leave' }),
    successAs: () => leaver.token,
    successEvent: () => ({ action: 'org.leave', outcome: 'success', status: null, resource: ref('org', org.orgId), authz: null, actor: { type: 'user', id: leaver.id } }),
    // A root token is no member: it is revoked, not left.
    failure: () => ({ method: 'POST', url: '/v1/org/leave' }),
    failureEvent: () => ({ action: 'org.leave', outcome: 'failure', status: 409, resource: ref('org', org.orgId), authz: null }),
  },
  {
    route: 'POST /v1/invitations',
    success: () => ({ method: 'POST', url: '/v1/invitations', payload: { email: personEmail('invited'), role: 'employee' } }),
    successEvent: () => ({ action: 'invitation.create', outcome: 'success', status: null, resource: ref('invitation', UUID), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: '/v1/invitations', payload: { email: personEmail('invited'), role: 'employee' } }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'invitation.create', outcome: 'failure', status: 404, resource: /^invitation:\(new\)$/, authz: refused('admin') }),
  },
  {
    route: 'GET /v1/invitations',
    success: () => ({ method: 'GET', url: '/v1/invitations' }),
    successEvent: () => ({ action: 'invitation.list', outcome: 'success', status: 200, resource: ref('org', org.orgId), authz: allowed('describe') }),
    failure: () => ({ method: 'GET', url: '/v1/invitations' }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'invitation.list', outcome: 'failure', status: 404, resource: ref('org', org.orgId), authz: refused('describe') }),
  },
  {
    route: 'DELETE /v1/invitations/{invitationId}',
    success: () => ({ method: 'DELETE', url: `/v1/invitations/${pendingInvitation.id}` }),
    successEvent: () => ({ action: 'invitation.revoke', outcome: 'success', status: null, resource: ref('invitation', pendingInvitation.id), authz: allowed('admin') }),
    failure: () => ({ method: 'DELETE', url: `/v1/invitations/${missingVault}` }),
    failureEvent: () => ({ action: 'invitation.revoke', outcome: 'failure', status: 404, resource: ref('invitation', missingVault), authz: allowed('admin') }),
  },
  {
    // A person in a session makes a personal token; no decision gates it.
    route: 'POST /v1/tokens',
    success: () => ({ method: 'POST', url: '/v1/tokens', payload: { description: 'audited script' } }),
    successAs: () => employee.token,
    successEvent: () => ({ action: 'token.create', outcome: 'success', status: null, resource: ref('token', UUID), authz: null, actor: { type: 'user', id: employee.id } }),
    // A token does not make tokens.
    failure: () => ({ method: 'POST', url: '/v1/tokens', payload: { description: 'from a root token' } }),
    failureEvent: () => ({ action: 'token.create', outcome: 'failure', status: 409, resource: /^token:\(new\)$/, authz: null }),
  },
  {
    // The caller's own tokens are listed, not gated.
    route: 'GET /v1/tokens',
    success: () => ({ method: 'GET', url: '/v1/tokens' }),
    successEvent: () => ({ action: 'token.list', outcome: 'success', status: 200, resource: ref('org', org.orgId), authz: null }),
    failure: () => ({ method: 'GET', url: '/v1/tokens?member=all' }),
    failureEvent: () => ({ action: 'token.list', outcome: 'failure', status: 400, resource: ref('org', org.orgId), authz: null }),
  },
  {
    route: 'DELETE /v1/tokens/{tokenId}',
    success: () => ({ method: 'DELETE', url: `/v1/tokens/${tokenIdOf(colleague.personalToken)}` }),
    successEvent: () => ({ action: 'token.revoke', outcome: 'success', status: null, resource: ref('token', tokenIdOf(colleague.personalToken)), authz: allowed('admin') }),
    // The org's root token is an owner's to revoke: to anyone else it is not there.
    failure: () => ({ method: 'DELETE', url: `/v1/tokens/${tokenIdOf(org.token)}` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'token.revoke', outcome: 'failure', status: 404, resource: ref('token', tokenIdOf(org.token)), authz: null }),
  },
  {
    route: 'POST /v1/members/{memberId}/sessions/revoke',
    success: () => ({ method: 'POST', url: `/v1/members/${colleague.id}/sessions/revoke` }),
    successEvent: () => ({ action: 'member.sessions.revoke', outcome: 'success', status: null, resource: ref('member', colleague.id), authz: allowed('admin') }),
    failure: () => ({ method: 'POST', url: `/v1/members/${colleague.id}/sessions/revoke` }),
    failureAs: () => employee.token,
    failureEvent: () => ({ action: 'member.sessions.revoke', outcome: 'failure', status: 404, resource: ref('member', colleague.id), authz: refused('admin') }),
  },
];

let emptyVault = '';
let sinkToDelete = '';
/** Callers other than the root token, and the things the new routes act on (made in the test). */
let employee: TestMember;
let office: TestMember;
let colleague: TestMember;
let memberToDelete: TestMember;
let requester: TestAgent;
let subject: TestAgent;
let policyId = '';
let policyToDelete = '';
let teamId = '';
let teamToDelete = '';
let roleId = '';
let roleToDelete = '';
let review: { id: string; items: string[] };
let approvalToApprove = '';
let approvalToDeny = '';
/** The people the identity routes are called as, and what they act on (made in the test). */
let signer: TestMember;
let switcher: TestMember;
let leaver: TestMember;
let heir: TestMember;
let loner: TestPerson;
let passworded: TestPerson;
let twoFactor: TestPerson;
let authenticator: TestAuthenticator;
let confirmer: TestPerson;
let departing: TestPerson;
let deleting: TestPerson;
let founder: TestPerson;
let invitee: TestPerson;
let oidcPerson: TestPerson;
let employeeOtherSession = '';
let employeeThird: { token: string; sessionId: string };
let employeeStale = '';
let staleAdmin = '';
let foundedName = '';
let pendingInvitation: { id: string; token: string };
let acceptedInvitation: { id: string; token: string };
let refusedInvitation: { id: string; token: string };

const PASSWORD = 'Audited-Quartz-Passphrase-7';
const ANONYMOUS = { type: 'anonymous', id: '-' };
/** A person as identity events name them: by user id. */
const person = (p: { userId: string }) => ({ type: 'user', id: p.userId });
/** The id of a token of ours (the part after its kind names the org and the token). */
const tokenIdOf = (token: string) => (parseToken(token) as { tokenId: string }).tokenId;

/** Invites `email` to the test org as an employee (root token); the invitation's id and token. */
async function invite(email: string): Promise<{ id: string; token: string }> {
  const res = await t.call(org.token, { method: 'POST', url: '/v1/invitations', payload: { email, role: 'employee' } });
  assert.equal(res.statusCode, 201, res.body);
  return { id: res.json().id, token: res.json().token };
}

const policyBody = (pattern: string) => ({ principal_type: 'role', principal_id: 'employee', secret_path_pattern: pattern, permissions: ['describe'] });
const approvalBody = (pattern: string) => ({ vault_id: vaultId, secret_path_pattern: pattern, permissions: ['read'], reason: 'audited request' });

/** An API key with one character of its random part changed: the right agent, a wrong key. */
function tampered(key: string): string {
  const i = key.length - 10;
  return key.slice(0, i) + (key[i] === 'A' ? 'B' : 'A') + key.slice(i + 1);
}

interface Event {
  seq: number;
  event: {
    action: string;
    outcome: string;
    status: number | null;
    resource: { ref: string; version?: number };
    request_id: string;
    reason: string | null;
    actor: { type: string; id: string };
    authz?: { allow: boolean; action: string; by: string[] };
  };
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

/** Every event a request recorded, in whichever org's chain (the installation's too). */
async function eventsOfRequest(requestId: string): Promise<{ org: string; event: Event['event'] }[]> {
  const rows = await t.database.superuser((c) =>
    c.query<{ org_id: string; canonical: string }>(
      "SELECT org_id, canonical FROM audit_events WHERE canonical::jsonb ->> 'request_id' = $1 ORDER BY org_id, seq",
      [requestId],
    ),
  );
  return rows.map((r) => ({ org: r.org_id, event: JSON.parse(r.canonical) as Event['event'] }));
}

async function expectRecorded(request: InjectOptions, expectedOf: (res: LightMyRequestResponse) => Expected, what: string, as?: As): Promise<void> {
  const token = as ? await as() : org.token;
  const res = await t.call(token ?? undefined, request);
  const expected = expectedOf(res);
  // A change recorded with its transaction has no status in its event; anything else has the answer's.
  if (expected.outcome === 'success' && expected.status === null) assert.ok(res.statusCode < 300, `${what}: ${res.statusCode} ${res.body}`);
  else assert.equal(res.statusCode, expected.status, `${what}: ${res.body}`);
  // Exactly one event, in the chain it belongs to: never also (or instead) in another org's.
  const mine = await eventsOfRequest(String(res.headers['x-request-id']));
  assert.equal(mine.length, 1, `${what}: exactly one event for the request, got ${JSON.stringify(mine)}`);
  const chain = expected.org ?? org.orgId;
  assert.equal(mine[0]?.org, chain, `${what}: recorded in ${mine[0]?.org === INSTALLATION_ORG_ID ? 'the installation chain' : `org ${mine[0]?.org}`}, not ${chain}`);
  const e = (mine[0] as { event: Event['event'] }).event;
  assert.equal(e.action, expected.action, what);
  assert.equal(e.outcome, expected.outcome, what);
  assert.equal(e.status, expected.status, what);
  assert.match(e.resource.ref, expected.resource, what);
  if (expected.version !== undefined) assert.equal(e.resource.version, expected.version, what);
  if (expected.actor !== undefined) assert.deepEqual(e.actor, expected.actor, what);
  if (expected.authz === null) assert.equal(e.authz, undefined, `${what}: no decision gated this request`);
  else if (expected.authz !== undefined) {
    assert.ok(e.authz, `${what}: the event carries the authorization decision`);
    assert.equal(e.authz.allow, expected.authz.allow, `${what}: ${JSON.stringify(e.authz)}`);
    assert.equal(e.authz.action, expected.authz.action, `${what}: ${JSON.stringify(e.authz)}`);
    // An allow names the grants behind it (a role or policies); a refusal here is a default deny.
    if (expected.authz.allow) assert.ok(e.authz.by.length > 0 && e.authz.by.every((g) => /^(role|policy):/.test(g)), `${what}: ${JSON.stringify(e.authz)}`);
  }
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
  await setUpAccess();
  await setUpPeople();
  const failures: string[] = [];
  for (const c of cases) {
    for (const side of [
      { request: c.success, expected: c.successEvent, as: c.successAs, what: `${c.route} (success)` },
      { request: c.failure, expected: c.failureEvent, as: c.failureAs, what: `${c.route} (failure)` },
    ]) {
      try {
        await expectRecorded(await side.request(), side.expected, side.what, side.as);
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0] as string);
      }
    }
  }
  assert.deepEqual(failures, []);
});

/** The members, agents, policies, teams, roles, review and access requests the new routes act on. */
async function setUpAccess(): Promise<void> {
  employee = await createMember(t, org, 'employee');
  office = await createMember(t, org, 'office');
  colleague = await createMember(t, org, 'employee');
  memberToDelete = await createMember(t, org, 'employee');
  requester = await createAgent(t, org, 'requester');
  subject = await createAgent(t, org, 'subject');
  policyId = await createPolicy(t, org, vaultId, policyBody('/kept/*'));
  policyToDelete = await createPolicy(t, org, vaultId, policyBody('/gone/*'));
  const team = async (name: string) => {
    const res = await t.call(org.token, { method: 'POST', url: '/v1/teams', payload: { name } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  teamId = await team('audited-team');
  teamToDelete = await team('team-to-delete');
  const role = async (name: string) => {
    const res = await t.call(org.token, { method: 'POST', url: '/v1/roles', payload: { name, org_grants: { vaults: ['describe'] } } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  roleId = await role('audited-role-v1');
  roleToDelete = await role('role-to-delete');
  const campaign = await t.call(org.token, { method: 'POST', url: '/v1/access/reviews', payload: { name: 'audited', due_at: future() } });
  assert.equal(campaign.statusCode, 201, campaign.body);
  review = { id: campaign.json().id, items: campaign.json().items.map((i: { id: string }) => i.id) };
  assert.ok(review.items.length >= 2, 'one item to decide, one left for the reminder');
  const token = await agentAccessToken(t, requester);
  const ask = async (pattern: string) => {
    const res = await t.call(token, { method: 'POST', url: '/v1/approvals', payload: approvalBody(pattern) });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().id as string;
  };
  approvalToApprove = await ask('/approve/*');
  approvalToDeny = await ask('/deny/*');
}

/** The people the identity, org, invitation and token routes are called as. */
async function setUpPeople(): Promise<void> {
  signer = await createMember(t, org, 'employee');
  switcher = await createMember(t, org, 'employee');
  leaver = await createMember(t, org, 'employee');
  heir = await createMember(t, org, 'employee');
  loner = await signInWithoutOrg(t);
  passworded = await signInWithoutOrg(t);
  twoFactor = await signInWithoutOrg(t);
  for (const p of [passworded, twoFactor]) {
    const set = await t.call(p.token, { method: 'PUT', url: '/v1/me/password', payload: { password: PASSWORD } });
    assert.equal(set.statusCode, 204, set.body);
  }
  authenticator = await enrolTotp(t, twoFactor.token);
  confirmer = await signInWithoutOrg(t);
  departing = await signInWithoutOrg(t);
  deleting = await signInWithoutOrg(t);
  founder = await signInWithoutOrg(t);
  foundedName = `founded-${randomUUID()}`;
  invitee = await signInWithoutOrg(t);
  // The provider's account signs in as this person: its address is theirs, and verified.
  oidcPerson = await signInWithoutOrg(t, oidcEmail);
  employeeOtherSession = (await openSession(t, employee.userId, org.orgId)).sessionId;
  employeeThird = await openSession(t, employee.userId, org.orgId);
  employeeStale = (await openSession(t, employee.userId, org.orgId, { mfa: false })).token;
  const admin = await t.call(org.token, { method: 'POST', url: '/v1/members', payload: { email: personEmail('admin'), role: 'admin' } });
  assert.equal(admin.statusCode, 201, admin.body);
  staleAdmin = (await signInAsMember(t, org.orgId, admin.json().member.id, admin.json().member.email, { mfa: false })).token;
  pendingInvitation = await invite(personEmail('pending'));
}

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
