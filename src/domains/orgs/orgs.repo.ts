import type { TenantTx } from '../../db/tenant.js';

/** An org as stored. */
export interface OrgRow {
  org_id: string;
  name: string;
  created_at: Date;
}

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
