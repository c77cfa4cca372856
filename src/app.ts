import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from './db/driver.js';
import { createInstallationTx, createTenantTx } from './db/tenant.js';
import { createRecordedTx } from './domains/audit/audit.context.js';
import { createHeadSigner } from './domains/audit/audit.heads.js';
import { registerAuditHook } from './domains/audit/audit.hook.js';
import { createAuditLog } from './domains/audit/audit.log.js';
import { registerAuditRoutes } from './domains/audit/audit.routes.js';
import { createAuditService } from './domains/audit/audit.service.js';
import { createAuditDelivery } from './domains/audit/sinks/delivery.js';
import { registerAuditSinkRoutes } from './domains/audit/sinks/sinks.routes.js';
import { createAuditSinkService } from './domains/audit/sinks/sinks.service.js';
import { registerSecretRoutes } from './domains/secrets/secrets.routes.js';
import { createSecretService } from './domains/secrets/secrets.service.js';
import { createTokenService } from './domains/tokens/tokens.service.js';
import { registerVaultRoutes } from './domains/vaults/vaults.routes.js';
import { createVaultService } from './domains/vaults/vaults.service.js';
import type { VaultKeyring } from './kms/keyring.js';
import type { KeyProvider } from './kms/provider.js';
import type { Logger } from './log.js';
import { requireAuthentication, requireSession } from './plugins/authn.js';
import { registerSessionRoutes, registerSignInRoutes } from './identity/auth.routes.js';
import { createAuthGuard, GUARD_DEFAULTS, type GuardOptions } from './identity/guard.js';
import { createIdentityService, IDENTITY_DEFAULTS, INSTALLATION_ORG_ID } from './identity/identity.service.js';
import { createOidcClient, type OidcClient, type OidcProviderConfig } from './identity/oidc.js';
import { createSessionService, type SessionOptions } from './identity/sessions.js';
import { createMemoryThrottle, createRedisThrottle } from './identity/throttle.js';
import { createDisabledMailer, createSmtpMailer, type Mailer } from './mail/mailer.js';
import { registerProblemHandlers, sendProblem } from './plugins/problem.js';
import { AppError } from './errors.js';
import { createAgentTokens, type AgentTokenOptions } from './domains/agents/agent-tokens.js';
import { registerAgentRoutes, registerAgentTokenRoute, registerJwksRoute } from './domains/agents/agents.routes.js';
import { createAgentService } from './domains/agents/agents.service.js';
import { createLocalBus, createRedisBus } from './domains/authz/authz.bus.js';
import { createAuthorizer } from './domains/authz/authz.service.js';
import { registerExplainRoutes } from './domains/authz/explain.routes.js';
import { createExplainService } from './domains/authz/explain.service.js';
import { createReviewReminders } from './domains/access/access.reminders.js';
import { registerAccessRoutes } from './domains/access/access.routes.js';
import { createAccessService } from './domains/access/access.service.js';
import { registerApprovalRoutes } from './domains/approvals/approvals.routes.js';
import { createApprovalService } from './domains/approvals/approvals.service.js';
import { registerMemberRoutes } from './domains/members/members.routes.js';
import { createMemberService } from './domains/members/members.service.js';
import { registerPolicyRoutes } from './domains/policies/policies.routes.js';
import { createPolicyService } from './domains/policies/policies.service.js';
import { registerRoleRoutes } from './domains/roles/roles.routes.js';
import { createRoleService } from './domains/roles/roles.service.js';
import { registerTeamRoutes } from './domains/teams/teams.routes.js';
import { createInvitationTokens } from './domains/invitations/invitation-tokens.js';
import { registerInvitationAcceptRoute, registerInvitationRoutes } from './domains/invitations/invitations.routes.js';
import { createInvitationService } from './domains/invitations/invitations.service.js';
import { registerMyOrgRoutes, registerOrgRoutes } from './domains/orgs/orgs.routes.js';
import { createOrgService } from './domains/orgs/orgs.service.js';
import { createPersonalTokenService } from './domains/tokens/personal-tokens.service.js';
import { registerTokenRoutes } from './domains/tokens/tokens.routes.js';
import { createTeamService } from './domains/teams/teams.service.js';

