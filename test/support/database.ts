import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPglite, openPostgres, type AdminConnection, type Database } from '../../src/db/driver.js';
import { runMigrations } from '../../src/db/migrate.js';

/** A migrated database of its own for one test file. */
export interface TestDatabase {
  db: Database;
  kind: 'pglite' | 'postgres';
  /** Its URL on the PostgreSQL server (undefined on PGlite). */
  url: string | undefined;
  /** Runs SQL as the database superuser — the attacker who bypasses the application. */
  superuser<T>(fn: (conn: AdminConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The PostgreSQL server the tests use, when TEST_DATABASE_URL is set. */
export const serverUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

/**
 * A fresh, migrated database: in-memory PGlite (or PGlite in `dataDir`), or — when
 * TEST_DATABASE_URL is set — a new database on that server, dropped on close, with the ICU
 * collation `icuLocale` when given (PGlite has only its default).
 */
export async function createTestDatabase(opts: { dataDir?: string; icuLocale?: string } = {}): Promise<TestDatabase> {
  if (serverUrl === undefined) {
    const db = await openPglite(opts.dataDir);
    await runMigrations(db);
    return {
      db,
      kind: 'pglite',
      url: undefined,
      superuser: (fn) => db.withAdminConnection(fn),
      close: () => db.close(),
    };
  }
  const name = `sr_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const locale = opts.icuLocale === undefined ? '' : ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${opts.icuLocale.replace(/[^A-Za-z-]/g, '')}' LOCALE 'C.UTF-8'`;
  await withServer((c) => c.query(`CREATE DATABASE ${name}${locale}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openPostgres({ url: url.toString(), maxConnections: 5 });
  await runMigrations(db);
  return {
    db,
    kind: 'postgres',
    url: url.toString(),
    superuser: (fn) => db.withAdminConnection(fn),
    async close() {
      await db.close();
      await withServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Runs `fn` on a connection to the TEST_DATABASE_URL server's maintenance database. */
export async function withServer<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  if (serverUrl === undefined) throw new Error('TEST_DATABASE_URL is not set');
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `fn` on a superuser connection to one database of the test server. */
export async function withServerDatabase<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A database name on the test server that does not exist yet (for CLI tests). */
export async function createEmptyServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sr_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withServer((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withServer((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Installation tables that name an org but hold no tenant data (migration 0005): a person's
 * directory of orgs and their sessions. A person spans orgs, so these cannot be under one org's
 * row-level security; they hold ids and session state only — never a secret, a policy or any
 * other org's data — and the member row under RLS stays the truth of who belongs where. Each is
 * listed with every column it may hold: a new column fails test/rls-coverage.test.ts until it
 * is looked at.
 */
export const INSTALLATION_TABLES_WITH_ORG_ID: Readonly<Record<string, readonly string[]>> = {
  user_orgs: ['user_id', 'org_id', 'member_id'],
  sessions: [
    'session_id',
    'user_id',
    'org_id',
    'state',
    'methods',
    'created_at',
    'expires_at',
    'last_active_at',
    'mfa_at',
    'revoked_at',
    'revoked_reason',
    'pending_hash',
    'csrf_hash',
    'user_agent',
  ],
};
