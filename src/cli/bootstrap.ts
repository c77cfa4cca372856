import type { Config } from '../config.js';
import { createTenantTx } from '../db/tenant.js';
import { bootstrapOrg } from '../domains/orgs/orgs.service.js';
import type { Logger } from '../log.js';
import { ensureSchema, openConfiguredDatabase } from '../runtime.js';

/**
 * `strongroom bootstrap --org NAME`: creates an org and its root token, printed once. Works on
 * the data directory before `serve` starts (PGlite) or on DATABASE_URL at any time.
 */
export async function bootstrap(config: Config, logger: Logger, opts: { org: string; json: boolean }): Promise<void> {
  const database = await openConfiguredDatabase(config, 'bootstrap');
  try {
    await ensureSchema(database, logger);
    const org = await bootstrapOrg({ withTenantTx: createTenantTx(database.db) }, opts.org);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ orgId: org.orgId, token: org.token })}\n`);
    } else {
      process.stdout.write(
        `Created org "${org.name}" (${org.orgId}).\n\n` +
          `Root token (shown once; only its hash is stored):\n\n  ${org.token}\n\n` +
          'Use it as "Authorization: Bearer <token>". Keep it like a root password.\n',
      );
    }
  } finally {
    await database.close();
  }
}