/** What the app is built from; `main` makes these from config, tests make their own. */
export interface AppDeps {
  db: Database;
  keyProvider: KeyProvider;
  keyring: VaultKeyring;
  logger: Logger;
  version?: string;
  audit?: Partial<AuditOptions>;
  /** `iss`/`aud` of access tokens; every node of an installation must agree. */
  tokens?: Partial<AgentTokenOptions>;
  /** Redis for the cross-node authz broadcast (P6); in-process without it. */
  redisUrl?: string;
  /** Fastify's `trustProxy`: whom to believe about the client address (config STRONGROOM_TRUST_PROXY). */
  trustProxy?: boolean | number | string[];
  /** Sign-in, sessions and e-mail (config STRONGROOM_PUBLIC_URL, SMTP_*, STRONGROOM_OIDC_PROVIDERS, …). */
  identity?: IdentityConfig;
}

/** Identity settings; tests pass their own mailer, SMTP server or OIDC provider. */
export interface IdentityConfig {
  publicUrl?: string;
  smtp?: { url: string; from: string } | undefined;
  /** A mailer made by the caller (wins over `smtp`). */
  mailer?: Mailer;
  oidcProviders?: readonly OidcProviderConfig[];
  allowOrgCreation?: boolean;
  session?: Partial<SessionOptions>;
  guard?: Partial<GuardOptions>;
}

/** Audit settings (config: STRONGROOM_AUDIT_*). */
export interface AuditOptions {
  /** Background tree heads at most this often per org (A3). */
  headIntervalMs: number;
  /** Retention of event content per class, in days (A6). */
  retentionDays: { operational: number; security: number };
  /** Let SIEM sinks reach loopback and private networks. */
  sinksAllowPrivateNetworks: boolean;
  /** Extra CA certificates SIEM sinks trust (tests); the system store otherwise. */
  sinksCa?: string | Buffer;
}

const AUDIT_DEFAULTS: AuditOptions = {
  headIntervalMs: 60_000,
  retentionDays: { operational: 30, security: 365 },
  sinksAllowPrivateNetworks: false,
};

