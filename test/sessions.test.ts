import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createMember, createTestApp, type TestApp } from './support/app.js';
import { injectNode, type Answer, type ApiNode } from './support/nodes.js';
import {
  COOKIES,
  INSTALLATION_ORG_ID,
  chainEvents,
  cookieHeader,
  emailCode,
  lastSeq,
  linkMember,
  refresh,
  setCookies,
  show,
  signInWithEmail,
  tokenSessionOf,
  uniqueEmail,
  type SuperuserSql,
  type TokenSession,
} from './support/signin.js';
import { startSmtpServer, type TestSmtp } from './support/smtp.js';

/**
 * SPEC I4 sessions through the real HTTP API: refresh-token rotation and reuse detection, the
 * absolute lifetime and idle timeout, sign-out (here and everywhere), listing and ending my
 * sessions, and dashboard cookies with their CSRF token. People sign in with an e-mail code
 * that a real SMTP server receives. Time is moved by rewriting the session row, never by sleeping.
 */

const MAX_SESSION_SECONDS = 600;
const IDLE_SECONDS = 120;

let t: TestApp;
let smtp: TestSmtp;
let node: ApiNode;
let sql: SuperuserSql;

before(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({
    identity: {
      smtp: { url: smtp.url, from: 'Strongroom <no-reply@example.com>' },
      session: { maxSessionSeconds: MAX_SESSION_SECONDS, idleTimeoutSeconds: IDLE_SECONDS },
      // Every sign-in of the file comes from 127.0.0.1: the per-IP request rate is not under test here.
      guard: { ipRequestsPerMinute: 100_000 },
    },
  });
  node = injectNode('the app', t.app);
  sql = (text, params) => t.database.superuser((c) => c.query(text, params));
});
after(async () => {
  await t?.close();
  await smtp?.close();
});

const me = (accessToken: string) => node.request('GET', '/v1/me', { token: accessToken });

function assertStatus(answer: Answer | LightMyRequestResponse, status: number, what: string): void {
  const got = 'statusCode' in answer ? answer.statusCode : answer.status;
  assert.equal(got, status, `${what}: ${show(answer)}`);
}

/** The 401 of a refused credential: a problem document with the stable code and no tokens. */
function assertUnauthenticated(answer: Answer, what: string): void {
  assertStatus(answer, 401, what);
  assert.match(answer.contentType, /^application\/problem\+json/, what);
  assert.equal(answer.body.code, 'UNAUTHENTICATED', what);
  assert.equal(answer.body.access_token, undefined, what);
  assert.equal(answer.body.refresh_token, undefined, what);
}

async function assertSignedIn(session: TokenSession, what: string): Promise<Record<string, unknown>> {
  const answer = await me(session.accessToken);
  assertStatus(answer, 200, what);
  assert.equal(answer.body.session_id, session.sessionId, what);
  return answer.body;
}

async function sessionRow(sessionId: string): Promise<{ expires_at: Date; last_active_at: Date; revoked_at: Date | null; revoked_reason: string | null }> {
  const [row] = await sql('SELECT expires_at, last_active_at, revoked_at, revoked_reason FROM sessions WHERE session_id = $1', [sessionId]);
  assert.ok(row, `session ${sessionId} exists`);
  return row as { expires_at: Date; last_active_at: Date; revoked_at: Date | null; revoked_reason: string | null };
}

