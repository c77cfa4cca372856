import { z } from 'zod';
import { name } from '../../schemas.js';
import type { AuditActor } from '../audit/audit.events.js';

export const createOrgBody = z
  .object({ name: name(100).describe('Unique across the installation, whatever its case') })
  .strict();
export type CreateOrgInput = z.output<typeof createOrgBody>;

export const orgResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  require_mfa: z.boolean().describe('Members must have passed a second factor in their session to reach org routes'),
  password_sign_in: z.boolean().describe('Members may open sessions in this org with a password alone'),
  created_at: z.iso.datetime(),
});
export type OrgView = z.output<typeof orgResponse>;

export const createdOrgResponse = orgResponse.extend({
  member_id: z.uuid().describe('You, as a member of the new org'),
  role: z.literal('owner'),
});
export type CreatedOrgView = z.output<typeof createdOrgResponse>;

export const updateOrgBody = z
  .object({
    require_mfa: z.boolean().optional(),
    password_sign_in: z.boolean().optional(),
  })
  .strict();
export type UpdateOrgInput = z.output<typeof updateOrgBody>;

export const transferOwnershipBody = z.object({ member_id: z.uuid().describe('The member who becomes an owner') }).strict();

export const transferOwnershipResponse = z.object({
  member_id: z.uuid(),
  role: z.literal('owner'),
  your_role: z.enum(['owner', 'admin']).describe('`admin` for a member who handed ownership over; a root token stays an owner'),
});
export type TransferView = z.output<typeof transferOwnershipResponse>;

/**
 * Where a session route's audit event goes once the service has learnt the org it acts in (a
 * new org, the org an invitation names). Session routes record in the session's org by
 * default; these record in the org they change, inside the change's own transaction (A7), so
 * the service names it before that transaction opens.
 */
export interface AuditTarget {
  /** The org to record the event in, and who acted there. */
  recordIn(orgId: string, actor: AuditActor): void;
  /** Back to the session's chain: the org named was not created after all. */
  reset(): void;
}
