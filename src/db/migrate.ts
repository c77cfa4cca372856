import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { OWNER_ROLE, RUNTIME_ROLE, type AdminConnection, type Database } from './driver.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;
/** Key of the advisory lock that lets one node migrate while the others wait. */
const MIGRATION_LOCK = 0x5354524f; // "STRO"

/**
 * The two roles, made idempotently by the migrating login before any migration. Creating a role
 * that another process has just created raises duplicate_object or unique_violation: both mean
 * "it exists now". A migrating login that is not a superuser is made a member of the owner role
 * (it must SET ROLE to it) — and of nothing else: the runtime login is granted strongroom_app by
 * the operator (docs/operations.md), so no one login needs to be both.
 */
const ROLES_SQL = `
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${OWNER_ROLE}') THEN
    BEGIN
      CREATE ROLE ${OWNER_ROLE} NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
    BEGIN
      CREATE ROLE ${RUNTIME_ROLE} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT ${OWNER_ROLE} TO %I', current_user);
  END IF;
END
$$;
GRANT USAGE, CREATE ON SCHEMA public TO ${OWNER_ROLE};
GRANT USAGE ON SCHEMA public TO ${RUNTIME_ROLE};
`;

/** The login of DATABASE_URL may not become the runtime role: the operator must grant it. */
export class RuntimeRoleRefusedError extends Error {
  constructor(cause: unknown) {
    super(
      `The DATABASE_URL login may not become ${RUNTIME_ROLE}. Grant it as a superuser: GRANT ${RUNTIME_ROLE} TO <login> ` +
        '(docs/operations.md).',
      { cause },
    );
    this.name = 'RuntimeRoleRefusedError';
  }
}

/** A migration file shipped with the server. */
export interface Migration {
  id: string;
  name: string;
  sql: string;
  checksum: string;
}

/** Reads the migration files in order. */
export async function loadMigrations(): Promise<Migration[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((n) => MIGRATION_FILE.test(n)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(new URL(name, MIGRATIONS_DIR), 'utf8');
      return { id: name.slice(0, 4), name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** What a migration run did. */
export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

/**
 * The migrations not applied yet, asked as the runtime role — which needs no privilege beyond
 * its own, so a server whose login may not migrate can still tell whether it must. A database
 * never migrated (no table, no role yet) has every migration pending. A migration that was
 * applied and has since been edited is refused.
 */
export async function pendingMigrations(db: Database): Promise<Migration[]> {
  const migrations = await loadMigrations();
  let applied: { id: string; checksum: string }[];
  try {
    applied = await db.transaction({}, (q) => q.query<{ id: string; checksum: string }>('SELECT id, checksum FROM schema_migrations'));
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 42501: the role exists but this login may not become it — whatever the schema's state,
    // that is the first thing to fix.
    if (code === '42501') throw new RuntimeRoleRefusedError(err);
    // 42P01: no such table; 22023 / 42704: no such role yet. A database never migrated.
    if (code === '42P01' || code === '22023' || code === '42704') return migrations;
    throw err;
  }
  const done = new Map(applied.map((r) => [r.id, r.checksum]));
  for (const m of migrations) {
    const checksum = done.get(m.id);
    if (checksum !== undefined && checksum !== m.checksum) {
      throw new Error(`migration ${m.name} was changed after it was applied; add a new migration instead`);
    }
  }
  return migrations.filter((m) => !done.has(m.id));
}

/**
 * Brings the schema up to date: creates the roles, then applies each pending migration in its
 * own transaction as the owner role, under an advisory lock so several nodes starting at once
 * migrate exactly once. A migration that was applied and has since been edited is refused.
 */
export async function runMigrations(db: Database): Promise<MigrationReport> {
  const migrations = await loadMigrations();
  return db.withAdminConnection(async (conn) => {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await conn.exec(ROLES_SQL);
      await conn.exec(`
        BEGIN;
        SET LOCAL ROLE ${OWNER_ROLE};
        CREATE TABLE IF NOT EXISTS schema_migrations (
          id text PRIMARY KEY,
          name text NOT NULL,
          checksum text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        );
        GRANT SELECT ON schema_migrations TO ${RUNTIME_ROLE};
        COMMIT;`);
      const done = new Map(
        (await conn.query<{ id: string; checksum: string }>('SELECT id, checksum FROM schema_migrations')).map((r) => [
          r.id,
          r.checksum,
        ]),
      );
      const applied: string[] = [];
      for (const m of migrations) {
        const previous = done.get(m.id);
        if (previous !== undefined) {
          if (previous !== m.checksum) {
            throw new Error(`migration ${m.name} was changed after it was applied; add a new migration instead`);
          }
          continue;
        }
        await applyMigration(conn, m);
        applied.push(m.name);
      }
      return { applied, alreadyApplied: done.size };
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  });
}

async function applyMigration(conn: AdminConnection, m: Migration): Promise<void> {
  await conn.exec(`BEGIN; SET LOCAL ROLE ${OWNER_ROLE};`);
  try {
    await conn.exec(m.sql);
    await conn.query('INSERT INTO schema_migrations (id, name, checksum) VALUES ($1, $2, $3)', [m.id, m.name, m.checksum]);
    await conn.exec('COMMIT');
  } catch (err) {
    await conn.exec('ROLLBACK');
    throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
  }
}
