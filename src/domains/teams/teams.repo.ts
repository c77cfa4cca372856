import type { TenantTx } from '../../db/tenant.js';

/** A team as stored, with its members' ids. */
export interface TeamRow {
  team_id: string;
  name: string;
  description: string;
  members: string[];
  created_by: string;
  created_at: Date;
}

// A team with the ids of its members, oldest membership first.
const SELECT_TEAMS = `
  SELECT t.team_id, t.name, t.description, t.created_by, t.created_at,
         coalesce((SELECT array_agg(tm.member_id::text ORDER BY tm.added_at, tm.member_id)
                     FROM team_members tm WHERE tm.org_id = t.org_id AND tm.team_id = t.team_id), '{}'::text[]) AS members
    FROM teams t`;

/** Stores a new team (no members yet). The caller bumps the authz epoch (Authorizer.withChange). */
export async function insertTeam(
  tx: TenantTx,
  team: { teamId: string; name: string; description: string; createdBy: string },
): Promise<TeamRow> {
  const [row] = await tx.query<Omit<TeamRow, 'members'>>(
    `INSERT INTO teams (org_id, team_id, name, description, created_by) VALUES ($1, $2, $3, $4, $5)
     RETURNING team_id, name, description, created_by, created_at`,
    [tx.orgId, team.teamId, team.name, team.description, team.createdBy],
  );
  return { ...(row as Omit<TeamRow, 'members'>), members: [] };
}

/** The org's teams, by name. */
export async function listTeams(tx: TenantTx): Promise<TeamRow[]> {
  return tx.query<TeamRow>(`${SELECT_TEAMS} WHERE t.org_id = $1 ORDER BY lower(t.name), t.team_id`, [tx.orgId]);
}

/** One team of the org. */
export async function findTeam(tx: TenantTx, teamId: string): Promise<TeamRow | undefined> {
  const [row] = await tx.query<TeamRow>(`${SELECT_TEAMS} WHERE t.org_id = $1 AND t.team_id = $2`, [tx.orgId, teamId]);
  return row;
}

/** Changes a team's name or description; false when there is no such team. */
export async function updateTeam(tx: TenantTx, teamId: string, change: { name?: string; description?: string }): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE teams SET name = coalesce($3, name), description = coalesce($4, description)
      WHERE org_id = $1 AND team_id = $2 RETURNING team_id`,
    [tx.orgId, teamId, change.name ?? null, change.description ?? null],
  );
  return rows.length > 0;
}

/** Deletes a team (its memberships go with it; its vaults are left without a team); false when there is none. */
export async function deleteTeam(tx: TenantTx, teamId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM teams WHERE org_id = $1 AND team_id = $2 RETURNING team_id', [tx.orgId, teamId]);
  return rows.length > 0;
}

/**
 * Whether the team and the member both exist, each kept (FOR SHARE) from being deleted until
 * the transaction ends.
 */
export async function lockTeamAndMember(tx: TenantTx, teamId: string, memberId: string): Promise<{ team: boolean; member: boolean }> {
  const [row] = await tx.query<{ team: boolean; member: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM teams WHERE org_id = $1 AND team_id = $2 FOR SHARE) AS team,
            EXISTS (SELECT 1 FROM members WHERE org_id = $1 AND member_id = $3 FOR SHARE) AS member`,
    [tx.orgId, teamId, memberId],
  );
  return { team: row?.team === true, member: row?.member === true };
}

/** Makes a member part of a team; nothing changes if it already is. */
export async function addTeamMember(tx: TenantTx, teamId: string, memberId: string): Promise<void> {
  await tx.query('INSERT INTO team_members (org_id, team_id, member_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
    tx.orgId,
    teamId,
    memberId,
  ]);
}

/** Takes a member out of a team; false when it was not in it. */
export async function removeTeamMember(tx: TenantTx, teamId: string, memberId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM team_members WHERE org_id = $1 AND team_id = $2 AND member_id = $3 RETURNING member_id', [
    tx.orgId,
    teamId,
    memberId,
  ]);
  return rows.length > 0;
}
