import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import { parseToken } from '../src/domains/tokens/tokens.fns.js';
import { base32Decode, totpCode, totpStep } from '../src/identity/totp.js';
import { createMember, createTestApp, type TestApp, type TestOrg } from './support/app.js';
import { firstMatch, startSmtpServer, type ReceivedMail, type TestSmtp } from './support/smtp.js';

// SPEC I5 (orgs, invitations), I4 (sessions an admin ends, personal tokens), I3 (step-up for
// ownership and sign-in settings). People sign in through the real API with e-mail codes that a
// real SMTP server on loopback receives; invitations arrive the same way.

const PUBLIC_URL = 'https://vault.example.test';
const GUARD = { ipRequestsPerMinute: 100_000, ipMaxFailures: 100_000 };

let smtp: TestSmtp;
let t: TestApp;

before(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({
    identity: { smtp: { url: smtp.url, from: 'Strongroom <no-reply@strongroom.test>' }, publicUrl: PUBLIC_URL, guard: GUARD },
  });
});
after(async () => {
  await t.close();
  await smtp.close();
});

let counter = 0;
const unique = (what: string) => `${what}-${process.pid}-${++counter}`;
const address = (what: string) => `${unique(what)}@example.com`;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

function call(token: string | undefined, method: Method, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return t.call(token, { method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal(res.json().code, code, what);
}

// --- mail and sign-in -----------------------------------------------------------------------

const consumed = new Set<ReceivedMail>();

/** The next e-mail to `to` whose subject matches, not handed out before. */
async function nextMail(to: string, subject: RegExp): Promise<ReceivedMail> {
  const mail = await smtp.waitFor((m) => !consumed.has(m) && m.to.includes(to) && subject.test(m.subject));
  consumed.add(mail);
  return mail;
}

/** A signed-in person: the access token of a session, and the org the session is in. */
interface Session {
  email: string;
  access: string;
  orgId: string | null;
}

/** Signs in with an e-mail code read from the mail the server sent. */
async function signIn(email: string): Promise<Session> {
  const start = await call(undefined, 'POST', '/v1/auth/email/start', { email });
  assert.equal(start.statusCode, 202, start.body);
  const mail = await nextMail(email, /sign-in code/);
  const code = firstMatch(mail.text, /^\s+(\d{6})\s*$/m);
  const res = await call(undefined, 'POST', '/v1/auth/email/verify', { email, code });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token?: string; org_id: string | null };
  assert.ok(body.access_token, 'a session without a second factor answers an access token');
  return { email, access: body.access_token, orgId: body.org_id };
}

/** Moves a session to `orgId`; the new access token. */
async function switchTo(session: Session, orgId: string | null): Promise<Session> {
  const res = await call(session.access, 'POST', '/v1/auth/switch', { org_id: orgId });
  assert.equal(res.statusCode, 200, res.body);
  return { ...session, access: (res.json() as { access_token: string }).access_token, orgId };
}

interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  expires_at: string;
  accept_url: string;
  token: string;
  email_sent: boolean;
}

async function invite(as: string, email: string, role: string, extra: Record<string, unknown> = {}): Promise<Invitation> {
  const res = await call(as, 'POST', '/v1/invitations', { email, role, ...extra });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as Invitation;
}

function accept(session: Session, token: string): Promise<LightMyRequestResponse> {
  return call(session.access, 'POST', '/v1/invitations/accept', { token });
}

/** Invites `email` as `role` (by `as`), signs the person in, accepts and moves the session there. */
async function join(as: string, orgId: string, email: string, role: string): Promise<Session & { memberId: string }> {
  const inv = await invite(as, email, role);
  const session = await signIn(email);
  const res = await accept(session, inv.token);
  assert.equal(res.statusCode, 200, res.body);
  return { ...(await switchTo(session, orgId)), memberId: (res.json() as { member_id: string }).member_id };
}

