import assert from 'node:assert/strict';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { GuardOptions } from '../../src/identity/guard.js';
import { INSTALLATION_ORG_ID } from '../../src/identity/identity.service.js';
import type { SessionOptions } from '../../src/identity/sessions.js';
import { base32Decode, normaliseRecoveryCode, totpCode, totpStep } from '../../src/identity/totp.js';
import { createTestApp, type TestApp, type TestOrg } from './app.js';
import { firstMatch, startSmtpServer, type ReceivedMail, type TestSmtp } from './smtp.js';

/**
 * People for the identity tests (issue 5): an app wired to a real local SMTP server, and helpers
 * that sign in the way a client does — through the HTTP API only, reading e-mailed codes from
 * the server that received them and computing TOTP codes like an authenticator app. Every
 * credential a helper sees is remembered, so a file can end with a canary scan of the logs and
 * the audit tables for all of them.
 */

export const SMTP_FROM = 'Strongroom <no-reply@strongroom.test>';
export const SIGN_IN_CODE_SUBJECT = 'Your Strongroom sign-in code';
export { INSTALLATION_ORG_ID };

/** The Redis the tests share, when TEST_REDIS_URL is set (the guard then counts there). */
export const testRedisUrl: string | undefined = process.env.TEST_REDIS_URL || undefined;

/** What a session sign-in answers in token mode. */
export interface SessionBody {
  session_id: string;
  org_id: string | null;
  token_type: 'Bearer';
  expires_in: number;
  access_token: string;
  refresh_token: string;
  csrf_token: string;
}

/** What a first factor answers when a second one is enrolled. */
export interface MfaBody {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
}

/** An authenticator app: the shared secret and the last step it showed a code for. */
export interface Authenticator {
  secret: Uint8Array;
  /** The secret as the server handed it over (base32). */
  secretText: string;
  lastStep: number | null;
  recoveryCodes: string[];
}

/** A person who signed up by e-mail code, with their current session. */
export interface Person {
  email: string;
  userId: string;
  session: SessionBody;
  password?: string;
  totp?: Authenticator;
}

/** An event as the chain holds it (the canonical JSON), with its sequence number. */
export interface ChainEvent {
  seq: number;
  action: string;
  outcome: string;
  status: number | null;
  actor: { type: string; id: string };
  resource: { type: string; ref: string };
  request_id: string;
  detail?: Record<string, unknown>;
  authz?: { allow: boolean; action: string; by: string[] };
}

/** An identity test app: the app, its SMTP server, and every credential seen so far. */
export interface People {
  t: TestApp;
  smtp: TestSmtp;
  /** Long credentials (passwords, tokens, secrets, recovery codes) that must never be logged or audited. */
  credentials: Set<string>;
  /** Six-digit codes (e-mailed and TOTP), scanned for as whole numbers. */
  shortCodes: Set<string>;
  remember(...values: string[]): void;
  rememberCode(...codes: string[]): void;
  /** POST (or another method) to the API from `ip`, optionally as a signed-in person. */
  call(opts: InjectOptions & { ip: string; token?: string }): Promise<LightMyRequestResponse>;
  /** Asks for a sign-in code for `email`; answers the 202 and the code that was mailed. */
  emailCode(email: string, ip: string): Promise<{ res: LightMyRequestResponse; code: string; mail: ReceivedMail }>;
  /** A full e-mail sign-in (start, read the mail, verify): the verify answer. */
  emailSignIn(email: string, ip: string, opts?: { orgId?: string }): Promise<LightMyRequestResponse>;
  /** Signs a new person up by e-mail code; throws unless a session opens. */
  signUp(label: string, ip?: string): Promise<Person>;
  /** Sets the person's password through PUT /v1/me/password; throws unless it is set. */
  setPassword(person: Person, password?: string): Promise<string>;
  /** Enrols and confirms a TOTP authenticator; throws unless it is confirmed. */
  enrolTotp(person: Person): Promise<Authenticator>;
  /** The code an authenticator shows for a step the server has not accepted yet (waits for a new step if need be). */
  nextTotpCode(device: Authenticator): Promise<string>;
  /** Completes a pending sign-in's second factor with the next TOTP code. */
  completeMfa(mfaToken: string, device: Authenticator, ip: string): Promise<LightMyRequestResponse>;
  /** Events of an org's chain after `afterSeq`, read as the superuser. */
  events(orgId: string, afterSeq?: number): Promise<ChainEvent[]>;
  /** The one event a request recorded in `orgId`'s chain. */
  eventOf(orgId: string, res: LightMyRequestResponse): Promise<ChainEvent>;
  lastSeq(orgId: string): Promise<number>;
  /** Makes the session's last second factor an hour old (as if the step-up window had passed). */
  ageMfa(sessionId: string): Promise<void>;
  /** Every place a remembered credential was found in the logs or the audit tables. */
  findLeaks(): Promise<{ leaks: string[]; scanned: { logLines: number; events: number; personalRows: number; personalText: string } }>;
  close(): Promise<void>;
}

