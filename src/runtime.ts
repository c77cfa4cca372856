import { join } from 'node:path';
import type { Config } from './config.js';
import { lockDataDir } from './db/data-dir-lock.js';
import { OWNER_ROLE, RUNTIME_ROLE, openPglite, openPostgres, type Database } from './db/driver.js';
import { RuntimeRoleRefusedError, pendingMigrations, runMigrations } from './db/migrate.js';
import { createVaultKeyring, type VaultKeyring } from './kms/keyring.js';
import { openLocalKeyProvider } from './kms/local.js';
import type { KeyProvider } from './kms/provider.js';
import type { Logger } from './log.js';

/** The database a command works on, and how to let go of it. */
export interface OpenedDatabase {
  db: Database;
  /** Human description for start-up messages (never includes credentials). */
  description: string;
  close(): Promise<void>;
}

/** Where PGlite keeps its files inside the data directory. */
export function pgliteDir(dataDir: string): string {
  return join(dataDir, 'pgdata');
}

/**
 * Opens the configured database: the PostgreSQL server of DATABASE_URL, or embedded PGlite in
 * the data directory — which is locked for this process first, so a second process gets a
 * clear error instead of corrupting it.
 */
export async function openConfiguredDatabase(config: Config, command: string): Promise<OpenedDatabase> {
  if (config.databaseUrl !== undefined) {
    const db = await openPostgres({
      url: config.databaseUrl,
      ...(config.databaseOwnerUrl === undefined ? {} : { adminUrl: config.databaseOwnerUrl }),
      maxConnections: config.databasePoolSize,
    });
    const url = new URL(config.databaseUrl);
    return { db, description: `PostgreSQL at ${url.hostname}:${url.port || '5432'}${url.pathname}`, close: () => db.close() };
  }
  const lock = lockDataDir(config.dataDir, command);
  try {
    const db = await openPglite(pgliteDir(config.dataDir));
    return {
      db,
      description: `embedded PGlite in ${pgliteDir(config.dataDir)}`,
      close: async () => {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * Makes sure the schema is current before the server uses it: migrations run only when some
 * are pending (asked as the runtime role), through DATABASE_OWNER_URL when it is set. A login
 * that may not migrate gets a message saying what to do instead of a database error.
 */
export async function ensureSchema(database: OpenedDatabase, logger: Logger): Promise<void> {
  const pending = await pendingMigrations(database.db);
  if (pending.length > 0) {
    try {
      const report = await runMigrations(database.db);
      if (report.applied.length > 0) logger.info({ applied: report.applied }, 'database migrated');
    } catch (err) {
      throw new Error(
        `The database needs migrations (${pending.map((m) => m.name).join(', ')}) that this login could not apply: ` +
          `${(err as Error).message}. Run "strongroom migrate" as a login that may create roles and tables, or set ` +
          'DATABASE_OWNER_URL to one (docs/operations.md).',
        { cause: err },
      );
    }
  }
  if (database.db.kind === 'postgres') await checkRuntimeLogin(database.db, logger);
}

/**
 * Every runtime transaction becomes strongroom_app, so the login of DATABASE_URL must be a
 * member of it. A login that is also a superuser, bypasses RLS or can become the owner role
 * could undo row-level security if the server were subverted: fine for development, not for
 * production, and said so at start.
 */
async function checkRuntimeLogin(db: Database, logger: Logger): Promise<void> {
  let role: { login: string; rolsuper: boolean; rolbypassrls: boolean; owner: boolean } | undefined;
  try {
    [role] = await db.transaction({}, (q) =>
      q.query<{ login: string; rolsuper: boolean; rolbypassrls: boolean; owner: boolean }>(
        `SELECT r.rolname AS login, r.rolsuper, r.rolbypassrls, pg_has_role(session_user, '${OWNER_ROLE}', 'MEMBER') AS owner
           FROM pg_roles r WHERE r.rolname = session_user`,
      ),
    );
  } catch (err) {
    if ((err as { code?: string }).code === '42501') throw new RuntimeRoleRefusedError(err);
    throw err;
  }
  if (role && (role.rolsuper || role.rolbypassrls || role.owner)) {
    logger.warn(
      `The DATABASE_URL login "${role.login}" is a superuser, bypasses row-level security or can become ${OWNER_ROLE}. ` +
        `Transactions still run as ${RUNTIME_ROLE}, but in production log in as a role that is only a member of ` +
        `${RUNTIME_ROLE} (docs/operations.md).`,
    );
  }
}

/** The root-key provider the config names (K1). */
export async function openConfiguredKeyProvider(config: Config, logger: Logger): Promise<KeyProvider> {
  switch (config.keyProvider) {
    case 'local':
      return openLocalKeyProvider({ keyFile: config.rootKeyFile, create: true, onWarning: (m) => logger.warn(m) });
  }
}

/** The keyring over a provider, with the configured cache bounds (K2). */
export function createConfiguredKeyring(config: Config, provider: KeyProvider): VaultKeyring {
  return createVaultKeyring({ provider, cache: config.keyCache });
}
