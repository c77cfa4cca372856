import type { TenantTx } from '../../db/tenant.js';
import type { Action, Effect, OrgArea, PolicyConditions, PolicyPrincipalType } from '../../policy/types.js';

// ---------------------------------------------------------------------------------------------
// Access matrix (P7)

/** What the access matrix is computed from, read in one statement (one consistent snapshot). */
export interface AccessFacts {
  members: { member_id: string; display_name: string; role: string; status: string; teams: string[] }[];
  agents: { agent_id: string; name: string; status: string }[];
  vaults: { vault_id: string; name: string; team_id: string | null }[];
  roles: {
    role_id: string;
    name: string;
    org_grants: Partial<Record<OrgArea, Action[]>>;
    vault_scope: 'all' | 'team' | null;
    vault_actions: Action[];
    restricted: boolean;
  }[];
  policies: {
    policy_id: string;
    vault_id: string;
    principal_type: PolicyPrincipalType;
    principal_id: string;
    secret_path_pattern: string;
    permissions: Action[];
    effect: Effect;
    conditions: PolicyConditions;
    /** JSON text of a timestamptz. */
    expires_at: string | null;
  }[];
}

/**
 * Members (with their teams), agents, vaults, custom roles and policies of the org, in one
 * statement. E-mails are not read: the matrix names members by display name.
 */
export async function loadAccessFacts(tx: TenantTx): Promise<AccessFacts> {
  const [row] = await tx.query<AccessFacts>(
    `SELECT
       (SELECT coalesce(json_agg(m), '[]'::json) FROM (
          SELECT m.member_id, m.display_name, m.role, m.status,
                 coalesce(array_agg(tm.team_id) FILTER (WHERE tm.team_id IS NOT NULL), '{}') AS teams
            FROM members m LEFT JOIN team_members tm ON tm.org_id = m.org_id AND tm.member_id = m.member_id
           WHERE m.org_id = $1
           GROUP BY m.member_id, m.display_name, m.role, m.status) m) AS members,
       (SELECT coalesce(json_agg(a), '[]'::json) FROM (
          SELECT agent_id, name, status FROM agents WHERE org_id = $1) a) AS agents,
       (SELECT coalesce(json_agg(v), '[]'::json) FROM (
          SELECT vault_id, name, team_id FROM vaults WHERE org_id = $1) v) AS vaults,
       (SELECT coalesce(json_agg(r), '[]'::json) FROM (
          SELECT role_id, name, org_grants, vault_scope, vault_actions, restricted FROM roles WHERE org_id = $1) r) AS roles,
       (SELECT coalesce(json_agg(p ORDER BY p.policy_id), '[]'::json) FROM (
          SELECT policy_id, vault_id, principal_type, principal_id, secret_path_pattern, permissions, effect, conditions, expires_at
            FROM policies WHERE org_id = $1) p) AS policies`,
    [tx.orgId],
  );
  if (!row) throw new Error('the facts query returned no row');
  return row;
}

// ---------------------------------------------------------------------------------------------
// Review campaigns (P7)

/** A campaign as stored, with the counts of its items. */
export interface ReviewRow {
  review_id: string;
  name: string;
  reviewer: string;
  status: 'open' | 'closed';
  due_at: Date;
  created_by: string;
  created_at: Date;
  closed_at: Date | null;
  last_reminded_at: Date | null;
  reminders_sent: number;
  total: number;
  kept: number;
  revoked: number;
  unreviewed: number;
}

/** An item as stored; `grant_data` is the snapshot the campaign took. */
export interface ReviewItemRow {
  item_id: string;
  policy_id: string;
  grant_data: Record<string, unknown>;
  decision_note: string | null;
  decision: 'keep' | 'revoke' | null;
  decided_by: string | null;
  decided_at: Date | null;
  /** The policy still exists. */
  policy_exists: boolean;
}

const REVIEW_COLUMNS = `r.review_id, r.name, r.reviewer, r.status, r.due_at, r.created_by, r.created_at, r.closed_at,
  r.last_reminded_at, r.reminders_sent,
  (SELECT count(*)::int FROM access_review_items i WHERE i.org_id = r.org_id AND i.review_id = r.review_id) AS total,
  (SELECT count(*)::int FROM access_review_items i WHERE i.org_id = r.org_id AND i.review_id = r.review_id AND i.decision = 'keep') AS kept,
  (SELECT count(*)::int FROM access_review_items i WHERE i.org_id = r.org_id AND i.review_id = r.review_id AND i.decision = 'revoke') AS revoked,
  (SELECT count(*)::int FROM access_review_items i WHERE i.org_id = r.org_id AND i.review_id = r.review_id AND i.decision IS NULL) AS unreviewed`;

