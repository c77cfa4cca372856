import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from './audit.hook.js';
import type { AuditService } from './audit.service.js';
import {
  consistencyQuery,
  consistencyResponse,
  eventsQuery,
  eventsResponse,
  headsDocument,
  latestHeadResponse,
  proofParams,
  proofQuery,
  proofResponse,
  signedHead,
} from './audit.types.js';

const tags = ['audit'];
const security = [{ bearerAuth: [] }];

/** Routes of /v1/audit. */
export function registerAuditRoutes(app: FastifyInstance, audit: AuditService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/audit/events', {
    config: { audit: { action: 'audit.events.query', resource: auditResource.audit('events') } },
    schema: { tags, security, summary: 'Query the audit log', querystring: eventsQuery, response: { 200: eventsResponse } },
    handler: async (request) => {
      const { cursor, limit, ...filter } = request.query;
      return audit.query(principalOf(request), filter, { limit, ...(cursor === undefined ? {} : { cursor }) });
    },
  });

  r.get('/v1/audit/events/:seq/proof', {
    config: { audit: { action: 'audit.proof', resource: auditResource.audit('proof') } },
    schema: {
      tags,
      security,
      summary: 'Inclusion proof of one event against a signed head (RFC 6962)',
      params: proofParams,
      querystring: proofQuery,
      response: { 200: proofResponse },
    },
    handler: async (request) => audit.inclusion(principalOf(request), request.params.seq, request.query.tree_size),
  });

  r.get('/v1/audit/consistency', {
    config: { audit: { action: 'audit.proof', resource: auditResource.audit('consistency') } },
    schema: {
      tags,
      security,
      summary: 'Consistency proof between two tree sizes (RFC 6962)',
      querystring: consistencyQuery,
      response: { 200: consistencyResponse },
    },
    handler: async (request) => audit.consistency(principalOf(request), request.query.from, request.query.to),
  });

  r.get('/v1/audit/heads/latest', {
    config: { audit: { action: 'audit.heads.read', resource: auditResource.audit('heads') } },
    schema: { tags, security, summary: 'The latest signed tree head and its public key', querystring: noQuery, response: { 200: latestHeadResponse } },
    handler: async (request) => audit.latestHead(principalOf(request)),
  });

  r.get('/v1/audit/heads', {
    config: { audit: { action: 'audit.heads.read', resource: auditResource.audit('heads') } },
    schema: {
      tags,
      security,
      summary: 'Every signed head and the public keys (the heads file of `strongroom audit verify --heads`)',
      querystring: noQuery,
      response: { 200: headsDocument },
    },
    handler: async (request) => audit.heads(principalOf(request)),
  });

  r.post('/v1/audit/heads', {
    config: { audit: { action: 'audit.heads.sign', resource: auditResource.audit('heads') } },
    schema: { tags, security, summary: 'Sign a tree head over the whole log now', querystring: noQuery, response: { 201: signedHead } },
    handler: async (request, reply) => reply.code(201).send(await audit.signHead(principalOf(request))),
  });

  r.get('/v1/audit/export', {
    config: { audit: { action: 'audit.export', resource: auditResource.audit('export') } },
    schema: {
      tags,
      security,
      summary: 'The whole audit log as JSONL (one ExportedEvent per line), streamed',
      querystring: noQuery,
    },
    handler: async (request, reply) =>
      reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', 'attachment; filename="audit-export.jsonl"')
        .send(await audit.exportStream(principalOf(request))),
  });
}
