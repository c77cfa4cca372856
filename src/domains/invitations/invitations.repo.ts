import type { TenantTx } from '../../db/tenant.js';
import { actorOf } from '../../policy/policy.js';

/** An invitation as stored (migration 0005). */
export interface InvitationRow {
  invitation_id: string;
  email: string;
  role: string;
  status: 'pending' | 'accepted' | 'revoked';
  expires_at: Date;
  created_by: string;
  created_at: Date;
  accepted_by: string | null;
  accepted_at: Date | null;
}

const COLUMNS = 'invitation_id, email, role, status, expires_at, created_by, created_at, accepted_by, accepted_at';

/** Stores a pending invitation. */
export async function insertInvitation(
  tx: TenantTx,
  inv: { invitationId: string; email: string; role: string; expiresAt: Date; createdBy: string },
): Promise<InvitationRow> {
  const [row] = await tx.query<InvitationRow>(
    `INSERT INTO invitations (org_id, invitation_id, email, role, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
     RETURNING ${COLUMNS}`,
    [tx.orgId, inv.invitationId, inv.email, inv.role, inv.expiresAt, inv.createdBy],
  );
  return row as InvitationRow;
}

/** The org's invitations, newest first. */
export async function listInvitations(tx: TenantTx): Promise<InvitationRow[]> {
  return tx.query<InvitationRow>(`SELECT ${COLUMNS} FROM invitations WHERE org_id = $1 ORDER BY created_at DESC, invitation_id`, [tx.orgId]);
}

/** One invitation of the org; `lock` holds it until the transaction ends (accepting is single use). */
export async function findInvitation(tx: TenantTx, invitationId: string, lock = false): Promise<InvitationRow | undefined> {
  const [row] = await tx.query<InvitationRow>(
    `SELECT ${COLUMNS} FROM invitations WHERE org_id = $1 AND invitation_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [tx.orgId, invitationId],
  );
  return row;
}

/** Revokes the pending invitations of an address (a new one replaces them); how many. */
export async function revokePendingFor(tx: TenantTx, email: string): Promise<number> {
  const rows = await tx.query(
    `UPDATE invitations SET status = 'revoked' WHERE org_id = $1 AND email = $2 AND status = 'pending' RETURNING invitation_id`,
    [tx.orgId, email],
  );
  return rows.length;
}

/** Revokes one pending invitation; false when it was not pending. */
export async function revokeInvitation(tx: TenantTx, invitationId: string): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE invitations SET status = 'revoked' WHERE org_id = $1 AND invitation_id = $2 AND status = 'pending' RETURNING invitation_id`,
    [tx.orgId, invitationId],
  );
  return rows.length === 1;
}

/** Marks a pending invitation accepted by `userId`. */
export async function markInvitationAccepted(tx: TenantTx, invitationId: string, userId: string): Promise<void> {
  await tx.query(
    `UPDATE invitations SET status = 'accepted', accepted_by = $3, accepted_at = now()
      WHERE org_id = $1 AND invitation_id = $2 AND status = 'pending'`,
    [tx.orgId, invitationId, userId],
  );
}

/**
 * A member who leaves, is removed or is deactivated takes back the invitations they sent that
 * nobody accepted yet: an invitation carries its inviter's authority only while they hold it.
 */
export async function revokeInvitationsBy(tx: TenantTx, memberId: string): Promise<void> {
  await tx.query(`UPDATE invitations SET status = 'revoked' WHERE org_id = $1 AND created_by = $2 AND status = 'pending'`, [
    tx.orgId,
    actorOf({ kind: 'user', id: memberId }),
  ]);
}
