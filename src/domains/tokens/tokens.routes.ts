import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import type { PersonalTokenService } from './personal-tokens.service.js';
import { createdTokenResponse, createTokenBody, tokenListResponse, tokenParams } from './tokens.types.js';

const tags = ['tokens'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('token', 'tokenId');

/** Routes of /v1/tokens (authenticated scope): personal API tokens, and revoking root tokens. */
export function registerTokenRoutes(app: FastifyInstance, tokens: PersonalTokenService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/tokens', {
    config: { audit: { action: 'token.create', resource } },
    schema: {
      tags,
      security,
      summary: 'Create a personal API token (for scripts)',
      description:
        'A token (`sr_user_…`) that acts as you in this org — your role, your policies — until it expires (`expires_in_days`, 90 by default, 365 at most) or is revoked. Shown once; only its hash is stored. Only a signed-in session may create one (409 INVALID_STATE for a token, personal or root: tokens do not make tokens). A personal token cannot pass step-up, so step-up operations refuse it.',
      querystring: noQuery,
      body: createTokenBody,
      response: { 201: createdTokenResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await tokens.create(principalOf(request), request.body)),
  });

  r.get('/v1/tokens', {
    config: { audit: { action: 'token.list', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'List my tokens',
      description: "Your personal tokens, revoked and expired ones included; owners (and root tokens) also see the org's root tokens. Never the tokens themselves.",
      querystring: noQuery,
      response: { 200: tokenListResponse },
    },
    handler: async (request) => ({ tokens: await tokens.list(principalOf(request)) }),
  });

  r.delete('/v1/tokens/:tokenId', {
    config: { audit: { action: 'token.revoke', resource } },
    schema: {
      tags,
      security,
      summary: 'Revoke a token',
      description:
        "Stops the token at once, on every node. Yours; any member's with the `members` admin grant (only an owner revokes an owner's); or a root token of the org, by an owner — so once an owner signs in, the bootstrap root token can go. The org's last way in as an owner (no other live root token and no active owner) cannot be revoked (409 INVALID_STATE). Anything else is 404.",
      params: tokenParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Revoked') },
    },
    handler: async (request, reply) => {
      await tokens.revoke(principalOf(request), request.params.tokenId);
      return reply.code(204).send(null);
    },
  });
}