/**
 * Opens a campaign with one item per allow policy of the org as it stands (a review keeps or
 * revokes grants; revoking a deny would widen access, so denies are not reviewed here), in the same statement
 * (so no policy created or deleted meanwhile is half-seen). The grant is snapshotted with the
 * names of its vault and principal at the time; e-mails are never copied.
 */
export async function insertReview(
  tx: TenantTx,
  review: { reviewId: string; name: string; reviewer: string; dueAt: string; createdBy: string },
): Promise<ReviewRow> {
  await tx.query(
    `INSERT INTO access_reviews (org_id, review_id, name, reviewer, due_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)`,
    [tx.orgId, review.reviewId, review.name, review.reviewer, review.dueAt, review.createdBy],
  );
  await tx.query(
    `INSERT INTO access_review_items (org_id, review_id, item_id, policy_id, grant_data)
     SELECT p.org_id, $2, gen_random_uuid(), p.policy_id, jsonb_build_object(
              'vault_id', p.vault_id,
              'vault_name', v.name,
              'principal_type', p.principal_type,
              'principal_id', p.principal_id,
              'principal_name', coalesce(CASE p.principal_type
                  WHEN 'user' THEN (SELECT nullif(m.display_name, '') FROM members m
                                     WHERE m.org_id = p.org_id AND m.member_id::text = p.principal_id)
                  WHEN 'agent' THEN (SELECT a.name FROM agents a WHERE a.org_id = p.org_id AND a.agent_id::text = p.principal_id)
                  WHEN 'team' THEN (SELECT t.name FROM teams t WHERE t.org_id = p.org_id AND t.team_id::text = p.principal_id)
                  WHEN 'role' THEN (SELECT r.name FROM roles r WHERE r.org_id = p.org_id AND r.role_id::text = p.principal_id)
                END, p.principal_id),
              'secret_path_pattern', p.secret_path_pattern,
              'permissions', to_jsonb(p.permissions),
              'effect', p.effect,
              'conditional', p.conditions <> '{}'::jsonb,
              'expires_at', p.expires_at,
              'description', p.description,
              'created_by', p.created_by,
              'created_at', p.created_at)
       FROM policies p JOIN vaults v ON v.org_id = p.org_id AND v.vault_id = p.vault_id
      WHERE p.org_id = $1 AND p.effect = 'allow'`,
    [tx.orgId, review.reviewId],
  );
  const row = await findReview(tx, review.reviewId);
  if (!row) throw new Error('the review just created was not found');
  return row;
}

/** The org's campaigns, newest first, with counts. */
export async function listReviews(tx: TenantTx): Promise<ReviewRow[]> {
  return tx.query<ReviewRow>(`SELECT ${REVIEW_COLUMNS} FROM access_reviews r WHERE r.org_id = $1 ORDER BY r.created_at DESC, r.review_id`, [
    tx.orgId,
  ]);
}

/** One campaign with counts. */
export async function findReview(tx: TenantTx, reviewId: string): Promise<ReviewRow | undefined> {
  const [row] = await tx.query<ReviewRow>(`SELECT ${REVIEW_COLUMNS} FROM access_reviews r WHERE r.org_id = $1 AND r.review_id = $2`, [
    tx.orgId,
    reviewId,
  ]);
  return row;
}

/** Locks a campaign for the rest of the transaction (decisions, reminders and closing take turns). */
export async function lockReview(tx: TenantTx, reviewId: string): Promise<{ status: 'open' | 'closed' } | undefined> {
  const [row] = await tx.query<{ status: 'open' | 'closed' }>(
    'SELECT status FROM access_reviews WHERE org_id = $1 AND review_id = $2 FOR UPDATE',
    [tx.orgId, reviewId],
  );
  return row;
}

const ITEM_COLUMNS = `i.item_id, i.policy_id, i.grant_data, i.decision, i.decided_by, i.decided_at, i.decision_note,
  EXISTS (SELECT 1 FROM policies p WHERE p.org_id = i.org_id AND p.policy_id = i.policy_id) AS policy_exists`;

/** The items of a campaign, in the order of their vault and creation. */
export async function listReviewItems(tx: TenantTx, reviewId: string): Promise<ReviewItemRow[]> {
  return tx.query<ReviewItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM access_review_items i WHERE i.org_id = $1 AND i.review_id = $2
      ORDER BY i.grant_data->>'vault_name', i.grant_data->>'vault_id', i.grant_data->>'created_at', i.policy_id`,
    [tx.orgId, reviewId],
  );
}

/** One item of a campaign. */
export async function findReviewItem(tx: TenantTx, reviewId: string, itemId: string): Promise<ReviewItemRow | undefined> {
  const [row] = await tx.query<ReviewItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM access_review_items i WHERE i.org_id = $1 AND i.review_id = $2 AND i.item_id = $3`,
    [tx.orgId, reviewId, itemId],
  );
  return row;
}

