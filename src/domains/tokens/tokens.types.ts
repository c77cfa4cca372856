import { z } from 'zod';
import { text } from '../../schemas.js';

export const tokenParams = z.object({ tokenId: z.uuid().describe('A UUID') }).strict();

export const createTokenBody = z
  .object({
    description: text(200)
      .transform((s) => s.trim())
      .pipe(z.string().min(1).max(200))
      .describe('What the token is for (a script, a machine), 1 to 200 characters'),
    expires_in_days: z.number().int().min(1).max(365).default(90).describe('1 to 365 days; 90 when absent'),
  })
  .strict();
export type CreateTokenInput = z.output<typeof createTokenBody>;

export const tokenResponse = z.object({
  id: z.uuid(),
  kind: z.enum(['user', 'root']).describe('`user`: a personal token (`sr_user_…`); `root`: one of the org\'s root tokens (owners see these)'),
  member_id: z.uuid().nullable(),
  description: z.string(),
  created_at: z.iso.datetime(),
  expires_at: z.iso.datetime().nullable(),
  revoked_at: z.iso.datetime().nullable(),
});
export type TokenView = z.output<typeof tokenResponse>;

export const createdTokenResponse = z.object({
  id: z.uuid(),
  token: z.string().describe('The personal token (`sr_user_…`), shown once: only its hash is stored'),
  description: z.string(),
  expires_at: z.iso.datetime(),
});
export type CreatedTokenView = z.output<typeof createdTokenResponse>;

export const tokenListResponse = z.object({ tokens: z.array(tokenResponse) });
