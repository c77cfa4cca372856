import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf, sessionCallerOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { resourceRef, type AuditResource } from '../audit/audit.events.js';
import { auditResource } from '../audit/audit.hook.js';
import { auditTargetOf } from '../orgs/orgs.routes.js';
import type { InvitationService } from './invitations.service.js';
import {
  acceptInvitationBody,
  acceptInvitationResponse,
  createdInvitationResponse,
  createInvitationBody,
  invitationListResponse,
  invitationParams,
} from './invitations.types.js';

const tags = ['invitations'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('invitation', 'invitationId');

/** The invitation a validly signed token names, or `invitation:(invalid)`. */
function acceptedInvitation(request: FastifyRequest): AuditResource {
  const id = request.auditDetail.createdId;
  return id === undefined ? { type: 'invitation', ref: 'invitation:(invalid)' } : resourceRef.entity('invitation', id);
}

/** Routes of /v1/invitations (authenticated scope): inviting people, listing and revoking invitations. */
export function registerInvitationRoutes(app: FastifyInstance, invitations: InvitationService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/invitations', {
    config: { audit: { action: 'invitation.create', resource } },
    schema: {
      tags,
      security,
      summary: 'Invite someone to the org by e-mail',
      description:
        "E-mails the address a signed link (`<public URL>/invite#token=…`) that expires (after `expires_in_hours`, a week by default, 30 days at most) and works once. The answer carries the link and its token too, deliberately: an installation without SMTP still works (hand the link over yourself), and the token is no credential — accepting needs the invitee signed in with that very address, proven by an e-mail code or an identity provider. A new invitation to an address replaces its pending ones. Only an owner invites an owner; nobody invites to a role that allows more than their own (403 SEPARATION_OF_DUTIES). An address that is a member already answers 409 CONFLICT.",
      querystring: noQuery,
      body: createInvitationBody,
      response: { 201: createdInvitationResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await invitations.create(principalOf(request), request.body)),
  });

  r.get('/v1/invitations', {
    config: { audit: { action: 'invitation.list', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: "List the org's invitations",
      description: 'Pending, accepted, revoked and expired invitations, newest first. Tokens are not listed: they are shown once, when an invitation is made.',
      querystring: noQuery,
      response: { 200: invitationListResponse },
    },
    handler: async (request) => ({ invitations: await invitations.list(principalOf(request)) }),
  });

  r.delete('/v1/invitations/:invitationId', {
    config: { audit: { action: 'invitation.revoke', resource } },
    schema: {
      tags,
      security,
      summary: 'Revoke an invitation',
      description: 'Its link stops working at once. An accepted invitation cannot be revoked (409 INVALID_STATE): remove the member instead.',
      params: invitationParams,
      querystring: noQuery,
      response: { 204: z.null().describe('Revoked') },
    },
    handler: async (request, reply) => {
      await invitations.revoke(principalOf(request), request.params.invitationId);
      return reply.code(204).send(null);
    },
  });
}

/** The route a signed-in person accepts an invitation at (requireSession scope). */
export function registerInvitationAcceptRoute(app: FastifyInstance, invitations: InvitationService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/invitations/accept', {
    config: { audit: { action: 'invitation.accept', resource: acceptedInvitation } },
    schema: {
      tags,
      security,
      summary: 'Accept an invitation',
      description:
        "Makes you a member of the org the invitation names, with its role. You must be signed in with the invited address. Every failure — a token that is malformed, tampered with, revoked, expired, used, or for another address — is the same 404 NOT_FOUND. Your session stays where it is: move it to the org with POST /v1/auth/switch. Recorded in the invitation's org.",
      querystring: noQuery,
      body: acceptInvitationBody,
      response: { 200: acceptInvitationResponse },
    },
    handler: async (request) => invitations.accept({ userId: sessionCallerOf(request).userId }, request.body.token, auditTargetOf(request)),
  });
}
