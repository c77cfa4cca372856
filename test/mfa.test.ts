import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { base32Decode, totpCode } from '../src/identity/totp.js';
import { createAgent, createVault } from './support/app.js';
import {
  INSTALLATION_ORG_ID,
  assertProblem,
  joinOrg,
  newIp,
  startPeople,
  wrongTotpCode,
  type MfaBody,
  type People,
  type Person,
  type SessionBody,
} from './support/people.js';

/**
 * Issue 5 (I3): a second factor. TOTP enrolment through the API with codes computed as an
 * authenticator app would; sign-in then stops at `mfa_required` until a TOTP or recovery code,
 * each good once; sensitive operations answer STEP_UP_REQUIRED (403) until a fresh second factor
 * is shown at POST /v1/auth/step-up.
 */

let p: People;

before(async () => {
  p = await startPeople();
});
after(() => p.close());

const RECOVERY_CODE = /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/;

function me(token: string) {
  return p.call({ method: 'GET', url: '/v1/me', token, ip: newIp() });
}

function stepUp(person: Person, body: { code: string } | { recovery_code: string }, token = person.session.access_token) {
  return p.call({ method: 'POST', url: '/v1/auth/step-up', payload: body, token, ip: newIp() });
}

/**
 * A first factor that must stop at the second: the password when the person has one (an address
 * is sent only a few codes per window), an e-mailed code otherwise. Answers the MFA token.
 */
async function firstFactor(person: Person, ip = newIp(), orgId?: string): Promise<string> {
  const org = orgId ? { org_id: orgId } : {};
  const res =
    person.password === undefined
      ? await p.emailSignIn(person.email, ip, orgId ? { orgId } : {})
      : await p.call({ method: 'POST', url: '/v1/auth/password', payload: { email: person.email, password: person.password, ...org }, ip });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as MfaBody | SessionBody;
  assert.ok('mfa_required' in body, `a second factor is asked for: ${res.body}`);
  assert.equal(body.mfa_required, true);
  assert.match(body.mfa_token, /^sr_mfa_/);
  assert.deepEqual(body.methods, ['totp', 'recovery_code']);
  assert.ok(!('access_token' in body) && !('refresh_token' in body), 'no tokens before the second factor');
  return body.mfa_token;
}

function mfa(mfaToken: string, body: { code: string } | { recovery_code: string }, ip = newIp()) {
  return p.call({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: mfaToken, ...body }, ip });
}

