import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../domains/authz/authz.service.js';
import type { TokenService } from '../domains/tokens/tokens.service.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every protected route. */
    principal: Caller | null;
  }
}

const BEARER = /^Bearer ([\x21-\x7e]{1,8192})$/;
const MAX_REASON = 512;

/** The reason a caller states for a request (`X-Audit-Reason`), as policies read it. */
export function statedReason(request: FastifyRequest): string | null {
  const value = request.headers['x-audit-reason'];
  const text = (Array.isArray(value) ? value.join(', ') : (value ?? '')).trim();
  return text === '' ? null : text.slice(0, MAX_REASON);
}

/**
 * Requires `Authorization: Bearer <token>` on every route of `app` (an encapsulated scope).
 * Runs on `onRequest`, before the body is parsed, so anonymous callers learn nothing about a
 * route's input rules. Every failure — no header, another scheme, a malformed, unknown,
 * revoked, expired or superseded token, a token of the wrong type — is the same 401.
 */
export function requireAuthentication(app: FastifyInstance, tokens: TokenService): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    const result = match ? await tokens.authenticate(match[1] as string) : { failed: true as const, orgId: null };
    if ('failed' in result) {
      // The failure is recorded in the org the token provably names, if any (A1).
      request.authFailureOrgId = result.orgId;
      throw new AppError('UNAUTHENTICATED', 'Send a valid token as "Authorization: Bearer <token>".');
    }
    request.principal = { ...result.principal, epoch: result.epoch, ip: request.ip, reason: statedReason(request), mfa: false };
  });
}

/** The authenticated caller of a request on a protected route. */
export function principalOf(request: FastifyRequest): Caller {
  if (!request.principal) throw new AppError('UNAUTHENTICATED');
  return request.principal;
}