async function me(session: Session): Promise<{ user_id: string; member_id: string | null; role: string | null; org_id: string | null }> {
  const res = await call(session.access, 'GET', '/v1/me');
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

/**
 * Enrols an authenticator for the session's person, then steps up with it (confirming an
 * enrolment is not itself a second-factor check): the session then has a fresh second factor.
 */
async function enrolTotp(session: Session): Promise<void> {
  const enrol = await call(session.access, 'POST', '/v1/me/mfa/totp');
  assert.equal(enrol.statusCode, 201, enrol.body);
  const secret = base32Decode((enrol.json() as { secret: string }).secret);
  const step = totpStep(new Date());
  const confirm = await call(session.access, 'POST', '/v1/me/mfa/totp/confirm', { code: totpCode(secret, step) });
  assert.equal(confirm.statusCode, 200, confirm.body);
  // The next step's code (accepted within the ±1 window, and newer than the one just used).
  const stepUp = await call(session.access, 'POST', '/v1/auth/step-up', { code: totpCode(secret, step + 1) });
  assert.equal(stepUp.statusCode, 204, stepUp.body);
}

// --- audit ----------------------------------------------------------------------------------

interface RecordedEvent {
  actor: string;
  resource: string;
  outcome: string;
  detail: { sessions?: number } | undefined;
}

/** The events of `action` in `orgId`'s chain, oldest first, read straight from the database. */
async function events(orgId: string, action: string): Promise<RecordedEvent[]> {
  const rows = await t.database.superuser((c) =>
    c.query<{ actor: string; resource: string; outcome: string; canonical: string }>(
      'SELECT actor, resource, outcome, canonical FROM audit_events WHERE org_id = $1 AND action = $2 ORDER BY seq',
      [orgId, action],
    ),
  );
  return rows.map((r) => ({ actor: r.actor, resource: r.resource, outcome: r.outcome, detail: (JSON.parse(r.canonical) as { detail?: { sessions?: number } }).detail }));
}

const rootTokenId = (org: TestOrg) => (parseToken(org.token) as { tokenId: string }).tokenId;

// --- tests ----------------------------------------------------------------------------------

test('bootstrap: the root token invites an owner by e-mail, who signs in, accepts, switches and revokes the root token', async () => {
  const org = await t.createOrg();
  const email = address('first-owner');
  // Typed with capitals: one person is one address however it is typed.
  const inv = await invite(org.token, email.toUpperCase(), 'owner');
  assert.equal(inv.email, email);
  assert.equal(inv.role, 'owner');
  assert.equal(inv.status, 'pending');
  assert.equal(inv.email_sent, true);
  assert.ok(inv.accept_url.startsWith(`${PUBLIC_URL}/invite#token=`), inv.accept_url);
  assert.equal(inv.accept_url, `${PUBLIC_URL}/invite#token=${inv.token}`);
  const week = Date.parse(inv.expires_at) - Date.now();
  assert.ok(week > 167 * 3_600_000 && week <= 168 * 3_600_000, `a week by default (${week} ms)`);
  const header = JSON.parse(Buffer.from(inv.token.split('.')[0] as string, 'base64url').toString()) as { alg: string; typ: string };
  assert.deepEqual([header.alg, header.typ], ['EdDSA', 'invite+jwt']);

  // The mail carries the link, on a line of its own.
  const mail = await nextMail(email, /invited/);
  assert.equal(firstMatch(mail.text, /^(https:\/\/\S+)$/m), inv.accept_url);
  assert.match(mail.text, /as Owner/);

  const session = await signIn(email);
  assert.equal(session.orgId, null, 'before accepting, the person belongs to no org');
  const accepted = await accept(session, firstMatch(mail.text, /#token=(\S+)$/m));
  assert.equal(accepted.statusCode, 200, accepted.body);
  const { org_id: orgId, member_id: memberId, role } = accepted.json() as { org_id: string; member_id: string; role: string };
  assert.deepEqual([orgId, role], [org.orgId, 'owner']);
  // The session stays out of the org until it moves there.
  expectProblem(await call(session.access, 'GET', '/v1/org'), 401, 'UNAUTHENTICATED', 'a session in no org on an org route');

  const owner = await switchTo(session, org.orgId);
  assert.deepEqual(await me(owner).then((m) => [m.org_id, m.member_id, m.role]), [org.orgId, memberId, 'owner']);

  // The owner sees the root token among its tokens, and revokes it.
  const listed = await call(owner.access, 'GET', '/v1/tokens');
  assert.equal(listed.statusCode, 200, listed.body);
  const root = (listed.json() as { tokens: { id: string; kind: string; revoked_at: string | null }[] }).tokens.find((x) => x.kind === 'root');
  assert.equal(root?.id, rootTokenId(org));
  assert.equal((await call(owner.access, 'DELETE', `/v1/tokens/${rootTokenId(org)}`)).statusCode, 204);
  expectProblem(await call(org.token, 'GET', '/v1/org'), 401, 'UNAUTHENTICATED', 'the revoked root token');
  const described = await call(owner.access, 'GET', '/v1/org');
  assert.equal(described.statusCode, 200, described.body);
  assert.equal(described.json().id, org.orgId);

  const list = await call(owner.access, 'GET', '/v1/invitations');
  assert.equal(list.json().invitations.find((i: { id: string }) => i.id === inv.id)?.status, 'accepted');

  // Each step is in the org's chain, naming who did it.
  const created = await events(org.orgId, 'invitation.create');
  assert.deepEqual(created.map((e) => [e.actor, e.resource, e.outcome]), [[`root_token:${rootTokenId(org)}`, `invitation:${inv.id}`, 'success']]);
  const accepts = await events(org.orgId, 'invitation.accept');
  assert.deepEqual(accepts.map((e) => [e.actor, e.resource, e.outcome]), [[`user:${memberId}`, `invitation:${inv.id}`, 'success']]);
  const revoked = await events(org.orgId, 'token.revoke');
  assert.deepEqual(revoked.map((e) => [e.actor, e.resource, e.outcome]), [[`user:${memberId}`, `token:${rootTokenId(org)}`, 'success']]);
});

test("the org's last way in as an owner cannot be revoked", async () => {
  const org = await t.createOrg();
  expectProblem(await call(org.token, 'DELETE', `/v1/tokens/${rootTokenId(org)}`), 409, 'INVALID_STATE', 'the only root token, no owner');
  assert.equal((await call(org.token, 'GET', '/v1/org')).statusCode, 200, 'the root token still works');
  // An employee does not even learn the root token exists.
  const employee = await createMember(t, org, 'employee');
  expectProblem(await call(employee.token, 'DELETE', `/v1/tokens/${rootTokenId(org)}`), 404, 'NOT_FOUND', 'an employee');
});

test('a person in two orgs switches between them; tokens of the org left behind stop working', async () => {
  const orgA = await t.createOrg();
  const email = address('two-orgs');
  const inA = await join(orgA.token, orgA.orgId, email, 'admin');

  const name = unique('Second Org');
  const created = await call(inA.access, 'POST', '/v1/orgs', { name: `  ${name} ` });
  assert.equal(created.statusCode, 201, created.body);
  const orgB = created.json() as { id: string; name: string; member_id: string; role: string; require_mfa: boolean; password_sign_in: boolean };
  assert.deepEqual([orgB.name, orgB.role, orgB.require_mfa, orgB.password_sign_in], [name, 'owner', false, false]);
  expectProblem(await call(inA.access, 'POST', '/v1/orgs', { name: name.toUpperCase() }), 409, 'CONFLICT', 'the same name in other case');
  expectProblem(await call(inA.access, 'POST', '/v1/orgs', { name: '' }), 400, 'VALIDATION_FAILED', 'an empty name');
  // A token is no person: org creation is a session route.
  expectProblem(await call(orgA.token, 'POST', '/v1/orgs', { name: unique('by root') }), 401, 'UNAUTHENTICATED', 'a root token');

  // No root token is made for an org a person creates; the event is in the new org's chain.
  const [roots] = await t.database.superuser((c) => c.query<{ n: string | number }>('SELECT count(*) AS n FROM api_tokens WHERE org_id = $1', [orgB.id]));
  assert.equal(Number(roots?.n), 0);
  assert.deepEqual((await events(orgB.id, 'org.create')).map((e) => [e.actor, e.resource, e.outcome]), [[`user:${orgB.member_id}`, `org:${orgB.id}`, 'success']]);

  const orgs = await call(inA.access, 'GET', '/v1/me/orgs');
  assert.deepEqual(
    (orgs.json() as { orgs: { org_id: string; role: string }[] }).orgs.map((o) => [o.org_id, o.role]).sort(),
    [
      [orgA.orgId, 'admin'],
      [orgB.id, 'owner'],
    ].sort(),
  );

  const inB = await switchTo(inA, orgB.id);
  expectProblem(await call(inA.access, 'GET', '/v1/org'), 401, 'UNAUTHENTICATED', "org A's token after the switch");
  assert.equal((await call(inB.access, 'GET', '/v1/org')).json().id, orgB.id);
  const backInA = await switchTo(inB, orgA.orgId);
  expectProblem(await call(inB.access, 'GET', '/v1/org'), 401, 'UNAUTHENTICATED', "org B's token after switching back");
  assert.equal((await call(backInA.access, 'GET', '/v1/org')).json().id, orgA.orgId);
});

test('an installation can turn org creation off', async () => {
  const closed = await createTestApp({
    identity: { smtp: { url: smtp.url, from: 'Strongroom <no-reply@strongroom.test>' }, allowOrgCreation: false, guard: GUARD },
  });
  try {
    const email = address('no-orgs');
    await closed.call(undefined, { method: 'POST', url: '/v1/auth/email/start', payload: { email } });
    const code = firstMatch((await nextMail(email, /sign-in code/)).text, /^\s+(\d{6})\s*$/m);
    const signedIn = await closed.call(undefined, { method: 'POST', url: '/v1/auth/email/verify', payload: { email, code } });
    const access = (signedIn.json() as { access_token: string }).access_token;
    const res = await closed.call(access, { method: 'POST', url: '/v1/orgs', payload: { name: unique('refused') } });
    expectProblem(res, 409, 'INVALID_STATE', 'org creation turned off');
  } finally {
    await closed.close();
  }
});

test('accepting fails with one NOT_FOUND for another address, a tampered, foreign, revoked, expired or used invitation', async () => {
  const org = await t.createOrg();
  const bobEmail = address('bob');
  const forBob = await invite(org.token, bobEmail, 'employee');
  const failures: LightMyRequestResponse[] = [];

  // Signed in with another address.
  const carol = await signIn(address('carol'));
  failures.push(await accept(carol, forBob.token));
  const carolId = (await me(carol)).user_id;

  // Tampered: one character of the signature, of the payload; no signature; another algorithm.
  const [h, p, s] = forBob.token.split('.') as [string, string, string];
  const flip = (x: string) => `${x.slice(0, -2)}${x.at(-2) === 'A' ? 'B' : 'A'}${x.slice(-1)}`;
  const bob = await signIn(bobEmail);
  failures.push(await accept(bob, `${h}.${p}.${flip(s)}`));
  const otherOrg = JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), org: (await t.createOrg()).orgId });
  failures.push(await accept(bob, `${h}.${Buffer.from(otherOrg).toString('base64url')}.${s}`));
  const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'invite+jwt' })).toString('base64url');
  failures.push(await accept(bob, `${none}.${p}.`));
  const hs256 = await new SignJWT(JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>)
    .setProtectedHeader({ alg: 'HS256', typ: 'invite+jwt' })
    .sign(randomBytes(32));
  failures.push(await accept(bob, hs256));
  // A person's own access token is signed by the installation too, but is no invitation.
  failures.push(await accept(bob, bob.access));
  failures.push(await accept(bob, 'not-a-token'));

  // Revoked.
  const daveEmail = address('dave');
  const forDave = await invite(org.token, daveEmail, 'employee');
  assert.equal((await call(org.token, 'DELETE', `/v1/invitations/${forDave.id}`)).statusCode, 204);
  assert.equal((await call(org.token, 'DELETE', `/v1/invitations/${forDave.id}`)).statusCode, 204, 'revoking twice changes nothing');
  failures.push(await accept(await signIn(daveEmail), forDave.token));

  // Expired (the row says so, though the token's own expiry is a week away).
  const erinEmail = address('erin');
  const forErin = await invite(org.token, erinEmail, 'employee');
  await t.database.superuser((c) =>
    c.query("UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE invitation_id = $1", [forErin.id]),
  );
  failures.push(await accept(await signIn(erinEmail), forErin.token));

  // Replaced: a second invitation to an address revokes the first.
  const fredEmail = address('fred');
  const firstForFred = await invite(org.token, fredEmail, 'employee');
  const secondForFred = await invite(org.token, fredEmail, 'manager');
  const fred = await signIn(fredEmail);
  failures.push(await accept(fred, firstForFred.token));

  // Used: bob accepts once; a second time is refused.
  const ok = await accept(bob, forBob.token);
  assert.equal(ok.statusCode, 200, ok.body);
  failures.push(await accept(bob, forBob.token));
  assert.equal((await accept(fred, secondForFred.token)).json().role, 'manager');

  const shapes = failures.map((res) => {
    assert.equal(res.statusCode, 404, res.body);
    const { title, detail, code, status } = res.json() as Record<string, unknown>;
    return JSON.stringify({ title, detail, code, status });
  });
  assert.equal(new Set(shapes).size, 1, `every failure answers alike: ${[...new Set(shapes)].join(' | ')}`);

  const listed = (await call(org.token, 'GET', '/v1/invitations')).json() as { invitations: { id: string; status: string }[] };
  const statusOf = (id: string) => listed.invitations.find((i) => i.id === id)?.status;
  assert.deepEqual(
    [statusOf(forBob.id), statusOf(forDave.id), statusOf(forErin.id), statusOf(firstForFred.id), statusOf(secondForFred.id)],
    ['accepted', 'revoked', 'expired', 'revoked', 'accepted'],
  );
  expectProblem(await call(org.token, 'DELETE', `/v1/invitations/${forBob.id}`), 409, 'INVALID_STATE', 'revoking an accepted invitation');
  const foreign = await invite((await t.createOrg()).token, address('elsewhere'), 'employee');
  expectProblem(await call(org.token, 'DELETE', `/v1/invitations/${foreign.id}`), 404, 'NOT_FOUND', "another org's invitation");

  // A refused attempt with a validly signed invitation is recorded in its org, naming the person.
  const refused = (await events(org.orgId, 'invitation.accept')).filter((e) => e.outcome === 'failure');
  assert.ok(refused.some((e) => e.actor === `user:${carolId}` && e.resource === `invitation:${forBob.id}`), JSON.stringify(refused));
});