describe('refresh tokens', () => {
  test('a refresh answers a new pair in the same session; the earlier access token keeps working until it expires', async () => {
    const first = await signInWithEmail(node, smtp, uniqueEmail('rotate'));
    const second = tokenSessionOf(await refresh(node, first.refreshToken));
    assert.equal(second.sessionId, first.sessionId);
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.notEqual(second.accessToken, first.accessToken);
    await assertSignedIn(second, 'the new access token');
    await assertSignedIn(first, 'the earlier access token (same session, not expired)');
    // The chain goes on: each new refresh token is good once more.
    const third = tokenSessionOf(await refresh(node, second.refreshToken));
    await assertSignedIn(third, 'the access token of the second refresh');
  });

  test('a used refresh token presented again ends the whole session and is recorded as auth.refresh.reuse', async () => {
    const email = uniqueEmail('reuse');
    const stolen = await signInWithEmail(node, smtp, email);
    const elsewhere = await signInWithEmail(node, smtp, email);
    const userId = (await assertSignedIn(stolen, 'the first session')).user_id as string;
    const rotated = tokenSessionOf(await refresh(node, stolen.refreshToken));
    const newest = tokenSessionOf(await refresh(node, rotated.refreshToken));
    await assertSignedIn(newest, 'the newest access token before the reuse');
    const seq = await lastSeq(sql, INSTALLATION_ORG_ID);

    assertUnauthenticated(await refresh(node, stolen.refreshToken), 'the used refresh token presented again');

    // The whole family ends, the legitimate holder's newest tokens included.
    assertUnauthenticated(await me(newest.accessToken), 'the newest access token after the reuse');
    assertUnauthenticated(await me(stolen.accessToken), 'the first access token after the reuse');
    assertUnauthenticated(await refresh(node, newest.refreshToken), 'the newest refresh token after the reuse');
    const row = await sessionRow(stolen.sessionId);
    assert.notEqual(row.revoked_at, null);
    assert.equal(row.revoked_reason, 'refresh_token_reused');
    // Only that session: the person's other sign-in is untouched.
    await assertSignedIn(elsewhere, 'another session of the same person');

    const events = await chainEvents(sql, INSTALLATION_ORG_ID, 'auth.refresh.reuse', seq);
    assert.equal(events.length, 1, `one reuse event: ${JSON.stringify(events)}`);
    const [event] = events;
    assert.equal(event?.outcome, 'failure');
    assert.deepEqual(event?.actor, { type: 'user', id: userId });
    assert.equal(event?.resource.ref, `session:${stolen.sessionId}`);
    for (const secret of [stolen.refreshToken, stolen.refreshToken.slice('sr_refresh_'.length), newest.accessToken]) {
      assert.ok(!event?.canonical.includes(secret), 'no token in the audit event');
    }
  });

  test('refresh refuses what is not a live refresh token of ours with the same 401', async () => {
    const session = await signInWithEmail(node, smtp, uniqueEmail('garbage'));
    const body = session.refreshToken.slice('sr_refresh_'.length);
    const flipped = `sr_refresh_${body.slice(0, -2)}${body.at(-2) === 'A' ? 'B' : 'A'}${body.at(-1) ?? ''}`;
    for (const [what, token] of [
      ['a token of another kind', session.refreshToken.replace('sr_refresh_', 'sr_mfa_')],
      ['a refresh token with a changed secret', flipped],
      ['garbage', 'sr_refresh_nope'],
    ] as const) {
      assertUnauthenticated(await refresh(node, token), what);
    }
    // The genuine one still works: a forged one next to it did not end the session.
    tokenSessionOf(await refresh(node, session.refreshToken));
  });
});

describe('session limits', () => {
  test('a session opens with the configured lifetime; access tokens live no longer than the idle timeout', async () => {
    const session = await signInWithEmail(node, smtp, uniqueEmail('limits'));
    assert.equal(session.expiresIn, IDLE_SECONDS);
    const [row] = await sql('SELECT extract(epoch FROM expires_at - created_at)::float8 AS lifetime FROM sessions WHERE session_id = $1', [
      session.sessionId,
    ]);
    assert.ok(Math.abs(Number(row?.lifetime) - MAX_SESSION_SECONDS) < 30, `lifetime ${String(row?.lifetime)} s`);
  });

  test('a session ends at its absolute lifetime even while in use, and refreshing does not extend it', async () => {
    const session = await signInWithEmail(node, smtp, uniqueEmail('absolute'));
    const expiresAt = (await sessionRow(session.sessionId)).expires_at.getTime();
    const refreshed = tokenSessionOf(await refresh(node, session.refreshToken));
    assert.equal((await sessionRow(session.sessionId)).expires_at.getTime(), expiresAt, 'a refresh must not move the absolute expiry');

    // Ten minutes and a second later, used a moment ago.
    await sql(
      `UPDATE sessions SET created_at = now() - make_interval(secs => $2), expires_at = now() - interval '1 second', last_active_at = now()
        WHERE session_id = $1`,
      [session.sessionId, MAX_SESSION_SECONDS + 1],
    );
    assertUnauthenticated(await me(refreshed.accessToken), 'the access token after the absolute lifetime');
    assertUnauthenticated(await refresh(node, refreshed.refreshToken), 'the refresh token after the absolute lifetime');
  });

  test('activity keeps a session alive; a session unused for the idle timeout ends and cannot be refreshed', async () => {
    const session = await signInWithEmail(node, smtp, uniqueEmail('idle'));
    await sql(`UPDATE sessions SET last_active_at = now() - make_interval(secs => $2) WHERE session_id = $1`, [session.sessionId, IDLE_SECONDS - 20]);
    await assertSignedIn(session, 'a session unused for less than the idle timeout');
    const touched = (await sessionRow(session.sessionId)).last_active_at.getTime();
    const [now] = await sql('SELECT now() AS now', []);
    assert.ok((now?.now as Date).getTime() - touched < 30_000, 'the request counted as activity');

    await sql(`UPDATE sessions SET last_active_at = now() - make_interval(secs => $2) WHERE session_id = $1`, [session.sessionId, IDLE_SECONDS + 1]);
    assertUnauthenticated(await me(session.accessToken), 'the access token after the idle timeout');
    assertUnauthenticated(await refresh(node, session.refreshToken), 'the refresh token after the idle timeout');
  });
});

