import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseToken } from '../domains/tokens/tokens.fns.js';
import type { TokenService } from '../domains/tokens/tokens.service.js';
import { AppError } from '../errors.js';
import type { Principal } from '../policy/policy.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every protected route. */
    principal: Principal | null;
  }
}

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

/**
 * Requires `Authorization: Bearer <token>` on every route of `app` (an encapsulated scope).
 * Runs on `onRequest`, before the body is parsed, so anonymous callers learn nothing about a
 * route's input rules. Every failure — no header, another scheme, a malformed, unknown,
 * revoked or expired token — is the same 401.
 */
export function requireAuthentication(app: FastifyInstance, tokens: TokenService): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const match = BEARER.exec(request.headers.authorization ?? '');
    const principal = match ? await tokens.authenticate(match[1] as string) : undefined;
    if (!principal) {
      // The failure is recorded in the org the token names, if it names one (A1).
      request.authFailureOrgId = match ? (parseToken(match[1] as string)?.orgId ?? null) : null;
      throw new AppError('UNAUTHENTICATED', 'Send a valid token as "Authorization: Bearer <token>".');
    }
    request.principal = principal;
  });
}

/** The authenticated principal of a request on a protected route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHENTICATED');
  return request.principal;
}
