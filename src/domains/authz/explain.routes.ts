import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { ACTIONS } from '../../policy/types.js';
import type { AuditResource } from '../audit/audit.events.js';
import { parsePrincipalRef, parseResourceRef, type ExplainService } from './explain.service.js';

/** Runs a parser as a zod transform: its reason becomes the field's validation message. */
function parsed<T>(parse: (text: string) => { ok: true; value: T } | { ok: false; reason: string }) {
  return (input: string, ctx: z.RefinementCtx<string>): T => {
    const result = parse(input);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.reason, input });
      return z.NEVER;
    }
    return result.value;
  };
}

const flag = z
  .enum(['0', '1'])
  .default('0')
  .transform((v) => v === '1');

export const explainQuery = z
  .object({
    principal: z.string().min(1).max(200).transform(parsed(parsePrincipalRef)).describe('user:<member id>, agent:<agent id> or root_token:<token id>'),
    action: z.enum(ACTIONS),
    resource: z
      .string()
      .min(1)
      .max(1200)
      .transform(parsed(parseResourceRef))
      .describe('org:<area>, vault:<vault id> or vault:<vault id>/<secret path>'),
    ip: z
      .string()
      .max(64)
      .refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address')
      .optional()
      .describe('Decide as for a request from this address (none when absent: IP allowlists are unmet)'),
    reason: flag.describe('1: decide as for a request that states a reason'),
    mfa: flag.describe('1: decide as for a caller who passed MFA recently'),
  })
  .strict();

export const explainResponse = z.object({
  principal: z.string(),
  action: z.enum(ACTIONS),
  resource: z.string(),
  allow: z.boolean(),
  decided_by: z.array(z.string()).describe('policy:<id>, role:<id> or sod:<rule> (a restricted role id, or agent): the grants behind an allow, the deny policy or SoD rule behind a deny; empty for default deny'),
  reasons: z.array(z.string()),
  missing: z.enum(['reason', 'mfa']).optional().describe('Denied only because an allow policy wants a stated reason or MFA'),
});

const resource = (): AuditResource => ({ type: 'authz', ref: 'authz:explain' });

/** GET /v1/authz/explain (authenticated scope). */
export function registerExplainRoutes(app: FastifyInstance, explain: ExplainService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/v1/authz/explain', {
    config: { audit: { action: 'authz.explain', resource } },
    schema: {
      tags: ['access'],
      security: [{ bearerAuth: [] }],
      summary: 'Explain an authorization decision: why can X do Y on Z?',
      description:
        "Decides with the org's current policies and roles, and names what decided. Needs describe on the org's access area " +
        '(owner, admin, manager) and, for a vault or secret, on that vault. Conditions are read for a request with no IP, ' +
        'no stated reason and no MFA unless ip, reason=1 or mfa=1 say otherwise.',
      querystring: explainQuery,
      response: { 200: explainResponse },
    },
    handler: async (request) => {
      const { principal, action, resource: target, ip, reason, mfa } = request.query;
      return explain.explain(principalOf(request), { principal, action, resource: target, ip: ip ?? null, reason, mfa });
    },
  });
}