describe('TOTP', () => {
  let ada: Person;
  /** The TOTP code that completed ada's sign-in. */
  let signInCode: string;

  test('enrols an authenticator: a wrong first code is refused, the right one answers ten recovery codes', async () => {
    ada = await p.signUp('ada');
    // Before a second factor exists, setting a password needs no step-up.
    await p.setPassword(ada);
    const token = ada.session.access_token;
    const enrol = await p.call({ method: 'POST', url: '/v1/me/mfa/totp', token, ip: newIp() });
    assert.equal(enrol.statusCode, 201, enrol.body);
    const { secret, otpauth_uri } = enrol.json() as { secret: string; otpauth_uri: string };
    p.remember(secret);
    assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits, base32');
    assert.match(otpauth_uri, /^otpauth:\/\/totp\/.*[?&]issuer=Strongroom(&|$)/);
    const enrolled = await p.eventOf(INSTALLATION_ORG_ID, enrol);
    assert.equal(enrolled.action, 'mfa.totp.enrol');
    assert.equal(enrolled.outcome, 'success');
    assert.deepEqual(enrolled.actor, { type: 'user', id: ada.userId });

    // Not enrolled until confirmed: a sign-in does not ask for it yet.
    assert.equal((await me(token)).json().mfa.totp, false);
    const device = { secret: base32Decode(secret), secretText: secret, lastStep: null, recoveryCodes: [] as string[] };
    const wrong = await p.call({ method: 'POST', url: '/v1/me/mfa/totp/confirm', payload: { code: wrongTotpCode(device.secret) }, token, ip: newIp() });
    assertProblem(wrong, 400, 'VALIDATION_FAILED', 'a wrong first code');
    assert.equal((await me(token)).json().mfa.totp, false);

    const confirm = await p.call({ method: 'POST', url: '/v1/me/mfa/totp/confirm', payload: { code: await p.nextTotpCode(device) }, token, ip: newIp() });
    assert.equal(confirm.statusCode, 200, confirm.body);
    const codes = (confirm.json() as { recovery_codes: string[] }).recovery_codes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, RECOVERY_CODE);
    device.recoveryCodes = codes;
    ada.totp = device;
    assert.equal((await me(token)).json().mfa.totp, true);
    const confirmed = await p.eventOf(INSTALLATION_ORG_ID, confirm);
    assert.equal(confirmed.action, 'mfa.totp.confirm');
    assert.equal(confirmed.outcome, 'success');
    assert.deepEqual(confirmed.actor, { type: 'user', id: ada.userId });

    // Stored wrapped, and the recovery codes only as hashes.
    const stored = await p.t.database.superuser(async (c) => ({
      totp: await c.query<{ wrapped_secret: Uint8Array; confirmed_at: Date | null }>('SELECT wrapped_secret, confirmed_at FROM mfa_totp WHERE user_id = $1', [ada.userId]),
      recovery: await c.query<{ code_hash: Uint8Array }>('SELECT code_hash FROM recovery_codes WHERE user_id = $1', [ada.userId]),
    }));
    assert.equal(stored.totp.length, 1);
    assert.notEqual(stored.totp[0]?.confirmed_at, null);
    assert.equal(Buffer.from(stored.totp[0]?.wrapped_secret ?? []).indexOf(Buffer.from(device.secret)), -1, 'the secret is not stored in clear');
    assert.equal(stored.recovery.length, 10);
    for (const r of stored.recovery) assert.equal(Buffer.from(r.code_hash).length, 32);
  });

  test('a sign-in then stops at mfa_required; a wrong code is refused and the right one opens the session', async () => {
    const device = ada.totp as NonNullable<Person['totp']>;
    const mfaToken = await firstFactor(ada);
    // The MFA token is no access token.
    assertProblem(await me(mfaToken), 401, 'UNAUTHENTICATED', 'the MFA token on /v1/me');

    const wrong = await mfa(mfaToken, { code: wrongTotpCode(device.secret) });
    assertProblem(wrong, 401, 'SIGN_IN_FAILED', 'a wrong TOTP code');
    const failedEvent = await p.eventOf(INSTALLATION_ORG_ID, wrong);
    assert.equal(failedEvent.action, 'auth.mfa.verify');
    assert.equal(failedEvent.outcome, 'failure');
    assert.equal(failedEvent.detail?.['method'], 'totp');
    // The person is known from the first factor: the failure names them.
    assert.deepEqual(failedEvent.actor, { type: 'user', id: ada.userId });

    signInCode = await p.nextTotpCode(device);
    const res = await mfa(mfaToken, { code: signInCode });
    assert.equal(res.statusCode, 200, res.body);
    const session = res.json() as SessionBody;
    ada.session = session;
    const who = await me(session.access_token);
    assert.equal(who.statusCode, 200, who.body);
    assert.deepEqual(who.json().mfa, { totp: true, recent: true });
    const event = await p.eventOf(INSTALLATION_ORG_ID, res);
    assert.equal(event.action, 'auth.mfa.verify');
    assert.equal(event.outcome, 'success');
    assert.deepEqual(event.actor, { type: 'user', id: ada.userId });
    assert.equal(event.detail?.['method'], 'totp');

    // The MFA token is spent: refused even with the code the authenticator shows next (left unused).
    const unused = totpCode(device.secret, (device.lastStep as number) + 1);
    p.rememberCode(unused);
    assertProblem(await mfa(mfaToken, { code: unused }), 401, 'SIGN_IN_FAILED', 'the MFA token again');
  });

  test('refuses a TOTP code the second time, whatever it was first used for', async () => {
    const device = ada.totp as NonNullable<Person['totp']>;
    // The code that completed the sign-in cannot also confirm a step-up…
    assertProblem(await stepUp(ada, { code: signInCode }), 401, 'SIGN_IN_FAILED', 'the sign-in code for a step-up');
    // …while a fresh one does, once.
    const fresh = await p.nextTotpCode(device);
    const first = await stepUp(ada, { code: fresh });
    assert.equal(first.statusCode, 204, first.body);
    const stepped = await p.eventOf(INSTALLATION_ORG_ID, first);
    assert.equal(stepped.action, 'auth.step_up');
    assert.equal(stepped.outcome, 'success');
    assert.deepEqual(stepped.actor, { type: 'user', id: ada.userId });
    assert.equal(stepped.detail?.['method'], 'totp');
    assertProblem(await stepUp(ada, { code: fresh }), 401, 'SIGN_IN_FAILED', 'the same step-up code again');
    // Nor for a sign-in: a code is spent for the account, not for one route.
    const mfaToken = await firstFactor(ada);
    assertProblem(await mfa(mfaToken, { code: fresh }), 401, 'SIGN_IN_FAILED', 'the step-up code at sign-in');
  });

  test('a recovery code signs in once and not twice; a wrong one is refused', async () => {
    const device = ada.totp as NonNullable<Person['totp']>;
    const [code, other] = device.recoveryCodes as [string, string];
    const wrong = await mfa(await firstFactor(ada), { recovery_code: 'aaaa-bbbb-cccc-dddd' });
    assertProblem(wrong, 401, 'SIGN_IN_FAILED', 'a wrong recovery code');
    assert.equal((await p.eventOf(INSTALLATION_ORG_ID, wrong)).detail?.['method'], 'recovery_code');

    const res = await mfa(await firstFactor(ada), { recovery_code: code.toUpperCase().replace(/-/g, ' ') });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await me((res.json() as SessionBody).access_token)).statusCode, 200);
    const event = await p.eventOf(INSTALLATION_ORG_ID, res);
    assert.equal(event.action, 'auth.mfa.verify');
    assert.equal(event.detail?.['method'], 'recovery_code');
    assert.deepEqual(event.actor, { type: 'user', id: ada.userId });

    assertProblem(await mfa(await firstFactor(ada), { recovery_code: code }), 401, 'SIGN_IN_FAILED', 'the used recovery code');
    const another = await mfa(await firstFactor(ada), { recovery_code: other });
    assert.equal(another.statusCode, 200, another.body);
  });
});