test("an invitation to a role above the inviter's is refused, and so is one to a member's address", async () => {
  const org = await t.createOrg();
  const admin = await createMember(t, org, 'admin', { displayName: 'Ada Admin' });
  const manager = await createMember(t, org, 'manager');
  expectProblem(await call(admin.token, 'POST', '/v1/invitations', { email: address('x'), role: 'owner' }), 403, 'SEPARATION_OF_DUTIES', 'admin invites an owner');
  expectProblem(await call(manager.token, 'POST', '/v1/invitations', { email: address('x'), role: 'employee' }), 404, 'NOT_FOUND', 'a manager invites');
  expectProblem(await call(admin.token, 'POST', '/v1/invitations', { email: manager.email, role: 'employee' }), 409, 'CONFLICT', 'a member');
  expectProblem(
    await call(admin.token, 'POST', '/v1/invitations', { email: address('x'), role: 'employee', expires_in_hours: 721 }),
    400,
    'VALIDATION_FAILED',
    'longer than 30 days',
  );
  expectProblem(await call(admin.token, 'POST', '/v1/invitations', { email: address('x'), role: 'employee', extra: 1 }), 400, 'VALIDATION_FAILED', 'an unknown field');

  const email = address('invited-by-admin');
  const inv = await invite(admin.token, email, 'admin', { expires_in_hours: 2 });
  assert.ok(Date.parse(inv.expires_at) - Date.now() <= 2 * 3_600_000);
  const mail = await nextMail(email, /invited/);
  assert.match(mail.text, /^Ada Admin invited you to join .* as Admin\.$/m);
  const refusedEvents = (await events(org.orgId, 'invitation.create')).filter((e) => e.outcome === 'failure');
  assert.ok(refusedEvents.some((e) => e.actor === `user:${admin.id}`), 'the refusal is recorded');
});

