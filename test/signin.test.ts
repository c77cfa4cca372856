import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import {
  INSTALLATION_ORG_ID,
  assertProblem,
  comparable,
  emailHash,
  joinOrg,
  newEmail,
  newIp,
  newPassword,
  startPeople,
  type People,
  type SessionBody,
} from './support/people.js';

/**
 * Issue 5 (I1): signing in with an e-mailed code and with a password, through the HTTP API,
 * with a real SMTP server receiving the codes. Failures must all look alike (no account
 * enumeration), codes are single use, short-lived and few-guess, imported bcrypt hashes become
 * argon2id, and every step lands in the right audit chain without any credential in it.
 */

let p: People;

before(async () => {
  p = await startPeople();
});
after(() => p.close());

/** A code that is not `code`. */
const otherThan = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

function verify(email: string, code: string, ip: string) {
  return p.call({ method: 'POST', url: '/v1/auth/email/verify', payload: { email, code }, ip });
}

function passwordSignIn(email: string, password: string, ip: string, orgId?: string) {
  p.remember(password);
  return p.call({ method: 'POST', url: '/v1/auth/password', payload: { email, password, ...(orgId ? { org_id: orgId } : {}) }, ip });
}

function me(token: string) {
  return p.call({ method: 'GET', url: '/v1/me', token, ip: newIp() });
}

describe('e-mail code sign-in', () => {
  test('signs in with the code from the e-mail, and the session works on GET /v1/me', async () => {
    const email = newEmail('round-trip');
    const ip = newIp();
    const { res: started, code, mail } = await p.emailCode(email, ip);
    assert.deepEqual(started.json(), { status: 'sent', expires_in: 600 });
    assert.deepEqual(mail.to, [email]);
    assert.equal(mail.from, 'no-reply@strongroom.test');
    assert.match(mail.headers['from'] ?? '', /Strongroom <no-reply@strongroom\.test>/);
    assert.equal(mail.subject, 'Your Strongroom sign-in code');
    assert.ok(!mail.subject.includes(code), 'the subject carries no code');

    const res = await verify(email, code, ip);
    assert.equal(res.statusCode, 200, res.body);
    const session = res.json() as SessionBody;
    assert.equal(session.token_type, 'Bearer');
    assert.equal(session.org_id, null);
    assert.match(session.access_token, /^eyJ/);
    assert.match(session.refresh_token, /^sr_refresh_/);

    const who = await me(session.access_token);
    assert.equal(who.statusCode, 200, who.body);
    const body = who.json() as { user_id: string; email: string; session_id: string; mfa: { totp: boolean }; password_set: boolean };
    assert.equal(body.email, email);
    assert.equal(body.session_id, session.session_id);
    assert.deepEqual(body.mfa.totp, false);
    assert.equal(body.password_set, false);

    // Both steps are in the installation's chain: the person belongs to no org yet.
    const sent = await p.eventOf(INSTALLATION_ORG_ID, started);
    assert.equal(sent.action, 'auth.email_code.send');
    assert.equal(sent.outcome, 'success');
    const signedIn = await p.eventOf(INSTALLATION_ORG_ID, res);
    assert.equal(signedIn.action, 'auth.signin');
    assert.equal(signedIn.outcome, 'success');
    assert.deepEqual(signedIn.actor, { type: 'user', id: body.user_id });
    assert.equal(signedIn.resource.ref, `user:${body.user_id}`);
    assert.equal(signedIn.detail?.['method'], 'email_code');
  });

  test('refuses a code the second time (401 SIGN_IN_FAILED)', async () => {
    const email = newEmail('reuse');
    const ip = newIp();
    const { code } = await p.emailCode(email, ip);
    const first = await verify(email, code, ip);
    assert.equal(first.statusCode, 200, first.body);
    assertProblem(await verify(email, code, ip), 401, 'SIGN_IN_FAILED', 'the same code again');
  });

  test('refuses an expired code; a fresh one still works', async () => {
    const email = newEmail('expired');
    const ip = newIp();
    const { code } = await p.emailCode(email, ip);
    await p.t.database.superuser((c) =>
      c.query("UPDATE email_codes SET expires_at = now() - interval '1 second' WHERE email_hash = $1 AND used_at IS NULL", [emailHash(email)]),
    );
    assertProblem(await verify(email, code, ip), 401, 'SIGN_IN_FAILED', 'an expired code');
    const { code: fresh } = await p.emailCode(email, ip);
    const res = await verify(email, fresh, ip);
    assert.equal(res.statusCode, 200, res.body);
  });

  test('spends a code after five wrong guesses, even from another source', async () => {
    const email = newEmail('guessed');
    const guesser = newIp();
    const { code } = await p.emailCode(email, guesser);
    for (let i = 1; i <= 5; i++) assertProblem(await verify(email, otherThan(code), guesser), 401, 'SIGN_IN_FAILED', `wrong guess ${i}`);
    // From a source the guard has nothing against: the code itself is spent.
    assertProblem(await verify(email, code, newIp()), 401, 'SIGN_IN_FAILED', 'the right code after five wrong ones');
  });

  test('still accepts the code after four wrong guesses', async () => {
    const email = newEmail('fumbled');
    const ip = newIp();
    const { code } = await p.emailCode(email, ip);
    for (let i = 1; i <= 4; i++) assertProblem(await verify(email, otherThan(code), ip), 401, 'SIGN_IN_FAILED', `wrong guess ${i}`);
    const res = await verify(email, code, ip);
    assert.equal(res.statusCode, 200, res.body);
  });

  test('answers the same to an address with an account and to one without', async () => {
    const known = await p.signUp('known');
    const unknown = newEmail('nobody');
    // Each address gets its mail (so nothing in the answer could depend on who has an account).
    const a = await p.emailCode(known.email, newIp());
    const b = await p.emailCode(unknown, newIp());
    assert.equal(a.res.statusCode, 202, a.res.body);
    assert.deepEqual(comparable(b.res), comparable(a.res));
    assert.equal(b.mail.subject, a.mail.subject);
    // And a wrong code answers alike for both.
    const wrongKnown = await verify(known.email, otherThan(a.code), newIp());
    const wrongUnknown = await verify(unknown, otherThan(b.code), newIp());
    assertProblem(wrongKnown, 401, 'SIGN_IN_FAILED', 'known address');
    assert.deepEqual(comparable(wrongUnknown), comparable(wrongKnown));
  });

  test('records a failed code in the installation chain, with its method and no actor', async () => {
    const email = newEmail('failed-code');
    const { code } = await p.emailCode(email, newIp());
    const res = await verify(email, otherThan(code), newIp());
    assertProblem(res, 401, 'SIGN_IN_FAILED');
    const event = await p.eventOf(INSTALLATION_ORG_ID, res);
    assert.equal(event.action, 'auth.signin');
    assert.equal(event.outcome, 'failure');
    assert.equal(event.status, 401);
    assert.deepEqual(event.actor, { type: 'anonymous', id: '-' });
    assert.equal(event.detail?.['method'], 'email_code');
  });
});

