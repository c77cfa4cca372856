import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import {
  INSTALLATION_ORG_ID,
  assertProblem,
  comparable,
  newEmail,
  newIp,
  newPassword,
  startPeople,
  type ChainEvent,
  type MfaBody,
  type People,
  type SessionBody,
} from './support/people.js';
import type { ReceivedMail } from './support/smtp.js';

/**
 * Issue 5 (I2), the acceptance test of the brute-force guard, with its default limits (5 failures
 * per source and account in 15 minutes): the source that failed is refused — even with the right
 * password — while the owner signs in from anywhere else and is told by e-mail, in words that do
 * not claim the account is locked. Unknown accounts behave exactly like known ones. One source
 * spraying many accounts is stopped by the per-IP limit.
 */

const WARNING_SUBJECT = 'Failed sign-in attempts on your account';
const WINDOW_SECONDS = 15 * 60;

let p: People;

before(async () => {
  // Default guard; only the per-account slowdown is shortened (it starts after 10 failures anyway).
  p = await startPeople();
});
after(() => p.close());

function passwordSignIn(people: People, email: string, password: string, ip: string): Promise<LightMyRequestResponse> {
  people.remember(password);
  return people.call({ method: 'POST', url: '/v1/auth/password', payload: { email, password }, ip });
}

/** The 429 of a locked-out source, with a Retry-After within the window. */
function assertLockedOut(res: LightMyRequestResponse, what: string): void {
  assertProblem(res, 429, 'TOO_MANY_ATTEMPTS', what);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `${what}: Retry-After ${String(res.headers['retry-after'])}`);
}

/** A 429 without what legitimately differs between two of them (request id, seconds left). */
function lockoutShape(res: LightMyRequestResponse): unknown {
  const { requestId: _r, retry_after_seconds: _s, ...rest } = res.json() as Record<string, unknown>;
  return { status: res.statusCode, type: res.headers['content-type'], body: rest };
}

async function lockoutEvents(afterSeq: number): Promise<ChainEvent[]> {
  return (await p.events(INSTALLATION_ORG_ID, afterSeq)).filter((e) => e.action === 'auth.lockout');
}

async function personalIpOf(event: ChainEvent): Promise<string | null> {
  const [row] = await p.t.database.superuser((c) =>
    c.query<{ ip: string | null }>('SELECT ip FROM audit_personal WHERE org_id = $1 AND seq = $2', [INSTALLATION_ORG_ID, event.seq]),
  );
  return row?.ip ?? null;
}

function assertHonestWarning(mail: ReceivedMail, sourceIp: string): void {
  assert.equal(mail.subject, WARNING_SUBJECT);
  assert.ok(mail.text.includes(sourceIp), `the warning names the source: ${mail.text}`);
  assert.match(mail.text, /5 times/);
  assert.match(mail.text, /You can still sign in/);
  // The source is blocked, not the account: the text must not say otherwise.
  assert.doesNotMatch(mail.text, /\block(ed|out)?\b/i, mail.text);
  assert.doesNotMatch(mail.subject, /\block(ed|out)?\b/i);
}

