import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditResource } from '../domains/audit/audit.hook.js';
import { resourceRef } from '../domains/audit/audit.events.js';
import { parseToken } from '../domains/tokens/tokens.fns.js';
import { AppError } from '../errors.js';
import { SESSION_COOKIES, checkCsrf, sessionCallerOf } from '../plugins/authn.js';
import { noQuery, text } from '../schemas.js';
import { INSTALLATION_ORG_ID, type IdentityService, type RequestFacts, type SignInResult } from './identity.service.js';
import type { IssuedSession, SessionService } from './sessions.js';

const tags = ['auth'];
const security = [{ bearerAuth: [] }];

/** Cookie holding the `sr_mfa_…` token between an OIDC sign-in and its second factor. */
const MFA_COOKIE = '__Host-sr_mfa';
/** Cookie binding an OIDC sign-in to the browser that started it (login CSRF defence). */
const OIDC_COOKIE = '__Host-sr_oidc';

const email = z.string().min(3).max(254);
const sessionMode = z.enum(['token', 'cookie']).default('token').describe('`cookie`: the dashboard; tokens go in HttpOnly cookies, not the body.');
const orgId = z.uuid().optional().describe('The org to open the session in; the first one otherwise.');
const code = z.string().min(1).max(32);
const recoveryCode = z.string().min(1).max(64);

