import { join } from 'node:path';
import type { Config } from './config.js';
import { lockDataDir } from './db/data-dir-lock.js';
import { openPglite, openPostgres, type Database } from './db/driver.js';
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
export async function openConfiguredDatabase(config: Config, command: string, logger: Logger): Promise<OpenedDatabase> {
  if (config.databaseUrl !== undefined) {
    const db = await openPostgres({
      url: config.databaseUrl,
      ...(config.databaseOwnerUrl === undefined ? {} : { adminUrl: config.databaseOwnerUrl }),
      maxConnections: config.databasePoolSize,
    });
    const url = new URL(config.databaseUrl);
    await warnIfPrivileged(db, logger);
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
 * Every runtime transaction runs as strongroom_app whatever the login role, but a login role
 * that is a superuser or bypasses RLS could do more if the server were subverted: fine for
 * development, not for production (docs/operations.md shows the role to create).
 */
async function warnIfPrivileged(db: Database, logger: Logger): Promise<void> {
  const [role] = await db.withAdminConnection((c) =>
    c.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
      'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = session_user',
    ),
  );
  if (role?.rolsuper || role?.rolbypassrls) {
    logger.warn(
      'DATABASE_URL logs in as a superuser or a role that bypasses row-level security. Transactions still run as ' +
        'strongroom_app, but in production log in as a role that is only a member of strongroom_app (docs/operations.md).',
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