test('accepting links a member added by address meanwhile, keeping its role; inviting a member is refused', async () => {
  const org = await t.createOrg();
  const email = address('added-meanwhile');
  const inv = await invite(org.token, email, 'employee');
  const added = await call(org.token, 'POST', '/v1/members', { email, role: 'manager' });
  assert.equal(added.statusCode, 201, added.body);
  const memberId = (added.json() as { member: { id: string } }).member.id;

  const session = await signIn(email);
  const res = await accept(session, inv.token);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { org_id: org.orgId, member_id: memberId, role: 'manager' });
  const inOrg = await switchTo(session, org.orgId);
  assert.deepEqual(await me(inOrg).then((m) => [m.member_id, m.role]), [memberId, 'manager']);

  // A second invitation to someone who is a member now is refused at the door.
  expectProblem(await call(org.token, 'POST', '/v1/invitations', { email, role: 'employee' }), 409, 'CONFLICT', 'inviting a member');
});

test('the last owner may not leave; a member who leaves loses the org and its sessions there', async () => {
  const org = await t.createOrg();
  const owner = await join(org.token, org.orgId, address('owner'), 'owner');
  const leaver = await join(org.token, org.orgId, address('leaver'), 'employee');

  expectProblem(await call(org.token, 'POST', '/v1/org/leave'), 409, 'INVALID_STATE', 'a root token leaves');
  expectProblem(await call(owner.access, 'POST', '/v1/org/leave'), 409, 'INVALID_STATE', 'the last owner leaves');

  assert.equal((await call(leaver.access, 'POST', '/v1/org/leave')).statusCode, 204);
  expectProblem(await call(leaver.access, 'GET', '/v1/me'), 401, 'UNAUTHENTICATED', 'the session in the org left');
  const again = await signIn(leaver.email);
  assert.deepEqual((await call(again.access, 'GET', '/v1/me/orgs')).json().orgs, []);
  const members = (await call(owner.access, 'GET', '/v1/members')).json() as { members: { id: string }[] };
  assert.equal(members.members.some((m) => m.id === leaver.memberId), false);
  const left = await events(org.orgId, 'org.leave');
  assert.ok(left.some((e) => e.actor === `user:${leaver.memberId}` && e.outcome === 'success' && e.detail?.sessions === 1), JSON.stringify(left));

  // With a second owner, the first may go.
  const second = await join(org.token, org.orgId, address('second-owner'), 'owner');
  assert.equal((await call(owner.access, 'POST', '/v1/org/leave')).statusCode, 204);
  assert.equal((await me(second)).role, 'owner');
});

