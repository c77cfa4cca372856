import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { isBuiltInRole } from '../../policy/roles.js';
import { noQuery } from '../../schemas.js';
import { resourceRef, type AuditResource } from '../audit/audit.events.js';
import { auditResource } from '../audit/audit.hook.js';
import type { RoleService } from './roles.service.js';
import { roleBody, roleListResponse, roleParams, roleResponse } from './roles.types.js';

const tags = ['roles'];
const security = [{ bearerAuth: [] }];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The audit resource of a role route: `role:<name>` for a built-in role, `role:<uuid>` for a
 * custom one (or the one being created), `role:(invalid)` for anything else — it reads the raw
 * parameter, which a failed request may not have passed validation with.
 */
export function roleAuditResource(request: FastifyRequest): AuditResource {
  const raw = (request.params as Record<string, unknown> | undefined)?.['roleId'];
  const id = typeof raw === 'string' ? raw : request.auditDetail.createdId;
  if (id === undefined) return { type: 'role', ref: 'role:(new)' };
  if (isBuiltInRole(id)) return resourceRef.entity('role', id);
  return UUID.test(id) ? resourceRef.entity('role', id.toLowerCase()) : { type: 'role', ref: 'role:(invalid)' };
}

/** Routes of /v1/roles (authenticated scope). */
export function registerRoleRoutes(app: FastifyInstance, roles: RoleService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/roles', {
    config: { audit: { action: 'role.list', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'List the roles of the org',
      description: 'The built-in roles (read-only, `built_in: true`, id = name) first, then the custom roles by name.',
      querystring: noQuery,
      response: { 200: roleListResponse },
    },
    handler: async (request) => ({ roles: await roles.list(principalOf(request)) }),
  });

  r.get('/v1/roles/:roleId', {
    config: { audit: { action: 'role.describe', resource: roleAuditResource } },
    schema: { tags, security, summary: 'Describe a role', params: roleParams, querystring: noQuery, response: { 200: roleResponse } },
    handler: async (request) => roles.get(principalOf(request), request.params.roleId),
  });

  r.post('/v1/roles', {
    config: { audit: { action: 'role.create', resource: roleAuditResource } },
    schema: {
      tags,
      security,
      summary: 'Create a custom role',
      description:
        'Its name may not be that of a built-in role. A restricted role (separation of duties) may not be given `admin` on `policies`, `integrations` or vaults. Only an owner may define a role that allows more than the caller\'s own role.',
      querystring: noQuery,
      body: roleBody,
      response: { 201: roleResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await roles.create(principalOf(request), request.body)),
  });

  r.put('/v1/roles/:roleId', {
    config: { audit: { action: 'role.update', resource: roleAuditResource } },
    schema: {
      tags,
      security,
      summary: 'Replace a custom role',
      description:
        'Replaces the whole definition (omitted fields take their defaults). Members holding the role get the new grants on their very next request. Built-in roles cannot be changed (400).',
      params: roleParams,
      querystring: noQuery,
      body: roleBody,
      response: { 200: roleResponse },
    },
    handler: async (request) => roles.replace(principalOf(request), request.params.roleId, request.body),
  });

  r.delete('/v1/roles/:roleId', {
    config: { audit: { action: 'role.delete', resource: roleAuditResource } },
    schema: {
      tags,
      security,
      summary: 'Delete a custom role',
      description: 'Refused (409) while members still hold the role. Vault policies naming the role are deleted with it. Built-in roles cannot be deleted (400).',
      params: roleParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Deleted') },
    },
    handler: async (request, reply) => {
      await roles.remove(principalOf(request), request.params.roleId);
      return reply.code(204).send(null);
    },
  });
}
