import { z } from 'zod';
import { timestamp } from '../../schemas.js';
import { auditActions } from './audit.events.js';

const seqNumber = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, 'must be a positive whole number')
  .transform(Number);

export const eventsQuery = z
  .object({
    action: z.enum(Object.keys(auditActions) as [keyof typeof auditActions, ...(keyof typeof auditActions)[]]).optional(),
    actor: z.string().max(200).optional().describe('type:id, e.g. root_token:<id>'),
    resource: z.string().max(700).optional().describe('A resource ref (vault:<id>); also matches what lies under it'),
    outcome: z.enum(['success', 'failure', 'error']).optional(),
    from: timestamp.optional(),
    to: timestamp.optional(),
    cursor: seqNumber.optional().describe('next_cursor of the previous page'),
    limit: z
      .string()
      .regex(/^[1-9]\d{0,3}$/)
      .transform(Number)
      .refine((n) => n <= 1000, 'at most 1000')
      .default(100),
  })
  .strict();

export const auditEventView = z.object({
  seq: z.number().int(),
  hash: z.string(),
  prev_hash: z.string(),
  pruned: z.boolean(),
  event: z.record(z.string(), z.unknown()).nullable().describe('The chained event as hashed; null once pruned by retention'),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
});
export type AuditEventView = z.output<typeof auditEventView>;

export const eventsResponse = z.object({ events: z.array(auditEventView), next_cursor: z.string().nullable() });

export const signedHead = z.object({
  org: z.uuid(),
  tree_size: z.number().int(),
  root_hash: z.string(),
  signed_at: z.string(),
  key_id: z.string(),
  signature: z.string(),
});

export const latestHeadResponse = signedHead.extend({
  public_key: z.string().describe('Base64 of the raw Ed25519 public key named by key_id'),
});

export const headsDocument = z.object({
  org: z.uuid(),
  public_keys: z.record(z.string(), z.string()),
  heads: z.array(signedHead),
});

export const proofParams = z.object({ seq: seqNumber }).strict();
export const proofQuery = z.object({ tree_size: seqNumber.optional().describe('A signed head size; the latest by default') }).strict();
export const proofResponse = z.object({
  seq: z.number().int(),
  leaf_index: z.number().int().describe('seq - 1'),
  event_hash: z.string().describe('Leaf data; the leaf hash is SHA-256(0x00 || event_hash) (RFC 6962)'),
  tree_size: z.number().int(),
  root_hash: z.string(),
  proof: z.array(z.string()),
  head: signedHead,
});

export const consistencyQuery = z.object({ from: seqNumber, to: seqNumber }).strict();
export const consistencyResponse = z.object({
  from: z.number().int(),
  to: z.number().int(),
  from_root: z.string(),
  to_root: z.string(),
  proof: z.array(z.string()),
});
