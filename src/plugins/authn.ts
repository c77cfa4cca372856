import type {} from '@fastify/cookie';
import { createHash, timingSafeEqual } from 'node:crypto';
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
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Cookies of a dashboard session (I4): `__Host-` pins them to this origin, path `/`, Secure. */
export const SESSION_COOKIES = {
  access: '__Host-sr_access',
  refresh: '__Host-sr_refresh',
  csrf: '__Host-sr_csrf',
} as const;

/** Where a request's credential came from: cookies need a CSRF token on changes. */
export function credentialOf(request: FastifyRequest): { token: string; fromCookie: boolean } | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(header);
    return match ? { token: match[1] as string, fromCookie: false } : undefined;
  }
  const cookie = request.cookies?.[SESSION_COOKIES.access];
  return cookie !== undefined && cookie.length <= 8192 ? { token: cookie, fromCookie: true } : undefined;
}

/**
 * Refuses a cookie-authenticated request that changes something without the session's CSRF
 * token in `X-CSRF-Token` (SameSite=Strict already keeps other sites' requests from carrying
 * the cookie; the token also covers same-site subdomains and old browsers).
 */
export function checkCsrf(request: FastifyRequest, expectedHash: Uint8Array | null | undefined): void {
  if (SAFE_METHODS.has(request.method)) return;
  const given = request.headers['x-csrf-token'];
  const ok =
    expectedHash != null &&
    expectedHash.length === 32 &&
    typeof given === 'string' &&
    given.length <= 256 &&
    timingSafeEqual(createHash('sha256').update(given).digest(), expectedHash);
  if (!ok) throw new AppError('CSRF_FAILED', 'Send the CSRF token you got at sign-in as X-CSRF-Token.');
}
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
    const credential = credentialOf(request);
    const result = credential ? await tokens.authenticate(credential.token) : { failed: true as const, orgId: null };
    if ('failed' in result) {
      // The failure is recorded in the org the token provably names, if any (A1).
      request.authFailureOrgId = result.orgId;
      throw new AppError('UNAUTHENTICATED', 'Send a valid token as "Authorization: Bearer <token>".');
    }
    if (credential?.fromCookie) {
      request.authFailureOrgId = result.principal.orgId;
      checkCsrf(request, result.session?.csrfHash);
    }
    if (result.session?.mfaMissing) {
      request.authFailureOrgId = result.principal.orgId;
      throw new AppError('MFA_REQUIRED', 'This org requires a second factor: enrol one (POST /v1/me/mfa/totp, then /confirm) and confirm it at POST /v1/auth/step-up, or sign in with it.');
    }
    request.principal = {
      ...result.principal,
      epoch: result.epoch,
      ip: request.ip,
      reason: statedReason(request),
      mfa: result.session?.recentMfa ?? false,
      ...(result.session ? { session: { sessionId: result.session.sessionId, userId: result.session.userId } } : {}),
    };
  });
}

/** The authenticated caller of a request on a protected route. */
export function principalOf(request: FastifyRequest): Caller {
  if (!request.principal) throw new AppError('UNAUTHENTICATED');
  return request.principal;
}

/** The signed-in person behind a request to a `/v1/me` or `/v1/auth` session route. */
export interface SessionCaller {
  userId: string;
  sessionId: string;
  /** The org the session is in, and the user's member there; null before the user has one. */
  orgId: string | null;
  member: { memberId: string; role: string } | null;
  /** A second factor within the step-up window. */
  recentMfa: boolean;
  /** Signed in (first factor) within the step-up window: re-authentication for people without a second factor. */
  recentSignIn: boolean;
  fromCookie: boolean;
  ip: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireSession on `/v1/me` routes. */
    sessionCaller: SessionCaller | null;
  }
}

/**
 * Requires a signed-in person's access token (bearer or dashboard cookie) on every route of
 * `app`: routes about the person (profile, second factors, sessions, orgs), which work before
 * the person belongs to any org. Root, personal and agent tokens are refused here (401): they
 * are not people signed in. Events go to the session's org, or the installation chain.
 */
export function requireSession(
  app: FastifyInstance,
  deps: {
    verify: (token: string) => Promise<{ userId: string; sessionId: string; orgId: string | null } | undefined>;
    authenticate: (claims: { userId: string; sessionId: string; orgId: string | null }) => Promise<
      { member: { memberId: string; role: string } | null; recentMfa: boolean; recentSignIn: boolean; csrfHash: Uint8Array | null } | undefined
    >;
    installationOrgId: string;
  },
): void {
  app.decorateRequest('sessionCaller', null);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    request.authFailureOrgId = deps.installationOrgId;
    const credential = credentialOf(request);
    const claims = credential ? await deps.verify(credential.token) : undefined;
    const state = claims ? await deps.authenticate(claims) : undefined;
    if (!credential || !claims || !state) {
      throw new AppError('UNAUTHENTICATED', 'Sign in and send the access token as "Authorization: Bearer <token>".');
    }
    request.authFailureOrgId = claims.orgId ?? deps.installationOrgId;
    request.auditActor = { type: 'user', id: claims.userId };
    if (credential.fromCookie) checkCsrf(request, state.csrfHash);
    request.sessionCaller = {
      ...claims,
      member: state.member,
      recentMfa: state.recentMfa,
      recentSignIn: state.recentSignIn,
      fromCookie: credential.fromCookie,
      ip: request.ip,
    };
  });
}

/** The signed-in person of a session route. */
export function sessionCallerOf(request: FastifyRequest): SessionCaller {
  if (!request.sessionCaller) throw new AppError('UNAUTHENTICATED');
  return request.sessionCaller;
}
