import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import type { PolicyService } from './policies.service.js';
import { onePolicyParams, policyBody, policyListResponse, policyParams, policyResponse } from './policies.types.js';

const tags = ['policies'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('policy', 'policyId');

const who =
  'Needs admin on the org\'s policies (owner, admin) or admin on the vault (a manager on its team\'s vault, a whole-vault admin grant). ' +
  'Nobody creates, changes or deletes a policy that names itself (403 SEPARATION_OF_DUTIES).';
const revokes = 'Every token of an agent the policy names (before or after the change) stops working on every node before this answers (P6).';

/** Routes of /v1/vaults/{vaultId}/policies (authenticated scope). */
export function registerPolicyRoutes(app: FastifyInstance, policies: PolicyService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/vaults/:vaultId/policies', {
    config: { audit: { action: 'policy.create', resource } },
    schema: {
      tags,
      security,
      summary: 'Create a vault policy',
      description: `${who} ${revokes}`,
      params: policyParams,
      querystring: noQuery,
      body: policyBody,
      response: { 201: policyResponse },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await policies.create(principalOf(request), request.params.vaultId, request.body)),
  });

  r.get('/v1/vaults/:vaultId/policies', {
    config: { audit: { action: 'policy.list', resource: auditResource.vault } },
    schema: {
      tags,
      security,
      summary: 'List the policies of a vault',
      description: who,
      params: policyParams,
      querystring: noQuery,
      response: { 200: policyListResponse },
    },
    handler: async (request) => ({ policies: await policies.list(principalOf(request), request.params.vaultId) }),
  });

  r.get('/v1/vaults/:vaultId/policies/:policyId', {
    config: { audit: { action: 'policy.describe', resource } },
    schema: {
      tags,
      security,
      summary: 'Describe a vault policy',
      description: who,
      params: onePolicyParams,
      querystring: noQuery,
      response: { 200: policyResponse },
    },
    handler: async (request) => policies.get(principalOf(request), request.params.vaultId, request.params.policyId),
  });

  r.put('/v1/vaults/:vaultId/policies/:policyId', {
    config: { audit: { action: 'policy.update', resource } },
    schema: {
      tags,
      security,
      summary: 'Replace a vault policy',
      description: `The body replaces the whole policy; omitted fields take their defaults. ${who} ${revokes}`,
      params: onePolicyParams,
      querystring: noQuery,
      body: policyBody,
      response: { 200: policyResponse },
    },
    handler: async (request) =>
      policies.replace(principalOf(request), request.params.vaultId, request.params.policyId, request.body),
  });

  r.delete('/v1/vaults/:vaultId/policies/:policyId', {
    config: { audit: { action: 'policy.delete', resource } },
    schema: {
      tags,
      security,
      summary: 'Delete a vault policy',
      description: `${who} ${revokes}`,
      params: onePolicyParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Deleted') },
    },
    handler: async (request, reply) => {
      await policies.remove(principalOf(request), request.params.vaultId, request.params.policyId);
      return reply.code(204).send(null);
    },
  });
}
