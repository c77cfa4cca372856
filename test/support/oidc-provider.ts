/**
 * A real OpenID Provider (`oidc-provider` v9) on 127.0.0.1 for relying-party tests, with a
 * programmatic "browser" that signs an account in. Everything the relying party sees — discovery,
 * the authorization redirect, the code exchange with client authentication and PKCE, the ID token,
 * UserInfo — is the provider's real behaviour; only the login page is ours.
 *
 * Interaction (v9 API): `interactions.url` sends the browser to `/interaction/<uid>` on the same
 * HTTP server, where a tiny handler (outside Koa) reads the pending interaction with
 * `provider.interactionDetails`, records a consent `Grant` for the requested scopes, and calls
 * `provider.interactionFinished` with `{ login, consent }` — or `{ error: 'access_denied' }`.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';

/** What an account's ID token and UserInfo say about it. */
export interface TestAccount {
  email: string;
  email_verified: boolean;
  name?: string;
}

/** A running provider; `close()` it after the tests. */
export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>` — loopback, so the relying party accepts plain http. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /**
   * Acts as a fresh browser: follows `authorizationUrl`, signs `accountId` in (or denies the
   * request with `deny`), consents, and returns the URL the provider redirects to on the relying
   * party's redirect URI — without fetching it.
   */
  login(authorizationUrl: string, accountId: string, opts?: { deny?: boolean }): Promise<URL>;
  close(): Promise<void>;
}

/** Options for {@link startOidcProvider}. */
export interface TestOidcProviderOptions {
  redirectUris: string[];
  accounts: Record<string, TestAccount>;
  /**
   * Put e-mail and profile claims in the ID token too. By default the provider follows OIDC Core
   * §5.4 for the code flow and serves them only at UserInfo (`conformIdTokenClaims`); with this
   * set, UserInfo is disabled, so only the ID token carries them.
   */
  claimsInIdToken?: boolean;
  /** Listen on this port instead of an ephemeral one (to bring a provider back at the same issuer). */
  port?: number;
}

// The narrow slice of oidc-provider's (untyped) API this file uses.
interface PendingInteraction {
  uid: string;
  prompt: { name: string };
  params: Record<string, unknown>;
}
interface ProviderGrant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface OidcProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<PendingInteraction>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => ProviderGrant;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => OidcProviderInstance;

const CLIENT_ID = 'strongroom-test';
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/;
const MODULE_NAME = 'oidc-provider';

/** Starts the provider on an ephemeral port. */
export async function startOidcProvider(opts: TestOidcProviderOptions): Promise<TestOidcProvider> {
  const Provider = await loadProvider();
  const clientSecret = randomBytes(32).toString('base64url');
  let handleOidc: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  let provider: OidcProviderInstance | null = null;

  const server = createServer((req, res) => {
    const match = INTERACTION_PATH.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (match && provider) {
      handleInteraction(provider, opts.accounts, req, res, match[1] ?? '', match[2] !== undefined).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    } else if (handleOidc) {
      handleOidc(req, res);
    } else {
      res.writeHead(503).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration = providerConfiguration(opts, clientSecret, await signingKey());
  provider = await quietly(() => new Provider(issuer, configuration));
  provider.on('server_error', () => {});
  handleOidc = provider.callback();

  return {
    issuer,
    clientId: CLIENT_ID,
    clientSecret,
    login: (authorizationUrl, accountId, loginOpts) =>
      browse(issuer, opts.redirectUris, authorizationUrl, accountId, loginOpts?.deny ?? false),
    close: () => closeServer(server),
  };
}

async function loadProvider(): Promise<ProviderConstructor> {
  // A variable specifier: the package ships no types, and this cast is the narrow interface above.
  const mod = (await quietly(() => import(MODULE_NAME))) as { default: ProviderConstructor };
  return mod.default;
}

/** A fresh RS256 key per provider, instead of the package's published development keys. */
async function signingKey(): Promise<Record<string, unknown>> {
  const pair = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...pair.privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };
}

function providerConfiguration(
  opts: TestOidcProviderOptions,
  clientSecret: string,
  key: Record<string, unknown>,
): Record<string, unknown> {
  const ttl = 600;
  return {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    // With the claims in the ID token, UserInfo is switched off so a test proves they come from there.
    features: { devInteractions: { enabled: false }, userinfo: { enabled: !opts.claimsInIdToken } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: !opts.claimsInIdToken,
    findAccount: (_ctx: unknown, sub: string) => {
      const account = Object.hasOwn(opts.accounts, sub) ? opts.accounts[sub] : undefined;
      if (!account) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...account }) };
    },
    ttl: Object.fromEntries(
      ['AccessToken', 'AuthorizationCode', 'ClientCredentials', 'DeviceCode', 'BackchannelAuthenticationRequest',
        'IdToken', 'Interaction', 'PreAuthorizedCode', 'RefreshToken', 'Session', 'Grant'].map((k) => [k, ttl]),
    ),
    clientBasedCORS: () => false,
    renderError: (ctx: { type: string; body: unknown }, out: Record<string, string>) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

/** GET shows the pending interaction; POST `/login` finishes it for the account named in the form. */
async function handleInteraction(
  provider: OidcProviderInstance,
  accounts: Record<string, TestAccount>,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  submit: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    res.writeHead(400).end();
    return;
  }
  if (!submit || req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ uid, prompt: details.prompt.name }));
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  if (form.get('decision') === 'deny') {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'End-User denied the sign-in' },
      { mergeWithLastSubmission: false },
    );
    return;
  }
  const accountId = form.get('account') ?? '';
  const clientId = details.params.client_id;
  if (!Object.hasOwn(accounts, accountId) || typeof clientId !== 'string') {
    res.writeHead(400).end();
    return;
  }
  // v9 records consent as a Grant the interaction result points to.
  const grant = new provider.Grant({ accountId, clientId });
  const scope = details.params.scope;
  grant.addOIDCScope(typeof scope === 'string' ? scope : 'openid');
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A browser's journey: authorize → login page → form POST → resume → redirect to the RP. */
async function browse(
  issuer: string,
  redirectUris: string[],
  authorizationUrl: string,
  accountId: string,
  deny: boolean,
): Promise<URL> {
  const jar = new CookieJar();
  const isRedirectUri = (url: URL): boolean =>
    redirectUris.some((r) => {
      const target = new URL(r);
      return url.origin === target.origin && url.pathname === target.pathname;
    });

  let next = new URL(authorizationUrl);
  for (let hop = 0; hop < 10; hop += 1) {
    if (isRedirectUri(next)) return next;
    if (next.origin !== new URL(issuer).origin) throw new Error(`test browser: unexpected redirect to ${next.origin}`);
    const interaction = INTERACTION_PATH.exec(next.pathname);
    let res: Response;
    if (interaction && !interaction[2]) {
      const page = await jar.fetch(next);
      if (page.status !== 200) throw new Error(`test browser: login page answered ${page.status}`);
      await page.body?.cancel();
      const form = new URLSearchParams(deny ? { decision: 'deny' } : { account: accountId, decision: 'allow' });
      res = await jar.fetch(new URL(`${next.pathname}/login`, next), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
    } else {
      res = await jar.fetch(next);
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !location) {
      const body = await res.text();
      throw new Error(`test browser: ${next.pathname} answered ${res.status}: ${body.slice(0, 300)}`);
    }
    await res.body?.cancel();
    next = new URL(location, next);
  }
  throw new Error('test browser: too many redirects');
}

/** Enough of a cookie jar for one host: names and values, honouring deletion; paths ignored. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  async fetch(url: URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.store(line);
    return res;
  }

  private store(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const expired = attributes.some((a) => {
      const [k = '', v = ''] = a.split('=');
      if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
      if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
      return false;
    });
    if (expired || value === '') this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

// oidc-provider prints development notices (Node version, in-memory adapter) on stdout/stderr.
const NOTICE = /^oidc-provider (NOTICE|WARNING):/;

async function quietly<T>(fn: () => T | Promise<T>): Promise<T> {
  const { info, warn } = console;
  console.info = (...args: unknown[]) => void (NOTICE.test(String(args[0])) || info(...args));
  console.warn = (...args: unknown[]) => void (NOTICE.test(String(args[0])) || warn(...args));
  try {
    return await fn();
  } finally {
    console.info = info;
    console.warn = warn;
  }
}
