import type { TenantTx } from '../../db/tenant.js';
import type { Action, OrgArea } from '../../policy/types.js';

/** A custom role as stored. */
export interface RoleRow {
  role_id: string;
  name: string;
  description: string;
  org_grants: Partial<Record<OrgArea, Action[]>>;
  vault_scope: 'all' | 'team' | null;
  vault_actions: Action[];
  restricted: boolean;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

/** A custom role's content, as written. */
export interface RoleContent {
  name: string;
  description: string;
  orgGrants: Partial<Record<OrgArea, readonly Action[]>>;
  vaultScope: 'all' | 'team' | null;
  vaultActions: readonly Action[];
  restricted: boolean;
}

const COLUMNS = 'role_id, name, description, org_grants, vault_scope, vault_actions, restricted, created_by, created_at, updated_at';

/** Stores a new custom role. The caller bumps the authz epoch (Authorizer.withChange). */
export async function insertRole(tx: TenantTx, role: RoleContent & { roleId: string; createdBy: string }): Promise<RoleRow> {
  const [row] = await tx.query<RoleRow>(
    `INSERT INTO roles (org_id, role_id, name, description, org_grants, vault_scope, vault_actions, restricted, created_by)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::text[], $8, $9) RETURNING ${COLUMNS}`,
    [
      tx.orgId,
      role.roleId,
      role.name,
      role.description,
      JSON.stringify(role.orgGrants),
      role.vaultScope,
      role.vaultActions,
      role.restricted,
      role.createdBy,
    ],
  );
  return row as RoleRow;
}

/** The org's custom roles, by name. */
export async function listRoles(tx: TenantTx): Promise<RoleRow[]> {
  return tx.query<RoleRow>(`SELECT ${COLUMNS} FROM roles WHERE org_id = $1 ORDER BY lower(name), role_id`, [tx.orgId]);
}

/**
 * One custom role of the org. `lock`: `share` keeps it from being changed or deleted until the
 * transaction ends (a member is being given it); `update` takes it for changing or deleting.
 */
export async function findRole(tx: TenantTx, roleId: string, lock?: 'share' | 'update'): Promise<RoleRow | undefined> {
  const suffix = lock === 'share' ? ' FOR SHARE' : lock === 'update' ? ' FOR UPDATE' : '';
  const [row] = await tx.query<RoleRow>(`SELECT ${COLUMNS} FROM roles WHERE org_id = $1 AND role_id = $2${suffix}`, [tx.orgId, roleId]);
  return row;
}

/** Replaces a custom role's content; undefined when there is none. */
export async function replaceRole(tx: TenantTx, roleId: string, role: RoleContent): Promise<RoleRow | undefined> {
  const [row] = await tx.query<RoleRow>(
    `UPDATE roles SET name = $3, description = $4, org_grants = $5::jsonb, vault_scope = $6, vault_actions = $7::text[],
            restricted = $8, updated_at = now()
      WHERE org_id = $1 AND role_id = $2 RETURNING ${COLUMNS}`,
    [tx.orgId, roleId, role.name, role.description, JSON.stringify(role.orgGrants), role.vaultScope, role.vaultActions, role.restricted],
  );
  return row;
}

/** How many members hold a role (a built-in id or a custom role's id). */
export async function countMembersWithRole(tx: TenantTx, roleId: string): Promise<number> {
  const [row] = await tx.query<{ n: string | number }>('SELECT count(*) AS n FROM members WHERE org_id = $1 AND role = $2', [tx.orgId, roleId]);
  return Number(row?.n ?? 0);
}

/** Deletes a custom role; false when there is none. */
export async function deleteRole(tx: TenantTx, roleId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM roles WHERE org_id = $1 AND role_id = $2 RETURNING role_id', [tx.orgId, roleId]);
  return rows.length > 0;
}
