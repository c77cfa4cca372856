import { z } from 'zod';
import { isWellFormed } from '../../schemas.js';
import { BUILT_IN_ROLE_IDS } from '../roles/roles.types.js';

export const memberParams = z.object({ memberId: z.uuid().describe('A UUID') }).strict();

// RFC 5322 dot-atom local part (no quoted strings, no comments) and an RFC 1123 host name
// with at least two labels. ASCII only: internationalised addresses are not accepted yet.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** True for an address of the shape `local@host.example`, within RFC 5321's length limits. */
export function isEmailAddress(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf('@');
  if (at < 1) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  return domain.length <= 253 && labels.length >= 2 && labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels.at(-1) ?? '');
}

/** An e-mail address: trimmed and lower-cased, so one person is one member however it is typed. */
export const email = z
  .string()
  .max(1024)
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.string().min(3).max(254).refine(isEmailAddress, 'must be an e-mail address such as ada@example.com'))
  .describe('E-mail address (ASCII); stored trimmed and lower-cased, unique within the org');

/** A person's display name: one line, NFC, trimmed, at most 100 characters; may be empty. */
export const displayName = z
  .string()
  .max(400)
  .refine(isWellFormed, 'must be valid Unicode text (no lone surrogates)')
  .transform((s) => s.normalize('NFC').trim())
  .pipe(
    z
      .string()
      .max(100)
      .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters'),
  );

/** A role to give a member: a built-in role's id or a custom role's UUID (lower-cased, as stored). */
export const roleRef = z
  .union([z.enum(BUILT_IN_ROLE_IDS), z.uuid().transform((s) => s.toLowerCase())])
  .describe("A built-in role (`owner`, `admin`, `manager`, `office`, `employee`) or a custom role's UUID");

export const createMemberBody = z
  .object({
    email,
    display_name: displayName.default(''),
    role: roleRef,
  })
  .strict();
export type CreateMemberInput = z.output<typeof createMemberBody>;

export const updateMemberBody = z
  .object({
    display_name: displayName.optional(),
    role: roleRef.optional(),
    active: z
      .boolean()
      .optional()
      .describe('false deactivates the member: its personal tokens are revoked at once, and reactivating does not revive them'),
  })
  .strict();
export type UpdateMemberInput = z.output<typeof updateMemberBody>;

export const memberResponse = z.object({
  id: z.uuid(),
  email: z.string(),
  display_name: z.string(),
  role: z.string().describe("A built-in role's id or a custom role's UUID"),
  active: z.boolean(),
  teams: z.array(z.uuid()).describe("The member's teams, by id"),
  created_by: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export type MemberView = z.output<typeof memberResponse>;

export const memberWithTokenResponse = z.object({
  member: memberResponse,
  token: z.string().describe("The member's first personal token (`sr_user_…`), shown once: only its hash is stored. Hand it to the member."),
});

export const memberListResponse = z.object({ members: z.array(memberResponse) });
