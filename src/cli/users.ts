import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Queryable } from '../db/driver.js';
import { createInstallationTx } from '../db/tenant.js';
import { normaliseEmail } from '../identity/identity.service.js';
import { isImportableHash } from '../identity/passwords.js';
import type { Logger } from '../log.js';
import { ensureSchema, openConfiguredDatabase } from '../runtime.js';

/** One person to import: an address, and optionally a bcrypt or argon2id hash from the old system. */
const importRecord = z
  .object({
    email: z.string().min(3).max(254),
    display_name: z.string().max(100).optional(),
    password_hash: z.string().max(512).optional(),
  })
  .strict();

/** What an import did, per address (never a hash). */
export interface ImportReport {
  created: number;
  skipped: { email: string; reason: 'exists' | 'invalid_email' | 'unsupported_hash' }[];
}

/**
 * Imports people from another system (I1): each becomes a user with that address and, when
 * given, its password hash as it was — bcrypt (`$2a$`/`$2b$`/`$2y$`) or argon2id. A bcrypt hash
 * is checked at the person's first password sign-in and replaced by an argon2id one then; the
 * password itself is never needed here. Existing users are left alone (an import never takes
 * over an account), and people join orgs through invitations as usual.
 */
export async function importUsers(q: Queryable, records: readonly unknown[]): Promise<ImportReport> {
  const report: ImportReport = { created: 0, skipped: [] };
  for (const raw of records) {
    const parsed = importRecord.safeParse(raw);
    const given = parsed.success ? parsed.data.email : typeof (raw as { email?: unknown })?.email === 'string' ? String((raw as { email: string }).email) : '';
    const email = parsed.success ? normaliseEmail(parsed.data.email) : undefined;
    if (!parsed.success || !email) {
      report.skipped.push({ email: given.slice(0, 254), reason: 'invalid_email' });
      continue;
    }
    const hash = parsed.data.password_hash;
    if (hash !== undefined && !isImportableHash(hash)) {
      report.skipped.push({ email, reason: 'unsupported_hash' });
      continue;
    }
    const rows = await q.query(
      `INSERT INTO users (user_id, email, display_name, password_hash, password_set_at)
       VALUES ($1, $2, $3, $4, CASE WHEN $4::text IS NULL THEN NULL ELSE now() END)
       ON CONFLICT (email) DO NOTHING RETURNING user_id`,
      [randomUUID(), email, (parsed.data.display_name ?? '').trim(), hash ?? null],
    );
    if (rows.length === 1) report.created += 1;
    else report.skipped.push({ email, reason: 'exists' });
  }
  return report;
}

/** `strongroom users import --file people.json`: a JSON array of `{email, display_name?, password_hash?}`. */
export async function usersImport(config: Config, logger: Logger, opts: { file: string; json: boolean }): Promise<void> {
  let records: unknown;
  try {
    records = JSON.parse(readFileSync(opts.file, 'utf8'));
  } catch {
    throw new Error(`cannot read ${opts.file} as JSON`);
  }
  if (!Array.isArray(records)) throw new Error(`${opts.file} must hold a JSON array of {"email", "display_name"?, "password_hash"?}`);
  const database = await openConfiguredDatabase(config, 'users import');
  try {
    await ensureSchema(database, logger);
    const report = await createInstallationTx(database.db)((q) => importUsers(q, records as unknown[]));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      process.stdout.write(`Imported ${report.created} people; skipped ${report.skipped.length}.\n`);
      for (const s of report.skipped) process.stdout.write(`  skipped ${s.email}: ${s.reason}\n`);
    }
  } finally {
    await database.close();
  }
}
