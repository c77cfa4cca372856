import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { accountKey, type AuthGuard } from '../../identity/guard.js';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import type { AgentTokens } from './agent-tokens.js';
import type { AgentService } from './agents.service.js';
import {
  agentListResponse,
  agentParams,
  agentResponse,
  agentTokenBody,
  agentTokenResponse,
  agentWithKeyResponse,
  createAgentBody,
  updateAgentBody,
} from './agents.types.js';

const tags = ['agents'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('agent', 'agentId');

/** Routes of /v1/agents (authenticated scope). */
export function registerAgentRoutes(app: FastifyInstance, agents: AgentService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/agents', {
    config: { audit: { action: 'agent.create', resource } },
    schema: {
      tags,
      security,
      summary: 'Create an agent',
      description: 'Returns the agent and its API key. The key is shown once; only its hash is stored.',
      querystring: noQuery,
      body: createAgentBody,
      response: { 201: agentWithKeyResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await agents.create(principalOf(request), request.body)),
  });

  r.get('/v1/agents', {
    config: { audit: { action: 'agent.list', resource: auditResource.org } },
    schema: { tags, security, summary: 'List the agents of the org', querystring: noQuery, response: { 200: agentListResponse } },
    handler: async (request) => ({ agents: await agents.list(principalOf(request)) }),
  });

  r.get('/v1/agents/:agentId', {
    config: { audit: { action: 'agent.describe', resource } },
    schema: { tags, security, summary: 'Describe an agent', params: agentParams, querystring: noQuery, response: { 200: agentResponse } },
    handler: async (request) => agents.get(principalOf(request), request.params.agentId),
  });

  r.patch('/v1/agents/:agentId', {
    config: { audit: { action: 'agent.update', resource } },
    schema: {
      tags,
      security,
      summary: 'Change or deactivate an agent',
      description: '`active: false` deactivates the agent: every token it holds stops working on every node before this answers.',
      params: agentParams,
      querystring: noQuery,
      body: updateAgentBody,
      response: { 200: agentResponse },
    },
    handler: async (request) => agents.update(principalOf(request), request.params.agentId, request.body),
  });

  r.delete('/v1/agents/:agentId', {
    config: { audit: { action: 'agent.delete', resource } },
    schema: { tags, security, summary: 'Delete an agent', params: agentParams, querystring: noQuery, response: { 204: z.null().describe('Deleted') } },
    handler: async (request, reply) => {
      await agents.remove(principalOf(request), request.params.agentId);
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/agents/:agentId/rotate-key', {
    config: { audit: { action: 'agent.key.rotate', resource } },
    schema: {
      tags,
      security,
      summary: "Rotate an agent's API key",
      description: 'Returns the new key once. The old key and every token issued to the agent stop working at once.',
      params: agentParams,
      querystring: noQuery,
      response: { 200: agentWithKeyResponse },
    },
    handler: async (request) => agents.rotateKey(principalOf(request), request.params.agentId),
  });
}

/** POST /v1/auth/agent-token: unauthenticated (the API key is the credential), audited. */
export function registerAgentTokenRoute(app: FastifyInstance, agents: AgentService, guard: AuthGuard): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/v1/auth/agent-token', {
    config: {
      audit: {
        action: 'agent.token.issue',
        // The agent is named only once its key proved it.
        resource: (request) => (request.auditDetail.createdId ? resource(request) : { type: 'agent', ref: 'agent:(unverified)' }),
      },
    },
    schema: {
      tags: ['auth'],
      summary: "Exchange an agent's API key for an access token",
      description:
        'A short-lived EdDSA JWT (`typ: at+jwt`), verifiable with /.well-known/jwks.json. Every failure is the same 401. Limited per IP, and a source that fails 5 times in 15 minutes for one agent is refused for a while (429), like every sign-in.',
      querystring: noQuery,
      body: agentTokenBody,
      response: { 200: agentTokenResponse },
    },
    handler: async (request) => {
      // I2: the same brute-force defence as people's sign-in (the key itself is 256 random bits;
      // this bounds the failure events anyone can make an org record).
      const account = accountKey('agent', request.body.agent_id);
      await guard.rate(request.ip);
      const attempt = await guard.admit(request.ip, account);
      const result = await agents.exchange(request.body.agent_id, request.body.api_key);
      if (!result.ok) {
        request.authFailureOrgId = result.orgId;
        guard.fail(attempt);
        throw new AppError('UNAUTHENTICATED', 'The agent id or API key is not valid, or the agent is deactivated.');
      }
      await guard.succeed(attempt);
      request.auditDetail.createdId = result.agentId;
      // The agent proved itself with its key: it is the actor of this event.
      request.principal = { orgId: result.orgId, kind: 'agent', id: result.agentId, role: null, epoch: 0, ip: request.ip, reason: null, mfa: false };
      return { access_token: result.access_token, token_type: 'Bearer' as const, expires_in: result.expires_in };
    },
  });
}

/** GET /.well-known/jwks.json: the public keys agent tokens are signed with. */
export function registerJwksRoute(app: FastifyInstance, tokens: Pick<AgentTokens, 'jwks'>): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/.well-known/jwks.json', {
    schema: {
      tags: ['auth'],
      summary: 'JSON Web Key Set of the keys that sign access tokens',
      response: { 200: z.object({ keys: z.array(z.record(z.string(), z.string())) }) },
    },
    handler: async (_request, reply) => {
      void reply.header('cache-control', 'public, max-age=300');
      return tokens.jwks();
    },
  });
}
