import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AuditOptions } from '../../src/app.js';
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
  opts: { dataDir?: string; icuLocale?: string; audit?: Partial<AuditOptions> } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(opts);
  const keyDir = mkdtempSync(join(tmpdir(), 'sr-key-'));
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
  const keyProvider = await openLocalKeyProvider({ keyFile: join(keyDir, 'root-key.json'), create: true, onWarning: () => {} });
  const keyring = createVaultKeyring({ provider: keyProvider, cache: { maxEntries: 100, ttlMs: 60_000 } });
  const app = await buildApp({ db: database.db, keyProvider, keyring, logger, ...(opts.audit ? { audit: opts.audit } : {}) });
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