const sessionResponse = z.object({
  session_id: z.uuid(),
  org_id: z.uuid().nullable(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  access_token: z.string().optional().describe('Absent in cookie mode.'),
  refresh_token: z.string().optional().describe('Single use; absent in cookie mode.'),
  csrf_token: z.string().describe('Send as X-CSRF-Token on cookie-authenticated changes.'),
});
const mfaResponse = z.object({
  mfa_required: z.literal(true),
  mfa_token: z.string().optional().describe('Complete at POST /v1/auth/mfa within 5 minutes; absent in cookie mode (it is in a cookie).'),
  methods: z.array(z.enum(['totp', 'recovery_code'])),
});
const signInResponse = z.union([sessionResponse, mfaResponse]);

function factsOf(request: FastifyRequest): RequestFacts {
  const ua = request.headers['user-agent'];
  return {
    requestId: request.id,
    ip: request.ip,
    userAgent: typeof ua === 'string' ? ua.slice(0, 256) : null,
    audit: { orgId: INSTALLATION_ORG_ID, actor: null, email: null },
  };
}

/** Copies what a sign-in step learnt into the request's audit event. */
function recordAs(request: FastifyRequest, facts: RequestFacts): void {
  request.authFailureOrgId = facts.audit.orgId;
  request.auditActor = facts.audit.actor;
  request.auditEmail = facts.audit.email;
}

/** Runs a sign-in step with its facts recorded, whatever its outcome. */
async function step<T>(request: FastifyRequest, fn: (facts: RequestFacts) => Promise<T>): Promise<T> {
  const facts = factsOf(request);
  try {
    return await fn(facts);
  } finally {
    recordAs(request, facts);
  }
}

/** Deleting a `__Host-` cookie: browsers ignore a Set-Cookie of that prefix without Secure and Path=/, deletions too. */
const CLEAR_COOKIE = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' as const };

function cookieOptions(maxAgeSeconds: number, httpOnly = true) {
  return { path: '/', secure: true, httpOnly, sameSite: 'strict' as const, maxAge: maxAgeSeconds };
}

function sendSession(reply: FastifyReply, session: IssuedSession, mode: 'token' | 'cookie', maxSessionSeconds: number) {
  const base = { session_id: session.sessionId, org_id: session.orgId, token_type: 'Bearer' as const, expires_in: session.expiresIn, csrf_token: session.csrfToken };
  if (mode === 'token') return { ...base, access_token: session.accessToken, refresh_token: session.refreshToken };
  void reply.setCookie(SESSION_COOKIES.access, session.accessToken, cookieOptions(session.expiresIn));
  void reply.setCookie(SESSION_COOKIES.refresh, session.refreshToken, cookieOptions(maxSessionSeconds));
  void reply.setCookie(SESSION_COOKIES.csrf, session.csrfToken, cookieOptions(maxSessionSeconds, false));
  void reply.clearCookie(MFA_COOKIE, CLEAR_COOKIE);
  return base;
}

function sendSignIn(reply: FastifyReply, result: SignInResult, mode: 'token' | 'cookie', maxSessionSeconds: number) {
  if ('session' in result) return sendSession(reply, result.session, mode, maxSessionSeconds);
  if (mode === 'cookie') {
    void reply.setCookie(MFA_COOKIE, result.mfaToken, cookieOptions(300));
    return { mfa_required: true as const, methods: ['totp' as const, 'recovery_code' as const] };
  }
  return { mfa_required: true as const, mfa_token: result.mfaToken, methods: ['totp' as const, 'recovery_code' as const] };
}

function clearSessionCookies(reply: FastifyReply): void {
  for (const name of [SESSION_COOKIES.access, SESSION_COOKIES.refresh, SESSION_COOKIES.csrf, MFA_COOKIE]) void reply.clearCookie(name, CLEAR_COOKIE);
}

/** A path on this server to return to after an OIDC sign-in: never another origin. */
function safeReturnPath(value: string | undefined): string {
  // Printable ASCII only: it goes into a Location header, which carries nothing else.
  if (value === undefined || !/^\/[\x21-\x7e]{0,511}$/.test(value) || value.startsWith('//') || value.includes('\\')) return '/';
  return value;
}

/**
 * The sign-in routes anyone may call (I1, I2): e-mail codes, passwords, second factor, refresh,
 * OIDC. Each is limited per IP; credential checks go through the brute-force guard. Failures
 * all answer `SIGN_IN_FAILED` (401) with the same body.
 */
export function registerSignInRoutes(app: FastifyInstance, identity: IdentityService, sessions: SessionService, rate: (ip: string) => Promise<void>): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const maxSession = sessions.options.maxSessionSeconds;
  const identityResource = () => resourceRef.entity('user', '-');
  const userResource = (request: FastifyRequest) =>
    request.auditActor ? resourceRef.entity('user', request.auditActor.id) : { type: 'user' as const, ref: 'user:(unknown)' };
  app.addHook('onRequest', async (request) => {
    request.authFailureOrgId = INSTALLATION_ORG_ID;
    await rate(request.ip);
  });

  r.post('/v1/auth/email/start', {
    config: { audit: { action: 'auth.email_code.send', resource: identityResource, public: true } },
    schema: {
      tags,
      summary: 'E-mail a one-time sign-in code',
      description:
        'Sends a 6-digit code, good once for 10 minutes, to the address. The answer is the same whether or not an account exists; a first sign-in with the code makes the account.',
      querystring: noQuery,
      body: z.object({ email }).strict(),
      response: { 202: z.object({ status: z.literal('sent'), expires_in: z.number().int() }) },
    },
    handler: async (request, reply) => {
      const sent = await step(request, (facts) => identity.emailStart(request.body.email, facts));
      return reply.code(202).send({ status: 'sent' as const, expires_in: sent.expiresIn });
    },
  });

  r.post('/v1/auth/email/verify', {
    config: { audit: { action: 'auth.signin', resource: userResource, public: true } },
    schema: {
      tags,
      summary: 'Sign in with an e-mail code',
      querystring: noQuery,
      body: z.object({ email, code, org_id: orgId, session: sessionMode }).strict(),
      response: { 200: signInResponse },
    },
    handler: async (request, reply) => {
      const { email: address, code: given, org_id: org, session } = request.body;
      const result = await step(request, (facts) => identity.emailVerify(address, given, org, facts));
      return sendSignIn(reply, result, session, maxSession);
    },
  });

  r.post('/v1/auth/password', {
    config: { audit: { action: 'auth.signin', resource: userResource, public: true } },
    schema: {
      tags,
      summary: 'Sign in with a password',
      description: 'Passwords are optional: a session opens only in orgs that allow password sign-in.',
      querystring: noQuery,
      body: z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(1024), org_id: orgId, session: sessionMode }).strict(),
      response: { 200: signInResponse },
    },
    handler: async (request, reply) => {
      const { email: address, password, org_id: org, session } = request.body;
      const result = await step(request, (facts) => identity.passwordSignIn(address, password, org, facts));
      return sendSignIn(reply, result, session, maxSession);
    },
  });

  r.post('/v1/auth/mfa', {
    config: { audit: { action: 'auth.mfa.verify', resource: userResource, public: true } },
    schema: {
      tags,
      summary: 'Complete a sign-in with a second factor',
      description: 'A TOTP code (each good once) or a recovery code (each good once). The MFA token comes from the first step, or its cookie.',
      querystring: noQuery,
      body: z
        .object({ mfa_token: z.string().max(256).optional(), code: code.optional(), recovery_code: recoveryCode.optional(), session: sessionMode })
        .strict()
        .refine((b) => (b.code === undefined) !== (b.recovery_code === undefined), 'give either code or recovery_code'),
      response: { 200: sessionResponse },
    },
    handler: async (request, reply) => {
      const body = request.body;
      const token = body.mfa_token ?? request.cookies[MFA_COOKIE];
      if (!token) throw new AppError('SIGN_IN_FAILED');
      const input = { ...(body.code === undefined ? {} : { code: body.code }), ...(body.recovery_code === undefined ? {} : { recoveryCode: body.recovery_code }) };
      const session = await step(request, (facts) => identity.completeMfa(token, input, facts));
      return sendSession(reply, session, body.session, maxSession);
    },
  });

  r.post('/v1/auth/refresh', {
    config: { audit: { action: 'auth.refresh', resource: userResource, public: true } },
    schema: {
      tags,
      summary: 'Swap a refresh token for new tokens',
      description:
        'A refresh token is good once. Presenting a used one again ends the whole session (its token family): a copy is in someone else\'s hands. Cookie sessions send no body and their CSRF token as X-CSRF-Token.',
      querystring: noQuery,
      // A cookie refresh has no body at all, which Fastify hands on as null.
      body: z.object({ refresh_token: z.string().max(256).optional() }).strict().nullish(),
      response: { 200: sessionResponse },
    },
    handler: async (request, reply) => {
      const fromBody = request.body?.refresh_token;
      const token = fromBody ?? request.cookies[SESSION_COOKIES.refresh];
      if (!token) throw new AppError('UNAUTHENTICATED', 'Send a refresh token.');
      if (fromBody === undefined) {
        // The refresh cookie rides along with any same-site request: require the CSRF token too.
        const parsed = parseToken(token);
        const sessionId = parsed?.kind === 'refresh' ? parsed.orgId : undefined;
        checkCsrf(request, sessionId === undefined ? null : await sessions.csrfHashOf(sessionId));
      }
      const session = await step(request, (facts) => identity.refresh(token, facts));
      return sendSession(reply, session, fromBody === undefined ? 'cookie' : 'token', maxSession);
    },
  });

  r.get('/v1/auth/oidc/providers', {
    config: { audit: { action: 'auth.oidc.start', resource: identityResource, public: true } },
    schema: {
      tags,
      summary: 'The configured identity providers',
      querystring: noQuery,
      response: { 200: z.object({ providers: z.array(z.object({ id: z.string(), name: z.string(), start_url: z.string() })) }) },
    },
    handler: async () => ({
      providers: identity.oidcProviders().map((p) => ({ ...p, start_url: `/v1/auth/oidc/${p.id}/start` })),
    }),
  });

  const providerParams = z.object({ provider: z.string().regex(/^[a-z0-9-]{1,32}$/) }).strict();
  const callbackValue = z.string().max(4096);

  r.get('/v1/auth/oidc/:provider/start', {
    config: { audit: { action: 'auth.oidc.start', resource: identityResource, public: true } },
    schema: {
      tags,
      summary: 'Start signing in with an identity provider (browser redirect)',
      description: 'Redirects to the provider with PKCE (S256), state and nonce; the sign-in is bound to this browser by a cookie.',
      params: providerParams,
      querystring: z.object({ return_to: z.string().max(512).optional() }).strict(),
      response: { 302: z.null() },
    },
    handler: async (request, reply) => {
      const { url, binding } = await identity.oidcStart(request.params.provider, safeReturnPath(request.query.return_to));
      // Lax, not Strict: browsers send it on the provider's redirect back (a top-level GET from
      // another site), which is exactly when it must arrive; it binds, it does not authenticate.
      void reply.setCookie(OIDC_COOKIE, binding, { ...cookieOptions(600), sameSite: 'lax' as const });
      return reply.redirect(url, 302);
    },
  });

  r.get('/v1/auth/oidc/:provider/callback', {
    config: { audit: { action: 'auth.oidc.callback', resource: userResource, public: true } },
    schema: {
      tags,
      summary: 'Where the identity provider returns (browser redirect)',
      description: 'Completes the sign-in and redirects to where it started, with the session in cookies (or the second-factor step pending).',
      params: providerParams,
      // What providers send back (RFC 6749 §4.1.2, RFC 9207 `iss`), named so the OpenAPI document
      // lists them (a bare record came out as parameters named `type`, `propertyNames`, …); any
      // other parameter a provider adds is taken too.
      querystring: z
        .object({
          code: callbackValue.optional(),
          state: callbackValue.optional(),
          iss: callbackValue.optional(),
          error: callbackValue.optional(),
          error_description: callbackValue.optional(),
        })
        .catchall(callbackValue),
      response: { 303: z.null() },
    },
    handler: async (request, reply) => {
      const url = new URL(request.url, 'http://callback.invalid');
      const binding = request.cookies[OIDC_COOKIE];
      void reply.clearCookie(OIDC_COOKIE, CLEAR_COOKIE);
      const { result, returnTo } = await step(request, (facts) => identity.oidcFinish(request.params.provider, url, binding, facts));
      const body = sendSignIn(reply, result, 'cookie', maxSession);
      const target = 'mfa_required' in body ? `${returnTo}${returnTo.includes('?') ? '&' : '?'}mfa=required` : returnTo;
      return reply.redirect(target, 303);
    },
  });
}

