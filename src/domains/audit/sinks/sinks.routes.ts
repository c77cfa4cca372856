import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../../plugins/authn.js';
import { noQuery } from '../../../schemas.js';
import { resourceRef } from '../audit.events.js';
import { auditResource, type AuditRouteConfig } from '../audit.hook.js';
import type { AuditSinkService } from './sinks.service.js';
import { createdSinkResponse, createSinkBody, sinkListResponse, sinkParams } from './sinks.types.js';

const tags = ['audit'];
const security = [{ bearerAuth: [] }];
const sinksResource = () => resourceRef.audit('sinks');

/** Routes of /v1/audit/sinks (A5): webhook and syslog destinations of the org's audit events. */
export function registerAuditSinkRoutes(app: FastifyInstance, service: AuditSinkService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/audit/sinks', {
    config: { audit: { action: 'audit.sink.create', resource: auditResource.sink } satisfies AuditRouteConfig },
    schema: {
      tags,
      security,
      summary: 'Create an audit sink',
      description:
        'Streams every audit event of the org, from the first, to an HTTPS webhook (HMAC-SHA256 signed, ' +
        '`strongroom-signature: t=<unix>,v1=<hex>` over "<t>.<body>") or a syslog receiver (RFC 5424 over TCP or TLS). ' +
        'Delivery is at-least-once in seq order; receivers dedupe by seq. A webhook\'s `secret` is returned once.',
      querystring: noQuery,
      body: createSinkBody,
      response: { 201: createdSinkResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await service.create(principalOf(request), request.body)),
  });

  r.get('/v1/audit/sinks', {
    config: { audit: { action: 'audit.sink.list', resource: sinksResource } satisfies AuditRouteConfig },
    schema: {
      tags,
      security,
      summary: 'List the audit sinks of the org and their delivery state',
      querystring: noQuery,
      response: { 200: sinkListResponse },
    },
    handler: async (request) => ({ sinks: await service.list(principalOf(request)) }),
  });

  r.delete('/v1/audit/sinks/:sinkId', {
    config: {
      audit: {
        action: 'audit.sink.delete',
        // The hook may run for a request whose params failed validation: refer to what was sent, bounded.
        resource: auditResource.sink,
      } satisfies AuditRouteConfig,
    },
    schema: {
      tags,
      security,
      summary: 'Delete an audit sink',
      params: sinkParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Deleted') },
    },
    handler: async (request, reply) => {
      await service.remove(principalOf(request), request.params.sinkId);
      return reply.code(204).send(null);
    },
  });
}
