import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import type { MemberService } from './members.service.js';
import { createMemberBody, memberListResponse, memberParams, memberResponse, memberWithTokenResponse, updateMemberBody } from './members.types.js';

const tags = ['members'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('member', 'memberId');

/** Routes of /v1/members (authenticated scope). */
export function registerMemberRoutes(app: FastifyInstance, members: MemberService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/members', {
    config: { audit: { action: 'member.create', resource } },
    schema: {
      tags,
      security,
      summary: 'Add a member to the org',
      description:
        "Returns the member and its first personal token (`sr_user_…`). Until sign-in exists, the admin who adds a member hands this token over: it is shown once, and only its hash is stored. Only an owner may grant the `owner` role; nobody may grant a role that allows more than their own.",
      querystring: noQuery,
      body: createMemberBody,
      response: { 201: memberWithTokenResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await members.create(principalOf(request), request.body)),
  });

  r.get('/v1/members', {
    config: { audit: { action: 'member.list', resource: auditResource.org } },
    schema: { tags, security, summary: 'List the members of the org', querystring: noQuery, response: { 200: memberListResponse } },
    handler: async (request) => ({ members: await members.list(principalOf(request)) }),
  });

  r.get('/v1/members/:memberId', {
    config: { audit: { action: 'member.describe', resource } },
    schema: { tags, security, summary: 'Describe a member', params: memberParams, querystring: noQuery, response: { 200: memberResponse } },
    handler: async (request) => members.get(principalOf(request), request.params.memberId),
  });

  r.patch('/v1/members/:memberId', {
    config: { audit: { action: 'member.update', resource } },
    schema: {
      tags,
      security,
      summary: "Change a member's name or role, or deactivate it",
      description:
        '`active: false` deactivates the member: every personal token it holds and every session its person has in this org stop working before this answers, and reactivating does not revive them. A role change applies from the very next request. Nobody may change their own role or deactivate themselves; only an owner may change an owner.',
      params: memberParams,
      querystring: noQuery,
      body: updateMemberBody,
      response: { 200: memberResponse },
    },
    handler: async (request) => members.update(principalOf(request), request.params.memberId, request.body),
  });

  r.post('/v1/members/:memberId/sessions/revoke', {
    config: { audit: { action: 'member.sessions.revoke', resource } },
    schema: {
      tags,
      security,
      summary: "End a member's sessions in this org",
      description:
        "Signs the member's person out of this org on every device: each of their sessions in this org stops working before this answers, on every node. Their sessions in other orgs are not touched, and their personal tokens keep working (revoke those at DELETE /v1/tokens/{tokenId}, or deactivate the member). Only an owner may do this to an owner.",
      params: memberParams,
      querystring: noQuery,
      response: { 200: z.object({ sessions_ended: z.number().int().describe('Sessions that were open and are now ended') }) },
    },
    handler: async (request) => ({ sessions_ended: await members.revokeSessions(principalOf(request), request.params.memberId) }),
  });

  r.delete('/v1/members/:memberId', {
    config: { audit: { action: 'member.delete', resource } },
    schema: {
      tags,
      security,
      summary: 'Remove a member from the org',
      description:
        "Its personal tokens, team memberships and the vault policies naming it are deleted with it, and its person's sessions in this org end. Nobody may delete themselves (leave with POST /v1/org/leave); only an owner may delete an owner.",
      params: memberParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Deleted') },
    },
    handler: async (request, reply) => {
      await members.remove(principalOf(request), request.params.memberId);
      return reply.code(204).send(null);
    },
  });
}
