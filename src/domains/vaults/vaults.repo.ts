import type { TenantTx } from '../../db/tenant.js';
import type { StoredVaultKey } from '../../kms/keyring.js';

/** A vault as stored. */
export interface VaultRow {
  vault_id: string;
  name: string;
  description: string;
  key_version: number;
  team_id: string | null;
  created_by: string;
  created_at: Date;
}

const VAULT_COLUMNS = 'vault_id, name, description, key_version, team_id, created_by, created_at';

/** Creates a vault with its first key version. */
export async function insertVault(
  tx: TenantTx,
  vault: { vaultId: string; name: string; description: string; teamId: string | null; createdBy: string },
  key: StoredVaultKey,
): Promise<VaultRow> {
  const [row] = await tx.query<VaultRow>(
    `INSERT INTO vaults (org_id, vault_id, name, description, key_version, team_id, created_by)
     VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING ${VAULT_COLUMNS}`,
    [tx.orgId, vault.vaultId, vault.name, vault.description, vault.teamId, vault.createdBy],
  );
  await tx.query(
    `INSERT INTO vault_keys (org_id, vault_id, version, provider, root_key_id, wrapped_key)
     VALUES ($1, $2, 1, $3, $4, $5)`,
    [tx.orgId, vault.vaultId, key.provider, key.rootKeyId, key.wrappedKey],
  );
  return row as VaultRow;
}

/** The org's vaults, by name. */
export async function listVaults(tx: TenantTx): Promise<VaultRow[]> {
  return tx.query<VaultRow>(`SELECT ${VAULT_COLUMNS} FROM vaults WHERE org_id = $1 ORDER BY lower(name), vault_id`, [
    tx.orgId,
  ]);
}

/** One vault of the org. */
export async function findVault(tx: TenantTx, vaultId: string): Promise<VaultRow | undefined> {
  const [row] = await tx.query<VaultRow>(`SELECT ${VAULT_COLUMNS} FROM vaults WHERE org_id = $1 AND vault_id = $2`, [
    tx.orgId,
    vaultId,
  ]);
  return row;
}

/**
 * Locks one vault of the org for the rest of the transaction. Writers of its secrets take a
 * key-share lock on it (their foreign key), so they wait for, or are waited for by, the holder.
 */
export async function lockVault(tx: TenantTx, vaultId: string): Promise<VaultRow | undefined> {
  const [row] = await tx.query<VaultRow>(
    `SELECT ${VAULT_COLUMNS} FROM vaults WHERE org_id = $1 AND vault_id = $2 FOR UPDATE`,
    [tx.orgId, vaultId],
  );
  return row;
}

/** A vault's current key, wrapped, with its version. */
export async function findCurrentVaultKey(
  tx: TenantTx,
  vaultId: string,
): Promise<(StoredVaultKey & { version: number }) | undefined> {
  const [row] = await tx.query<{ version: number; provider: string; root_key_id: string; wrapped_key: Uint8Array }>(
    `SELECT k.version, k.provider, k.root_key_id, k.wrapped_key
       FROM vaults v JOIN vault_keys k ON k.org_id = v.org_id AND k.vault_id = v.vault_id AND k.version = v.key_version
      WHERE v.org_id = $1 AND v.vault_id = $2`,
    [tx.orgId, vaultId],
  );
  return row && { version: row.version, provider: row.provider, rootKeyId: row.root_key_id, wrappedKey: row.wrapped_key };
}

/** How many secrets of the vault are not deleted. */
export async function countLiveSecrets(tx: TenantTx, vaultId: string): Promise<number> {
  const [row] = await tx.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM secrets WHERE org_id = $1 AND vault_id = $2 AND deleted_at IS NULL',
    [tx.orgId, vaultId],
  );
  return row?.n ?? 0;
}

/** Deletes a vault with its keys, secrets and versions (cascade). True if it existed. */
export async function deleteVault(tx: TenantTx, vaultId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM vaults WHERE org_id = $1 AND vault_id = $2 RETURNING vault_id', [
    tx.orgId,
    vaultId,
  ]);
  return rows.length > 0;
}