test('ownership goes from an owner to an active person, with a recent second factor for people', async () => {
  const org = await t.createOrg();
  const first = await join(org.token, org.orgId, address('owner'), 'owner');
  const heir = await join(org.token, org.orgId, address('heir'), 'admin');
  const transfer = (as: string, memberId: string) => call(as, 'POST', '/v1/org/transfer-ownership', { member_id: memberId });

  expectProblem(await transfer(heir.access, first.memberId), 403, 'SEPARATION_OF_DUTIES', 'an admin');
  const stepUp = await transfer(first.access, heir.memberId);
  expectProblem(stepUp, 403, 'STEP_UP_REQUIRED', 'an owner without a recent second factor');
  expectProblem(await call(first.access, 'PATCH', '/v1/org', { password_sign_in: true }), 403, 'STEP_UP_REQUIRED', 'settings without step-up');

  await enrolTotp(first);
  const done = await transfer(first.access, heir.memberId);
  assert.equal(done.statusCode, 200, done.body);
  assert.deepEqual(done.json(), { member_id: heir.memberId, role: 'owner', your_role: 'admin' });
  assert.equal((await me(first)).role, 'admin');
  assert.equal((await me(heir)).role, 'owner');
  assert.deepEqual((await events(org.orgId, 'org.transfer')).map((e) => [e.actor, e.outcome]), [
    [`user:${heir.memberId}`, 'failure'],
    [`user:${first.memberId}`, 'failure'],
    [`user:${first.memberId}`, 'success'],
  ]);

  // A root token hands ownership over too, and stays what it is.
  const byRoot = await transfer(org.token, first.memberId);
  assert.equal(byRoot.statusCode, 200, byRoot.body);
  assert.equal(byRoot.json().your_role, 'owner');
  assert.deepEqual([(await me(first)).role, (await me(heir)).role], ['owner', 'owner']);
  expectProblem(await transfer(org.token, heir.memberId), 409, 'INVALID_STATE', 'an owner already');
  // A member added by address alone (POST /v1/members) has no person signed in as it.
  const byAddress = await call(org.token, 'POST', '/v1/members', { email: address('by-address'), role: 'employee' });
  assert.equal(byAddress.statusCode, 201, byAddress.body);
  expectProblem(await transfer(org.token, byAddress.json().member.id), 409, 'INVALID_STATE', 'a member who never signed in');

  // Sign-in settings: a person with a recent second factor, or the root token.
  const patched = await call(first.access, 'PATCH', '/v1/org', { password_sign_in: true });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().password_sign_in, true);
  expectProblem(await call(first.access, 'PATCH', '/v1/org', { require_mfa: 'yes' }), 400, 'VALIDATION_FAILED', 'a string');
  const mfa = await call(org.token, 'PATCH', '/v1/org', { require_mfa: true });
  assert.deepEqual([mfa.statusCode, mfa.json().require_mfa, mfa.json().password_sign_in], [200, true, true]);
  // From now on, the heir's session (no second factor) is turned away from org routes.
  expectProblem(await call(heir.access, 'GET', '/v1/org'), 403, 'MFA_REQUIRED', 'a session without a second factor');
  assert.equal((await call(first.access, 'GET', '/v1/org')).json().require_mfa, true);
});

