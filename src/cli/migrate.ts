import type { Config } from '../config.js';
import { runMigrations } from '../db/migrate.js';
import { openConfiguredDatabase } from '../runtime.js';

/** `strongroom migrate`: applies pending migrations and says what it did. */
export async function migrate(config: Config): Promise<void> {
  const database = await openConfiguredDatabase(config, 'migrate');
  try {
    const report = await runMigrations(database.db);
    const applied = report.applied.length === 0 ? 'nothing to apply' : `applied ${report.applied.join(', ')}`;
    process.stdout.write(`Migrations on ${database.description}: ${applied}.\n`);
  } finally {
    await database.close();
  }
}