let counter = 0;

/** A fresh source address (random, so runs sharing a Redis never meet each other's counters). */
export function newIp(): string {
  return `10.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

/** A fresh address for a person. */
export function newEmail(label: string): string {
  return `${label}-${process.pid}-${++counter}-${randomUUID().slice(0, 8)}@example.com`;
}

/** A password nobody else uses, not on the common list. */
export function newPassword(label = 'pw'): string {
  return `${label}-Quartz-${randomUUID().slice(0, 13)}!`;
}

/** `res` is a problem with this status and code. */
export function assertProblem(res: LightMyRequestResponse, status: number, code: string, what = ''): void {
  assert.equal(res.statusCode, status, `${what}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  assert.equal((res.json() as { code: string }).code, code, `${what}: ${res.body}`);
}

/** What two answers must share to be indistinguishable: status, media type, body without its request id. */
export function comparable(res: LightMyRequestResponse): { status: number; type: string; body: unknown } {
  const parsed = res.json() as Record<string, unknown>;
  const { requestId: _requestId, ...rest } = parsed;
  return { status: res.statusCode, type: String(res.headers['content-type']), body: rest };
}

/** The six-digit code in a sign-in e-mail. */
export function codeInMail(mail: ReceivedMail): string {
  return firstMatch(mail.text, /^[ \t]+(\d{6})[ \t]*$/m);
}

/** A six-digit code no step near now would produce for `secret`. */
export function wrongTotpCode(secret: Uint8Array): string {
  const current = totpStep(new Date());
  const near = new Set<string>();
  for (let step = current - 3; step <= current + 3; step++) near.add(totpCode(secret, step));
  for (;;) {
    const candidate = String(randomInt(0, 1_000_000)).padStart(6, '0');
    if (!near.has(candidate)) return candidate;
  }
}

function sessionOf(res: LightMyRequestResponse, what: string): SessionBody {
  assert.equal(res.statusCode, 200, `${what}: ${res.body}`);
  const body = res.json() as SessionBody | MfaBody;
  assert.ok('access_token' in body, `${what}: expected a session, got ${res.body}`);
  return body;
}