describe('signing out and my sessions', () => {
  // Regression: the audit event of a refused request on these routes named the session's user,
  // which a refused request does not have; building it threw and the answer became a 503.
  test('a session route without a token is a 401 recorded as auth.failure in the installation chain', async () => {
    const seq = await lastSeq(sql, INSTALLATION_ORG_ID);
    for (const [method, url] of [
      ['GET', '/v1/me'],
      ['POST', '/v1/auth/sign-out'],
      ['GET', '/v1/me/sessions'],
    ] as const) {
      assertUnauthenticated(await node.request(method, url), `${method} ${url} without a token`);
    }
    const events = await chainEvents(sql, INSTALLATION_ORG_ID, 'auth.failure', seq);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.resource.ref]),
      [
        ['failure', 'user:(unknown)'],
        ['failure', 'user:(unknown)'],
        ['failure', 'user:(unknown)'],
      ],
    );
  });

  test('sign-out ends this session: its access and refresh tokens stop working, other sessions do not', async () => {
    const email = uniqueEmail('signout');
    const session = await signInWithEmail(node, smtp, email);
    const other = await signInWithEmail(node, smtp, email);
    const seq = await lastSeq(sql, INSTALLATION_ORG_ID);
    assertStatus(await node.request('POST', '/v1/auth/sign-out', { token: session.accessToken }), 204, 'signing out');
    assertUnauthenticated(await me(session.accessToken), 'the access token after sign-out');
    assertUnauthenticated(await refresh(node, session.refreshToken), 'the refresh token after sign-out');
    await assertSignedIn(other, 'another session of the same person');
    const events = await chainEvents(sql, INSTALLATION_ORG_ID, 'auth.signout', seq);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.resource.ref]),
      [['success', `session:${session.sessionId}`]],
    );
  });

  test('sign-out everywhere ends every session of the person and says how many', async () => {
    const email = uniqueEmail('everywhere');
    const first = await signInWithEmail(node, smtp, email);
    const second = await signInWithEmail(node, smtp, email);
    const bystander = await signInWithEmail(node, smtp, uniqueEmail('bystander'));

    const answer = await node.request('POST', '/v1/auth/sign-out-everywhere', { token: second.accessToken });
    assertStatus(answer, 200, 'signing out everywhere');
    assert.deepEqual(answer.body, { sessions_ended: 2 });
    for (const [what, s] of [['the other session', first], ['the calling session', second]] as const) {
      assertUnauthenticated(await me(s.accessToken), `${what}: access token`);
      assertUnauthenticated(await refresh(node, s.refreshToken), `${what}: refresh token`);
    }
    await assertSignedIn(bystander, 'another person’s session');
    // The person can sign in again.
    await assertSignedIn(await signInWithEmail(node, smtp, email), 'a new sign-in afterwards');
  });

  test('GET /v1/me/sessions lists my live sessions and marks the current one', async () => {
    const email = uniqueEmail('list');
    const first = await signInWithEmail(node, smtp, email);
    const second = await signInWithEmail(node, smtp, email);
    const ended = await signInWithEmail(node, smtp, email);
    assertStatus(await node.request('POST', '/v1/auth/sign-out', { token: ended.accessToken }), 204, 'ending the third session');
    await signInWithEmail(node, smtp, uniqueEmail('someone-else'));

    for (const current of [first, second]) {
      const answer = await node.request('GET', '/v1/me/sessions', { token: current.accessToken });
      assertStatus(answer, 200, 'listing sessions');
      const sessions = answer.body.sessions as { session_id: string; current: boolean; methods: string[] }[];
      assert.deepEqual(sessions.map((s) => s.session_id).sort(), [first.sessionId, second.sessionId].sort(), 'exactly my live sessions');
      assert.deepEqual(
        sessions.filter((s) => s.current).map((s) => s.session_id),
        [current.sessionId],
      );
      for (const s of sessions) assert.deepEqual(s.methods, ['email_code']);
    }
  });

  test('DELETE /v1/me/sessions/:id ends one of my sessions; another person’s session is 404 and lives on', async () => {
    const email = uniqueEmail('revoke');
    const mine = await signInWithEmail(node, smtp, email);
    const myOther = await signInWithEmail(node, smtp, email);
    const theirs = await signInWithEmail(node, smtp, uniqueEmail('victim'));

    const foreign = await node.request('DELETE', `/v1/me/sessions/${theirs.sessionId}`, { token: mine.accessToken });
    const missing = await node.request('DELETE', `/v1/me/sessions/${randomUUID()}`, { token: mine.accessToken });
    assertStatus(foreign, 404, 'another person’s session');
    assertStatus(missing, 404, 'a session that does not exist');
    assert.equal(foreign.body.code, 'NOT_FOUND');
    const { requestId: _a, ...foreignBody } = foreign.body;
    const { requestId: _b, ...missingBody } = missing.body;
    assert.deepEqual(foreignBody, missingBody, 'another person’s session looks exactly like a missing one');
    await assertSignedIn(theirs, 'the other person’s session');

    assertStatus(await node.request('DELETE', `/v1/me/sessions/${myOther.sessionId}`, { token: mine.accessToken }), 204, 'ending my other session');
    assertUnauthenticated(await me(myOther.accessToken), 'the ended session’s access token');
    assertUnauthenticated(await refresh(node, myOther.refreshToken), 'the ended session’s refresh token');
    await assertSignedIn(mine, 'the session that ended the other');

    assertStatus(await node.request('DELETE', `/v1/me/sessions/${mine.sessionId}`, { token: mine.accessToken }), 204, 'ending the current session');
    assertUnauthenticated(await me(mine.accessToken), 'the current session after ending it');
  });
});

