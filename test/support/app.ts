import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AuditOptions, type IdentityConfig } from '../../src/app.js';
import { createTenantTx } from '../../src/db/tenant.js';
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

/** A member made through the API, with its first personal token (`sr_user_…`). */
export interface TestMember {
  id: string;
  token: string;
  email: string;
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
  return { id: body.member.id, token: body.token, email };
}