describe('lockout (acceptance)', () => {
  test('five wrong passwords lock that source out even with the right one; the owner signs in from elsewhere and is warned', async () => {
    const owner = await p.signUp('owner');
    const password = await p.setPassword(owner);
    const attacker = newIp();
    const elsewhere = newIp();
    const before = await p.lastSeq(INSTALLATION_ORG_ID);

    for (let i = 1; i <= 5; i++) {
      assertProblem(await passwordSignIn(p, owner.email, newPassword(`guess${i}`), attacker), 401, 'SIGN_IN_FAILED', `wrong password ${i}`);
    }
    const sixth = await passwordSignIn(p, owner.email, password, attacker);
    assertLockedOut(sixth, 'the right password from the locked-out source');
    const refusal = await p.eventOf(INSTALLATION_ORG_ID, sixth);
    assert.equal(refusal.action, 'auth.signin');
    assert.equal(refusal.status, 429);

    const ok = await passwordSignIn(p, owner.email, password, elsewhere);
    assert.equal(ok.statusCode, 200, `the owner from another source: ${ok.body}`);
    const session = ok.json() as SessionBody;
    const me = await p.call({ method: 'GET', url: '/v1/me', token: session.access_token, ip: elsewhere });
    assert.equal(me.json().user_id, owner.userId);
    // The owner's success elsewhere does not unlock the attacker's source.
    assertLockedOut(await passwordSignIn(p, owner.email, password, attacker), 'the locked-out source after the owner signed in');

    const warning = await p.smtp.waitFor((m) => m.to.includes(owner.email) && m.subject === WARNING_SUBJECT);
    assert.deepEqual(warning.to, [owner.email]);
    assertHonestWarning(warning, attacker);

    const lockouts = await lockoutEvents(before);
    assert.equal(lockouts.length, 1, JSON.stringify(lockouts));
    const lockout = lockouts[0] as ChainEvent;
    assert.equal(lockout.outcome, 'failure');
    assert.equal(lockout.resource.ref, `user:${owner.userId}`);
    assert.equal(lockout.detail?.['failures'], 5);
    assert.deepEqual(lockout.actor, { type: 'anonymous', id: '-' });
    assert.equal(await personalIpOf(lockout), attacker);
  });

  test('with a second factor enrolled, the owner signing in from elsewhere still needs it', async () => {
    const owner = await p.signUp('mfa-owner');
    const password = await p.setPassword(owner);
    const device = await p.enrolTotp(owner);
    const attacker = newIp();
    for (let i = 1; i <= 5; i++) {
      assertProblem(await passwordSignIn(p, owner.email, newPassword(`guess${i}`), attacker), 401, 'SIGN_IN_FAILED', `wrong password ${i}`);
    }
    assertLockedOut(await passwordSignIn(p, owner.email, password, attacker), 'the right password from the locked-out source');

    const elsewhere = newIp();
    const first = await passwordSignIn(p, owner.email, password, elsewhere);
    assert.equal(first.statusCode, 200, first.body);
    const pending = first.json() as MfaBody | SessionBody;
    assert.ok('mfa_required' in pending && pending.mfa_required, `a second factor is asked for: ${first.body}`);
    const second = await p.completeMfa(pending.mfa_token, device, elsewhere);
    assert.equal(second.statusCode, 200, second.body);
    const session = second.json() as SessionBody;
    assert.equal((await p.call({ method: 'GET', url: '/v1/me', token: session.access_token, ip: elsewhere })).json().user_id, owner.userId);

    assertHonestWarning(await p.smtp.waitFor((m) => m.to.includes(owner.email) && m.subject === WARNING_SUBJECT), attacker);
  });

  test('an unknown account locks the same way, with the same answers, and nobody is mailed', async () => {
    const known = await p.signUp('known');
    await p.setPassword(known);
    const ghost = newEmail('ghost');
    const fromKnown = newIp();
    const fromGhost = newIp();
    const before = await p.lastSeq(INSTALLATION_ORG_ID);

    for (let i = 1; i <= 5; i++) {
      const a = await passwordSignIn(p, known.email, newPassword(`k${i}`), fromKnown);
      const b = await passwordSignIn(p, ghost, newPassword(`g${i}`), fromGhost);
      assertProblem(a, 401, 'SIGN_IN_FAILED', `known account, attempt ${i}`);
      assert.deepEqual(comparable(b), comparable(a), `attempt ${i}`);
    }
    const lockedKnown = await passwordSignIn(p, known.email, newPassword('k6'), fromKnown);
    const lockedGhost = await passwordSignIn(p, ghost, newPassword('g6'), fromGhost);
    assertLockedOut(lockedKnown, 'known account, attempt 6');
    assertLockedOut(lockedGhost, 'unknown account, attempt 6');
    assert.deepEqual(lockoutShape(lockedGhost), lockoutShape(lockedKnown));

    const lockouts = await lockoutEvents(before);
    assert.deepEqual(lockouts.map((e) => e.resource.ref).sort(), [`user:${known.userId}`, 'user:(unknown)'].sort());

    // The known owner is warned; the address without an account is not written to.
    await p.smtp.waitFor((m) => m.to.includes(known.email) && m.subject === WARNING_SUBJECT);
    assert.deepEqual(p.smtp.messages.filter((m) => m.to.includes(ghost)), []);
  });

  test('wrong e-mail codes lock a source out too; the owner signs in by code from elsewhere', async () => {
    const owner = await p.signUp('code-owner');
    const attacker = newIp();
    const { code } = await p.emailCode(owner.email, newIp());
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 1; i <= 5; i++) {
      const res = await p.call({ method: 'POST', url: '/v1/auth/email/verify', payload: { email: owner.email, code: wrong }, ip: attacker });
      assertProblem(res, 401, 'SIGN_IN_FAILED', `wrong code ${i}`);
    }
    const { code: fresh } = await p.emailCode(owner.email, newIp());
    const sixth = await p.call({ method: 'POST', url: '/v1/auth/email/verify', payload: { email: owner.email, code: fresh }, ip: attacker });
    assertLockedOut(sixth, 'the right code from the locked-out source');
    // The refused attempt did not spend the code: the owner uses it from elsewhere.
    const ok = await p.call({ method: 'POST', url: '/v1/auth/email/verify', payload: { email: owner.email, code: fresh }, ip: newIp() });
    assert.equal(ok.statusCode, 200, ok.body);
    assertHonestWarning(await p.smtp.waitFor((m) => m.to.includes(owner.email) && m.subject === WARNING_SUBJECT), attacker);
  });
});

