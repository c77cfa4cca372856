import { z } from 'zod';
import { parseCidr } from '../../policy/engine.js';
import { normalisePattern } from '../../policy/glob.js';
import { isBuiltInRole } from '../../policy/roles.js';
import { ACTIONS } from '../../policy/types.js';
import { text, timestamp } from '../../schemas.js';

/**
 * Vault policies over the API (SPEC P3), in 1claw's shape so its users can move over:
 * principal × secret path glob × permissions × effect × conditions × expiry.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const policyParams = z.object({ vaultId: z.uuid().describe('A UUID') }).strict();
export const onePolicyParams = z.object({ vaultId: z.uuid().describe('A UUID'), policyId: z.uuid().describe('A UUID') }).strict();

/** The largest number of CIDR blocks in one allowlist. */
export const MAX_ALLOWLIST = 50;

/**
 * Whether `cidr` is one IPv4 or IPv6 block as the engine reads it (`10.0.0.0/8`,
 * `2001:db8::/32`, one address, or an IPv4-mapped block such as `::ffff:10.0.0.0/104`). No zone
 * ids and no surrounding spaces: what is stored is what the engine matches.
 */
export function isValidCidr(cidr: string): boolean {
  return cidr === cidr.trim() && !cidr.includes('%') && parseCidr(cidr) !== undefined;
}

/** Whether `zone` is an IANA time zone this runtime knows (the engine reads windows with Intl). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const clockTime = (end: boolean) =>
  z
    .string()
    .regex(end ? /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/ : /^(?:[01]\d|2[0-3]):[0-5]\d$/, end ? 'must be HH:MM, 00:00 to 24:00' : 'must be HH:MM, 00:00 to 23:59');

const timeWindow = z
  .object({
    days: z
      .array(z.number().int().min(0).max(6))
      .min(1)
      .max(7)
      .refine((days) => new Set(days).size === days.length, 'must not repeat a day')
      .optional()
      .describe('Days of the week it applies on, 0 = Sunday … 6 = Saturday (all days when absent); an overnight window belongs to the day it starts'),
    start: clockTime(false).describe('HH:MM, inclusive'),
    end: clockTime(true).describe('HH:MM, exclusive; before start, the window runs past midnight'),
    timezone: z.string().min(1).max(64).refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/Paris').optional().describe('IANA time zone (UTC when absent)'),
  })
  .strict()
  .refine((w) => w.start !== w.end, { message: 'start and end must differ (the window would be empty)', path: ['end'] });

export const policyConditions = z
  .object({
    ip_allowlist: z
      .array(z.string().max(64).refine(isValidCidr, 'must be an IPv4 or IPv6 CIDR block, e.g. 10.0.0.0/8'))
      .min(1)
      .max(MAX_ALLOWLIST)
      .optional()
      .describe('The caller\'s IP must be in one of these blocks'),
    time_window: timeWindow.optional(),
    mfa_required: z.boolean().optional().describe('The caller must have passed MFA recently'),
    reason_required: z.boolean().optional().describe('The caller must state a reason (X-Audit-Reason), which is audited'),
  })
  .strict();

const pattern = z
  .string()
  .max(2048)
  .transform((input, ctx) => {
    const result = normalisePattern(input);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.reason, input });
      return z.NEVER;
    }
    return result.pattern;
  })
  .describe('Glob over secret paths: `*` is one segment or part of one, `**` any number of segments (`/stripe/*`, `/**`); stored normalised');

/** The body of POST and PUT (PUT replaces the whole policy). */
export const policyBody = z
  .object({
    principal_type: z.enum(['user', 'agent', 'team', 'role']),
    principal_id: z
      .string()
      .min(1)
      .max(100)
      .describe('A member, agent or team id; for a role, a built-in role name (owner, admin, manager, office, employee) or a custom role id'),
    secret_path_pattern: pattern,
    permissions: z
      .array(z.enum(ACTIONS))
      .min(1)
      .max(ACTIONS.length)
      .refine((p) => new Set(p).size === p.length, 'must not repeat an action'),
    effect: z.enum(['allow', 'deny']).default('allow').describe('deny wins over every allow'),
    conditions: policyConditions.default({}),
    expires_at: timestamp.nullable().default(null).describe('RFC 3339; the policy stops applying then'),
    description: text(1000).default(''),
  })
  .strict()
  .transform((body, ctx) => {
    // On a deny, "requires MFA" or "requires a reason" would deny only callers who did give
    // them: meaningless, so refused. (IP and time conditions on a deny read as "deny from
    // these addresses / at these times".)
    if (body.effect === 'deny' && (body.conditions.mfa_required === true || body.conditions.reason_required === true)) {
      ctx.addIssue({
        code: 'custom',
        path: ['conditions'],
        message: 'a deny policy cannot require MFA or a reason (those conditions only unlock allow policies)',
        input: body.conditions,
      });
      return z.NEVER;
    }
    const id = body.principal_id.toLowerCase();
    const ok = body.principal_type === 'role' ? isBuiltInRole(id) || UUID.test(id) : UUID.test(id);
    if (!ok) {
      ctx.addIssue({
        code: 'custom',
        path: ['principal_id'],
        message:
          body.principal_type === 'role'
            ? 'must be a built-in role name (owner, admin, manager, office, employee) or a custom role id'
            : `must be the UUID of a ${body.principal_type === 'user' ? 'member' : body.principal_type}`,
        input: body.principal_id,
      });
      return z.NEVER;
    }
    return { ...body, principal_id: id };
  });
export type PolicyBodyInput = z.output<typeof policyBody>;

const conditionsResponse = z.object({
  ip_allowlist: z.array(z.string()).optional(),
  time_window: z
    .object({ days: z.array(z.number().int()).optional(), start: z.string(), end: z.string(), timezone: z.string().optional() })
    .optional(),
  mfa_required: z.boolean().optional(),
  reason_required: z.boolean().optional(),
});

export const policyResponse = z.object({
  id: z.uuid(),
  vault_id: z.uuid(),
  principal_type: z.enum(['user', 'agent', 'team', 'role']),
  principal_id: z.string(),
  secret_path_pattern: z.string(),
  permissions: z.array(z.enum(ACTIONS)),
  effect: z.enum(['allow', 'deny']),
  conditions: conditionsResponse,
  expires_at: z.iso.datetime().nullable(),
  description: z.string(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
  updated_by: z.string(),
  updated_at: z.iso.datetime(),
});
export type PolicyView = z.output<typeof policyResponse>;

export const policyListResponse = z.object({ policies: z.array(policyResponse) });