test("an admin ends a member's sessions in this org only", async () => {
  const org1 = await t.createOrg();
  const org2 = await t.createOrg();
  const email = address('two-sessions');
  const in1 = await join(org1.token, org1.orgId, email, 'employee');
  const in2 = await join(org2.token, org2.orgId, email, 'employee');
  assert.equal((await call(in1.access, 'GET', '/v1/vaults')).statusCode, 200);

  const res = await call(org1.token, 'POST', `/v1/members/${in1.memberId}/sessions/revoke`);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { sessions_ended: 1 });
  expectProblem(await call(in1.access, 'GET', '/v1/vaults'), 401, 'UNAUTHENTICATED', 'the session in org 1');
  expectProblem(await call(in1.access, 'GET', '/v1/me'), 401, 'UNAUTHENTICATED', 'the session in org 1, on /v1/me');
  assert.equal((await call(in2.access, 'GET', '/v1/vaults')).statusCode, 200, 'the session in org 2 is untouched');
  assert.deepEqual((await call(org1.token, 'POST', `/v1/members/${in1.memberId}/sessions/revoke`)).json(), { sessions_ended: 0 });
  const recorded = await events(org1.orgId, 'member.sessions.revoke');
  assert.deepEqual(recorded.map((e) => [e.resource, e.detail?.sessions]), [
    [`member:${in1.memberId}`, 1],
    [`member:${in1.memberId}`, 0],
  ]);

  // The owner rules of member changes hold: an admin does not end an owner's sessions.
  const admin = await createMember(t, org1, 'admin');
  const owner = await createMember(t, org1, 'owner');
  expectProblem(await call(admin.token, 'POST', `/v1/members/${owner.id}/sessions/revoke`), 403, 'SEPARATION_OF_DUTIES', 'an admin on an owner');
  const employee = await createMember(t, org1, 'employee');
  expectProblem(await call(employee.token, 'POST', `/v1/members/${admin.id}/sessions/revoke`), 404, 'NOT_FOUND', 'an employee');
  expectProblem(await call(org2.token, 'POST', `/v1/members/${in1.memberId}/sessions/revoke`), 404, 'NOT_FOUND', "another org's member");
});

