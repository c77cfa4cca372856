import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { noQuery } from '../../schemas.js';
import { auditResource } from '../audit/audit.hook.js';
import { matrixToCsv, type AccessService } from './access.service.js';
import {
  createReviewBody,
  decisionBody,
  matrixQuery,
  matrixResponse,
  reminderResponse,
  reviewDetail,
  reviewItem,
  reviewItemParams,
  reviewListResponse,
  reviewParams,
  reviewSummary,
} from './access.types.js';

const tags = ['access'];
const security = [{ bearerAuth: [] }];
const review = auditResource.entity('access_review', 'reviewId');

/** Routes of /v1/access: the access matrix and review campaigns (P7). Authenticated scope. */
export function registerAccessRoutes(app: FastifyInstance, access: AccessService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/access/matrix', {
    config: { audit: { action: 'access.matrix', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'Who can do what on which vault (effective-access matrix)',
      description:
        'Every grant that reaches an active member or agent, on the vaults the caller may see: role grants (whole vault, ' +
        'through the role or a team) and policies (direct, through a team or a role), deny policies included. Members are ' +
        'named by display name, never e-mail. `format=csv` answers RFC 4180 CSV with a header line; cells a spreadsheet ' +
        "would read as a formula are prefixed with '. Needs describe on the org area access.",
      querystring: matrixQuery,
      response: {
        200: {
          description: 'The matrix, as JSON or CSV',
          content: {
            'application/json': { schema: matrixResponse },
            'text/csv': { schema: z.string().describe('RFC 4180 CSV, header line first, CRLF line ends') },
          },
        },
      },
    },
    handler: async (request, reply) => {
      const matrix = await access.matrix(principalOf(request));
      if (request.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="access-matrix.csv"')
          .send(matrixToCsv(matrix));
      }
      return reply.type('application/json; charset=utf-8').send(matrix);
    },
  });

  r.post('/v1/access/reviews', {
    config: { audit: { action: 'access.review.create', resource: review } },
    schema: {
      tags,
      security,
      summary: 'Open an access review campaign',
      description:
        'Takes one item per policy of the org as it stands now. The reviewer (default: the caller) must be an active member ' +
        'with admin on the org area access. Needs admin on the org area access.',
      querystring: noQuery,
      body: createReviewBody,
      response: { 201: reviewDetail },
    },
    handler: async (request, reply) => reply.code(201).send(await access.createReview(principalOf(request), request.body)),
  });

  r.get('/v1/access/reviews', {
    config: { audit: { action: 'access.review.list', resource: auditResource.org } },
    schema: {
      tags,
      security,
      summary: 'List access review campaigns with their progress',
      querystring: noQuery,
      response: { 200: reviewListResponse },
    },
    handler: async (request) => ({ reviews: await access.listReviews(principalOf(request)) }),
  });

  r.get('/v1/access/reviews/:reviewId', {
    config: { audit: { action: 'access.review.describe', resource: review } },
    schema: {
      tags,
      security,
      summary: 'Describe an access review campaign and its items',
      params: reviewParams,
      querystring: noQuery,
      response: { 200: reviewDetail },
    },
    handler: async (request) => access.getReview(principalOf(request), request.params.reviewId),
  });

  r.post('/v1/access/reviews/:reviewId/items/:itemId/decision', {
    config: { audit: { action: 'access.review.decide', resource: review } },
    schema: {
      tags,
      security,
      summary: 'Keep or revoke one grant of a campaign',
      description:
        "The campaign's reviewer decides; another access admin may stand in only where the reviewer cannot (a root-token " +
        'reviewer, a reviewer no longer active, or a grant that reaches the reviewer). Nobody decides a grant that reaches ' +
        'themselves (403 SEPARATION_OF_DUTIES). `revoke` deletes the policy at once and every token of the agents it ' +
        'applied to stops working. A decision is final (409), and a closed campaign takes none (409).',
      params: reviewItemParams,
      querystring: noQuery,
      body: decisionBody,
      response: { 200: reviewItem },
    },
    handler: async (request) =>
      access.decide(principalOf(request), request.params.reviewId, request.params.itemId, request.body),
  });

  r.post('/v1/access/reviews/:reviewId/reminders', {
    config: { audit: { action: 'access.review.remind', resource: review } },
    schema: {
      tags,
      security,
      summary: 'Remind the reviewer of the unreviewed items',
      description:
        'Reminders also go out automatically: an open campaign with unreviewed items that is overdue or due within 24 hours ' +
        'is reminded of at most once a day (checked when the org has activity), as an `access.review.remind` event by the ' +
        'actor `system:reminders`. This sends one by hand now, as an `access.review.remind` audit event; both reach the ' +
        'SIEM sinks and webhooks, and both count in `reminders_sent`. E-mail reminders arrive with SMTP (identity). 409 ' +
        'when the campaign is closed or every item is decided.',
      params: reviewParams,
      querystring: noQuery,
      response: { 200: reminderResponse },
    },
    handler: async (request) => access.remind(principalOf(request), request.params.reviewId),
  });

  r.post('/v1/access/reviews/:reviewId/close', {
    config: { audit: { action: 'access.review.close', resource: review } },
    schema: {
      tags,
      security,
      summary: 'Close an access review campaign',
      description: 'Unreviewed items stay unreviewed and are counted in `counts.unreviewed`. 409 when already closed.',
      params: reviewParams,
      querystring: noQuery,
      response: { 200: reviewSummary },
    },
    handler: async (request) => access.close(principalOf(request), request.params.reviewId),
  });
}
