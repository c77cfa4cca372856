import { z } from 'zod';
import { ACTIONS } from '../../policy/types.js';
import { name, text, timestamp } from '../../schemas.js';

const action = z.enum(ACTIONS);
const actor = z.object({
  type: z.enum(['user', 'root_token', 'agent']),
  id: z.string(),
});

// ---------------------------------------------------------------------------------------------
// Access matrix (P7)

export const matrixQuery = z
  .object({
    format: z.enum(['json', 'csv']).default('json').describe('`csv` answers text/csv (RFC 4180) for spreadsheets; JSON by default'),
  })
  .strict();

export const matrixRow = z.object({
  principal_type: z.enum(['user', 'agent']),
  principal_id: z.uuid(),
  principal_name: z.string().describe("A member's display name (their id when they have none) or an agent's name; never an e-mail"),
  vault_id: z.uuid(),
  vault_name: z.string(),
  secret_path_pattern: z.string().describe('`/**` for a role, which reaches the whole vault'),
  actions: z.array(action),
  effect: z.enum(['allow', 'deny']).describe('A deny wins over every allow that covers the same action'),
  conditional: z.boolean().describe('The policy applies only under conditions (IP allowlist, time window, MFA, stated reason)'),
  source: z.string().describe('`role:<id>` or `policy:<id>`: the grant'),
  via: z.string().describe('`direct`, `team:<id>` or `role:<id>`: how the grant reaches the principal'),
  expires_at: z.iso.datetime().nullable(),
});
export type MatrixRow = z.output<typeof matrixRow>;

export const matrixResponse = z.object({
  generated_at: z.iso.datetime(),
  rows: z.array(matrixRow),
});
export type MatrixView = z.output<typeof matrixResponse>;

// ---------------------------------------------------------------------------------------------
// Review campaigns (P7)

export const reviewParams = z.object({ reviewId: z.uuid().describe('A UUID') }).strict();
export const reviewItemParams = z
  .object({ reviewId: z.uuid().describe('A UUID'), itemId: z.uuid().describe('A UUID') })
  .strict();

export const createReviewBody = z
  .object({
    name: name(100),
    reviewer_member_id: z
      .uuid()
      .optional()
      .describe('An active member who may run access reviews (admin on org area `access`); the caller by default'),
    due_at: timestamp.describe('When the review is due; in the future'),
  })
  .strict();
export type CreateReviewInput = z.output<typeof createReviewBody>;

export const decisionBody = z
  .object({
    decision: z.enum(['keep', 'revoke']).describe('`revoke` deletes the policy at once (if it still exists)'),
    note: text(1000).optional(),
  })
  .strict();
export type DecisionInput = z.output<typeof decisionBody>;

/** A grant as it stood when the campaign opened. */
export const grantSnapshot = z.object({
  vault_id: z.uuid(),
  vault_name: z.string(),
  principal_type: z.enum(['user', 'agent', 'team', 'role']),
  principal_id: z.string(),
  principal_name: z.string().describe("Display name, agent, team or role name at the time (never an e-mail); the id when there was none"),
  secret_path_pattern: z.string(),
  permissions: z.array(action),
  effect: z.enum(['allow', 'deny']),
  conditional: z.boolean(),
  expires_at: z.iso.datetime().nullable(),
  description: z.string(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
});
export type GrantSnapshot = z.output<typeof grantSnapshot>;

export const reviewItem = z.object({
  id: z.uuid(),
  policy_id: z.uuid(),
  grant: grantSnapshot,
  policy_exists: z.boolean().describe('The policy still exists (false once revoked or deleted)'),
  decision: z.enum(['keep', 'revoke']).nullable(),
  decided_by: actor.nullable(),
  decided_at: z.iso.datetime().nullable(),
  note: z.string().nullable(),
});
export type ReviewItemView = z.output<typeof reviewItem>;

export const reviewCounts = z.object({
  total: z.number().int(),
  kept: z.number().int(),
  revoked: z.number().int(),
  unreviewed: z.number().int(),
});

export const reviewSummary = z.object({
  id: z.uuid(),
  name: z.string(),
  reviewer: actor,
  status: z.enum(['open', 'closed']),
  due_at: z.iso.datetime(),
  overdue: z.boolean().describe('Open, past its due date, with items still unreviewed'),
  counts: reviewCounts,
  reminders_sent: z.number().int(),
  last_reminded_at: z.iso.datetime().nullable(),
  created_by: actor,
  created_at: z.iso.datetime(),
  closed_at: z.iso.datetime().nullable(),
});
export type ReviewSummaryView = z.output<typeof reviewSummary>;

export const reviewDetail = reviewSummary.extend({
  items: z.array(reviewItem).describe('Items of vaults the caller may see; `counts` cover the whole campaign'),
});
export type ReviewDetailView = z.output<typeof reviewDetail>;

export const reviewListResponse = z.object({ reviews: z.array(reviewSummary) });

export const reminderResponse = z.object({
  unreviewed: z.number().int(),
  reminded_at: z.iso.datetime(),
  reminders_sent: z.number().int(),
});
export type ReminderView = z.output<typeof reminderResponse>;
