import type { TenantTx } from '../../db/tenant.js';

/** A member as stored, with its teams' ids. */
export interface MemberRow {
  member_id: string;
  email: string;
  display_name: string;
  role: string;
  status: 'active' | 'deactivated';
  generation: number;
  /** The person (installation `users` row) who signs in as this member; null for a member known only by address. */
  user_id: string | null;
  teams: string[];
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

// A member with the ids of its teams, oldest membership first.
const SELECT_MEMBERS = `
  SELECT m.member_id, m.email, m.display_name, m.role, m.status, m.generation, m.user_id, m.created_by, m.created_at, m.updated_at,
         coalesce((SELECT array_agg(tm.team_id::text ORDER BY tm.added_at, tm.team_id)
                     FROM team_members tm WHERE tm.org_id = m.org_id AND tm.member_id = m.member_id), '{}'::text[]) AS teams
    FROM members m`;

/** Stores a new member. The caller bumps the authz epoch (Authorizer.withChange). */
export async function insertMember(
  tx: TenantTx,
  member: { memberId: string; email: string; displayName: string; role: string; createdBy: string; userId?: string | null },
): Promise<MemberRow> {
  await tx.query(
    'INSERT INTO members (org_id, member_id, email, display_name, role, created_by, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [tx.orgId, member.memberId, member.email, member.displayName, member.role, member.createdBy, member.userId ?? null],
  );
  return (await findMember(tx, member.memberId)) as MemberRow;
}

/** The org's members, by e-mail address. */
export async function listMembers(tx: TenantTx): Promise<MemberRow[]> {
  return tx.query<MemberRow>(`${SELECT_MEMBERS} WHERE m.org_id = $1 ORDER BY m.email, m.member_id`, [tx.orgId]);
}

/** One member of the org; `lock` takes its row for changing until the transaction ends. */
export async function findMember(tx: TenantTx, memberId: string, lock = false): Promise<MemberRow | undefined> {
  const [row] = await tx.query<MemberRow>(
    `${SELECT_MEMBERS} WHERE m.org_id = $1 AND m.member_id = $2${lock ? ' FOR UPDATE OF m' : ''}`,
    [tx.orgId, memberId],
  );
  return row;
}

/**
 * Changes a member; deactivating an active member bumps its generation. Reactivating does not
 * bring back its tokens (they were revoked).
 */
export async function updateMember(
  tx: TenantTx,
  memberId: string,
  change: { displayName?: string; role?: string; active?: boolean },
): Promise<MemberRow | undefined> {
  const rows = await tx.query(
    `UPDATE members SET
        display_name = coalesce($3, display_name),
        role = coalesce($4, role),
        status = CASE WHEN $5::boolean IS NULL THEN status WHEN $5 THEN 'active' ELSE 'deactivated' END,
        generation = CASE WHEN $5::boolean IS FALSE AND status = 'active' THEN generation + 1 ELSE generation END,
        updated_at = now()
      WHERE org_id = $1 AND member_id = $2 RETURNING member_id`,
    [tx.orgId, memberId, change.displayName ?? null, change.role ?? null, change.active ?? null],
  );
  return rows.length > 0 ? findMember(tx, memberId) : undefined;
}

/** Deletes a member (its tokens and team memberships go with it); false when there is none. */
export async function deleteMember(tx: TenantTx, memberId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM members WHERE org_id = $1 AND member_id = $2 RETURNING member_id', [tx.orgId, memberId]);
  return rows.length > 0;
}

/** The member with `email` (stored lower-cased), locked for changing when `lock`. */
export async function findMemberByEmail(tx: TenantTx, email: string, lock = false): Promise<MemberRow | undefined> {
  const [row] = await tx.query<MemberRow>(
    `${SELECT_MEMBERS} WHERE m.org_id = $1 AND lower(m.email) = lower($2)${lock ? ' FOR UPDATE OF m' : ''}`,
    [tx.orgId, email],
  );
  return row;
}

/** Links a member to the person who signs in as it (an accepted invitation). */
export async function linkMemberUser(tx: TenantTx, memberId: string, userId: string): Promise<void> {
  await tx.query('UPDATE members SET user_id = $3, updated_at = now() WHERE org_id = $1 AND member_id = $2', [tx.orgId, memberId, userId]);
}

/** Sets a member's role (ownership transfer); the caller bumps the authz epoch. */
export async function setMemberRole(tx: TenantTx, memberId: string, role: string): Promise<void> {
  await tx.query('UPDATE members SET role = $3, updated_at = now() WHERE org_id = $1 AND member_id = $2', [tx.orgId, memberId, role]);
}

/**
 * How many active owners the org has besides `exceptMemberId` (all of them for null). Callers that act on this count
 * (the last owner may not leave) hold the org row's lock (`lockOrg`) first, so two owners
 * leaving at once cannot each count the other as the one who stays.
 */
export async function otherActiveOwners(tx: TenantTx, exceptMemberId: string | null): Promise<number> {
  const [row] = await tx.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM members WHERE org_id = $1 AND role = 'owner' AND status = 'active' AND member_id IS DISTINCT FROM $2::uuid`,
    [tx.orgId, exceptMemberId],
  );
  return Number(row?.n ?? 0);
}
