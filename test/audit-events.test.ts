import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { InjectOptions } from 'fastify';
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
  /**
   * The authorization decision the event carries (P4): `null` when no decision gated the
   * request (it must then carry none), left out where the test does not look.
   */
  authz?: { allow: boolean; action: string } | null;
  /** Who the event names as the actor; the root token when left out (not checked). */
  actor?: { type: string; id: string };
}

/** Who sends a request: a bearer token, or `null` for none. The org's root token by default. */
type As = () => Promise<string | null> | string | null;

interface Case {
  route: string;
  success: () => InjectOptions;
  successEvent: () => Expected;
  successAs?: As;
  failure: () => InjectOptions;
  failureEvent: () => Expected;
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

async function expectRecorded(request: InjectOptions, expected: Expected, what: string, as?: As): Promise<void> {
  const token = as ? await as() : org.token;
  const before = await lastSeq();
  const res = await t.call(token ?? undefined, request);
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
  const failures: string[] = [];
  for (const c of cases) {
    for (const [request, expected, as, what] of [
      [c.success(), c.successEvent(), c.successAs, `${c.route} (success)`],
      [c.failure(), c.failureEvent(), c.failureAs, `${c.route} (failure)`],
    ] as const) {
      try {
        await expectRecorded(request, expected, what, as);
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
