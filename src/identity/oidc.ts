/**
 * OpenID Connect relying party: sign-in with an external identity provider (Okta, Entra ID,
 * Google Workspace, Keycloak…) by the authorization code flow (OIDC Core §3.1) with PKCE
 * (RFC 7636, S256 only), `state` against login CSRF and `nonce` against ID token replay.
 *
 * Pure of HTTP routes and storage: {@link OidcClient.start} hands back the authorization URL and
 * the {@link OidcFlow} secrets the caller keeps server-side (table `oidc_flows`), and
 * {@link OidcClient.finish} turns the callback URL plus that stored flow into a verified
 * {@link OidcIdentity}, or throws an {@link OidcError}. The protocol work is `openid-client` v6
 * (on `oauth4webapi`); this module chooses its options and never weakens them.
 *
 * Secrets stay out of errors: codes, tokens, verifiers and the provider's own error text never
 * reach an {@link OidcError}'s message, and the library error (whose cause holds the callback
 * parameters, code included) is not attached as `cause`.
 */
import { timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** One identity provider, as configured by the operator (`STRONGROOM_OIDC_PROVIDERS`). */
export interface OidcProviderConfig {
  /** Slug naming the provider in URLs and storage: `[a-z0-9-]{1,32}`. */
  id: string;
  /** What the sign-in page shows ("Sign in with …"). */
  name: string;
  /** Issuer identifier; discovery reads `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Present for a confidential client (`client_secret_basic`, or `_post` when that is all the provider takes). */
  clientSecret?: string;
  /** Requested scopes; `openid email profile` by default, and always including `openid`. */
  scopes?: string[];
  /** When set, only verified e-mail addresses in these domains (exact match) may sign in. */
  allowedEmailDomains?: string[];
}

/**
 * The per-sign-in secrets {@link OidcClient.start} makes. The caller stores them server-side,
 * bound to the browser that started the flow, and passes them back once to
 * {@link OidcClient.finish}; they must never travel through the browser.
 */
export interface OidcFlow {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Who the provider says signed in, from the verified ID token (and UserInfo for a missing e-mail). */
export interface OidcIdentity {
  /** The ID token's `iss`, equal to the configured issuer (checked by discovery and ID token validation). */
  issuer: string;
  /** The ID token's `sub`: with `issuer`, the stable key of the external identity. */
  subject: string;
  email: string | null;
  /** True only when the provider said `email_verified: true` (a boolean, not a string). */
  emailVerified: boolean;
  name: string | null;
}

/** A relying-party client for one provider. */
export interface OidcClient {
  readonly id: string;
  readonly name: string;
  /** Begins a sign-in: the URL to redirect the browser to, and the flow to store. */
  start(): Promise<{ url: string; flow: OidcFlow }>;
  /**
   * Completes a sign-in from the URL the provider redirected the browser to. The stored flow
   * must be deleted before or whatever this returns: a flow is good for one attempt.
   */
  finish(callbackUrl: URL, flow: OidcFlow): Promise<OidcIdentity>;
}

/** Why a sign-in through a provider failed; stable, for audit records and tests. */
export type OidcFailureReason =
  | 'state_mismatch'
  | 'nonce_mismatch'
  /**
   * The token endpoint refused the code (`invalid_grant`): a wrong PKCE verifier, but equally
   * a code already used or expired — the error code does not tell these apart.
   */
  | 'pkce_failed'
  /** The provider answered with an OAuth error (`access_denied`, `invalid_client`…). */
  | 'provider_error'
  /** The provider could not be reached, or its discovery document was refused. */
  | 'provider_unavailable'
  /** A response failed validation (issuer, audience, signature of the exchange, expiry…). */
  | 'invalid_response'
  /** No verified e-mail address in one of the provider's allowed domains. */
  | 'email_domain';

const MESSAGES: Record<OidcFailureReason, string> = {
  state_mismatch: 'The sign-in response does not belong to a sign-in started here; please start again',
  nonce_mismatch: "The identity provider's response could not be verified; please start again",
  pkce_failed: 'The identity provider refused to complete the sign-in; please start again',
  provider_error: 'The identity provider did not allow the sign-in',
  provider_unavailable: 'The identity provider could not be reached; please try again later',
  invalid_response: "The identity provider's response could not be verified",
  email_domain: 'Your e-mail address is not verified or not in a domain allowed to sign in here',
};

/**
 * A failed OIDC sign-in. An {@link AppError} (401, or 503 when the provider is unreachable) so an
 * unhandled one still answers correctly; `reason` says which check failed, and the message is
 * written for the user and never carries a code, token or the provider's free text.
 */
export class OidcError extends AppError {
  readonly reason: OidcFailureReason;
  /** The provider's OAuth error code (`access_denied`…) when it sent one, for the audit record. */
  readonly providerError: string | null;

  constructor(reason: OidcFailureReason, providerError: string | null = null) {
    super(reason === 'provider_unavailable' ? 'UNAVAILABLE' : 'UNAUTHENTICATED', MESSAGES[reason], {
      extensions: { reason },
    });
    this.name = 'OidcError';
    this.reason = reason;
    this.providerError = providerError;
  }
}

/** True when `err` is an {@link OidcError}, optionally with the given reason. */
export function isOidcError(err: unknown, reason?: OidcFailureReason): err is OidcError {
  return err instanceof OidcError && (reason === undefined || err.reason === reason);
}

const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
// RFC 6749 §6.1 error codes are ASCII; anything else from a provider is not worth recording.
const OAUTH_ERROR_CODE = /^[a-z0-9_.-]{1,64}$/i;

/**
 * Why the issuer is unacceptable, or null. Tokens travel over this channel, so it must be https;
 * plain http only on loopback, where the test provider runs. No query or fragment (OIDC
 * Discovery §2), and no credentials in the URL.
 */
export function issuerProblem(issuer: string): string | null {
  const url = URL.parse(issuer);
  if (!url) return 'must be a valid URL';
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) return 'must not have a query or fragment';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return 'must use https (plain http is allowed only for a loopback host such as 127.0.0.1)';
}

/**
 * Builds the relying party for one provider. Discovery happens on first use and is cached; a
 * failed discovery is forgotten, so the next sign-in tries again instead of failing until restart.
 * Throws (a plain `Error`, at boot) when the issuer or redirect URI is unacceptable.
 */
export function createOidcClient(
  config: OidcProviderConfig,
  options: { redirectUri: string; now?: () => Date },
): OidcClient {
  const problem = issuerProblem(config.issuer);
  if (problem) throw new Error(`OIDC provider "${config.id}": the issuer ${problem}`);
  const redirect = URL.parse(options.redirectUri);
  if (!redirect || !/^https?:$/.test(redirect.protocol) || redirect.search || redirect.hash) {
    throw new Error(`OIDC provider "${config.id}": the redirect URI must be an http(s) URL without query or fragment`);
  }
  const insecure = new URL(config.issuer).protocol === 'http:';
  const scopes = config.scopes?.length ? config.scopes : DEFAULT_SCOPES;
  if (!scopes.includes('openid')) throw new Error(`OIDC provider "${config.id}": the scopes must include openid`);
  const now = options.now ?? (() => new Date());
  let discovered: Promise<client.ServerMetadata> | null = null;

  function serverMetadata(): Promise<client.ServerMetadata> {
    discovered ??= discover(config, insecure).catch((err: unknown) => {
      discovered = null;
      throw err;
    });
    return discovered;
  }

  async function configuration(): Promise<client.Configuration> {
    return buildConfiguration(config, await serverMetadata(), insecure, now());
  }

  return {
    id: config.id,
    name: config.name,

    async start() {
      const cfg = await configuration();
      const flow: OidcFlow = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
      };
      const url = client.buildAuthorizationUrl(cfg, {
        response_type: 'code',
        redirect_uri: options.redirectUri,
        scope: scopes.join(' '),
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, flow };
    },

    async finish(callbackUrl, flow) {
      assertStateMatches(callbackUrl, flow);
      const cfg = await configuration();
      const tokens = await exchangeCode(cfg, callbackResponse(callbackUrl, options.redirectUri), flow);
      const identity = await identityFrom(cfg, tokens);
      assertEmailAllowed(identity, config.allowedEmailDomains);
      return identity;
    },
  };
}

async function discover(config: OidcProviderConfig, insecure: boolean): Promise<client.ServerMetadata> {
  try {
    const cfg = await client.discovery(new URL(config.issuer), config.clientId, undefined, undefined, {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: 10,
    });
    return cfg.serverMetadata();
  } catch {
    throw new OidcError('provider_unavailable');
  }
}

/**
 * A client configuration over the discovered metadata, rebuilt per call so `now` sets the clock
 * the ID token's `exp`/`iat` are judged by (openid-client takes it as a fixed skew).
 */
function buildConfiguration(
  config: OidcProviderConfig,
  metadata: client.ServerMetadata,
  insecure: boolean,
  at: Date,
): client.Configuration {
  const skew = Math.round((at.getTime() - Date.now()) / 1000);
  const clientMetadata: Partial<client.ClientMetadata> = { [client.clockSkew]: skew };
  const cfg = new client.Configuration(metadata, config.clientId, clientMetadata, clientAuth(config, metadata));
  if (insecure) client.allowInsecureRequests(cfg);
  return cfg;
}

/** `client_secret_basic` unless the provider says it takes only `client_secret_post`; none for a public client. */
function clientAuth(config: OidcProviderConfig, metadata: client.ServerMetadata): client.ClientAuth {
  if (config.clientSecret === undefined) return client.None();
  const supported = metadata.token_endpoint_auth_methods_supported;
  // OIDC Discovery §3: an absent list means client_secret_basic.
  if (supported && !supported.includes('client_secret_basic') && supported.includes('client_secret_post')) {
    return client.ClientSecretPost(config.clientSecret);
  }
  return client.ClientSecretBasic(config.clientSecret);
}

/**
 * Checked here first (openid-client checks it again) so a forged or stale callback is named as
 * such, before any network call and in constant time.
 */
function assertStateMatches(callbackUrl: URL, flow: OidcFlow): void {
  const states = callbackUrl.searchParams.getAll('state');
  if (states.length !== 1 || !flow.state || !safeEqual(states[0] ?? '', flow.state)) {
    throw new OidcError('state_mismatch');
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The callback's parameters on our configured redirect URI: the token request must repeat the
 * exact redirect_uri (RFC 6749 §4.1.3), which the URL a proxy hands us may not spell the same way.
 */
function callbackResponse(callbackUrl: URL, redirectUri: string): URL {
  const url = new URL(redirectUri);
  url.search = callbackUrl.search;
  return url;
}

type TokenResponse = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

async function exchangeCode(cfg: client.Configuration, response: URL, flow: OidcFlow): Promise<TokenResponse> {
  try {
    return await client.authorizationCodeGrant(cfg, response, {
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      pkceCodeVerifier: flow.codeVerifier,
      idTokenExpected: true,
    });
  } catch (err) {
    throw toOidcError(err);
  }
}

/** Maps an openid-client failure to a reason, dropping the error itself (its cause holds the code). */
function toOidcError(err: unknown): OidcError {
  if (err instanceof OidcError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    return new OidcError('provider_error', oauthErrorCode(err.error));
  }
  if (err instanceof client.ResponseBodyError) {
    // RFC 6749 §5.2: invalid_grant is also the answer to a failed PKCE check (RFC 7636 §4.6).
    return new OidcError(err.error === 'invalid_grant' ? 'pkce_failed' : 'provider_error', oauthErrorCode(err.error));
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with a challenge: the token or UserInfo endpoint refused our client credentials or token.
    return new OidcError('provider_error', oauthErrorCode(err.cause[0]?.parameters.error));
  }
  if (err instanceof client.ClientError) {
    if (err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && failedClaim(err) === 'nonce') {
      return new OidcError('nonce_mismatch');
    }
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT' || err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
      return new OidcError('provider_unavailable');
    }
    return new OidcError('invalid_response');
  }
  // fetch() itself failing (connection refused, DNS) surfaces as a TypeError.
  if (err instanceof TypeError) return new OidcError('provider_unavailable');
  return new OidcError('invalid_response');
}

function oauthErrorCode(code: unknown): string | null {
  return typeof code === 'string' && OAUTH_ERROR_CODE.test(code) ? code : null;
}

/** oauth4webapi names the claim that failed comparison in `cause.cause.claim`. */
function failedClaim(err: client.ClientError): string | undefined {
  const inner: unknown = err.cause;
  if (typeof inner !== 'object' || inner === null || !('cause' in inner)) return undefined;
  const details: unknown = inner.cause;
  if (typeof details !== 'object' || details === null || !('claim' in details)) return undefined;
  return typeof details.claim === 'string' ? details.claim : undefined;
}

/**
 * The identity from the validated ID token. Providers that keep profile claims out of the ID
 * token (OIDC Core §5.4 for the code flow) are asked at UserInfo, whose `sub` must match.
 */
async function identityFrom(cfg: client.Configuration, tokens: TokenResponse): Promise<OidcIdentity> {
  const claims = tokens.claims();
  if (!claims || typeof claims.sub !== 'string' || claims.sub.length === 0) throw new OidcError('invalid_response');
  let profile: Readonly<Record<string, unknown>> = claims;
  if (typeof claims.email !== 'string' && tokens.access_token && cfg.serverMetadata().userinfo_endpoint) {
    try {
      profile = await client.fetchUserInfo(cfg, tokens.access_token, claims.sub);
    } catch (err) {
      throw toOidcError(err);
    }
  }
  return {
    issuer: claims.iss,
    subject: claims.sub,
    email: stringClaim(profile.email, 320),
    emailVerified: profile.email_verified === true,
    name: stringClaim(profile.name ?? claims.name, 200),
  };
}

function stringClaim(value: unknown, max: number): string | null {
  return typeof value === 'string' && value.length > 0 && value.length <= max ? value : null;
}

/**
 * With a domain list, the address must be verified (an unverified one is merely typed in at the
 * provider) and its domain must be listed exactly: a subdomain is a different organisation.
 */
function assertEmailAllowed(identity: OidcIdentity, allowed: string[] | undefined): void {
  if (!allowed?.length) return;
  const at = identity.email?.lastIndexOf('@') ?? -1;
  const domain = at > 0 ? identity.email?.slice(at + 1).toLowerCase() : undefined;
  if (!identity.emailVerified || !domain || !allowed.some((d) => d.toLowerCase() === domain)) {
    throw new OidcError('email_domain');
  }
}

/** A bad `STRONGROOM_OIDC_PROVIDERS`; `problems` lists each one, for the boot-time config error. */
export class OidcConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.name = 'OidcConfigError';
    this.problems = problems;
  }
}

