import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AuditOptions, type IdentityConfig } from '../../src/app.js';
import { createInstallationTx, createTenantTx } from '../../src/db/tenant.js';
import { createAgentTokens } from '../../src/domains/agents/agent-tokens.js';
import type { KeyProvider } from '../../src/kms/provider.js';
import { bootstrapOrg } from '../../src/domains/orgs/orgs.service.js';
import { createVaultKeyring } from '../../src/kms/keyring.js';
import { openLocalKeyProvider } from '../../src/kms/local.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** An org made for a test, with its root token. */
export interface TestOrg {
  orgId: string;
  token: string;
}

/** The app built as `serve` builds it, on a database of its own, with its logs captured. */
export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  /** Every log line the app wrote (JSON text). */
  logs: string[];
  /** Directory of the local root key. */
  keyDir: string;
  /** The app's root key provider (to sign test sessions as another node would). */
  keyProvider: KeyProvider;
  createOrg(name?: string): Promise<TestOrg>;
  call(token: string | undefined, opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let orgCounter = 0;

/** Builds a test app. `dataDir` puts PGlite's files on disk (the canary scan reads them). */
export async function createTestApp(
  opts: {
    dataDir?: string;
    icuLocale?: string;
    audit?: Partial<AuditOptions>;
    trustProxy?: boolean | number | string[];
    identity?: IdentityConfig;
    redisUrl?: string;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(opts);
  const keyDir = mkdtempSync(join(tmpdir(), 'sr-key-'));
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
  const keyProvider = await openLocalKeyProvider({ keyFile: join(keyDir, 'root-key.json'), create: true, onWarning: () => {} });
  const keyring = createVaultKeyring({ provider: keyProvider, cache: { maxEntries: 100, ttlMs: 60_000 } });
  const app = await buildApp({
    db: database.db,
    keyProvider,
    keyring,
    logger,
    ...(opts.audit ? { audit: opts.audit } : {}),
    ...(opts.trustProxy === undefined ? {} : { trustProxy: opts.trustProxy }),
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.redisUrl ? { redisUrl: opts.redisUrl } : {}),
  });
  const withTenantTx = createTenantTx(database.db);
  return {
    app,
    database,
    logs,
    keyDir,
    keyProvider,
    createOrg: (name) => bootstrapOrg({ withTenantTx }, name ?? `org-${process.pid}-${++orgCounter}`),
    call: (token, request) =>
      app.inject({
        ...request,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...request.headers },
      }),
    async close() {
      await app.close();
      keyring.wipeAll();
      await keyProvider.close();
      await database.close();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

/** Creates a vault through the API and returns its id. */
export async function createVault(t: TestApp, org: TestOrg, name = `vault-${++orgCounter}`): Promise<string> {
  const res = await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name } });
  if (res.statusCode !== 201) throw new Error(`creating a vault answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { id: string }).id;
}

/** Writes a secret through the API; throws unless it succeeds. */
export async function putSecret(
  t: TestApp,
  org: TestOrg,
  vaultId: string,
  path: string,
  body: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  const res = await t.call(org.token, { method: 'PUT', url: `/v1/vaults/${vaultId}/secrets/${path}`, payload: body });
  if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`writing ${path} answered ${res.statusCode}: ${res.body}`);
  return res;
}

/** An agent made through the API, with its API key (shown once). */
export interface TestAgent {
  id: string;
  apiKey: string;
}

/** Creates an agent through the API; throws unless it is created. */
export async function createAgent(t: TestApp, org: TestOrg, name = `agent-${++orgCounter}`): Promise<TestAgent> {
  const res = await t.call(org.token, { method: 'POST', url: '/v1/agents', payload: { name } });
  if (res.statusCode !== 201) throw new Error(`creating an agent answered ${res.statusCode}: ${res.body}`);
  const body = res.json() as { agent: { id: string }; api_key: string };
  return { id: body.agent.id, apiKey: body.api_key };
}

/** Exchanges an agent's API key for an access token (POST /v1/auth/agent-token); throws unless it succeeds. */
export async function agentAccessToken(t: TestApp, agent: TestAgent): Promise<string> {
  const res = await t.call(undefined, { method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: agent.id, api_key: agent.apiKey } });
  if (res.statusCode !== 200) throw new Error(`the agent-token exchange answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { access_token: string }).access_token;
}

