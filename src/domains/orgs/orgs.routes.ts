import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf, sessionCallerOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { resourceRef, type AuditResource } from '../audit/audit.events.js';
import { auditResource } from '../audit/audit.hook.js';
import type { OrgService } from './orgs.service.js';
import {
  createdOrgResponse,
  createOrgBody,
  orgResponse,
  transferOwnershipBody,
  transferOwnershipResponse,
  updateOrgBody,
  type AuditTarget,
} from './orgs.types.js';

const tags = ['orgs'];
const security = [{ bearerAuth: [] }];

/**
 * The audit target of a session route: the request's event moves to the org the service names,
 * and back to where requireSession put it (the session's org, or the installation) on `reset`.
 */
export function auditTargetOf(request: FastifyRequest): AuditTarget {
  const before = { orgId: request.authFailureOrgId, actor: request.auditActor };
  return {
    recordIn(orgId, actor) {
      request.authFailureOrgId = orgId;
      request.auditActor = actor;
    },
    reset() {
      request.authFailureOrgId = before.orgId;
      request.auditActor = before.actor;
    },
  };
}

/** The org a request created, or `org:(new)` when it created none. */
function createdOrg(request: FastifyRequest): AuditResource {
  const id = request.auditDetail.createdId;
  return id === undefined ? { type: 'org', ref: 'org:(new)' } : resourceRef.org(id);
}

/** Routes of the signed-in person about orgs (requireSession scope): creating one. */
export function registerMyOrgRoutes(app: FastifyInstance, orgs: OrgService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/orgs', {
    config: { audit: { action: 'org.create', resource: createdOrg } },
    schema: {
      tags,
      security,
      summary: 'Create an org (you become its owner)',
      description:
        'You become the new org\'s first member, with the `owner` role. No root token is made: invite the others (POST /v1/invitations) after moving your session to the org (POST /v1/auth/switch). Org names are unique across the installation, whatever their case (409 CONFLICT). An installation may turn org creation off (STRONGROOM_ALLOW_ORG_CREATION=false): then this answers 409 INVALID_STATE. Recorded in the new org\'s audit log.',
      querystring: noQuery,
      body: createOrgBody,
      response: { 201: createdOrgResponse },
    },
    handler: async (request, reply) => {
      const created = await orgs.create({ userId: sessionCallerOf(request).userId }, request.body.name, auditTargetOf(request));
      return reply.code(201).send(created);
    },
  });
}

/** Routes of /v1/org, the org of the caller's token or session (authenticated scope). */
export function registerOrgRoutes(app: FastifyInstance, orgs: OrgService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/org', {
    config: { audit: { action: 'org.describe', resource: auditResource.org } },
    schema: { tags, security, summary: 'Describe this org and its sign-in settings', querystring: noQuery, response: { 200: orgResponse } },
    handler: async (request) => orgs.describe(principalOf(request)),
  });

  r.patch('/v1/org', {
    config: { audit: { action: 'org.update', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: "Change this org's sign-in settings (step-up)",
      description:
        '`require_mfa: true`: members reach org routes only from sessions that passed a second factor (others answer MFA_REQUIRED). `password_sign_in: true`: members may open sessions here with a password alone. Needs the `members` admin grant and, for a person, a second factor within the last few minutes (403 STEP_UP_REQUIRED otherwise: POST /v1/auth/step-up, then retry). Personal tokens cannot show a second factor and are refused alike; root tokens are exempt.',
      querystring: noQuery,
      body: updateOrgBody,
      response: { 200: orgResponse },
    },
    handler: async (request) => orgs.update(principalOf(request), request.body),
  });

  r.post('/v1/org/leave', {
    config: { audit: { action: 'org.leave', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'Leave this org',
      description:
        'Removes you from the org: your member row, personal tokens, team memberships and the vault policies naming you go, and your sessions in this org end (this one included). The last owner may not leave (409 INVALID_STATE: hand ownership over first); a root token is no member (409 INVALID_STATE: an owner revokes it).',
      querystring: noQuery,
      response: { 204: z.null().describe('Left') },
    },
    handler: async (request, reply) => {
      await orgs.leave(principalOf(request));
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/org/transfer-ownership', {
    config: { audit: { action: 'org.transfer', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'Hand ownership to another member (owners; step-up)',
      description:
        'The member becomes an owner and you become an admin. Only an owner may do this (403 SEPARATION_OF_DUTIES otherwise), and a person needs a second factor within the last few minutes (403 STEP_UP_REQUIRED). A root token may do it too: then only the member changes. The member must be active and sign in (have joined by invitation), and not be an owner already (409 INVALID_STATE).',
      querystring: noQuery,
      body: transferOwnershipBody,
      response: { 200: transferOwnershipResponse },
    },
    handler: async (request) => orgs.transferOwnership(principalOf(request), request.body.member_id),
  });
}