// --- dashboard cookies and CSRF ---------------------------------------------------------------

/** A browser's cookie jar after a cookie sign-in. */
interface CookieSession {
  sessionId: string;
  orgId: string | null;
  access: string;
  refresh: string;
  csrf: string;
}

async function signInWithCookies(email: string, orgId?: string): Promise<{ res: LightMyRequestResponse; session: CookieSession }> {
  const code = await emailCode(node, smtp, email);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/email/verify',
    payload: { email, code, session: 'cookie', ...(orgId === undefined ? {} : { org_id: orgId }) },
  });
  assertStatus(res, 200, 'a cookie sign-in');
  const cookies = setCookies(res);
  const body = res.json<{ session_id: string; org_id: string | null }>();
  return {
    res,
    session: {
      sessionId: body.session_id,
      orgId: body.org_id,
      access: cookies.get(COOKIES.access)?.value ?? '',
      refresh: cookies.get(COOKIES.refresh)?.value ?? '',
      csrf: cookies.get(COOKIES.csrf)?.value ?? '',
    },
  };
}

/** A request as the browser sends it: every session cookie, and the CSRF header when given. */
function browser(session: CookieSession, request: InjectOptions, csrfHeader?: string): Promise<LightMyRequestResponse> {
  return t.app.inject({
    ...request,
    headers: {
      ...request.headers,
      cookie: cookieHeader({ [COOKIES.access]: session.access, [COOKIES.refresh]: session.refresh, [COOKIES.csrf]: session.csrf }),
      ...(csrfHeader === undefined ? {} : { 'x-csrf-token': csrfHeader }),
    },
  });
}