/** Starts an identity test app with a real SMTP server. */
export async function startPeople(
  opts: { guard?: Partial<GuardOptions>; session?: Partial<SessionOptions>; useRedis?: boolean } = {},
): Promise<People> {
  const smtp = await startSmtpServer();
  const redisUrl = opts.useRedis === false ? undefined : testRedisUrl;
  const t = await createTestApp({
    identity: {
      smtp: { url: smtp.url, from: SMTP_FROM },
      guard: { slowdownStepMs: 1, ...opts.guard },
      ...(opts.session ? { session: opts.session } : {}),
    },
    ...(redisUrl ? { redisUrl } : {}),
  });
  const credentials = new Set<string>();
  const shortCodes = new Set<string>();
  const defaultIp = newIp();

  const remember = (...values: string[]) => {
    for (const v of values) if (v.length >= 8) credentials.add(v);
  };
  const rememberCode = (...codes: string[]) => {
    for (const c of codes) shortCodes.add(c);
  };

  const call: People['call'] = ({ ip, token, headers, ...rest }) =>
    t.app.inject({
      ...rest,
      remoteAddress: ip,
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
    });

  const rememberSession = (body: SessionBody | MfaBody) => {
    if ('access_token' in body) {
      remember(body.access_token, body.refresh_token, body.csrf_token);
      // The JWT's signature on its own would be as bad as the whole token.
      remember(body.access_token.split('.')[2] ?? '');
    } else {
      remember(body.mfa_token);
    }
  };

  const people: People = {
    t,
    smtp,
    credentials,
    shortCodes,
    remember,
    rememberCode,
    call: async (opts) => {
      const res = await call(opts);
      if (res.statusCode === 200 && /^application\/json/.test(String(res.headers['content-type']))) {
        const body = res.json() as Record<string, unknown>;
        if (typeof body['access_token'] === 'string' || typeof body['mfa_token'] === 'string') rememberSession(body as unknown as SessionBody | MfaBody);
        if (Array.isArray(body['recovery_codes'])) {
          for (const c of body['recovery_codes'] as string[]) remember(c, normaliseRecoveryCode(c) ?? c);
        }
      }
      return res;
    },

    async emailCode(email, ip) {
      const before = new Set(smtp.messages);
      const res = await people.call({ method: 'POST', url: '/v1/auth/email/start', payload: { email }, ip });
      assert.equal(res.statusCode, 202, res.body);
      const mail = await smtp.waitFor((m) => !before.has(m) && m.to.includes(email) && m.subject === SIGN_IN_CODE_SUBJECT);
      const code = codeInMail(mail);
      rememberCode(code);
      return { res, code, mail };
    },

    async emailSignIn(email, ip, opts = {}) {
      const { code } = await people.emailCode(email, ip);
      return people.call({
        method: 'POST',
        url: '/v1/auth/email/verify',
        payload: { email, code, ...(opts.orgId ? { org_id: opts.orgId } : {}) },
        ip,
      });
    },

    async signUp(label, ip = defaultIp) {
      const email = newEmail(label);
      const session = sessionOf(await people.emailSignIn(email, ip), `signing up ${label}`);
      const me = await people.call({ method: 'GET', url: '/v1/me', token: session.access_token, ip });
      assert.equal(me.statusCode, 200, me.body);
      const body = me.json() as { user_id: string; email: string };
      assert.equal(body.email, email);
      return { email, userId: body.user_id, session };
    },

    async setPassword(person, password = newPassword()) {
      remember(password);
      const res = await people.call({ method: 'PUT', url: '/v1/me/password', payload: { password }, token: person.session.access_token, ip: defaultIp });
      assert.equal(res.statusCode, 204, `setting a password: ${res.body}`);
      person.password = password;
      return password;
    },

    async enrolTotp(person) {
      const token = person.session.access_token;
      const enrol = await people.call({ method: 'POST', url: '/v1/me/mfa/totp', token, ip: defaultIp });
      assert.equal(enrol.statusCode, 201, `enrolling TOTP: ${enrol.body}`);
      const { secret: secretText, otpauth_uri } = enrol.json() as { secret: string; otpauth_uri: string };
      remember(secretText, secretText.toLowerCase());
      assert.ok(otpauth_uri.includes(`secret=${secretText}`), otpauth_uri);
      const device: Authenticator = { secret: base32Decode(secretText), secretText, lastStep: null, recoveryCodes: [] };
      const code = await people.nextTotpCode(device);
      const confirm = await people.call({ method: 'POST', url: '/v1/me/mfa/totp/confirm', payload: { code }, token, ip: defaultIp });
      assert.equal(confirm.statusCode, 200, `confirming TOTP: ${confirm.body}`);
      device.recoveryCodes = (confirm.json() as { recovery_codes: string[] }).recovery_codes;
      person.totp = device;
      return device;
    },

    async nextTotpCode(device) {
      for (;;) {
        const now = Date.now();
        const current = totpStep(new Date(now));
        // The server accepts now ± 1 step. The step before now only while it stays within the
        // window for a few more seconds; the step after now is safe whenever it is computed.
        const msLeft = (current + 1) * 30_000 - now;
        const lowest = msLeft > 5_000 ? current - 1 : current;
        const step = Math.max(lowest, device.lastStep === null ? lowest : device.lastStep + 1);
        if (step <= current + 1) {
          device.lastStep = step;
          const code = totpCode(device.secret, step);
          rememberCode(code);
          return code;
        }
        // Every code the window allows was used: wait for the next step, as a person would.
        await sleep(msLeft + 50);
      }
    },

    async completeMfa(mfaToken, device, ip) {
      const code = await people.nextTotpCode(device);
      return people.call({ method: 'POST', url: '/v1/auth/mfa', payload: { mfa_token: mfaToken, code }, ip });
    },

    async events(orgId, afterSeq = 0) {
      const rows = await t.database.superuser((c) =>
        c.query<{ seq: number | string; canonical: string }>(
          'SELECT seq, canonical FROM audit_events WHERE org_id = $1 AND seq > $2 AND canonical IS NOT NULL ORDER BY seq',
          [orgId, afterSeq],
        ),
      );
      return rows.map((r) => ({ ...(JSON.parse(r.canonical) as Omit<ChainEvent, 'seq'>), seq: Number(r.seq) }));
    },

    async eventOf(orgId, res) {
      const requestId = String(res.headers['x-request-id']);
      const mine = (await people.events(orgId)).filter((e) => e.request_id === requestId);
      assert.equal(mine.length, 1, `one event for request ${requestId} in ${orgId}, got ${JSON.stringify(mine)}`);
      return mine[0] as ChainEvent;
    },

    async lastSeq(orgId) {
      const [row] = await t.database.superuser((c) =>
        c.query<{ n: number | string }>('SELECT COALESCE(max(seq), 0) AS n FROM audit_events WHERE org_id = $1', [orgId]),
      );
      return Number(row?.n ?? 0);
    },

    async ageMfa(sessionId) {
      await t.database.superuser((c) => c.query("UPDATE sessions SET mfa_at = now() - interval '1 hour' WHERE session_id = $1", [sessionId]));
    },

    async findLeaks() {
      const { events, personal } = await t.database.superuser(async (c) => ({
        events: await c.query<{ where: string; text: string }>(
          "SELECT org_id || '#' || seq AS where, canonical AS text FROM audit_events WHERE canonical IS NOT NULL",
        ),
        personal: await c.query<{ where: string; text: string }>("SELECT org_id || '#' || seq AS where, p::text AS text FROM audit_personal p"),
      }));
      const places = [
        ...t.logs.map((text, i) => ({ where: `log line ${i}`, text })),
        ...events.map((r) => ({ where: `audit_events ${r.where}`, text: r.text })),
        ...personal.map((r) => ({ where: `audit_personal ${r.where}`, text: r.text })),
      ];
      // A code is a whole number on its own: not part of a longer number, hex run, uuid or decimal.
      const codePatterns = [...shortCodes].map((c) => ({ c, re: new RegExp(`(?<![0-9A-Za-z._-])${c}(?![0-9A-Za-z._-])`) }));
      const leaks: string[] = [];
      for (const { where, text } of places) {
        const lower = text.toLowerCase();
        for (const secret of credentials) if (lower.includes(secret.toLowerCase())) leaks.push(`${where}: a credential (${secret.slice(0, 6)}…)`);
        for (const { c, re } of codePatterns) if (re.test(text)) leaks.push(`${where}: the code ${c}: ${text.slice(0, 300)}`);
      }
      return {
        leaks,
        scanned: { logLines: t.logs.length, events: events.length, personalRows: personal.length, personalText: personal.map((p) => p.text).join('\n') },
      };
    },

    async close() {
      await t.close();
      await smtp.close();
    },
  };
  return people;
}