/** Creates a vault policy through the API and returns its id. */
export async function createPolicy(t: TestApp, org: TestOrg, vaultId: string, body: Record<string, unknown>): Promise<string> {
  const res = await t.call(org.token, { method: 'POST', url: `/v1/vaults/${vaultId}/policies`, payload: body });
  if (res.statusCode !== 201) throw new Error(`creating a policy answered ${res.statusCode}: ${res.body}`);
  return (res.json() as { id: string }).id;
}

/**
 * A member made through the API, and the person signed in as it: `token` is the access token
 * of a session in the org with a second factor just checked (so step-up operations pass), as
 * the dashboard or CLI would hold after signing in; `personalToken` is the member's first
 * personal token (`sr_user_…`), which cannot do step-up operations.
 */
export interface TestMember {
  id: string;
  token: string;
  personalToken: string;
  email: string;
  userId: string;
  sessionId: string;
}

/**
 * Signs a person in as `memberId` without the sign-in routes (tested on their own in
 * test/signin.test.ts): a user linked to the member, an active session in the org whose second
 * factor was checked now, and its access token signed with the installation key as any node
 * would sign it.
 */
export async function signInAsMember(
  t: TestApp,
  orgId: string,
  memberId: string,
  email: string,
  opts: { mfa?: boolean } = {},
): Promise<{ token: string; userId: string; sessionId: string }> {
  const userId = randomUUID();
  const sessionId = randomUUID();
  await t.database.superuser(async (c) => {
    await c.query('INSERT INTO users (user_id, email) VALUES ($1, $2)', [userId, email.toLowerCase()]);
    await c.query('UPDATE members SET user_id = $1 WHERE org_id = $2 AND member_id = $3', [userId, orgId, memberId]);
    await c.query('INSERT INTO user_orgs (user_id, org_id, member_id) VALUES ($1, $2, $3)', [userId, orgId, memberId]);
    await c.query(
      `INSERT INTO sessions (session_id, user_id, org_id, state, methods, expires_at, mfa_at)
       VALUES ($1, $2, $3, 'active', '{email_code,totp}', now() + interval '1 day', ${opts.mfa === false ? 'NULL' : 'now()'})`,
      [sessionId, userId, orgId],
    );
  });
  const tokens = await createAgentTokens(
    { withInstallationTx: createInstallationTx(t.database.db), keyProvider: t.keyProvider },
    { issuer: 'strongroom', audience: 'strongroom-api' },
  );
  return { token: await tokens.issueUser({ userId, sessionId, orgId, ttlSeconds: 900 }), userId, sessionId };
}

/** Adds a member through the API (as the org's root token); throws unless it is created. */
export async function createMember(
  t: TestApp,
  org: TestOrg,
  role: string,
  opts: { email?: string; displayName?: string } = {},
): Promise<TestMember> {
  const email = opts.email ?? `member-${process.pid}-${++orgCounter}@example.com`;
  const res = await t.call(org.token, {
    method: 'POST',
    url: '/v1/members',
    payload: { email, role, ...(opts.displayName === undefined ? {} : { display_name: opts.displayName }) },
  });
  if (res.statusCode !== 201) throw new Error(`adding a member answered ${res.statusCode}: ${res.body}`);
  const body = res.json() as { member: { id: string }; token: string };
  const session = await signInAsMember(t, org.orgId, body.member.id, email);
  return { id: body.member.id, token: session.token, personalToken: body.token, email, userId: session.userId, sessionId: session.sessionId };
}
