import { z } from 'zod';
import { email, roleRef } from '../members/members.types.js';

export const invitationParams = z.object({ invitationId: z.uuid().describe('A UUID') }).strict();

/** Longest an invitation lasts: 30 days. */
export const MAX_INVITATION_HOURS = 720;

export const createInvitationBody = z
  .object({
    email,
    role: roleRef,
    expires_in_hours: z.number().int().min(1).max(MAX_INVITATION_HOURS).default(168).describe('1 to 720 hours; 168 (a week) when absent'),
  })
  .strict();
export type CreateInvitationInput = z.output<typeof createInvitationBody>;

export const invitationStatus = z
  .enum(['pending', 'accepted', 'revoked', 'expired'])
  .describe('`expired`: pending past its expiry, it can no longer be accepted');

export const invitationResponse = z.object({
  id: z.uuid(),
  email: z.string(),
  role: z.string().describe("A built-in role's id or a custom role's UUID"),
  status: invitationStatus,
  expires_at: z.iso.datetime(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
  accepted_at: z.iso.datetime().nullable(),
});
export type InvitationView = z.output<typeof invitationResponse>;

export const createdInvitationResponse = invitationResponse.extend({
  accept_url: z.string().describe('The link e-mailed to the invitee'),
  token: z.string().describe('The signed invitation in the link, for handing over another way'),
  email_sent: z.boolean().describe('false when no SMTP is configured or the mail server refused: hand the link over yourself'),
});
export type CreatedInvitationView = z.output<typeof createdInvitationResponse>;

export const invitationListResponse = z.object({ invitations: z.array(invitationResponse) });

export const acceptInvitationBody = z
  .object({ token: z.string().min(1).max(4096).describe('The token from the invitation link (after `#token=`)') })
  .strict();

export const acceptInvitationResponse = z.object({
  org_id: z.uuid(),
  member_id: z.uuid(),
  role: z.string(),
});
export type AcceptedInvitationView = z.output<typeof acceptInvitationResponse>;