test('deactivating or deleting a member ends its sessions in the org', async () => {
  const org = await t.createOrg();
  const deactivated = await join(org.token, org.orgId, address('deactivated'), 'employee');
  const deleted = await join(org.token, org.orgId, address('deleted'), 'employee');

  const patch = await call(org.token, 'PATCH', `/v1/members/${deactivated.memberId}`, { active: false });
  assert.equal(patch.statusCode, 200, patch.body);
  expectProblem(await call(deactivated.access, 'GET', '/v1/me'), 401, 'UNAUTHENTICATED', 'a deactivated member’s session');
  // Signing in again does not bring the org back.
  const again = await signIn(deactivated.email);
  assert.equal(again.orgId, null);
  assert.deepEqual((await call(again.access, 'GET', '/v1/me/orgs')).json().orgs, []);

  assert.equal((await call(org.token, 'DELETE', `/v1/members/${deleted.memberId}`)).statusCode, 204);
  expectProblem(await call(deleted.access, 'GET', '/v1/me'), 401, 'UNAUTHENTICATED', 'a deleted member’s session');
  const [hint] = await t.database.superuser((c) =>
    c.query<{ n: string | number }>('SELECT count(*) AS n FROM user_orgs WHERE org_id = $1 AND member_id = $2', [org.orgId, deleted.memberId]),
  );
  assert.equal(Number(hint?.n), 0, 'the directory forgets the deleted member');
  const updates = await events(org.orgId, 'member.update');
  assert.equal(updates.find((e) => e.resource === `member:${deactivated.memberId}`)?.detail?.sessions, 1);
});

