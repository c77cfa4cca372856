import type { TenantTx } from '../../db/tenant.js';
import { BUILT_IN_ROLES } from '../../policy/roles.js';
import type { Action, AuthzSnapshot, OrgArea, Policy, PolicyConditions, PolicyPrincipalType, RoleDef } from '../../policy/types.js';

/** Bumps the org's authz epoch; call in the transaction that changes what decisions read. */
export async function bumpAuthzEpoch(tx: TenantTx): Promise<number> {
  const [row] = await tx.query<{ epoch: string | number }>(
    'UPDATE orgs SET authz_epoch = authz_epoch + 1 WHERE org_id = $1 RETURNING authz_epoch AS epoch',
    [tx.orgId],
  );
  if (!row) throw new Error('the org of the transaction does not exist');
  return Number(row.epoch);
}

interface SnapshotRow {
  epoch: string | number;
  policies: {
    policy_id: string;
    vault_id: string;
    principal_type: PolicyPrincipalType;
    principal_id: string;
    secret_path_pattern: string;
    permissions: Action[];
    effect: 'allow' | 'deny';
    conditions: PolicyConditions;
    expires_at: string | null;
  }[];
  roles: {
    role_id: string;
    name: string;
    org_grants: Partial<Record<OrgArea, Action[]>>;
    vault_scope: 'all' | 'team' | null;
    vault_actions: Action[];
    restricted: boolean;
  }[];
  members: { member_id: string; role: string; status: string; teams: string[] }[];
  agents: { agent_id: string; status: string }[];
  vaults: { vault_id: string; team_id: string | null }[];
}

/** A custom role's stored row as the engine's role definition. */
export function roleDefOf(row: SnapshotRow['roles'][number]): RoleDef {
  return {
    id: row.role_id,
    name: row.name,
    builtIn: false,
    org: row.org_grants,
    vaults: row.vault_scope === null ? null : { scope: row.vault_scope, actions: row.vault_actions },
    restricted: row.restricted,
  };
}

/** A stored policy row as the engine's policy. */
export function policyOf(row: SnapshotRow['policies'][number]): Policy {
  return {
    id: row.policy_id,
    vaultId: row.vault_id,
    principalType: row.principal_type,
    principalId: row.principal_id,
    pattern: row.secret_path_pattern,
    permissions: row.permissions,
    effect: row.effect,
    conditions: row.conditions,
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  };
}

/**
 * Everything the org's decisions read, in one statement (one snapshot of the database, one
 * round trip): its epoch, policies, roles, members with their teams, agents and vaults' teams.
 */
export async function loadSnapshot(tx: TenantTx): Promise<AuthzSnapshot> {
  const [row] = await tx.query<SnapshotRow>(
    `SELECT o.authz_epoch AS epoch,
       (SELECT coalesce(json_agg(p ORDER BY p.policy_id), '[]'::json) FROM (
          SELECT policy_id, vault_id, principal_type, principal_id, secret_path_pattern, permissions, effect,
                 conditions, expires_at FROM policies) p) AS policies,
       (SELECT coalesce(json_agg(r), '[]'::json) FROM (
          SELECT role_id, name, org_grants, vault_scope, vault_actions, restricted FROM roles) r) AS roles,
       (SELECT coalesce(json_agg(m), '[]'::json) FROM (
          SELECT m.member_id, m.role, m.status,
                 coalesce(array_agg(tm.team_id) FILTER (WHERE tm.team_id IS NOT NULL), '{}') AS teams
            FROM members m LEFT JOIN team_members tm ON tm.org_id = m.org_id AND tm.member_id = m.member_id
           GROUP BY m.member_id, m.role, m.status) m) AS members,
       (SELECT coalesce(json_agg(a), '[]'::json) FROM (SELECT agent_id, status FROM agents) a) AS agents,
       (SELECT coalesce(json_agg(v), '[]'::json) FROM (SELECT vault_id, team_id FROM vaults) v) AS vaults
       FROM orgs o WHERE o.org_id = $1`,
    [tx.orgId],
  );
  if (!row) throw new Error('the org of the transaction does not exist');
  const roles = new Map<string, RoleDef>(BUILT_IN_ROLES);
  for (const r of row.roles) roles.set(r.role_id, roleDefOf(r));
  return {
    orgId: tx.orgId,
    epoch: Number(row.epoch),
    policies: row.policies.map(policyOf),
    roles,
    members: new Map(row.members.map((m) => [m.member_id, { role: m.role, teams: m.teams, active: m.status === 'active' }])),
    agents: new Map(row.agents.map((a) => [a.agent_id, { active: a.status === 'active' }])),
    vaults: new Map(row.vaults.map((v) => [v.vault_id, { teamId: v.team_id }])),
  };
}
