import type { TenantTx } from '../../db/tenant.js';

/** A secret's row (its description; values live in secret_versions). */
export interface SecretRow {
  secret_id: string;
  vault_id: string;
  path: string;
  type: string;
  tier: 'P0' | 'P1' | 'P2';
  metadata: Record<string, string | number | boolean | null>;
  current_version: number;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

const SECRET_COLUMNS =
  's.secret_id, s.vault_id, s.path, s.type, s.tier, s.metadata, s.current_version, s.expires_at, s.created_at, s.updated_at, s.deleted_at';

/**
 * The secret at `path`, created (with no version yet) if there is none, and locked for the
 * rest of the transaction so concurrent writers of one secret take turns.
 */
export async function lockOrCreateSecret(
  tx: TenantTx,
  s: { secretId: string; vaultId: string; path: string; type: string; tier: string; actor: string },
): Promise<SecretRow> {
  await tx.query(
    `INSERT INTO secrets (org_id, secret_id, vault_id, path, type, tier, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
     ON CONFLICT (org_id, vault_id, path) DO NOTHING`,
    [tx.orgId, s.secretId, s.vaultId, s.path, s.type, s.tier, s.actor],
  );
  const [row] = await tx.query<SecretRow>(
    `SELECT ${SECRET_COLUMNS} FROM secrets s WHERE s.org_id = $1 AND s.vault_id = $2 AND s.path = $3 FOR UPDATE`,
    [tx.orgId, s.vaultId, s.path],
  );
  return row as SecretRow;
}

/** Adds a version and makes it current; brings the secret back if it was deleted. */
export async function appendVersion(
  tx: TenantTx,
  v: {
    secretId: string;
    version: number;
    vaultKeyVersion: number;
    envelope: Uint8Array;
    actor: string;
    type: string;
    tier: string;
    metadata: Record<string, unknown>;
    expiresAt: string | null;
  },
): Promise<SecretRow> {
  await tx.query(
    `INSERT INTO secret_versions (org_id, secret_id, version, vault_key_version, envelope, created_by)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [tx.orgId, v.secretId, v.version, v.vaultKeyVersion, v.envelope, v.actor],
  );
  const [row] = await tx.query<SecretRow>(
    `UPDATE secrets s SET current_version = $3, type = $4, tier = $5, metadata = $6, expires_at = $7,
            updated_by = $8, updated_at = now(), deleted_at = NULL
      WHERE s.org_id = $1 AND s.secret_id = $2
      RETURNING ${SECRET_COLUMNS}`,
    [tx.orgId, v.secretId, v.version, v.type, v.tier, JSON.stringify(v.metadata), v.expiresAt, v.actor],
  );
  return row as SecretRow;
}

/** A secret version with what decrypting it needs: the wrapped vault key of its version. */
export interface SecretVersionRow extends SecretRow {
  version: number;
  envelope: Uint8Array | null;
  version_created_at: Date;
  vault_key_version: number;
  key_provider: string;
  root_key_id: string;
  wrapped_key: Uint8Array;
}

/** A live secret's version (`version` or the current one), in one round trip. */
export async function findSecretVersion(
  tx: TenantTx,
  vaultId: string,
  path: string,
  version: number | undefined,
): Promise<SecretVersionRow | undefined> {
  const [row] = await tx.query<SecretVersionRow>(
    `SELECT ${SECRET_COLUMNS}, v.version, v.envelope, v.created_at AS version_created_at, v.vault_key_version,
            k.provider AS key_provider, k.root_key_id, k.wrapped_key
       FROM secrets s
       JOIN secret_versions v ON v.org_id = s.org_id AND v.secret_id = s.secret_id
                             AND v.version = COALESCE($4::int, s.current_version)
       JOIN vault_keys k ON k.org_id = s.org_id AND k.vault_id = s.vault_id AND k.version = v.vault_key_version
      WHERE s.org_id = $1 AND s.vault_id = $2 AND s.path = $3 AND s.deleted_at IS NULL`,
    [tx.orgId, vaultId, path, version ?? null],
  );
  return row;
}

/** Live secrets of a vault under a path prefix, by path, after `afterPath`. */
export async function listSecrets(
  tx: TenantTx,
  vaultId: string,
  opts: { prefix: string; afterPath: string | undefined; limit: number },
): Promise<SecretRow[]> {
  // `prefix` is a normalised path ("/" for all): match the path itself or anything below it.
  const under = opts.prefix === '/' ? '/' : `${opts.prefix}/`;
  return tx.query<SecretRow>(
    `SELECT ${SECRET_COLUMNS} FROM secrets s
      WHERE s.org_id = $1 AND s.vault_id = $2 AND s.deleted_at IS NULL AND s.current_version > 0
        AND (s.path = $3 OR left(s.path, length($4)) = $4)
        AND ($5::text IS NULL OR s.path > $5)
      ORDER BY s.path
      LIMIT $6`,
    [tx.orgId, vaultId, opts.prefix, under, opts.afterPath ?? null, opts.limit],
  );
}

/** Marks a live secret deleted (its versions stay). True if there was one. */
export async function softDeleteSecret(tx: TenantTx, vaultId: string, path: string, actor: string): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE secrets SET deleted_at = now(), updated_at = now(), updated_by = $4
      WHERE org_id = $1 AND vault_id = $2 AND path = $3 AND deleted_at IS NULL AND current_version > 0
      RETURNING secret_id`,
    [tx.orgId, vaultId, path, actor],
  );
  return rows.length > 0;
}

/**
 * Erases one version's ciphertext for good. Returns 'destroyed', 'already' (it was destroyed
 * before) or 'missing' (no such live secret or version).
 */
export async function destroyVersion(
  tx: TenantTx,
  vaultId: string,
  path: string,
  version: number,
): Promise<'destroyed' | 'already' | 'missing'> {
  const [row] = await tx.query<{ destroyed_before: boolean }>(
    `WITH target AS (
       SELECT v.secret_id, v.version, v.destroyed_at IS NOT NULL AS destroyed_before
         FROM secrets s JOIN secret_versions v ON v.org_id = s.org_id AND v.secret_id = s.secret_id
        WHERE s.org_id = $1 AND s.vault_id = $2 AND s.path = $3 AND v.version = $4 AND s.deleted_at IS NULL
          FOR UPDATE OF v
     ), destroyed AS (
       UPDATE secret_versions v SET envelope = NULL, destroyed_at = now()
         FROM target t
        WHERE v.org_id = $1 AND v.secret_id = t.secret_id AND v.version = t.version AND NOT t.destroyed_before
     )
     SELECT destroyed_before FROM target`,
    [tx.orgId, vaultId, path, version],
  );
  if (!row) return 'missing';
  return row.destroyed_before ? 'already' : 'destroyed';
}