function assertCsrfRefused(res: LightMyRequestResponse, what: string): void {
  assertStatus(res, 403, what);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json<{ code: string }>().code, 'CSRF_FAILED', what);
}

async function totpRows(userId: string): Promise<number> {
  const [row] = await sql('SELECT count(*)::int AS n FROM mfa_totp WHERE user_id = $1', [userId]);
  return Number(row?.n);
}

describe('dashboard cookies and CSRF', () => {
  test('a cookie sign-in sets the __Host- session cookies and answers no token in the body', async () => {
    const { res, session } = await signInWithCookies(uniqueEmail('cookie'));
    const cookies = setCookies(res);
    for (const name of [COOKIES.access, COOKIES.refresh, COOKIES.csrf]) {
      const c = cookies.get(name);
      assert.ok(c, `${name} is set`);
      assert.equal(c.secure, true, `${name} Secure`);
      assert.equal(c.path, '/', `${name} Path=/`);
      assert.equal(c.domain, undefined, `${name} has no Domain (a __Host- cookie must not)`);
      assert.equal(String(c.sameSite).toLowerCase(), 'strict', `${name} SameSite=Strict`);
      assert.ok(c.value.length > 20, `${name} has a value`);
    }
    assert.equal(cookies.get(COOKIES.access)?.httpOnly, true, 'the access cookie is HttpOnly');
    assert.equal(cookies.get(COOKIES.refresh)?.httpOnly, true, 'the refresh cookie is HttpOnly');
    assert.notEqual(cookies.get(COOKIES.csrf)?.httpOnly, true, 'the CSRF cookie is readable by the page');
    assert.match(session.refresh, /^sr_refresh_/);

    const body = res.json<Record<string, unknown>>();
    assert.equal(body.access_token, undefined);
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.csrf_token, session.csrf);
    assert.equal(body.session_id, session.sessionId);
  });

  test('with the access cookie a read needs no CSRF token; a change needs the session’s own', async () => {
    const email = uniqueEmail('csrf');
    const { session } = await signInWithCookies(email);
    const { session: otherSession } = await signInWithCookies(email);
    const read = await browser(session, { method: 'GET', url: '/v1/me' });
    assertStatus(read, 200, 'GET /v1/me with the cookie and no CSRF token');
    const userId = read.json<{ user_id: string }>().user_id;

    const enrol = { method: 'POST', url: '/v1/me/mfa/totp' } as const;
    assertCsrfRefused(await browser(session, enrol), 'no X-CSRF-Token (the CSRF cookie alone is not enough)');
    assertCsrfRefused(await browser(session, enrol, 'x'.repeat(43)), 'a made-up X-CSRF-Token');
    assertCsrfRefused(await browser(session, enrol, otherSession.csrf), 'the CSRF token of another session');
    assert.equal(await totpRows(userId), 0, 'nothing changed');

    const ok = await browser(session, enrol, session.csrf);
    assertStatus(ok, 201, 'with the right X-CSRF-Token');
    assert.equal(await totpRows(userId), 1);
  });

  test('sign-out by cookie needs the CSRF token, then ends the session and clears the cookies', async () => {
    const { session } = await signInWithCookies(uniqueEmail('cookie-signout'));
    const signOut = { method: 'POST', url: '/v1/auth/sign-out' } as const;
    assertCsrfRefused(await browser(session, signOut), 'sign-out without X-CSRF-Token');
    assertStatus(await browser(session, { method: 'GET', url: '/v1/me' }), 200, 'the session after the refused sign-out');

    const res = await browser(session, signOut, session.csrf);
    assertStatus(res, 204, 'sign-out with the CSRF token');
    const cleared = setCookies(res);
    for (const name of [COOKIES.access, COOKIES.refresh, COOKIES.csrf]) {
      const c = cleared.get(name);
      assert.ok(c, `${name} is cleared`);
      assert.equal(c.value, '', `${name} has no value`);
      assert.ok((c.expires?.getTime() ?? Infinity) <= Date.now() || c.maxAge === 0, `${name} expires at once`);
      // Regression: browsers ignore a __Host- Set-Cookie without Secure and Path=/, deletions
      // included, so the cookies were cleared without Secure and stayed in the browser.
      assert.equal(c.secure, true, `${name} is cleared with Secure`);
      assert.equal(c.path, '/', `${name} is cleared with Path=/`);
    }
    assertStatus(await browser(session, { method: 'GET', url: '/v1/me' }), 401, 'the old access cookie after sign-out');
  });

  // Regression: a cookie refresh sends no body, which Fastify hands to the schema as null; the
  // body schema accepted only undefined, so every cookie refresh was a 400.
  test('a cookie refresh needs the CSRF token and answers new cookies, no tokens in the body', async () => {
    const { session } = await signInWithCookies(uniqueEmail('cookie-refresh'));
    const refreshRequest = { method: 'POST', url: '/v1/auth/refresh' } as const;
    assertCsrfRefused(await browser(session, refreshRequest), 'a cookie refresh without X-CSRF-Token');
    assertCsrfRefused(await browser(session, refreshRequest, 'not-the-token'), 'a cookie refresh with a wrong X-CSRF-Token');

    // The refused attempts did not use the refresh token up.
    const res = await browser(session, refreshRequest, session.csrf);
    assertStatus(res, 200, 'a cookie refresh with the CSRF token');
    const body = res.json<Record<string, unknown>>();
    assert.equal(body.access_token, undefined);
    assert.equal(body.refresh_token, undefined);
    const cookies = setCookies(res);
    const next: CookieSession = {
      ...session,
      access: cookies.get(COOKIES.access)?.value ?? '',
      refresh: cookies.get(COOKIES.refresh)?.value ?? '',
      csrf: cookies.get(COOKIES.csrf)?.value ?? '',
    };
    assert.equal(body.csrf_token, next.csrf);
    assert.notEqual(next.refresh, session.refresh);
    assert.match(next.refresh, /^sr_refresh_/);
    assert.equal(cookies.get(COOKIES.refresh)?.httpOnly, true);
    assertStatus(await browser(next, { method: 'GET', url: '/v1/me' }), 200, 'the new access cookie');
    assertStatus(await browser(next, { method: 'POST', url: '/v1/me/mfa/totp' }, next.csrf), 201, 'a change with the new CSRF token');
  });

  test('an org route refuses a cookie change without the CSRF token and changes nothing', async () => {
    const org = await t.createOrg();
    const email = uniqueEmail('org-cookie');
    const member = await createMember(t, org, 'admin', { email });
    const first = await signInWithEmail(node, smtp, email);
    const userId = (await assertSignedIn(first, 'the first sign-in')).user_id as string;
    await linkMember(sql, org.orgId, member.id, userId);
    const { session } = await signInWithCookies(email, org.orgId);
    assert.equal(session.orgId, org.orgId, 'the session is in the org');

    const vaultCount = async () => {
      const [row] = await sql('SELECT count(*)::int AS n FROM vaults WHERE org_id = $1', [org.orgId]);
      return Number(row?.n);
    };
    const create = { method: 'POST', url: '/v1/vaults', payload: { name: 'dashboard-vault' } } as const;
    assertCsrfRefused(await browser(session, create), 'POST /v1/vaults without X-CSRF-Token');
    assertCsrfRefused(await browser(session, create, `${session.csrf.slice(0, -1)}${session.csrf.endsWith('A') ? 'B' : 'A'}`), 'a wrong X-CSRF-Token');
    assert.equal(await vaultCount(), 0, 'no vault was made');
    assertStatus(await browser(session, { method: 'GET', url: '/v1/vaults' }), 200, 'a read of an org route needs no CSRF token');

    assertStatus(await browser(session, create, session.csrf), 201, 'POST /v1/vaults with the CSRF token');
    assert.equal(await vaultCount(), 1);
  });

  test('bearer requests need no CSRF token', async () => {
    const session = await signInWithEmail(node, smtp, uniqueEmail('bearer'));
    assertStatus(await node.request('POST', '/v1/me/mfa/totp', { token: session.accessToken }), 201, 'a bearer change without X-CSRF-Token');
    assertStatus(await node.request('POST', '/v1/auth/sign-out', { token: session.accessToken }), 204, 'a bearer sign-out without X-CSRF-Token');
  });
});
