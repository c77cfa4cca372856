import type { TenantTx } from '../../db/tenant.js';
import type { Action } from '../../policy/types.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'cancelled';

/** An access request as stored. */
export interface ApprovalRow {
  approval_id: string;
  requester_type: 'user' | 'agent';
  requester_id: string;
  vault_id: string;
  secret_path_pattern: string;
  permissions: Action[];
  reason: string;
  duration_seconds: number | null;
  status: ApprovalStatus;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
  policy_id: string | null;
  grant_expires_at: Date | null;
  created_at: Date;
}

const COLUMNS = `approval_id, requester_type, requester_id, vault_id, secret_path_pattern, permissions, reason, duration_seconds,
  status, decided_by, decided_at, decision_note, policy_id, grant_expires_at, created_at`;

/** Stores a new pending request. */
export async function insertApproval(
  tx: TenantTx,
  a: {
    approvalId: string;
    requesterType: 'user' | 'agent';
    requesterId: string;
    vaultId: string;
    pattern: string;
    permissions: readonly Action[];
    reason: string;
    durationSeconds: number | null;
  },
): Promise<ApprovalRow> {
  const [row] = await tx.query<ApprovalRow>(
    `INSERT INTO approvals (org_id, approval_id, requester_type, requester_id, vault_id, secret_path_pattern, permissions, reason,
                            duration_seconds)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [tx.orgId, a.approvalId, a.requesterType, a.requesterId, a.vaultId, a.pattern, a.permissions, a.reason, a.durationSeconds],
  );
  return row as ApprovalRow;
}

/** How many requests of one requester are still pending. */
export async function countPendingOf(tx: TenantTx, requesterType: 'user' | 'agent', requesterId: string): Promise<number> {
  const [row] = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM approvals WHERE org_id = $1 AND requester_type = $2 AND requester_id = $3 AND status = 'pending'`,
    [tx.orgId, requesterType, requesterId],
  );
  return row?.n ?? 0;
}

/** The org's requests, newest first, optionally of one status. */
export async function listApprovals(tx: TenantTx, filter: { status?: ApprovalStatus }): Promise<ApprovalRow[]> {
  return tx.query<ApprovalRow>(
    `SELECT ${COLUMNS} FROM approvals WHERE org_id = $1 AND ($2::text IS NULL OR status = $2::text)
      ORDER BY created_at DESC, approval_id`,
    [tx.orgId, filter.status ?? null],
  );
}

/** One request. */
export async function findApproval(tx: TenantTx, approvalId: string): Promise<ApprovalRow | undefined> {
  const [row] = await tx.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE org_id = $1 AND approval_id = $2`, [tx.orgId, approvalId]);
  return row;
}

/** One request, locked for the rest of the transaction (two approvers never both decide it). */
export async function lockApproval(tx: TenantTx, approvalId: string): Promise<ApprovalRow | undefined> {
  const [row] = await tx.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE org_id = $1 AND approval_id = $2 FOR UPDATE`, [
    tx.orgId,
    approvalId,
  ]);
  return row;
}

/** Records the decision on a pending request. */
export async function decideApproval(
  tx: TenantTx,
  approvalId: string,
  d: { status: 'approved' | 'denied'; decidedBy: string; note: string | null; policyId: string | null; grantExpiresAt: Date | null },
): Promise<ApprovalRow> {
  const [row] = await tx.query<ApprovalRow>(
    `UPDATE approvals SET status = $3, decided_by = $4, decided_at = now(), decision_note = $5, policy_id = $6, grant_expires_at = $7
      WHERE org_id = $1 AND approval_id = $2 AND status = 'pending' RETURNING ${COLUMNS}`,
    [tx.orgId, approvalId, d.status, d.decidedBy, d.note, d.policyId, d.grantExpiresAt],
  );
  if (!row) throw new Error('the approval to decide is no longer pending');
  return row;
}
