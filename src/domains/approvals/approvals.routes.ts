import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import type { ApprovalService } from './approvals.service.js';
import {
  approvalListResponse,
  approvalParams,
  approvalResponse,
  approveBody,
  createApprovalBody,
  denyBody,
  listApprovalsQuery,
} from './approvals.types.js';

const tags = ['approvals'];
const security = [{ bearerAuth: [] }];
const resource = auditResource.entity('approval', 'approvalId');

/** Routes of /v1/approvals: access requests decided by a human (P8). Authenticated scope. */
export function registerApprovalRoutes(app: FastifyInstance, approvals: ApprovalService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/approvals', {
    config: { audit: { action: 'approval.request', resource } },
    schema: {
      tags,
      security,
      summary: 'Request access you lack',
      description:
        'A member or agent asks, for itself, for permissions on secret paths of a vault, with a reason. The vault is named ' +
        'by id; an id with no vault is 404. Root tokens hold every grant and cannot request (400). A human approver decides.',
      querystring: noQuery,
      body: createApprovalBody,
      response: { 201: approvalResponse },
    },
    handler: async (request, reply) => reply.code(201).send(await approvals.request(principalOf(request), request.body)),
  });

  r.get('/v1/approvals', {
    config: { audit: { action: 'approval.list', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'List access requests',
      description:
        "The caller's own requests, and those it may decide: with admin on the org area approvals, the requests for vaults " +
        'it administers (every vault for owners and admins, its teams\u2019 vaults for managers). Newest first.',
      querystring: listApprovalsQuery,
      response: { 200: approvalListResponse },
    },
    handler: async (request) => ({ approvals: await approvals.list(principalOf(request), request.query) }),
  });

  r.get('/v1/approvals/:approvalId', {
    config: { audit: { action: 'approval.describe', resource } },
    schema: {
      tags,
      security,
      summary: 'Describe an access request',
      params: approvalParams,
      querystring: noQuery,
      response: { 200: approvalResponse },
    },
    handler: async (request) => approvals.get(principalOf(request), request.params.approvalId),
  });

  r.post('/v1/approvals/:approvalId/approve', {
    config: { audit: { action: 'approval.approve', resource } },
    schema: {
      tags,
      security,
      summary: 'Approve an access request',
      description:
        'Creates an allow policy for the requester on the requested paths, expiring after `duration_seconds` (the ' +
        "request's, unless given here). Needs admin on the org area approvals and on the vault; the approver is a human " +
        '(agents get 404) and never the requester (403 SEPARATION_OF_DUTIES). An agent requester\u2019s tokens are revoked with the change: ' +
        'it fetches a fresh token (POST /v1/auth/agent-token) to use the grant. 409 unless pending.',
      params: approvalParams,
      querystring: noQuery,
      body: approveBody,
      response: { 200: approvalResponse },
    },
    handler: async (request) => approvals.approve(principalOf(request), request.params.approvalId, request.body),
  });

  r.post('/v1/approvals/:approvalId/deny', {
    config: { audit: { action: 'approval.deny', resource } },
    schema: {
      tags,
      security,
      summary: 'Deny an access request',
      description: 'Same approvers as approve; no policy is created. 409 unless pending.',
      params: approvalParams,
      querystring: noQuery,
      body: denyBody,
      response: { 200: approvalResponse },
    },
    handler: async (request) => approvals.deny(principalOf(request), request.params.approvalId, request.body),
  });
}
