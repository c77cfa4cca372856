import { z } from 'zod';
import { isWellFormed, text, timestamp } from '../../schemas.js';

/** Largest secret value, in UTF-8 bytes. Big enough for a PEM bundle or an env file. */
export const MAX_VALUE_BYTES = 64 * 1024;

/** Secret types (S1). `other` for anything the list does not name. */
export const secretTypes = [
  'api_key',
  'oauth_refresh_token',
  'oauth_access_token',
  'bot_token',
  'password',
  'private_key',
  'certificate',
  'bank_account',
  'tax_id',
  'card_token',
  'connection_string',
  'note',
  'env_bundle',
  'other',
] as const;

/** Classification tiers (S2): P0 highly sensitive, P1 sensitive, P2 business data. */
export const tiers = ['P0', 'P1', 'P2'] as const;

const metadataKey = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'metadata keys hold only letters, digits and _ . : -');
const metadataValue = z.union([text(1024), z.number(), z.boolean(), z.null()]);

/** Free-form, non-secret labels of a secret: small and flat, never a place for values. */
export const metadataSchema = z
  .record(metadataKey, metadataValue)
  .refine((m) => Object.keys(m).length <= 32, { message: 'at most 32 metadata keys' });

export const putSecretBody = z
  .object({
    value: z
      .string()
      .max(MAX_VALUE_BYTES)
      .refine(isWellFormed, 'must be valid Unicode text (no lone surrogates): it could not be stored unchanged')
      .refine((v) => Buffer.byteLength(v, 'utf8') <= MAX_VALUE_BYTES, { message: `at most ${MAX_VALUE_BYTES} bytes` })
      .describe('The secret value. Returned only by a read of the secret, never listed.'),
    type: z.enum(secretTypes).default('other'),
    tier: z
      .enum(tiers)
      .optional()
      .describe('P1 for a new secret when left out; a write that leaves it out keeps the tier. Lowering a P0 secret is a step-up operation.'),
    metadata: metadataSchema.default({}),
    expires_at: timestamp.nullable().optional().describe('After this time reads answer 410'),
  })
  .strict();
export type PutSecretInput = z.output<typeof putSecretBody>;

/** `{vaultId}` and the secret path (everything after `/secrets/`). */
export const secretParams = z
  .object({
    vaultId: z.uuid(),
    '*': z.string().max(2048).describe('The secret path, e.g. integrations/stripe/api_key'),
  })
  .strict();

/** A version number as written in a query: plain decimal digits (no 0x2, 1e0, +3 or 03). */
const versionNumber = z
  .string()
  .regex(/^[1-9]\d{0,9}$/, 'must be a version number (1, 2, …)')
  .transform(Number)
  .refine((n) => n <= 2_147_483_647, 'must be a version number (1, 2, …)');

export const readSecretQuery = z.object({ version: versionNumber.optional() }).strict();
export const deleteSecretQuery = z
  .object({
    version: versionNumber
      .optional()
      .describe('Destroy this version for good (its ciphertext is erased) instead of deleting the secret'),
  })
  .strict();

export const listSecretsQuery = z
  .object({
    prefix: z.string().max(600).default('').describe('Only paths under this prefix'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: z.string().max(1000).optional().describe('next_cursor from the previous page'),
  })
  .strict();

export const putSecretHeaders = z
  .object({
    'if-match': z.string().max(32).optional().describe('Write only if the current version is this one: "3" (quoted), or * if it exists'),
    'if-none-match': z.string().max(32).optional().describe('"*": write only if the secret does not exist yet'),
  })
  .loose();

const description = {
  path: z.string(),
  type: z.enum(secretTypes),
  tier: z.enum(tiers),
  metadata: z.record(z.string(), metadataValue),
  current_version: z.number().int(),
  expires_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
};

/** A secret without its value: what listing and writing return. */
export const secretDescription = z.object(description);
export type SecretDescription = z.output<typeof secretDescription>;

/** A secret version's value, as a read returns it. */
export const secretValueResponse = z.object({
  ...description,
  version: z.number().int(),
  value: z.string(),
  version_created_at: z.string(),
});
export type SecretValue = z.output<typeof secretValueResponse>;

export const secretListResponse = z.object({
  secrets: z.array(secretDescription),
  next_cursor: z.string().nullable(),
});