test('personal tokens: a signed-in member makes them, sees them without secrets and revokes them', async () => {
  const org = await t.createOrg();
  const admin = await join(org.token, org.orgId, address('scripter'), 'admin');
  const employee = await join(org.token, org.orgId, address('employee'), 'employee');

  // Minting a long-lived credential is a step-up operation.
  expectProblem(await call(admin.access, 'POST', '/v1/tokens', { description: 'no second factor' }), 403, 'STEP_UP_REQUIRED', 'without step-up');
  await enrolTotp(admin);
  const made = await call(admin.access, 'POST', '/v1/tokens', { description: ' ci deploys ' });
  assert.equal(made.statusCode, 201, made.body);
  const token = made.json() as { id: string; token: string; description: string; expires_at: string };
  assert.match(token.token, /^sr_user_[A-Za-z0-9_-]{86}$/);
  assert.equal(token.description, 'ci deploys');
  const days = (Date.parse(token.expires_at) - Date.now()) / 86_400_000;
  assert.ok(days > 89.9 && days <= 90, `90 days by default (${days})`);
  assert.equal((await call(token.token, 'GET', '/v1/org')).statusCode, 200, 'the token acts as the member');

  expectProblem(await call(token.token, 'POST', '/v1/tokens', { description: 'from a token' }), 409, 'INVALID_STATE', 'a personal token');
  expectProblem(await call(org.token, 'POST', '/v1/tokens', { description: 'from root' }), 409, 'INVALID_STATE', 'a root token');
  expectProblem(await call(admin.access, 'POST', '/v1/tokens', { description: 'x', expires_in_days: 366 }), 400, 'VALIDATION_FAILED', 'over a year');
  expectProblem(await call(admin.access, 'POST', '/v1/tokens', { description: '' }), 400, 'VALIDATION_FAILED', 'no description');

  const listed = await call(admin.access, 'GET', '/v1/tokens');
  assert.equal(listed.statusCode, 200, listed.body);
  assert.equal(listed.body.includes(token.token.slice(8)), false, 'never the token');
  const mine = (listed.json() as { tokens: Record<string, unknown>[] }).tokens.filter((x) => x.kind === 'user');
  assert.deepEqual(
    mine.map((x) => Object.keys(x).sort()),
    [['created_at', 'description', 'expires_at', 'id', 'kind', 'member_id', 'revoked_at']],
  );
  assert.deepEqual([mine[0]?.id, mine[0]?.member_id, mine[0]?.revoked_at], [token.id, admin.memberId, null]);
  assert.equal(
    (listed.json() as { tokens: { kind: string }[] }).tokens.some((x) => x.kind === 'root'),
    false,
    'an admin does not see root tokens',
  );

  // An employee's token: the employee cannot touch the admin's, the admin revokes the employee's.
  await enrolTotp(employee);
  const theirs = (await call(employee.access, 'POST', '/v1/tokens', { description: 'laptop', expires_in_days: 1 })).json() as { id: string; token: string };
  expectProblem(await call(employee.access, 'DELETE', `/v1/tokens/${token.id}`), 404, 'NOT_FOUND', "someone else's token");
  assert.equal((await call(admin.access, 'DELETE', `/v1/tokens/${theirs.id}`)).statusCode, 204);
  expectProblem(await call(theirs.token, 'GET', '/v1/vaults'), 401, 'UNAUTHENTICATED', 'the revoked token');

  assert.equal((await call(admin.access, 'DELETE', `/v1/tokens/${token.id}`)).statusCode, 204);
  expectProblem(await call(token.token, 'GET', '/v1/org'), 401, 'UNAUTHENTICATED', 'the revoked token');
  const after = (await call(admin.access, 'GET', '/v1/tokens')).json() as { tokens: { id: string; revoked_at: string | null }[] };
  assert.ok(after.tokens.find((x) => x.id === token.id)?.revoked_at, 'listed as revoked');
  expectProblem(await call(admin.access, 'DELETE', `/v1/tokens/${rootTokenId(await t.createOrg())}`), 404, 'NOT_FOUND', "another org's token");

  assert.deepEqual((await events(org.orgId, 'token.create')).map((e) => [e.actor, e.resource, e.outcome]).slice(0, 2), [
    [`user:${admin.memberId}`, 'token:(new)', 'failure'],
    [`user:${admin.memberId}`, `token:${token.id}`, 'success'],
  ]);
});
