import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMember, createVault, putSecret, type TestOrg } from './support/app.js';
import { assertProblem, joinOrg, newEmail, newIp, newPassword, startPeople, type MfaBody, type People, type SessionBody } from './support/people.js';

/**
 * Regression tests for what the identity security review found (issue 5): the brute-force guard
 * under parallel requests and IPv6, second-factor guess limits, step-up that a stolen session or
 * a tier change could sidestep, password sessions in orgs that refuse passwords, old tokens
 * after switching orgs, personal tokens where MFA is required, and e-mail codes an attacker
 * could void.
 */

let p: People;
before(async () => {
  p = await startPeople();
});
after(() => p.close());

const password = (email: string, pw: string, ip: string, extra: Record<string, unknown> = {}) =>
  p.call({ method: 'POST', url: '/v1/auth/password', payload: { email, password: pw, ...extra }, ip });

const superuser = <T>(sql: string, params: unknown[] = []) => p.t.database.superuser((c) => c.query<T & object>(sql, params));

describe('the brute-force guard', () => {
  test('parallel wrong passwords from one source: only 5 are checked, the rest and the right one are refused', async () => {
    const person = await p.signUp('parallel');
    const pw = await p.setPassword(person);
    const ip = newIp();
    const answers = await Promise.all(Array.from({ length: 20 }, () => password(person.email, newPassword('guess'), ip)));
    const statuses = answers.map((r) => r.statusCode).sort();
    assert.equal(statuses.filter((s) => s === 401).length, 5, `answers: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 429).length, 15);
    assertProblem(await password(person.email, pw, ip), 429, 'TOO_MANY_ATTEMPTS', 'the right password from that source');
    assert.equal((await password(person.email, pw, newIp())).statusCode, 200, 'from elsewhere');
  });

  test('IPv6 sources count by /64: other addresses of the same /64 are the same source', async () => {
    const person = await p.signUp('ipv6');
    const pw = await p.setPassword(person);
    const group = () => ((Math.random() * 0xffff) | 0).toString(16);
    const prefix = `2001:db8:${group()}:${group()}`;
    for (let i = 1; i <= 5; i += 1) {
      assertProblem(await password(person.email, newPassword('v6'), `${prefix}::${i.toString(16)}`), 401, 'SIGN_IN_FAILED');
    }
    assertProblem(await password(person.email, pw, `${prefix}:0:0:0:99`), 429, 'TOO_MANY_ATTEMPTS', 'another address of the /64');
    assert.equal((await password(person.email, pw, `2001:db9:${group()}:${group()}::1`)).statusCode, 200, 'another /64');
  });

  test('a pending sign-in allows 5 second-factor guesses from anywhere, then it is ended', async () => {
    const person = await p.signUp('pending');
    const pw = await p.setPassword(person);
    const device = await p.enrolTotp(person);
    const first = await password(person.email, pw, newIp());
    const { mfa_token: mfaToken } = first.json() as MfaBody;
    p.remember(mfaToken);
    const guess = (code: string) => p.call({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: mfaToken, code }, ip: newIp() });
    const wrong = (await p.nextTotpCode(device)) === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 5; i += 1) assertProblem(await guess(wrong), 401, 'SIGN_IN_FAILED', `guess ${i}`);
    assertProblem(await guess(wrong), 429, 'TOO_MANY_ATTEMPTS', 'a sixth guess, from yet another address');
    // The pending sign-in is over: even the right code does not complete it.
    assert.notEqual((await guess(await p.nextTotpCode(device))).statusCode, 200);
  });

  test('successful second factors do not use up the limit: six step-ups in a row all pass', async () => {
    const person = await p.signUp('stepper');
    const device = await p.enrolTotp(person);
    for (const code of device.recoveryCodes.slice(0, 6)) {
      const res = await p.call({ method: 'POST', url: '/v1/auth/step-up', payload: { recovery_code: code }, token: person.session.access_token, ip: newIp() });
      assert.equal(res.statusCode, 204, res.body);
    }
  });

  test('text that is not an address is refused like an unknown account, never a 5xx, and not recorded as an address', async () => {
    const res = await password('ad\u0000min@example.com', 'whatever-it-is', newIp());
    assertProblem(res, 401, 'SIGN_IN_FAILED');
    const rows = await superuser<{ n: number }>("SELECT count(*)::int AS n FROM audit_personal WHERE email LIKE '%min@example.com%'");
    assert.equal(rows[0]?.n, 0);
  });
});

describe('e-mail codes an attacker cannot void', () => {
  test("codes asked for by someone else neither stop the owner's mail nor spend the owner's code", async () => {
    const email = newEmail('victim');
    const owner = newIp();
    const mine = await p.emailCode(email, owner);
    // An attacker asks for two more codes from other addresses and guesses wrong five times.
    for (let i = 0; i < 2; i += 1) {
      const res = await p.call({ method: 'POST', url: '/v1/auth/email/start', payload: { email }, ip: newIp() });
      assert.equal(res.statusCode, 202);
    }
    for (let i = 0; i < 5; i += 1) {
      const res = await p.call({ method: 'POST', url: '/v1/auth/email/verify', payload: { email, code: '000000' === mine.code ? '111111' : '000000' }, ip: newIp() });
      assertProblem(res, 401, 'SIGN_IN_FAILED');
    }
    const signedIn = await p.call({ method: 'POST', url: '/v1/auth/email/verify', payload: { email, code: mine.code }, ip: owner });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    // And the owner can still be sent a code from where they are.
    const again = await p.emailCode(email, owner);
    assert.match(again.code, /^\d{6}$/);
  });
});

describe('re-authentication for sign-in changes', () => {
  test('enrolling an authenticator needs a recent sign-in; confirming is not a step-up; the person is told', async () => {
    const person = await p.signUp('enrol');
    await superuser("UPDATE sessions SET created_at = now() - interval '1 hour' WHERE session_id = $1", [person.session.session_id]);
    const stale = await p.call({ method: 'POST', url: '/v1/me/mfa/totp', token: person.session.access_token, ip: newIp() });
    assertProblem(stale, 403, 'STEP_UP_REQUIRED', 'an old session');
    const fresh = await p.signUp('enrol-fresh');
    await p.enrolTotp(fresh);
    const me = await p.call({ method: 'GET', url: '/v1/me', token: fresh.session.access_token, ip: newIp() });
    assert.deepEqual(me.json().mfa, { totp: true, recent: false });
    const notice = await p.smtp.waitFor((m) => m.to.includes(fresh.email) && /sign-in settings changed/.test(m.subject));
    assert.match(notice.text, /authenticator app was added/);
  });

  test('changing a password needs the current one', async () => {
    const person = await p.signUp('change');
    const old = await p.setPassword(person);
    const next = newPassword('next');
    p.remember(next);
    const put = (payload: Record<string, unknown>) =>
      p.call({ method: 'PUT', url: '/v1/me/password', payload, token: person.session.access_token, ip: newIp() });
    assertProblem(await put({ password: next }), 400, 'VALIDATION_FAILED', 'no current password');
    assertProblem(await put({ password: next, current_password: newPassword('wrong') }), 400, 'VALIDATION_FAILED', 'a wrong one');
    assert.equal((await put({ password: next, current_password: old })).statusCode, 204);
    assert.equal((await password(person.email, next, newIp())).statusCode, 200);
    await p.smtp.waitFor((m) => m.to.includes(person.email) && /Your password was changed/.test(m.text));
  });
});

describe('orgs that refuse passwords', () => {
  let org: TestOrg;
  before(async () => {
    org = await p.t.createOrg();
  });

  test('a password sign-in cannot enter such an org, even after enrolling an authenticator of its own', async () => {
    const person = await p.signUp('pw-only');
    const pw = await p.setPassword(person);
    // Made a member of the org (by its root token) through an invitation.
    await joinOrg(p, person, org, 'admin');
    const signedIn = (await password(person.email, pw, newIp())).json() as SessionBody;
    assert.equal(signedIn.org_id, null, 'the org does not take password sign-ins');
    p.remember(signedIn.access_token, signedIn.refresh_token);
    const attacker: typeof person = { ...person, session: signedIn };
    await p.enrolTotp(attacker);
    const sw = await p.call({ method: 'POST', url: '/v1/auth/switch', payload: { org_id: org.orgId }, token: signedIn.access_token, ip: newIp() });
    assertProblem(sw, 403, 'STEP_UP_REQUIRED', 'switching a password session in');
  });
});

describe('step-up cannot be sidestepped', () => {
  let org: TestOrg;
  let vaultId: string;
  before(async () => {
    org = await p.t.createOrg();
    vaultId = await createVault(p.t, org);
    await putSecret(p.t, org, vaultId, 'db/root', { value: 'the-root-password', tier: 'P0' });
  });

  test('a person without a recent second factor cannot lower a P0 secret to read it; leaving the tier out keeps it', async () => {
    const admin = await createMember(p.t, org, 'admin');
    const url = `/v1/vaults/${vaultId}/secrets/db/root`;
    const plain = await createMember(p.t, org, 'admin');
    await superuser('UPDATE sessions SET mfa_at = NULL WHERE session_id = $1', [plain.sessionId]);
    assertProblem(await p.t.call(plain.token, { method: 'GET', url }), 403, 'STEP_UP_REQUIRED', 'reading P0');
    assertProblem(
      await p.t.call(plain.token, { method: 'PUT', url, payload: { value: 'x', tier: 'P2' } }),
      403,
      'STEP_UP_REQUIRED',
      'lowering the tier',
    );
    const kept = await p.t.call(plain.token, { method: 'PUT', url, payload: { value: 'rotated-root-password' } });
    assert.equal(kept.statusCode, 200, kept.body);
    assert.equal(kept.json().tier, 'P0', 'a write without a tier keeps it');
    assertProblem(await p.t.call(plain.token, { method: 'GET', url: `${url}?version=1` }), 403, 'STEP_UP_REQUIRED', 'an old version');
    // With a recent second factor both work.
    const lowered = await p.t.call(admin.token, { method: 'PUT', url, payload: { value: 'now-p1', tier: 'P1' } });
    assert.equal(lowered.statusCode, 200, lowered.body);
  });

  test('inviting someone into an administering role is a step-up operation; an employee is not', async () => {
    const inviter = await createMember(p.t, org, 'admin');
    await superuser('UPDATE sessions SET mfa_at = NULL WHERE session_id = $1', [inviter.sessionId]);
    const invite = (role: string) => p.t.call(inviter.token, { method: 'POST', url: '/v1/invitations', payload: { email: newEmail('invitee'), role } });
    assertProblem(await invite('admin'), 403, 'STEP_UP_REQUIRED', 'an admin');
    assert.equal((await invite('employee')).statusCode, 201);
  });

  test('a personal token handed out when a member was added stops working once the org requires MFA', async () => {
    const member = await createMember(p.t, org, 'employee');
    p.remember(member.personalToken);
    assert.equal((await p.t.call(member.personalToken, { method: 'GET', url: '/v1/vaults' })).statusCode, 200);
    const minted = await p.t.call(member.token, { method: 'POST', url: '/v1/tokens', payload: { description: 'script' } });
    assert.equal(minted.statusCode, 201, minted.body);
    const mintedToken = (minted.json() as { token: string }).token;
    p.remember(mintedToken);
    assert.equal((await p.t.call(org.token, { method: 'PATCH', url: '/v1/org', payload: { require_mfa: true } })).statusCode, 200);
    try {
      assertProblem(await p.t.call(member.personalToken, { method: 'GET', url: '/v1/vaults' }), 401, 'UNAUTHENTICATED');
      assert.equal((await p.t.call(mintedToken, { method: 'GET', url: '/v1/vaults' })).statusCode, 200, 'minted after a second factor');
    } finally {
      await p.t.call(org.token, { method: 'PATCH', url: '/v1/org', payload: { require_mfa: false } });
    }
  });
});

describe('switching orgs', () => {
  test('tokens from before a switch stop working, even after switching back', async () => {
    const a = await p.t.createOrg();
    const b = await p.t.createOrg();
    const person = await p.signUp('switcher');
    await joinOrg(p, person, a, 'employee');
    await joinOrg(p, person, b, 'employee');
    const sw = async (token: string, orgId: string) => {
      const res = await p.call({ method: 'POST', url: '/v1/auth/switch', payload: { org_id: orgId }, token, ip: newIp() });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as SessionBody;
      p.remember(body.access_token, body.refresh_token);
      return body;
    };
    const inA = await sw(person.session.access_token, a.orgId);
    const inB = await sw(inA.access_token, b.orgId);
    const backInA = await sw(inB.access_token, a.orgId);
    assertProblem(await p.call({ method: 'GET', url: '/v1/vaults', token: inA.access_token, ip: newIp() }), 401, 'UNAUTHENTICATED', 'the first A token');
    assertProblem(await p.call({ method: 'GET', url: '/v1/vaults', token: inB.access_token, ip: newIp() }), 401, 'UNAUTHENTICATED', 'the B token');
    assert.equal((await p.call({ method: 'GET', url: '/v1/vaults', token: backInA.access_token, ip: newIp() })).statusCode, 200);
  });
});

describe("an admin's decisions stick", () => {
  test('sessions an admin ended in an org do not come back by switching a live session from another org', async () => {
    const a = await p.t.createOrg();
    const b = await p.t.createOrg();
    const person = await p.signUp('ended');
    const memberInA = await joinOrg(p, person, a, 'employee');
    await joinOrg(p, person, b, 'employee');
    const sw = (token: string, orgId: string) => p.call({ method: 'POST', url: '/v1/auth/switch', payload: { org_id: orgId }, token, ip: newIp() });
    const inA = (await sw(person.session.access_token, a.orgId)).json() as SessionBody;
    // A second session of the same person, parked in org B.
    const second = await p.emailSignIn(person.email, newIp(), { orgId: b.orgId });
    const inB = second.json() as SessionBody;
    assert.equal(inB.org_id, b.orgId);
    const ended = await p.t.call(a.token, { method: 'POST', url: `/v1/members/${memberInA}/sessions/revoke` });
    assert.equal(ended.statusCode, 200, ended.body);
    assertProblem(await p.call({ method: 'GET', url: '/v1/vaults', token: inA.access_token, ip: newIp() }), 401, 'UNAUTHENTICATED');
    assertProblem(await sw(inB.access_token, a.orgId), 404, 'NOT_FOUND', 'switching the B session into A');
    assert.equal((await p.call({ method: 'GET', url: '/v1/vaults', token: inB.access_token, ip: newIp() })).statusCode, 200, 'B is untouched');
    // Signing in afresh enters A again.
    const fresh = (await p.emailSignIn(person.email, newIp(), { orgId: a.orgId })).json() as SessionBody;
    assert.equal(fresh.org_id, a.orgId);
    assert.equal((await p.call({ method: 'GET', url: '/v1/vaults', token: fresh.access_token, ip: newIp() })).statusCode, 200);
  });

  test("a removed member's pending invitations stop working", async () => {
    const org = await p.t.createOrg();
    const inviter = await createMember(p.t, org, 'admin');
    const sent = await p.t.call(inviter.token, { method: 'POST', url: '/v1/invitations', payload: { email: newEmail('invited'), role: 'employee' } });
    assert.equal(sent.statusCode, 201, sent.body);
    const { id } = sent.json() as { id: string };
    assert.equal((await p.t.call(org.token, { method: 'DELETE', url: `/v1/members/${inviter.id}` })).statusCode, 204);
    const listed = (await p.t.call(org.token, { method: 'GET', url: '/v1/invitations' })).json() as { invitations: { id: string; status: string }[] };
    assert.equal(listed.invitations.find((i) => i.id === id)?.status, 'revoked');
  });
});

describe('credentials stay out of logs and audit', () => {
  test('no credential of these flows leaks', async () => {
    const { leaks } = await p.findLeaks();
    assert.deepEqual(leaks, []);
  });
});
