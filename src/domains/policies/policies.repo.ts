import type { TenantTx } from '../../db/tenant.js';
import { bumpAgentGenerations } from '../agents/agents.repo.js';
import type { Action, Effect, PolicyConditions, PolicyPrincipalType } from '../../policy/types.js';

/** A policy as stored. */
export interface PolicyRow {
  policy_id: string;
  vault_id: string;
  principal_type: PolicyPrincipalType;
  principal_id: string;
  secret_path_pattern: string;
  permissions: Action[];
  effect: Effect;
  conditions: PolicyConditions;
  expires_at: Date | null;
  description: string;
  created_by: string;
  created_at: Date;
  updated_by: string;
  updated_at: Date;
}

/** A policy to store. */
export interface PolicyInput {
  policyId: string;
  vaultId: string;
  principalType: PolicyPrincipalType;
  principalId: string;
  pattern: string;
  permissions: readonly Action[];
  effect: Effect;
  conditions: PolicyConditions;
  expiresAt: Date | null;
  description: string;
  actor: string;
}

const COLUMNS = `policy_id, vault_id, principal_type, principal_id, secret_path_pattern, permissions, effect, conditions,
  expires_at, description, created_by, created_at, updated_by, updated_at`;

/** Stores a new policy. The caller bumps the authz epoch (Authorizer.withChange). */
export async function insertPolicy(tx: TenantTx, p: PolicyInput): Promise<PolicyRow> {
  const [row] = await tx.query<PolicyRow>(
    `INSERT INTO policies (org_id, policy_id, vault_id, principal_type, principal_id, secret_path_pattern, permissions,
                           effect, conditions, expires_at, description, created_by, updated_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $12) RETURNING ${COLUMNS}`,
    [
      tx.orgId,
      p.policyId,
      p.vaultId,
      p.principalType,
      p.principalId,
      p.pattern,
      p.permissions,
      p.effect,
      JSON.stringify(p.conditions),
      p.expiresAt,
      p.description,
      p.actor,
    ],
  );
  return row as PolicyRow;
}

/** Replaces a policy's content; undefined when the vault has no such policy. */
export async function replacePolicy(tx: TenantTx, p: PolicyInput): Promise<PolicyRow | undefined> {
  const [row] = await tx.query<PolicyRow>(
    `UPDATE policies SET principal_type = $4, principal_id = $5, secret_path_pattern = $6, permissions = $7, effect = $8,
            conditions = $9::jsonb, expires_at = $10, description = $11, updated_by = $12, updated_at = now()
      WHERE org_id = $1 AND policy_id = $2 AND vault_id = $3 RETURNING ${COLUMNS}`,
    [
      tx.orgId,
      p.policyId,
      p.vaultId,
      p.principalType,
      p.principalId,
      p.pattern,
      p.permissions,
      p.effect,
      JSON.stringify(p.conditions),
      p.expiresAt,
      p.description,
      p.actor,
    ],
  );
  return row;
}

/** One policy of a vault, locked for the rest of the transaction. */
export async function lockPolicy(tx: TenantTx, vaultId: string, policyId: string): Promise<PolicyRow | undefined> {
  const [row] = await tx.query<PolicyRow>(
    `SELECT ${COLUMNS} FROM policies WHERE org_id = $1 AND vault_id = $2 AND policy_id = $3 FOR UPDATE`,
    [tx.orgId, vaultId, policyId],
  );
  return row;
}

/** One policy of a vault. */
export async function findPolicy(tx: TenantTx, vaultId: string, policyId: string): Promise<PolicyRow | undefined> {
  const [row] = await tx.query<PolicyRow>(`SELECT ${COLUMNS} FROM policies WHERE org_id = $1 AND vault_id = $2 AND policy_id = $3`, [
    tx.orgId,
    vaultId,
    policyId,
  ]);
  return row;
}

/** A vault's policies, oldest first. */
export async function listPolicies(tx: TenantTx, vaultId: string): Promise<PolicyRow[]> {
  return tx.query<PolicyRow>(`SELECT ${COLUMNS} FROM policies WHERE org_id = $1 AND vault_id = $2 ORDER BY created_at, policy_id`, [
    tx.orgId,
    vaultId,
  ]);
}

/** Every policy of the org (access matrix, reviews). */
export async function listAllPolicies(tx: TenantTx): Promise<PolicyRow[]> {
  return tx.query<PolicyRow>(`SELECT ${COLUMNS} FROM policies WHERE org_id = $1 ORDER BY vault_id, created_at, policy_id`, [tx.orgId]);
}

/** Deletes a policy; the deleted row, or undefined when there was none. */
export async function deletePolicy(tx: TenantTx, vaultId: string, policyId: string): Promise<PolicyRow | undefined> {
  const [row] = await tx.query<PolicyRow>(
    `DELETE FROM policies WHERE org_id = $1 AND vault_id = $2 AND policy_id = $3 RETURNING ${COLUMNS}`,
    [tx.orgId, vaultId, policyId],
  );
  return row;
}

/**
 * P6: revokes every outstanding token of the agents these policies (before and after a change)
 * apply to. Call in the transaction that creates, changes or deletes them.
 */
export async function revokeTokensOfAgentsIn(
  tx: TenantTx,
  policies: readonly Pick<PolicyRow, 'principal_type' | 'principal_id'>[],
): Promise<void> {
  const agentIds = [...new Set(policies.filter((p) => p.principal_type === 'agent').map((p) => p.principal_id))];
  await bumpAgentGenerations(tx, agentIds);
}

/**
 * Whether the org has the member, agent, team or custom role a policy would name (`id` a UUID;
 * built-in roles are code, not rows). Row-level security keeps it to the transaction's org.
 */
export async function principalExists(tx: TenantTx, type: PolicyPrincipalType, id: string): Promise<boolean> {
  const rows = await tx.query(EXISTS[type], [tx.orgId, id]);
  return rows.length > 0;
}

const EXISTS: Record<PolicyPrincipalType, string> = {
  user: 'SELECT 1 FROM members WHERE org_id = $1 AND member_id = $2::uuid',
  agent: 'SELECT 1 FROM agents WHERE org_id = $1 AND agent_id = $2::uuid',
  team: 'SELECT 1 FROM teams WHERE org_id = $1 AND team_id = $2::uuid',
  role: 'SELECT 1 FROM roles WHERE org_id = $1 AND role_id = $2::uuid',
};

/**
 * Deletes the vault policies that name a principal that is going away (a member, agent, team or
 * custom role), in the transaction that removes it, so no grant outlives its holder (access
 * reviews would otherwise list grants of nobody).
 */
export async function deletePoliciesNaming(tx: TenantTx, principalType: PolicyPrincipalType, principalId: string): Promise<void> {
  await tx.query('DELETE FROM policies WHERE org_id = $1 AND principal_type = $2 AND principal_id = $3', [
    tx.orgId,
    principalType,
    principalId,
  ]);
}