const secondFactorBody = z
  .object({ code: code.optional(), recovery_code: recoveryCode.optional() })
  .strict()
  .refine((b) => (b.code === undefined) !== (b.recovery_code === undefined), 'give either code or recovery_code');

/**
 * Re-authentication for changes to how a person signs in: with a second factor enrolled, a
 * second factor within the step-up window; without one, a sign-in within it. A session that was
 * merely stolen, or left open, cannot add a factor or a password of its holder's choosing.
 */
export function requireRecentAuth(request: FastifyRequest, hasSecondFactor: boolean): void {
  const caller = sessionCallerOf(request);
  if (hasSecondFactor ? caller.recentMfa : caller.recentSignIn || caller.recentMfa) return;
  throw new AppError(
    'STEP_UP_REQUIRED',
    hasSecondFactor ? 'Confirm with your second factor first: POST /v1/auth/step-up.' : 'Sign in again first: this needs a recent sign-in.',
  );
}

/** Throws STEP_UP_REQUIRED unless the session passed a second factor within the step-up window (I3). */
export function requireRecentMfa(request: FastifyRequest): void {
  if (!sessionCallerOf(request).recentMfa) {
    throw new AppError('STEP_UP_REQUIRED', 'Confirm with your second factor first: POST /v1/auth/step-up.');
  }
}

