import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { randomPKCECodeVerifier } from 'openid-client';
import { base32Decode, totpCode, totpStep } from '../src/identity/totp.js';
import { createTestApp, type TestApp } from './support/app.js';
import { injectNode, type ApiNode } from './support/nodes.js';
import { startOidcProvider, type TestOidcProvider } from './support/oidc-provider.js';
import {
  COOKIES,
  INSTALLATION_ORG_ID,
  chainEvents,
  cookieHeader,
  lastSeq,
  setCookies,
  show,
  signInWithEmail,
  type SuperuserSql,
} from './support/signin.js';
import { startSmtpServer, type TestSmtp } from './support/smtp.js';

/**
 * SPEC I1 acceptance: "Full OIDC round trip against the local provider, including
 * state/nonce/PKCE failures" — through the app's own routes. The browser is played by hand: the
 * app is called with `inject` (its public URL need not listen), the provider is a real
 * `oidc-provider` on 127.0.0.1, and the callback URL the provider redirects to is injected into
 * the app with the binding cookie the start answer set.
 */

const PUBLIC_URL = 'http://127.0.0.1:8400';
const CALLBACK_PATH = '/v1/auth/oidc/test/callback';

const EXISTING_EMAIL = 'dave@example.com';
const VICTIM_EMAIL = 'victim@example.com';
const accounts = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Liddell' },
  bob: { email: 'bob@example.com', email_verified: true },
  carol: { email: 'carol@example.com', email_verified: false, name: 'Carol' },
  dave: { email: 'Dave@Example.com', email_verified: true, name: 'Dave' },
  mallory: { email: VICTIM_EMAIL, email_verified: false, name: 'Not The Victim' },
  erin: { email: 'erin@example.com', email_verified: true, name: 'Erin' },
};

let provider: TestOidcProvider;
let smtp: TestSmtp;
let t: TestApp;
let node: ApiNode;
let sql: SuperuserSql;

before(async () => {
  provider = await startOidcProvider({ redirectUris: [`${PUBLIC_URL}${CALLBACK_PATH}`], accounts });
  smtp = await startSmtpServer();
  t = await createTestApp({
    identity: {
      publicUrl: PUBLIC_URL,
      oidcProviders: [{ id: 'test', name: 'Test', issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret }],
      smtp: { url: smtp.url, from: 'Strongroom <no-reply@example.com>' },
      // The refusals below all come from 127.0.0.1: the brute-force guard is not under test here.
      guard: { maxFailures: 1000, ipMaxFailures: 1000, ipRequestsPerMinute: 100_000 },
    },
  });
  node = injectNode('the app', t.app);
  sql = (text, params) => t.database.superuser((c) => c.query(text, params));
});
after(async () => {
  await t?.close();
  await smtp?.close();
  await provider?.close();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** A sign-in started in a fresh browser: where it is sent, and the cookie binding it. */
interface Started {
  res: LightMyRequestResponse;
  location: URL;
  state: string;
  binding: string;
}

async function start(returnTo?: string): Promise<Started> {
  const query = returnTo === undefined ? '' : `?${new URLSearchParams({ return_to: returnTo }).toString()}`;
  const res = await t.app.inject({ method: 'GET', url: `/v1/auth/oidc/test/start${query}` });
  assert.equal(res.statusCode, 302, `starting the sign-in: ${show(res)}`);
  const location = new URL(String(res.headers.location));
  const binding = setCookies(res).get(COOKIES.oidc)?.value;
  assert.ok(binding, 'the start answer sets the binding cookie');
  return { res, location, state: location.searchParams.get('state') ?? '', binding };
}

/** The browser arriving back at the app from the provider, with the given binding cookie (or none). */
function callback(url: URL, binding: string | undefined): Promise<LightMyRequestResponse> {
  assert.equal(url.origin, PUBLIC_URL, 'the provider redirects to our public URL');
  assert.equal(url.pathname, CALLBACK_PATH);
  return t.app.inject({
    method: 'GET',
    url: `${url.pathname}${url.search}`,
    ...(binding === undefined ? {} : { headers: { cookie: cookieHeader({ [COOKIES.oidc]: binding }) } }),
  });
}

/** A whole sign-in of `accountId`; returns the callback's answer. */
async function signIn(accountId: string, returnTo?: string): Promise<LightMyRequestResponse> {
  const started = await start(returnTo);
  return callback(await provider.login(started.location.href, accountId), started.binding);
}

/** The person a successful callback signed in, read with its access cookie. */
async function signedInAs(res: LightMyRequestResponse): Promise<{ user_id: string; email: string; display_name: string }> {
  assert.equal(res.statusCode, 303, `the callback: ${show(res)}`);
  const access = setCookies(res).get(COOKIES.access)?.value;
  assert.ok(access, 'the callback sets the access cookie');
  const who = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: cookieHeader({ [COOKIES.access]: access }) } });
  assert.equal(who.statusCode, 200, `GET /v1/me with the access cookie: ${show(who)}`);
  return who.json();
}