const SETTING = 'STRONGROOM_OIDC_PROVIDERS';
// RFC 6749 §3.3 scope-token characters.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

const providerSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be 1 to 32 characters of a-z, 0-9 and -'),
    name: z.string().trim().min(1).max(100),
    issuer: z
      .string()
      .max(2048)
      .superRefine((issuer, ctx) => {
        const problem = issuerProblem(issuer);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    client_id: z.string().min(1).max(512),
    client_secret: z.string().min(1).max(1024).optional(),
    scopes: z
      .array(z.string().regex(SCOPE_TOKEN, 'must be a single OAuth scope'))
      .min(1)
      .max(32)
      .refine((s) => s.includes('openid'), 'must include openid')
      .optional(),
    allowed_email_domains: z
      .array(z.string().max(253).transform((d) => d.toLowerCase()).pipe(z.string().regex(DOMAIN, 'must be a domain name such as example.com')))
      .min(1)
      .max(100)
      .optional(),
  })
  .strict();

const providersSchema = z
  .array(providerSchema)
  .max(32)
  .superRefine((providers, ctx) => {
    const seen = new Set<string>();
    providers.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate provider id "${p.id}"` });
      seen.add(p.id);
    });
  });

/**
 * Parses `STRONGROOM_OIDC_PROVIDERS`: a JSON array of `{ id, name, issuer, client_id,
 * client_secret?, scopes?, allowed_email_domains? }`. Throws an {@link OidcConfigError} naming
 * each problem by position and key, never echoing values (the input holds client secrets).
 *
 * @example
 * parseOidcProviders('[{"id":"okta","name":"Okta","issuer":"https://acme.okta.com","client_id":"abc","client_secret":"…"}]')
 */
export function parseOidcProviders(json: string): OidcProviderConfig[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new OidcConfigError([`${SETTING}: must be valid JSON (an array of providers)`]);
  }
  const parsed = providersSchema.safeParse(raw);
  if (!parsed.success) {
    throw new OidcConfigError(
      parsed.error.issues.map((issue) => {
        const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
        return `${SETTING}${where}: ${issue.message}`;
      }),
    );
  }
  return parsed.data.map((p) => ({
    id: p.id,
    name: p.name,
    issuer: p.issuer,
    clientId: p.client_id,
    ...(p.client_secret === undefined ? {} : { clientSecret: p.client_secret }),
    ...(p.scopes === undefined ? {} : { scopes: p.scopes }),
    ...(p.allowed_email_domains === undefined ? {} : { allowedEmailDomains: p.allowed_email_domains }),
  }));
}