/** Routes of the signed-in person (requireSession scope): profile, sessions, second factors. */
export function registerSessionRoutes(app: FastifyInstance, identity: IdentityService, sessions: SessionService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const maxSession = sessions.options.maxSessionSeconds;
  // Also built for requests refused before the session is known (no token, a CSRF failure): it must not throw.
  const self = (request: FastifyRequest) => {
    const userId = request.sessionCaller?.userId ?? request.auditActor?.id;
    return userId ? resourceRef.entity('user', userId) : { type: 'user' as const, ref: 'user:(unknown)' };
  };
  const sessionRef = auditResource.entity('session', 'sessionId');
  const modeOf = (request: FastifyRequest) => (sessionCallerOf(request).fromCookie ? 'cookie' : 'token');

  r.get('/v1/me', {
    config: { audit: { action: 'me.describe', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'Who is signed in',
      querystring: noQuery,
      response: {
        200: z.object({
          user_id: z.uuid(),
          email: z.string(),
          display_name: z.string(),
          session_id: z.uuid(),
          org_id: z.uuid().nullable(),
          member_id: z.uuid().nullable(),
          role: z.string().nullable(),
          mfa: z.object({ totp: z.boolean(), recent: z.boolean() }),
          password_set: z.boolean(),
        }),
      },
    },
    handler: async (request) => {
      const caller = sessionCallerOf(request);
      const { user, totp } = await identity.me(caller.userId);
      return {
        user_id: user.user_id,
        email: user.email,
        display_name: user.display_name,
        session_id: caller.sessionId,
        org_id: caller.orgId,
        member_id: caller.member?.memberId ?? null,
        role: caller.member?.role ?? null,
        mfa: { totp, recent: caller.recentMfa },
        password_set: user.password_hash !== null,
      };
    },
  });

  r.get('/v1/me/orgs', {
    config: { audit: { action: 'me.orgs', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'The orgs I belong to',
      querystring: noQuery,
      response: {
        200: z.object({
          orgs: z.array(z.object({ org_id: z.uuid(), name: z.string(), member_id: z.uuid(), role: z.string(), require_mfa: z.boolean() })),
        }),
      },
    },
    handler: async (request) => ({
      orgs: (await identity.myOrgs(sessionCallerOf(request).userId)).map((o) => ({
        org_id: o.orgId,
        name: o.name,
        member_id: o.memberId,
        role: o.role,
        require_mfa: o.requireMfa,
      })),
    }),
  });

  r.post('/v1/auth/switch', {
    config: { audit: { action: 'auth.switch', resource: self } },
    schema: {
      tags,
      security,
      summary: 'Move this session to another of my orgs',
      description: 'Answers new tokens; the old ones stop working (they name the old org).',
      querystring: noQuery,
      body: z.object({ org_id: z.uuid().nullable() }).strict(),
      response: { 200: sessionResponse },
    },
    handler: async (request, reply) => {
      const caller = sessionCallerOf(request);
      const session = await identity.switchOrg(caller.sessionId, caller.userId, request.body.org_id);
      request.authFailureOrgId = session.orgId ?? INSTALLATION_ORG_ID;
      return sendSession(reply, session, modeOf(request), maxSession);
    },
  });

  r.post('/v1/auth/step-up', {
    config: { audit: { action: 'auth.step_up', resource: self } },
    schema: {
      tags,
      security,
      summary: 'Confirm with a second factor (step-up)',
      description: 'Sensitive operations answer STEP_UP_REQUIRED (403) unless a second factor was checked in the last few minutes (10 by default).',
      querystring: noQuery,
      body: secondFactorBody,
      response: { 204: z.null() },
    },
    handler: async (request, reply) => {
      const caller = sessionCallerOf(request);
      const input = { ...(request.body.code === undefined ? {} : { code: request.body.code }), ...(request.body.recovery_code === undefined ? {} : { recoveryCode: request.body.recovery_code }) };
      const facts = factsOf(request);
      facts.audit.orgId = request.authFailureOrgId ?? INSTALLATION_ORG_ID;
      facts.audit.actor = request.auditActor;
      await identity.stepUp(caller.sessionId, caller.userId, input, facts);
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/auth/sign-out', {
    config: { audit: { action: 'auth.signout', resource: (request) => (request.sessionCaller ? resourceRef.entity('session', request.sessionCaller.sessionId) : self(request)) } },
    schema: { tags, security, summary: 'End this session', querystring: noQuery, response: { 204: z.null() } },
    handler: async (request, reply) => {
      await identity.signOut(sessionCallerOf(request).sessionId);
      clearSessionCookies(reply);
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/auth/sign-out-everywhere', {
    config: { audit: { action: 'auth.signout.everywhere', resource: self } },
    schema: {
      tags,
      security,
      summary: 'End every session of mine, on every device',
      description: 'Every access and refresh token of every session stops working at once, on every node.',
      querystring: noQuery,
      response: { 200: z.object({ sessions_ended: z.number().int() }) },
    },
    handler: async (request, reply) => {
      const ended = await identity.signOutEverywhere(sessionCallerOf(request).userId);
      clearSessionCookies(reply);
      return { sessions_ended: ended };
    },
  });

  const sessionItem = z.object({
    session_id: z.uuid(),
    org_id: z.uuid().nullable(),
    methods: z.array(z.string()),
    created_at: z.string(),
    expires_at: z.string(),
    last_active_at: z.string(),
    user_agent: z.string().nullable(),
    current: z.boolean(),
  });

  r.get('/v1/me/sessions', {
    config: { audit: { action: 'session.list', resource: self } },
    schema: { tags: ['me'], security, summary: 'My sessions', querystring: noQuery, response: { 200: z.object({ sessions: z.array(sessionItem) }) } },
    handler: async (request) => {
      const caller = sessionCallerOf(request);
      return {
        sessions: (await identity.listSessions(caller.userId)).map((s) => ({
          session_id: s.session_id,
          org_id: s.org_id,
          methods: s.methods,
          created_at: s.created_at.toISOString(),
          expires_at: s.expires_at.toISOString(),
          last_active_at: s.last_active_at.toISOString(),
          user_agent: s.user_agent,
          current: s.session_id === caller.sessionId,
        })),
      };
    },
  });

  r.delete('/v1/me/sessions/:sessionId', {
    config: { audit: { action: 'session.revoke', resource: sessionRef } },
    schema: { tags: ['me'], security, summary: 'End one of my sessions', params: z.object({ sessionId: z.uuid() }).strict(), querystring: noQuery, response: { 204: z.null() } },
    handler: async (request, reply) => {
      await identity.revokeSession(sessionCallerOf(request).userId, request.params.sessionId);
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/me/mfa/totp', {
    config: { audit: { action: 'mfa.totp.enrol', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'Start enrolling an authenticator app (TOTP)',
      description:
        'Needs a recent sign-in (STEP_UP_REQUIRED otherwise). Answers the shared secret once (base32 and as an otpauth:// URI for a QR code). Confirm with a first code to finish; the person is told by e-mail.',
      querystring: noQuery,
      response: { 201: z.object({ secret: z.string(), otpauth_uri: z.string() }) },
    },
    handler: async (request, reply) => {
      requireRecentAuth(request, false);
      const enrolled = await identity.totpEnrol(sessionCallerOf(request).userId);
      return reply.code(201).send({ secret: enrolled.secret, otpauth_uri: enrolled.uri });
    },
  });

  r.post('/v1/me/mfa/totp/confirm', {
    config: { audit: { action: 'mfa.totp.confirm', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'Finish enrolling with a first code',
      description: 'Answers 10 recovery codes, once: each signs in once in place of a code. Only their hashes are stored.',
      querystring: noQuery,
      body: z.object({ code }).strict(),
      response: { 200: z.object({ recovery_codes: z.array(z.string()) }) },
    },
    handler: async (request) => {
      const caller = sessionCallerOf(request);
      return { recovery_codes: await identity.totpConfirm(caller.userId, request.body.code) };
    },
  });

  r.delete('/v1/me/mfa/totp', {
    config: { audit: { action: 'mfa.totp.remove', resource: self } },
    schema: { tags: ['me'], security, summary: 'Remove my authenticator (step-up)', querystring: noQuery, response: { 204: z.null() } },
    handler: async (request, reply) => {
      requireRecentMfa(request);
      await identity.totpRemove(sessionCallerOf(request).userId);
      return reply.code(204).send(null);
    },
  });

  r.post('/v1/me/mfa/recovery-codes', {
    config: { audit: { action: 'mfa.recovery_codes.regenerate', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'Replace my recovery codes (step-up)',
      querystring: noQuery,
      response: { 200: z.object({ recovery_codes: z.array(z.string()) }) },
    },
    handler: async (request) => {
      requireRecentMfa(request);
      return { recovery_codes: await identity.regenerateRecoveryCodes(sessionCallerOf(request).userId) };
    },
  });

  r.delete('/v1/me', {
    config: { audit: { action: 'me.delete', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'Delete my account (needs a recent second factor, or sign-in)',
      description: 'Only once you belong to no org. Your sign-in identities, second factors and sessions go with it.',
      querystring: noQuery,
      response: { 204: z.null() },
    },
    handler: async (request, reply) => {
      requireRecentAuth(request, (await identity.me(sessionCallerOf(request).userId)).totp);
      await identity.deleteAccount(sessionCallerOf(request).userId);
      clearSessionCookies(reply);
      return reply.code(204).send(null);
    },
  });

  r.put('/v1/me/password', {
    config: { audit: { action: 'password.set', resource: self } },
    schema: {
      tags: ['me'],
      security,
      summary: 'Set or change my password',
      description:
        '8 to 128 characters, any characters; common and breached passwords are refused. Stored as argon2id. Changing a password needs the current one; either way it needs a recent second factor (or, without one, a recent sign-in), and the person is told by e-mail.',
      querystring: noQuery,
      body: z.object({ password: text(1024), current_password: z.string().min(1).max(1024).optional() }).strict(),
      response: { 204: z.null() },
    },
    handler: async (request, reply) => {
      const caller = sessionCallerOf(request);
      requireRecentAuth(request, (await identity.me(caller.userId)).totp);
      await identity.setPassword(caller.userId, request.body.password, request.body.current_password);
      return reply.code(204).send(null);
    },
  });
}