const SESSION_COOKIE_NAMES: readonly string[] = [COOKIES.access, COOKIES.refresh, COOKIES.csrf, COOKIES.mfa];

/** Every refusal is the same 401 SIGN_IN_FAILED problem, with no session cookie and no hint of which check failed. */
function assertRefused(res: LightMyRequestResponse, what: string): Record<string, unknown> {
  assert.equal(res.statusCode, 401, `${what}: ${show(res)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const { requestId, ...body } = res.json<Record<string, unknown>>();
  assert.equal(typeof requestId, 'string', what);
  assert.equal(body.code, 'SIGN_IN_FAILED', what);
  assert.equal(body.reason, undefined, `${what}: the answer does not say which check failed`);
  for (const c of res.cookies) {
    if (SESSION_COOKIE_NAMES.includes(c.name)) assert.equal(c.value, '', `${what}: no ${c.name} is set`);
  }
  assert.equal(res.headers.location, undefined, what);
  return body;
}

/** Log lines the identity service wrote about refused OIDC sign-ins after `from`, as their reasons. */
function refusalReasons(from: number): string[] {
  return t.logs
    .slice(from)
    .map((line) => JSON.parse(line) as { msg?: string; reason?: string })
    .filter((l) => l.msg === 'an OIDC sign-in was refused')
    .map((l) => l.reason ?? '');
}

async function countRows(query: string, params: unknown[]): Promise<number> {
  const [row] = await sql(query, params);
  return Number(row?.n);
}

describe('signing in through the identity provider', () => {
  test('lists the configured provider', async () => {
    const answer = await node.request('GET', '/v1/auth/oidc/providers');
    assert.equal(answer.status, 200, show(answer));
    assert.deepEqual(answer.body, { providers: [{ id: 'test', name: 'Test', start_url: '/v1/auth/oidc/test/start' }] });
    const unknown = await t.app.inject({ method: 'GET', url: '/v1/auth/oidc/nope/start' });
    assert.equal(unknown.statusCode, 404, show(unknown));
  });

  test('a full round trip: PKCE S256, state and nonce out; session cookies and a redirect to where it started back', async () => {
    const seq = await lastSeq(sql, INSTALLATION_ORG_ID);
    const started = await start('/dashboard');
    const { location } = started;
    assert.equal(location.origin, provider.issuer, 'the browser goes to the provider');
    const params = location.searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), provider.clientId);
    assert.equal(params.get('redirect_uri'), `${PUBLIC_URL}${CALLBACK_PATH}`);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.ok((params.get('scope') ?? '').split(' ').includes('openid'));
    assert.ok(started.state.length >= 22, 'a state');
    assert.ok((params.get('nonce') ?? '').length >= 22, 'a nonce');

    const binding = setCookies(started.res).get(COOKIES.oidc);
    assert.equal(binding?.httpOnly, true);
    assert.equal(binding?.secure, true);
    assert.equal(binding?.path, '/');
    // Lax: browsers must send it on the provider's cross-site redirect back to the callback.
    assert.equal(String(binding?.sameSite).toLowerCase(), 'lax');

    // The flow's secrets stay on the server, found by a hash of the state; the challenge is S256 of the stored verifier.
    const [flow] = await sql('SELECT code_verifier, nonce, return_to FROM oidc_flows WHERE state_hash = $1', [sha256(started.state)]);
    assert.ok(flow, 'the flow is stored under the hash of its state');
    assert.equal(params.get('code_challenge'), createHash('sha256').update(String(flow.code_verifier)).digest('base64url'));
    assert.equal(flow.nonce, params.get('nonce'));
    assert.equal(flow.return_to, '/dashboard');
    assert.ok(!started.location.href.includes(String(flow.code_verifier)), 'the verifier never travels through the browser');

    const res = await callback(await provider.login(location.href, 'alice'), started.binding);
    assert.equal(res.statusCode, 303, show(res));
    assert.equal(res.headers.location, '/dashboard');
    const cookies = setCookies(res);
    for (const name of [COOKIES.access, COOKIES.refresh, COOKIES.csrf]) assert.ok(cookies.get(name)?.value, `${name} is set`);
    assert.equal(cookies.get(COOKIES.oidc)?.value, '', 'the binding cookie is cleared');

    const who = await signedInAs(res);
    assert.equal(who.email, 'alice@example.com');
    assert.equal(who.display_name, 'Alice Liddell');
    const [link] = await sql('SELECT user_id, provider FROM user_identities WHERE issuer = $1 AND subject = $2', [provider.issuer, 'alice']);
    assert.deepEqual(link, { user_id: who.user_id, provider: 'test' });
    assert.equal(await countRows('SELECT count(*)::int AS n FROM oidc_flows WHERE state_hash = $1', [sha256(started.state)]), 0, 'the flow is used up');

    const events = await chainEvents(sql, INSTALLATION_ORG_ID, 'auth.oidc.callback', seq);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.actor]),
      [['success', { type: 'user', id: who.user_id }]],
    );
  });

  test('a second sign-in of the same subject is the same person', async () => {
    const first = await signedInAs(await signIn('bob'));
    const second = await signedInAs(await signIn('bob'));
    assert.equal(second.user_id, first.user_id);
    assert.equal(await countRows('SELECT count(*)::int AS n FROM users WHERE email = $1', ['bob@example.com']), 1);
    assert.equal(await countRows('SELECT count(*)::int AS n FROM user_identities WHERE user_id = $1', [first.user_id]), 1);
  });

  test('a verified address of an existing e-mail-code account signs in to that account and links the identity', async () => {
    const byEmail = await signInWithEmail(node, smtp, EXISTING_EMAIL);
    const existing = (await node.request('GET', '/v1/me', { token: byEmail.accessToken })).body.user_id as string;
    const who = await signedInAs(await signIn('dave'));
    assert.equal(who.user_id, existing, 'the same person (the provider’s Dave@Example.com is the same address)');
    assert.equal(who.email, EXISTING_EMAIL);
    const [link] = await sql('SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2', [provider.issuer, 'dave']);
    assert.equal(link?.user_id, existing);
  });

  test('a return_to elsewhere than this server is ignored: the sign-in returns to /', async () => {
    for (const returnTo of ['//evil.example', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)']) {
      const res = await signIn('alice', returnTo);
      assert.equal(res.statusCode, 303, `${returnTo}: ${show(res)}`);
      assert.equal(res.headers.location, '/', returnTo);
    }
    const res = await signIn('alice', '/vaults?tab=secrets');
    assert.equal(res.headers.location, '/vaults?tab=secrets', 'a path on this server is kept');
  });
});

describe('an identity-provider sign-in with a second factor enrolled', () => {
  test('stops at the second factor: a redirect marked mfa=required and the MFA cookie, then POST /v1/auth/mfa opens the session', async () => {
    // Erin signs in once and enrols an authenticator (cookie session: changes carry the CSRF token).
    const first = await signIn('erin', '/dashboard');
    await signedInAs(first);
    const jar = setCookies(first);
    const cookies = { [COOKIES.access]: jar.get(COOKIES.access)?.value ?? '' };
    const csrf = jar.get(COOKIES.csrf)?.value ?? '';
    const headers = { cookie: cookieHeader(cookies), 'x-csrf-token': csrf };
    const enrol = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp', headers });
    assert.equal(enrol.statusCode, 201, show(enrol));
    const secret = base32Decode((enrol.json() as { secret: string }).secret);
    const step = totpStep(new Date());
    const confirm = await t.app.inject({ method: 'POST', url: '/v1/me/mfa/totp/confirm', headers, payload: { code: totpCode(secret, step) } });
    assert.equal(confirm.statusCode, 200, show(confirm));

    // The next sign-in through the provider opens no session yet.
    const second = await signIn('erin', '/dashboard');
    assert.equal(second.statusCode, 303, show(second));
    assert.equal(second.headers.location, '/dashboard?mfa=required');
    const set = setCookies(second);
    assert.equal(set.get(COOKIES.access), undefined, 'no access cookie before the second factor');
    const mfaCookie = set.get(COOKIES.mfa);
    assert.ok(mfaCookie?.value, 'the MFA cookie carries the pending sign-in');
    assert.equal(mfaCookie.httpOnly, true);
    const complete = (code: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/mfa',
        headers: { cookie: cookieHeader({ [COOKIES.mfa]: mfaCookie.value }) },
        payload: { code, session: 'cookie' },
      });
    assert.equal((await complete(totpCode(secret, step))).statusCode, 401, 'the code used at enrolment does not count again');
    const done = await complete(totpCode(secret, step + 1));
    assert.equal(done.statusCode, 200, show(done));
    const access = setCookies(done).get(COOKIES.access)?.value;
    assert.ok(access);
    const me = await t.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: cookieHeader({ [COOKIES.access]: access }) } });
    assert.equal(me.json().email, 'erin@example.com');
    assert.deepEqual(me.json().mfa, { totp: true, recent: true });
  });
});

describe('refused OIDC sign-ins', () => {
  test('a tampered state is refused; the genuine callback still works', async () => {
    const started = await start();
    const url = await provider.login(started.location.href, 'alice');
    const tampered = new URL(url);
    const state = tampered.searchParams.get('state') ?? '';
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
    assertRefused(await callback(tampered, started.binding), 'a tampered state');
    const missing = new URL(url);
    missing.searchParams.delete('state');
    assertRefused(await callback(missing, started.binding), 'no state');
    // The control: the same code, binding and state, untampered.
    assert.equal((await callback(url, started.binding)).statusCode, 303);
  });

  test('a callback without the binding cookie, or with another sign-in’s, is refused (login CSRF)', async () => {
    const attackers = await start();
    const url = await provider.login(attackers.location.href, 'alice');
    assertRefused(await callback(url, undefined), 'no binding cookie');

    // The attacker's own finished sign-in, planted on a victim whose browser started a sign-in of its own.
    const planted = await start();
    const victims = await start();
    const plantedUrl = await provider.login(planted.location.href, 'alice');
    assertRefused(await callback(plantedUrl, victims.binding), 'the binding cookie of another sign-in');
  });

  test('a callback is good once: replaying it is refused', async () => {
    const started = await start();
    const url = await provider.login(started.location.href, 'bob');
    assert.equal((await callback(url, started.binding)).statusCode, 303, 'the first callback');
    assertRefused(await callback(url, started.binding), 'the same callback again');
  });

  test('a sign-in finished after its flow expired is refused', async () => {
    const started = await start();
    await sql(`UPDATE oidc_flows SET expires_at = now() - interval '1 second' WHERE state_hash = $1`, [sha256(started.state)]);
    assertRefused(await callback(await provider.login(started.location.href, 'alice'), started.binding), 'an expired flow');
  });

  test('an ID token whose nonce is not the stored one is refused', async () => {
    const started = await start();
    await sql('UPDATE oidc_flows SET nonce = $2 WHERE state_hash = $1', [sha256(started.state), 'x']);
    const url = await provider.login(started.location.href, 'alice');
    const from = t.logs.length;
    assertRefused(await callback(url, started.binding), 'a nonce mismatch');
    assert.deepEqual(refusalReasons(from), ['nonce_mismatch']);
  });

  test('a code redeemed with another PKCE verifier is refused', async () => {
    const started = await start();
    await sql('UPDATE oidc_flows SET code_verifier = $2 WHERE state_hash = $1', [sha256(started.state), randomPKCECodeVerifier()]);
    const url = await provider.login(started.location.href, 'alice');
    const from = t.logs.length;
    assertRefused(await callback(url, started.binding), 'a wrong code verifier');
    assert.deepEqual(refusalReasons(from), ['pkce_failed']);
  });

  test('a sign-in the person denied at the provider is refused', async () => {
    const started = await start();
    const url = await provider.login(started.location.href, 'alice', { deny: true });
    assert.equal(url.searchParams.get('error'), 'access_denied');
    const from = t.logs.length;
    assertRefused(await callback(url, started.binding), 'access_denied');
    assert.deepEqual(refusalReasons(from), ['provider_error']);
  });

  test('an unverified address with no linked identity is refused and makes no account', async () => {
    assertRefused(await signIn('carol'), 'an unverified address');
    assert.equal(await countRows('SELECT count(*)::int AS n FROM users WHERE email = $1', ['carol@example.com']), 0);
    assert.equal(await countRows('SELECT count(*)::int AS n FROM user_identities WHERE subject = $1', ['carol']), 0);
  });

  test('an unverified address equal to an existing account’s is refused and not linked to it', async () => {
    const victim = await signInWithEmail(node, smtp, VICTIM_EMAIL);
    const victimId = (await node.request('GET', '/v1/me', { token: victim.accessToken })).body.user_id as string;
    const sessionsBefore = await countRows('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [victimId]);
    assertRefused(await signIn('mallory'), 'an unverified copy of another person’s address');
    assert.equal(await countRows('SELECT count(*)::int AS n FROM user_identities WHERE user_id = $1', [victimId]), 0);
    assert.equal(await countRows('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [victimId]), sessionsBefore);
  });

  test('every refusal answers the same body and is recorded as a failed auth.oidc.callback', async () => {
    const seq = await lastSeq(sql, INSTALLATION_ORG_ID);
    const bodies = new Set<string>();
    const noCookie = await start();
    bodies.add(JSON.stringify(assertRefused(await callback(await provider.login(noCookie.location.href, 'alice'), undefined), 'no cookie')));
    const denied = await start();
    bodies.add(JSON.stringify(assertRefused(await callback(await provider.login(denied.location.href, 'alice', { deny: true }), denied.binding), 'denied')));
    bodies.add(JSON.stringify(assertRefused(await signIn('carol'), 'unverified')));
    assert.equal(bodies.size, 1, `one answer for every refusal: ${[...bodies].join('\n')}`);

    const events = await chainEvents(sql, INSTALLATION_ORG_ID, 'auth.oidc.callback', seq);
    assert.deepEqual(
      events.map((e) => e.outcome),
      ['failure', 'failure', 'failure'],
    );
    for (const e of events) assert.ok(!/code=|state=/.test(e.canonical), 'no callback parameter in the event');
  });
});