/** Largest request body. Secret values are at most 64 KiB; this leaves room for JSON escaping. */
export const BODY_LIMIT_BYTES = 512 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function hopsOf(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/** Headers on every answer. */
function setResponseHeaders(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-request-id', request.id);
  void reply.header('x-content-type-options', 'nosniff');
  void reply.header('referrer-policy', 'no-referrer');
  // API answers may carry secret values: never store them in any cache.
  if (request.url.startsWith('/v1/')) void reply.header('cache-control', 'no-store');
}

/**
 * Builds the HTTP app: plugins in a fixed order (request ids, problem errors, OpenAPI), then the
 * public routes (health, OpenAPI document), then the authenticated `/v1` domain routes.
 * Opens no port: `main` listens, tests call `app.inject()`.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // A hop count trusts that many proxies nearest to us (Fastify's own reading of a number).
    trustProxy: typeof deps.trustProxy === 'number' ? hopsOf(deps.trustProxy) : (deps.trustProxy ?? false),
    // A caller's request id is kept when it is short and plain, so logs can be joined.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    routerOptions: { maxParamLength: 2048, ignoreDuplicateSlashes: false },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // A malformed %-escape or an over-long URL parameter is refused before routing, where the
    // error handler and hooks do not run: answer with a problem here.
    frameworkErrors: (err, request, reply) => {
      setResponseHeaders(request, reply);
      const detail =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A part of the URL is too long.' : 'The URL is not valid (check its %-escapes).';
      return sendProblem(request, reply, new AppError('VALIDATION_FAILED', detail));
    },
  });
  // JSON only: a text/plain body is 415, like any other media type.
  app.removeContentTypeParser('text/plain');
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  await app.register(fastifyCookie);
  registerProblemHandlers(app);

  app.addHook('onSend', async (request, reply) => setResponseHeaders(request, reply));

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Strongroom API',
        version: deps.version ?? '0.1.0',
        description: 'Vaults, secrets and their keys. Errors are application/problem+json (RFC 9457) with a stable `code`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });

  const withTenantTx = createTenantTx(deps.db);
  // Late-bound: the signer and delivery below are built with withRecordedTx.
  let afterAppend: (orgId: string) => void = () => {};
  const withRecordedTx = createRecordedTx(withTenantTx, (orgId) => afterAppend(orgId));
  const auditOptions = { ...AUDIT_DEFAULTS, ...deps.audit };
  const signer = await createHeadSigner({
    withTenantTx,
    withRecordedTx,
    withInstallationTx: createInstallationTx(deps.db),
    keyProvider: deps.keyProvider,
    logger: deps.logger,
    intervalMs: auditOptions.headIntervalMs,
    retentionDays: auditOptions.retentionDays,
  });
  const delivery = createAuditDelivery({
    withTenantTx,
    keyProvider: deps.keyProvider,
    logger: deps.logger,
    nodeId: randomUUID(),
    allowPrivateNetworks: auditOptions.sinksAllowPrivateNetworks,
    ...(auditOptions.sinksCa === undefined ? {} : { ca: auditOptions.sinksCa }),
  });
  // Access review reminders (P7) go out as events: their own appends come back here, and the
  // org's check in flight (and its interval) turns them away.
  const reminders = createReviewReminders({ withTenantTx, logger: deps.logger, onAppended: (orgId) => afterAppend(orgId) });
  afterAppend = (orgId) => {
    signer.noteAppended(orgId);
    delivery.noteAppended(orgId);
    reminders.noteActivity(orgId);
  };
  const auditLog = createAuditLog({ withTenantTx, onAppended: (orgId) => afterAppend(orgId) });
  const bus = deps.redisUrl ? await createRedisBus(deps.redisUrl, deps.logger) : createLocalBus();
  const authz = createAuthorizer({ withTenantTx, withRecordedTx, bus });
  const sinks = createAuditSinkService({
    withTenantTx,
    withRecordedTx,
    keyProvider: deps.keyProvider,
    allowPrivateNetworks: auditOptions.sinksAllowPrivateNetworks,
    delivery,
    authz,
  });
  const agentTokens = await createAgentTokens(
    { withInstallationTx: createInstallationTx(deps.db), keyProvider: deps.keyProvider },
    { issuer: deps.tokens?.issuer ?? 'strongroom', audience: deps.tokens?.audience ?? 'strongroom-api' },
  );
  const identityConfig = deps.identity ?? {};
  const publicUrl = (identityConfig.publicUrl ?? 'http://127.0.0.1:8400').replace(/\/$/, '');
  const withInstallationTx = createInstallationTx(deps.db);
  const sessions = createSessionService({ withInstallationTx, withTenantTx, tokens: agentTokens, options: identityConfig.session ?? {} });
  const throttle = deps.redisUrl ? await createRedisThrottle(deps.redisUrl, deps.logger) : createMemoryThrottle();
  const guard = createAuthGuard(throttle, { ...GUARD_DEFAULTS, ...identityConfig.guard });
  const mailer =
    identityConfig.mailer ??
    (identityConfig.smtp ? createSmtpMailer({ ...identityConfig.smtp, logger: deps.logger }) : createDisabledMailer(deps.logger));
  const oidc = new Map<string, { client: OidcClient; name: string }>();
  for (const provider of identityConfig.oidcProviders ?? []) {
    const redirectUri = `${publicUrl}/v1/auth/oidc/${provider.id}/callback`;
    oidc.set(provider.id, { client: createOidcClient(provider, { redirectUri }), name: provider.name });
  }
  const identity = createIdentityService({
    withInstallationTx,
    withTenantTx,
    keyProvider: deps.keyProvider,
    sessions,
    guard,
    mailer,
    auditLog,
    logger: deps.logger,
    oidc,
    options: IDENTITY_DEFAULTS,
  });
  const tokens = createTokenService({ withTenantTx, agentTokens, sessions });
  const agents = createAgentService({ withTenantTx, authz, tokens: agentTokens });
  const vaults = createVaultService({ withTenantTx, keyring: deps.keyring, authz });
  const secrets = createSecretService({ withTenantTx, withRecordedTx, keyring: deps.keyring, authz, logger: deps.logger });
  const audit = createAuditService({ withTenantTx, signer, authz });
  const policies = createPolicyService({ withTenantTx, authz });
  const explain = createExplainService({ withTenantTx, authz });
  const members = createMemberService({ withTenantTx, authz });
  const teams = createTeamService({ withTenantTx, authz });
  const roles = createRoleService({ withTenantTx, authz });
  const access = createAccessService({ withTenantTx, withRecordedTx, authz });
  const approvals = createApprovalService({ withTenantTx, withRecordedTx, authz });
  const orgs = createOrgService({ withTenantTx, withRecordedTx, withInstallationTx, authz, allowOrgCreation: identityConfig.allowOrgCreation ?? true });
  const invitations = createInvitationService({
    withTenantTx,
    withRecordedTx,
    withInstallationTx,
    authz,
    tokens: createInvitationTokens(
      { withInstallationTx, keyProvider: deps.keyProvider },
      { issuer: deps.tokens?.issuer ?? 'strongroom', audience: deps.tokens?.audience ?? 'strongroom-api' },
    ),
    mailer,
    logger: deps.logger,
    publicUrl,
  });
  const personalTokens = createPersonalTokenService({ withTenantTx, withRecordedTx, authz });
  app.addHook('onClose', async () => {
    await auditLog.drain();
    // Reminders append events, which head signing and delivery then follow: drained before them.
    await reminders.drain();
    await signer.drain();
    await delivery.close();
    await bus.close();
    await throttle.close();
    if (!identityConfig.mailer) await mailer.close();
  });

  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/healthz', {
    schema: { tags: ['health'], summary: 'Liveness: the process is up', response: { 200: z.object({ status: z.literal('ok') }) } },
    handler: async () => ({ status: 'ok' as const }),
  });
  const readiness = z.object({
    status: z.enum(['ready', 'unavailable']),
    database: z.object({ kind: z.enum(['pglite', 'postgres']), ok: z.boolean() }),
    key_provider: z.object({ name: z.string(), ok: z.boolean() }),
  });
  r.get('/readyz', {
    schema: {
      tags: ['health'],
      summary: 'Readiness: the database and the key provider answer',
      response: { 200: readiness, 503: readiness },
    },
    handler: async (_request, reply) => {
      const database = await deps.db.ping().then(
        () => true,
        () => false,
      );
      const kms = await deps.keyProvider.health().then(
        (h) => h.ok,
        () => false,
      );
      const ok = database && kms;
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ready' : 'unavailable',
        database: { kind: deps.db.kind, ok: database },
        key_provider: { name: deps.keyProvider.name, ok: kms },
      });
    },
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerJwksRoute(app, agentTokens);

  await app.register(async (v1) => {
    // Audit scope first, so even a failed authentication is recorded.
    registerAuditHook(v1, auditLog);
    // The token exchange authenticates by its body; everything else by a bearer token.
    registerAgentTokenRoute(v1, agents, guard);
    // Sign-in: anyone may call, limited per IP and guarded against brute force.
    await v1.register(async (signIn) => registerSignInRoutes(signIn, identity, sessions, (ip) => guard.rate(ip)));
    // The signed-in person: works before they belong to any org.
    await v1.register(async (me) => {
      requireSession(me, {
        verify: async (token) => {
          const claims = await agentTokens.verify(token);
          return 'invalid' in claims || claims.kind !== 'user' ? undefined : claims;
        },
        authenticate: (claims) => sessions.authenticate(claims),
        installationOrgId: INSTALLATION_ORG_ID,
      });
      registerSessionRoutes(me, identity, sessions);
      registerMyOrgRoutes(me, orgs);
      registerInvitationAcceptRoute(me, invitations);
    });
    await v1.register(async (authed) => {
      requireAuthentication(authed, tokens);
      registerVaultRoutes(authed, vaults);
      registerSecretRoutes(authed, secrets);
      registerAuditRoutes(authed, audit);
      registerAuditSinkRoutes(authed, sinks);
      registerAgentRoutes(authed, agents);
      registerPolicyRoutes(authed, policies);
      registerExplainRoutes(authed, explain);
      registerMemberRoutes(authed, members);
      registerTeamRoutes(authed, teams);
      registerRoleRoutes(authed, roles);
      registerAccessRoutes(authed, access);
      registerApprovalRoutes(authed, approvals);
      registerOrgRoutes(authed, orgs);
      registerInvitationRoutes(authed, invitations);
      registerTokenRoutes(authed, personalTokens);
    });
  });

  await app.ready();
  return app;
}