describe('passwords', () => {
  test('refuses a common password and one of 7 characters, then sets a good one (password.set)', async () => {
    const person = await p.signUp('setter');
    const put = (password: string) => {
      p.remember(password);
      return p.call({ method: 'PUT', url: '/v1/me/password', payload: { password }, token: person.session.access_token, ip: newIp() });
    };
    assertProblem(await put('password123'), 400, 'VALIDATION_FAILED', 'a common password');
    assertProblem(await put('PassWord123'), 400, 'VALIDATION_FAILED', 'a common password in other case');
    assertProblem(await put('Zq8#mv2'), 400, 'VALIDATION_FAILED', '7 characters');
    assert.equal((await me(person.session.access_token)).json().password_set, false);

    const good = newPassword('setter');
    p.remember(good);
    const res = await put(good);
    assert.equal(res.statusCode, 204, res.body);
    assert.equal((await me(person.session.access_token)).json().password_set, true);
    const event = await p.eventOf(INSTALLATION_ORG_ID, res);
    assert.equal(event.action, 'password.set');
    assert.equal(event.outcome, 'success');
    assert.deepEqual(event.actor, { type: 'user', id: person.userId });
    // The stored form is argon2id, never the password.
    const [row] = await p.t.database.superuser((c) => c.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE user_id = $1', [person.userId]));
    assert.match(row?.password_hash ?? '', /^\$argon2id\$/);
  });

  test('signs in with the password (auth.signin, method password)', async () => {
    const person = await p.signUp('pw-user');
    const password = await p.setPassword(person);
    const ip = newIp();
    const res = await passwordSignIn(person.email, password, ip);
    assert.equal(res.statusCode, 200, res.body);
    const session = res.json() as SessionBody;
    assert.notEqual(session.session_id, person.session.session_id);
    const who = await me(session.access_token);
    assert.equal(who.statusCode, 200, who.body);
    assert.equal(who.json().user_id, person.userId);
    const event = await p.eventOf(INSTALLATION_ORG_ID, res);
    assert.equal(event.action, 'auth.signin');
    assert.equal(event.outcome, 'success');
    assert.deepEqual(event.actor, { type: 'user', id: person.userId });
    assert.equal(event.detail?.['method'], 'password');
    // Upper case in the address is the same account.
    const shouted = await passwordSignIn(person.email.toUpperCase(), password, ip);
    assert.equal(shouted.statusCode, 200, shouted.body);
  });

  test('answers a wrong password, an unknown account and an account without a password identically', async () => {
    const person = await p.signUp('pw-victim');
    await p.setPassword(person);
    const noPassword = await p.signUp('pw-none');
    const wrong = await passwordSignIn(person.email, newPassword('wrong'), newIp());
    const unknown = await passwordSignIn(newEmail('pw-ghost'), newPassword('ghost'), newIp());
    const without = await passwordSignIn(noPassword.email, newPassword('none'), newIp());
    assertProblem(wrong, 401, 'SIGN_IN_FAILED', 'wrong password');
    assert.deepEqual(comparable(unknown), comparable(wrong), 'unknown account');
    assert.deepEqual(comparable(without), comparable(wrong), 'account without a password');
    for (const res of [wrong, unknown, without]) {
      const event = await p.eventOf(INSTALLATION_ORG_ID, res);
      assert.equal(event.action, 'auth.signin');
      assert.equal(event.outcome, 'failure');
      assert.equal(event.detail?.['method'], 'password');
      assert.deepEqual(event.actor, { type: 'anonymous', id: '-' });
    }
  });

  test('takes over an imported bcrypt hash and stores it as argon2id on the first sign-in', async () => {
    const email = newEmail('imported');
    const password = newPassword('legacy');
    p.remember(password);
    const userId = randomUUID();
    const legacy = await bcrypt.hash(password, 4);
    await p.t.database.superuser((c) => c.query('INSERT INTO users (user_id, email, password_hash) VALUES ($1, $2, $3)', [userId, email, legacy]));
    assertProblem(await passwordSignIn(email, newPassword('not-it'), newIp()), 401, 'SIGN_IN_FAILED', 'a wrong password on a bcrypt hash');

    const stored = async () =>
      (await p.t.database.superuser((c) => c.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE user_id = $1', [userId])))[0]
        ?.password_hash ?? '';
    assert.equal(await stored(), legacy, 'a failed attempt leaves the hash alone');

    const res = await passwordSignIn(email, password, newIp());
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await me((res.json() as SessionBody).access_token)).json().user_id, userId);
    const rehashed = await stored();
    assert.match(rehashed, /^\$argon2id\$/);
    // The new hash verifies: the next sign-in works, and does not rehash again.
    const again = await passwordSignIn(email, password, newIp());
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(await stored(), rehashed);
  });

  test('opens a password session in an org only when the org allows password sign-in', async () => {
    const org = await p.t.createOrg();
    const person = await p.signUp('org-pw');
    const password = await p.setPassword(person);
    const memberId = await joinOrg(p, person, org, 'employee');

    // An e-mail code opens a session in the org.
    const byCode = await p.emailSignIn(person.email, newIp(), { orgId: org.orgId });
    assert.equal(byCode.statusCode, 200, byCode.body);
    assert.equal((byCode.json() as SessionBody).org_id, org.orgId);

    // A password does not while the org has not opted in (the default): the session has no org.
    const refused = await passwordSignIn(person.email, password, newIp(), org.orgId);
    assert.equal(refused.statusCode, 200, refused.body);
    assert.equal((refused.json() as SessionBody).org_id, null);

    const opted = await p.t.call(org.token, { method: 'PATCH', url: '/v1/org', payload: { password_sign_in: true } });
    assert.equal(opted.statusCode, 200, opted.body);
    const allowed = await passwordSignIn(person.email, password, newIp(), org.orgId);
    assert.equal(allowed.statusCode, 200, allowed.body);
    const session = allowed.json() as SessionBody;
    assert.equal(session.org_id, org.orgId);
    const who = await me(session.access_token);
    assert.equal(who.json().member_id, memberId);
    // A sign-in into an org is recorded in that org's chain.
    const event = await p.eventOf(org.orgId, allowed);
    assert.equal(event.action, 'auth.signin');
    assert.deepEqual(event.actor, { type: 'user', id: person.userId });
    assert.equal(event.detail?.['method'], 'password');
  });
});

describe('credentials stay out of logs and audit', () => {
  test('no password, code or token appears in the logs, the audit events or their personal data', async () => {
    const { leaks, scanned } = await p.findLeaks();
    assert.ok(p.credentials.size >= 30, `only ${p.credentials.size} credentials were collected`);
    assert.ok(p.shortCodes.size >= 10, `only ${p.shortCodes.size} codes were collected`);
    assert.ok(scanned.logLines >= 50, `only ${scanned.logLines} log lines`);
    assert.ok(scanned.events >= 50, `only ${scanned.events} audit events`);
    // The personal rows were read: they hold the addresses that signed in.
    assert.ok(scanned.personalText.includes('@example.com'), 'audit_personal was scanned');
    assert.deepEqual(leaks, []);
  });
});
