import { z } from 'zod';
import { ACTIONS } from '../../policy/types.js';
import { text } from '../../schemas.js';

const duration = z
  .number()
  .int()
  .min(60)
  .max(31_536_000)
  .describe('How long the grant lasts once approved, in seconds (60 s to 365 days); without it the grant does not expire');

export const approvalParams = z.object({ approvalId: z.uuid().describe('A UUID') }).strict();

export const createApprovalBody = z
  .object({
    vault_id: z.uuid(),
    secret_path_pattern: z
      .string()
      .min(1)
      .max(1024)
      .describe('Secret paths the grant would cover: `/stripe/*` (one segment), `/stripe/**` (any depth), `/**` (the whole vault)'),
    permissions: z
      .array(z.enum(ACTIONS))
      .min(1)
      .max(ACTIONS.length)
      .refine((a) => new Set(a).size === a.length, 'must not repeat an action'),
    reason: text(1000).refine((s) => s.trim().length > 0, 'must say why the access is needed'),
    duration_seconds: duration.optional(),
  })
  .strict();
export type CreateApprovalInput = z.output<typeof createApprovalBody>;

export const approveBody = z
  .object({
    note: text(1000).optional(),
    duration_seconds: duration.optional().describe("Overrides the requested duration (time-boxes the grant); the request's by default"),
  })
  .strict();
export type ApproveInput = z.output<typeof approveBody>;

export const denyBody = z.object({ note: text(1000).optional() }).strict();
export type DenyInput = z.output<typeof denyBody>;

export const approvalStatus = z.enum(['pending', 'approved', 'denied', 'cancelled']);

export const listApprovalsQuery = z.object({ status: approvalStatus.optional() }).strict();

export const approvalResponse = z.object({
  id: z.uuid(),
  requester: z.object({ type: z.enum(['user', 'agent']), id: z.uuid() }),
  vault_id: z.uuid(),
  secret_path_pattern: z.string(),
  permissions: z.array(z.enum(ACTIONS)),
  reason: z.string(),
  duration_seconds: z.number().int().nullable(),
  status: approvalStatus,
  decided_by: z.object({ type: z.enum(['user', 'root_token', 'agent']), id: z.string() }).nullable(),
  decided_at: z.iso.datetime().nullable(),
  decision_note: z.string().nullable(),
  policy_id: z.uuid().nullable().describe('The policy an approval created'),
  grant_expires_at: z.iso.datetime().nullable().describe('When the granted policy expires (null: it does not)'),
  created_at: z.iso.datetime(),
});
export type ApprovalView = z.output<typeof approvalResponse>;

export const approvalListResponse = z.object({ approvals: z.array(approvalResponse) });
