import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPglite, openPostgres, type AdminConnection, type Database } from '../src/db/driver.js';
import { runMigrations } from '../src/db/migrate.js';

/**
 * The benchmark's database: a fresh, migrated database `sr_bench_<random>` on the PostgreSQL
 * server of BENCH_DATABASE_URL (or TEST_DATABASE_URL), dropped at the end; in-memory PGlite when
 * neither is set. The same approach as the tests' support code, kept separate (bench/ does not
 * import from test/).
 */
export interface BenchDatabase {
  kind: 'pglite' | 'postgres';
  /** Strongroom's database handle, pool of `poolSize` (Strongroom's default, 10). */
  db: Database;
  /** The bench database's URL on the server (undefined on PGlite), for the baseline's own pool. */
  url: string | undefined;
  /** Human description (no credentials). */
  description: string;
  /** SQL as the login (a superuser in the bench setup): sees every org's rows. */
  superuser<T>(fn: (conn: AdminConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function benchServerUrl(): string | undefined {
  return process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'strongroom-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(poolSize: number): Promise<BenchDatabase> {
  const serverUrl = benchServerUrl();
  if (serverUrl === undefined) {
    const db = await openPglite(undefined);
    await runMigrations(db);
    return {
      kind: 'pglite',
      db,
      url: undefined,
      description: 'PGlite in memory (no BENCH_DATABASE_URL / TEST_DATABASE_URL)',
      superuser: (fn) => db.withAdminConnection(fn),
      close: () => db.close(),
    };
  }
  const name = `sr_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let db: Database | undefined;
  try {
    db = await openPostgres({ url: url.toString(), maxConnections: poolSize });
    await runMigrations(db);
  } catch (err) {
    await db?.close();
    await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    throw err;
  }
  const opened = db;
  const version = await opened.withAdminConnection((c) => c.query<{ v: string }>("SELECT current_setting('server_version') AS v"));
  return {
    kind: 'postgres',
    db: opened,
    url: url.toString(),
    description: `PostgreSQL ${version[0]?.v ?? '?'} at ${url.hostname}:${url.port || '5432'}/${name}`,
    superuser: (fn) => opened.withAdminConnection(fn),
    async close() {
      await opened.close();
      await withClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