/**
 * Makes `person` a member of `org` with `role` the way people join: the org's root token invites
 * the address (POST /v1/invitations), the invitation arrives by e-mail, and the person, signed
 * in, accepts the token from its link (POST /v1/invitations/accept). Answers the member id.
 */
export async function joinOrg(p: People, person: Person, org: TestOrg, role: string): Promise<string> {
  const before = new Set(p.smtp.messages);
  const invited = await p.t.call(org.token, { method: 'POST', url: '/v1/invitations', payload: { email: person.email, role } });
  assert.equal(invited.statusCode, 201, `inviting ${person.email}: ${invited.body}`);
  const mail = await p.smtp.waitFor((m) => !before.has(m) && m.to.includes(person.email) && /invited/i.test(m.subject));
  const token = firstMatch(mail.text, /#token=(\S+)/);
  const accepted = await p.call({ method: 'POST', url: '/v1/invitations/accept', payload: { token }, token: person.session.access_token, ip: newIp() });
  assert.equal(accepted.statusCode, 200, `accepting the invitation: ${accepted.body}`);
  const body = accepted.json() as { org_id: string; member_id: string; role: string };
  assert.equal(body.org_id, org.orgId);
  assert.equal(body.role, role);
  return body.member_id;
}

/** SHA-256 of an e-mail address as `email_codes.email_hash` keys it. */
export function emailHash(email: string): Buffer {
  return createHash('sha256').update('email:').update(email).digest();
}
