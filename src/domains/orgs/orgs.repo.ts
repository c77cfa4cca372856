import type { TenantTx } from '../../db/tenant.js';

/** An org as stored. */
export interface OrgRow {
  org_id: string;
  name: string;
  created_at: Date;
}

/** An org with the sign-in rules it sets for its members (I3, I2). */
export interface OrgSettingsRow extends OrgRow {
  require_mfa: boolean;
  password_sign_in: boolean;
}

const SETTINGS_COLUMNS = 'org_id, name, created_at, require_mfa, password_sign_in';

/** Creates the org of the transaction's tenant. */
export async function insertOrg(tx: TenantTx, name: string): Promise<OrgRow> {
  const [row] = await tx.query<OrgRow>(
    'INSERT INTO orgs (org_id, name) VALUES ($1, $2) RETURNING org_id, name, created_at',
    [tx.orgId, name],
  );
  return row as OrgRow;
}

/** The transaction's org, if it exists. */
export async function findOrg(tx: TenantTx): Promise<OrgRow | undefined> {
  const [row] = await tx.query<OrgRow>('SELECT org_id, name, created_at FROM orgs WHERE org_id = $1', [tx.orgId]);
  return row;
}

/** The transaction's org with its sign-in settings. */
export async function findOrgSettings(tx: TenantTx): Promise<OrgSettingsRow | undefined> {
  const [row] = await tx.query<OrgSettingsRow>(`SELECT ${SETTINGS_COLUMNS} FROM orgs WHERE org_id = $1`, [tx.orgId]);
  return row;
}

/** Changes the org's sign-in settings; absent ones stay as they are. */
export async function updateOrgSettings(
  tx: TenantTx,
  change: { requireMfa?: boolean; passwordSignIn?: boolean },
): Promise<OrgSettingsRow | undefined> {
  const [row] = await tx.query<OrgSettingsRow>(
    `UPDATE orgs SET require_mfa = coalesce($2, require_mfa), password_sign_in = coalesce($3, password_sign_in)
      WHERE org_id = $1 RETURNING ${SETTINGS_COLUMNS}`,
    [tx.orgId, change.requireMfa ?? null, change.passwordSignIn ?? null],
  );
  return row;
}

/**
 * Takes the org row's lock until the transaction ends: changes that count owners (leaving,
 * transferring ownership) run one at a time per org, each seeing the one before it.
 */
export async function lockOrg(tx: TenantTx): Promise<void> {
  await tx.query('SELECT org_id FROM orgs WHERE org_id = $1 FOR UPDATE', [tx.orgId]);
}