/** One item, locked for the rest of the transaction. */
export async function lockReviewItem(tx: TenantTx, reviewId: string, itemId: string): Promise<Pick<ReviewItemRow, 'decision'> | undefined> {
  const [row] = await tx.query<Pick<ReviewItemRow, 'decision'>>(
    'SELECT decision FROM access_review_items WHERE org_id = $1 AND review_id = $2 AND item_id = $3 FOR UPDATE',
    [tx.orgId, reviewId, itemId],
  );
  return row;
}

/** Records a decision (and its note) on an undecided item. */
export async function decideReviewItem(
  tx: TenantTx,
  reviewId: string,
  itemId: string,
  decision: { decision: 'keep' | 'revoke'; decidedBy: string; note: string | null },
): Promise<void> {
  await tx.query(
    `UPDATE access_review_items
        SET decision = $4, decided_by = $5, decided_at = now(), decision_note = $6
      WHERE org_id = $1 AND review_id = $2 AND item_id = $3 AND decision IS NULL`,
    [tx.orgId, reviewId, itemId, decision.decision, decision.decidedBy, decision.note],
  );
}

/** Counts a reminder; the new count and time. */
export async function recordReminder(tx: TenantTx, reviewId: string): Promise<{ reminders_sent: number; last_reminded_at: Date }> {
  const [row] = await tx.query<{ reminders_sent: number; last_reminded_at: Date }>(
    `UPDATE access_reviews SET reminders_sent = reminders_sent + 1, last_reminded_at = now()
      WHERE org_id = $1 AND review_id = $2 RETURNING reminders_sent, last_reminded_at`,
    [tx.orgId, reviewId],
  );
  if (!row) throw new Error('the review to remind of is gone');
  return row;
}

/** When a campaign is due a reminder: how near its due date, and how long since the last one. */
export interface ReminderWindow {
  /** Campaigns due within this many milliseconds (or overdue). */
  dueWithinMs: number;
  /** Not reminded (by hand or automatically) in the last this many milliseconds. */
  remindEveryMs: number;
}

// Measured on the database's clock, so every node agrees on what is due whatever its own says.
const DUE_FOR_REMINDER = `r.status = 'open'
  AND r.due_at <= now() + $2::float8 * interval '1 millisecond'
  AND (r.last_reminded_at IS NULL OR r.last_reminded_at < now() - $3::float8 * interval '1 millisecond')
  AND EXISTS (SELECT 1 FROM access_review_items i WHERE i.org_id = r.org_id AND i.review_id = r.review_id AND i.decision IS NULL)`;

/** Open campaigns with unreviewed items that are due a reminder (see {@link ReminderWindow}), oldest due first. */
export async function listReviewsDueForReminder(tx: TenantTx, window: ReminderWindow): Promise<string[]> {
  const rows = await tx.query<{ review_id: string }>(
    `SELECT r.review_id FROM access_reviews r WHERE r.org_id = $1 AND ${DUE_FOR_REMINDER} ORDER BY r.due_at, r.review_id`,
    [tx.orgId, window.dueWithinMs, window.remindEveryMs],
  );
  return rows.map((r) => r.review_id);
}

/**
 * Claims a campaign's automatic reminder: counts it only if the campaign is still due one, in
 * one conditional UPDATE. Of several nodes claiming at once, one gets the row and the others
 * (blocked on its row lock, then re-checking the condition against the committed row) get
 * nothing — so a reminder is never sent twice. The count of unreviewed items, or undefined when
 * not claimed.
 */
export async function claimDueReminder(tx: TenantTx, reviewId: string, window: ReminderWindow): Promise<{ unreviewed: number } | undefined> {
  const [row] = await tx.query<{ unreviewed: number }>(
    `UPDATE access_reviews r SET reminders_sent = r.reminders_sent + 1, last_reminded_at = now()
      WHERE r.org_id = $1 AND r.review_id = $4 AND ${DUE_FOR_REMINDER}
      RETURNING (SELECT count(*)::int FROM access_review_items i
                  WHERE i.org_id = r.org_id AND i.review_id = r.review_id AND i.decision IS NULL) AS unreviewed`,
    [tx.orgId, window.dueWithinMs, window.remindEveryMs, reviewId],
  );
  return row;
}

/** Closes an open campaign. */
export async function closeReview(tx: TenantTx, reviewId: string): Promise<void> {
  await tx.query(`UPDATE access_reviews SET status = 'closed', closed_at = now() WHERE org_id = $1 AND review_id = $2 AND status = 'open'`, [
    tx.orgId,
    reviewId,
  ]);
}
