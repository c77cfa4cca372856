import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import type { TeamService } from './teams.service.js';
import { createTeamBody, teamListResponse, teamMemberParams, teamParams, teamResponse, updateTeamBody } from './teams.types.js';

const tags = ['teams'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('team', 'teamId');

/** Routes of /v1/teams (authenticated scope). */
export function registerTeamRoutes(app: FastifyInstance, teams: TeamService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/teams', {
    config: { audit: { action: 'team.create', resource } },
    schema: {
      tags,
      security,
      summary: 'Create a team',
      description: 'A team ("pod") owns vaults: members whose role is team-scoped (manager, office, employee) reach only the vaults of their teams.',
      querystring: noQuery,
      body: createTeamBody,
      response: { 201: teamResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await teams.create(principalOf(request), request.body)),
  });

  r.get('/v1/teams', {
    config: { audit: { action: 'team.list', resource: auditResource.org } },
    schema: { tags, security, summary: 'List the teams of the org', querystring: noQuery, response: { 200: teamListResponse } },
    handler: async (request) => ({ teams: await teams.list(principalOf(request)) }),
  });

  r.get('/v1/teams/:teamId', {
    config: { audit: { action: 'team.describe', resource } },
    schema: { tags, security, summary: 'Describe a team', params: teamParams, querystring: noQuery, response: { 200: teamResponse } },
    handler: async (request) => teams.get(principalOf(request), request.params.teamId),
  });

  r.patch('/v1/teams/:teamId', {
    config: { audit: { action: 'team.update', resource } },
    schema: {
      tags,
      security,
      summary: 'Rename or describe a team',
      params: teamParams,
      querystring: noQuery,
      body: updateTeamBody,
      response: { 200: teamResponse },
    },
    handler: async (request) => teams.update(principalOf(request), request.params.teamId, request.body),
  });

  r.delete('/v1/teams/:teamId', {
    config: { audit: { action: 'team.delete', resource } },
    schema: {
      tags,
      security,
      summary: 'Delete a team',
      description:
        "Its members lose their team-scoped reach to its vaults before this answers; the vaults stay, without a team (only org-wide roles and policies reach them). Vault policies naming the team are deleted.",
      params: teamParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Deleted') },
    },
    handler: async (request, reply) => {
      await teams.remove(principalOf(request), request.params.teamId);
      return reply.code(204).send(null);
    },
  });

  r.put('/v1/teams/:teamId/members/:memberId', {
    config: { audit: { action: 'team.member.add', resource } },
    schema: {
      tags,
      security,
      summary: 'Add a member to a team',
      description: 'Idempotent: adding a member that is already in the team changes nothing. The member reaches the team\'s vaults from its next request.',
      params: teamMemberParams,
      querystring: noQuery,
      response: { 204: z.null().describe('The member is in the team') },
    },
    handler: async (request, reply) => {
      await teams.addMember(principalOf(request), request.params.teamId, request.params.memberId);
      return reply.code(204).send(null);
    },
  });

  r.delete('/v1/teams/:teamId/members/:memberId', {
    config: { audit: { action: 'team.member.remove', resource } },
    schema: {
      tags,
      security,
      summary: 'Remove a member from a team',
      description: 'The member loses its team-scoped reach to the team\'s vaults before this answers. 404 when the member is not in the team.',
      params: teamMemberParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Removed') },
    },
    handler: async (request, reply) => {
      await teams.removeMember(principalOf(request), request.params.teamId, request.params.memberId);
      return reply.code(204).send(null);
    },
  });
}