describe('per-IP limit across accounts', () => {
  let q: People;

  before(async () => {
    q = await startPeople({ guard: { ipMaxFailures: 4 } });
  });
  after(() => q.close());

  test('one source failing on many accounts is refused on the next, which still signs in from elsewhere', async () => {
    const target = await q.signUp('sprayed');
    const password = await q.setPassword(target);
    const others = [await q.signUp('other1'), await q.signUp('other2')];
    for (const o of others) await q.setPassword(o);
    const sprayer = newIp();
    const accounts = [others[0]?.email, others[1]?.email, newEmail('nobody1'), newEmail('nobody2')] as string[];
    for (const email of accounts) {
      assertProblem(await passwordSignIn(q, email, newPassword('spray'), sprayer), 401, 'SIGN_IN_FAILED', `one wrong password for ${email}`);
    }
    // One failure per account only, yet the source is done: even the right password is refused.
    const refused = await passwordSignIn(q, target.email, password, sprayer);
    assertProblem(refused, 429, 'TOO_MANY_ATTEMPTS', 'a fifth account from the spraying source');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const elsewhere = await passwordSignIn(q, target.email, password, newIp());
    assert.equal(elsewhere.statusCode, 200, elsewhere.body);
    // Below the per-source threshold on every account: nobody was warned of a lockout.
    assert.equal((await q.events(INSTALLATION_ORG_ID)).filter((e) => e.action === 'auth.lockout').length, 0);
  });

  test('no credential of these attempts reaches the logs or the audit tables', async () => {
    const { leaks, scanned } = await q.findLeaks();
    assert.ok(q.credentials.size >= 10 && scanned.events >= 10 && scanned.logLines >= 10);
    assert.deepEqual(leaks, []);
  });
});

describe('the agent-token exchange is guarded like sign-in', () => {
  test('a source failing 5 times for one agent is refused even with the right key; the agent still gets tokens from elsewhere', async () => {
    const org = await p.t.createOrg();
    const created = await p.t.call(org.token, { method: 'POST', url: '/v1/agents', payload: { name: 'guarded-bot' } });
    assert.equal(created.statusCode, 201, created.body);
    const { agent, api_key: apiKey } = created.json() as { agent: { id: string }; api_key: string };
    p.remember(apiKey);
    // A key of the right shape for the org and agent, with the wrong random part.
    const wrongKey = `${apiKey.slice(0, -8)}${apiKey.endsWith('AAAAAAAA') ? 'BBBBBBBB' : 'AAAAAAAA'}`;
    const exchange = (key: string, ip: string) =>
      p.t.app.inject({ method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: agent.id, api_key: key }, remoteAddress: ip });
    const attacker = newIp();
    for (let i = 1; i <= 5; i += 1) assertProblem(await exchange(wrongKey, attacker), 401, 'UNAUTHENTICATED', `wrong key ${i}`);
    const refused = await exchange(apiKey, attacker);
    assertProblem(refused, 429, 'TOO_MANY_ATTEMPTS', 'the right key from the failing source');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const elsewhere = await exchange(apiKey, newIp());
    assert.equal(elsewhere.statusCode, 200, elsewhere.body);
    p.remember((elsewhere.json() as { access_token: string }).access_token);
  });
});

describe('credentials stay out of logs and audit', () => {
  test('no password (right or wrong), code or token appears in the logs, the audit events or their personal data', async () => {
    const { leaks, scanned } = await p.findLeaks();
    assert.ok(p.credentials.size >= 40, `only ${p.credentials.size} credentials were collected`);
    assert.ok(scanned.logLines >= 50, `only ${scanned.logLines} log lines`);
    assert.ok(scanned.events >= 50, `only ${scanned.events} audit events`);
    assert.ok(scanned.personalText.includes('@example.com'), 'audit_personal was scanned');
    assert.deepEqual(leaks, []);
  });
});