describe('step-up', () => {
  test('removing the authenticator, replacing recovery codes and changing the password need a recent second factor', async () => {
    const grace = await p.signUp('grace');
    await p.setPassword(grace);
    const device = await p.enrolTotp(grace);
    const token = grace.session.access_token;
    // Confirming an enrolment is not a second-factor check (whoever holds a session could enrol
    // their own device): the session has no recent second factor yet.
    assert.equal((await me(token)).json().mfa.recent, false);
    await p.ageMfa(grace.session.session_id);
    assert.equal((await me(token)).json().mfa.recent, false);

    const removeTotp = () => p.call({ method: 'DELETE', url: '/v1/me/mfa/totp', token, ip: newIp() });
    const regenerate = () => p.call({ method: 'POST', url: '/v1/me/mfa/recovery-codes', token, ip: newIp() });
    const refusedRemove = await removeTotp();
    assertProblem(refusedRemove, 403, 'STEP_UP_REQUIRED', 'DELETE /v1/me/mfa/totp');
    assertProblem(await regenerate(), 403, 'STEP_UP_REQUIRED', 'POST /v1/me/mfa/recovery-codes');
    const password = 'a-Fresh-Passphrase-42';
    p.remember(password);
    assertProblem(
      await p.call({ method: 'PUT', url: '/v1/me/password', payload: { password }, token, ip: newIp() }),
      403,
      'STEP_UP_REQUIRED',
      'PUT /v1/me/password with TOTP enrolled',
    );
    const refusal = await p.eventOf(INSTALLATION_ORG_ID, refusedRemove);
    assert.equal(refusal.action, 'mfa.totp.remove');
    assert.equal(refusal.outcome, 'failure');
    assert.equal(refusal.status, 403);

    const failedStepUp = await stepUp(grace, { code: wrongTotpCode(device.secret) });
    assertProblem(failedStepUp, 401, 'SIGN_IN_FAILED', 'step-up with a wrong code');
    const failedEvent = await p.eventOf(INSTALLATION_ORG_ID, failedStepUp);
    assert.equal(failedEvent.action, 'auth.step_up');
    assert.equal(failedEvent.outcome, 'failure');
    assert.equal(failedEvent.detail?.['method'], 'totp');
    assert.deepEqual(failedEvent.actor, { type: 'user', id: grace.userId });
    assertProblem(await regenerate(), 403, 'STEP_UP_REQUIRED', 'still refused after a failed step-up');

    const stepped = await stepUp(grace, { code: await p.nextTotpCode(device) });
    assert.equal(stepped.statusCode, 204, stepped.body);
    assert.equal((await me(token)).json().mfa.recent, true);

    const regenerated = await regenerate();
    assert.equal(regenerated.statusCode, 200, regenerated.body);
    const fresh = (regenerated.json() as { recovery_codes: string[] }).recovery_codes;
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((c) => device.recoveryCodes.includes(c)).length, 0);
    // The old codes stopped working; the new ones work.
    assertProblem(await mfa(await firstFactor(grace), { recovery_code: device.recoveryCodes[0] as string }), 401, 'SIGN_IN_FAILED', 'a replaced recovery code');
    const withNew = await mfa(await firstFactor(grace), { recovery_code: fresh[0] as string });
    assert.equal(withNew.statusCode, 200, withNew.body);

    const removed = await removeTotp();
    assert.equal(removed.statusCode, 204, removed.body);
    assert.equal((await me(token)).json().mfa.totp, false);
    // Without a second factor, a sign-in opens a session at once.
    const plain = await p.emailSignIn(grace.email, newIp());
    assert.equal(plain.statusCode, 200, plain.body);
    assert.ok('access_token' in (plain.json() as SessionBody | MfaBody), plain.body);
  });

  test('a signed-in org admin changing a policy needs a recent second factor', async () => {
    const org = await p.t.createOrg();
    const vaultId = await createVault(p.t, org);
    const agent = await createAgent(p.t, org);
    const lin = await p.signUp('lin');
    const device = await p.enrolTotp(lin);
    await joinOrg(p, lin, org, 'admin');

    // Signed in to the org, second factor by recovery code (keeps TOTP steps for the step-up).
    const res = await mfa(await firstFactor(lin, newIp(), org.orgId), { recovery_code: device.recoveryCodes[0] as string });
    assert.equal(res.statusCode, 200, res.body);
    const session = res.json() as SessionBody;
    assert.equal(session.org_id, org.orgId);
    lin.session = session;
    await p.ageMfa(session.session_id);

    const policy = { principal_type: 'agent', principal_id: agent.id, secret_path_pattern: '/ci/*', permissions: ['read'] };
    const create = () => p.call({ method: 'POST', url: `/v1/vaults/${vaultId}/policies`, payload: policy, token: session.access_token, ip: newIp() });
    // The admin may read the org's policies (the session works on org routes)…
    const list = await p.call({ method: 'GET', url: `/v1/vaults/${vaultId}/policies`, token: session.access_token, ip: newIp() });
    assert.equal(list.statusCode, 200, list.body);
    // …but not change them without a recent second factor.
    const refused = await create();
    assertProblem(refused, 403, 'STEP_UP_REQUIRED', 'creating a policy without a recent second factor');
    const refusal = await p.eventOf(org.orgId, refused);
    assert.equal(refusal.outcome, 'failure');
    assert.equal(refusal.actor.type, 'user');

    const stepped = await stepUp(lin, { code: await p.nextTotpCode(device) });
    assert.equal(stepped.statusCode, 204, stepped.body);
    // A step-up in an org's session is recorded in that org's chain.
    const event = await p.eventOf(org.orgId, stepped);
    assert.equal(event.action, 'auth.step_up');
    assert.deepEqual(event.actor, { type: 'user', id: lin.userId });
    const created = await create();
    assert.equal(created.statusCode, 201, created.body);
  });
});

describe('credentials stay out of logs and audit', () => {
  test('no TOTP secret or code, recovery code, code or token appears in the logs, the audit events or their personal data', async () => {
    const { leaks, scanned } = await p.findLeaks();
    assert.ok(p.credentials.size >= 40, `only ${p.credentials.size} credentials were collected`);
    assert.ok(p.shortCodes.size >= 10, `only ${p.shortCodes.size} codes were collected`);
    assert.ok(scanned.logLines >= 50, `only ${scanned.logLines} log lines`);
    assert.ok(scanned.events >= 50, `only ${scanned.events} audit events`);
    assert.ok(scanned.personalText.includes('@example.com'), 'audit_personal was scanned');
    assert.deepEqual(leaks, []);
  });
});
