import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/** A row as returned by the driver: column name → value. */
export type Row = Record<string, unknown>;

/** Something that runs parameterised SQL. */
export interface Queryable {
  query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/** The role every runtime transaction runs as: no table ownership, no RLS bypass (SPEC §1). */
export const RUNTIME_ROLE = 'strongroom_app';
/** The role that owns the schema; only migrations run as it. */
export const OWNER_ROLE = 'strongroom_owner';

/**
 * The server's database, embedded PGlite or a PostgreSQL server, behind one interface.
 *
 * `transaction` always runs as {@link RUNTIME_ROLE} (set transaction-locally together with the
 * given settings), whatever role the connection logged in as. Application code does not call
 * it directly: `withTenantTx` (db/tenant.ts) is the one way in for tenant data.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(settings: Readonly<Record<string, string>>, fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one connection as the login role, for migrations and operator commands. */
  withAdminConnection<T>(fn: (q: AdminConnection) => Promise<T>): Promise<T>;
  /** Cheap liveness check of the database (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A connection as the login role, able to run multi-statement SQL (migration files). */
export interface AdminConnection extends Queryable {
  exec(sql: string): Promise<void>;
}


/** A SQL string literal (standard_conforming_strings: only the quote needs doubling). */
function literal(value: string): string {
  if (value.includes('\0')) throw new TypeError('a setting may not contain NUL');
  return `'${value.replace(/'/g, "''")}'`;
}

/** The statement that enters a runtime transaction: the runtime role and the settings. */
function settingsStatement(settings: Readonly<Record<string, string>>): string {
  const entries = [['role', RUNTIME_ROLE], ...Object.entries(settings)];
  return `SELECT ${entries.map(([k, v]) => `set_config(${literal(k as string)}, ${literal(v as string)}, true)`).join(', ')}`;
}

/**
 * Opens embedded PGlite. `dataDir` undefined keeps the database in memory (tests).
 * PGlite is one connection: it runs one transaction at a time and queues the rest, which keeps
 * each transaction isolated without any locking of ours.
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  // PostgreSQL's default 128 MB of shared buffers is most of PGlite's resident memory; one
  // embedded process needs far less (SPEC §3: idle RSS under 150 MB). The file system below
  // still caches what the buffers do not hold.
  const options = { postgresqlconf: 'shared_buffers = 16MB' };
  const db = dataDir === undefined ? new PGlite(options) : new PGlite(dataDir, options);
  await db.waitReady;
  const adapt = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<R extends object>(sql: string, params: readonly unknown[] = []) {
      const result = await q.query<R>(sql, params as unknown[]);
      return result.rows;
    },
  });
  return {
    kind: 'pglite',
    async transaction(settings, fn) {
      return db.transaction(async (tx) => {
        await tx.exec(settingsStatement(settings));
        return fn(adapt(tx));
      });
    },
    async withAdminConnection(fn) {
      return fn({
        ...adapt(db),
        async exec(sql) {
          await db.exec(sql);
        },
      });
    },
    async ping() {
      await db.query('SELECT 1');
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}

/** Options for a PostgreSQL server connection pool. */
export interface PostgresOptions {
  url: string;
  /** Connection used for migrations (DATABASE_OWNER_URL); defaults to `url`. */
  adminUrl?: string;
  maxConnections?: number;
}

/** Opens a pool on a PostgreSQL server (DATABASE_URL). */
export async function openPostgres(opts: PostgresOptions): Promise<Database> {
  // int8 (counts) as numbers; our counts stay far below 2^53.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    application_name: 'strongroom',
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const adapt = (client: pg.PoolClient | pg.Client): Queryable => ({
    async query<R extends object>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(sql, params as unknown[]);
      return result.rows as R[];
    },
  });
  return {
    kind: 'postgres',
    async transaction(settings, fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        // BEGIN and the settings as one simple-protocol message: one round trip, not two.
        await client.query(`BEGIN; ${settingsStatement(settings)}`);
        const result = await fn(adapt(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        throw err;
      } finally {
        client.release(broken);
      }
    },
    async withAdminConnection(fn) {
      const client = new pg.Client({ connectionString: opts.adminUrl ?? opts.url, application_name: 'strongroom-admin' });
      await client.connect();
      try {
        return await fn({
          ...adapt(client),
          async exec(sql) {
            await client.query(sql);
          },
        });
      } finally {
        await client.end();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}
