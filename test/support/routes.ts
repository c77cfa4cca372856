/**
 * Callers for the whole-API tests (openapi, audit-events, cross-tenant, bad-input), which reach
 * every route: a mailer that keeps what it is given (sign-in codes without an SMTP server),
 * people signed in with no org, more sessions of a person, and second factors enrolled through
 * the API.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { createInstallationTx } from '../../src/db/tenant.js';
import { createAgentTokens } from '../../src/domains/agents/agent-tokens.js';
import { base32Decode, totpCode, totpStep } from '../../src/identity/totp.js';
import type { MailMessage, Mailer } from '../../src/mail/mailer.js';
import type { TestApp } from './app.js';

/** A mailer for `createTestApp({ identity: { mailer } })` that keeps every message. */
export interface CapturingMailer {
  mailer: Mailer;
  sent: MailMessage[];
  /** The six-digit code of the last sign-in mail to `email`; throws when there is none. */
  codeFor(email: string): string;
}

/** Builds a {@link CapturingMailer}. */
export function createCapturingMailer(): CapturingMailer {
  const sent: MailMessage[] = [];
  return {
    sent,
    mailer: {
      configured: true,
      send: async (message) => void sent.push(message),
      close: async () => {},
    },
    codeFor(email) {
      const mail = sent.findLast((m) => m.to === email.toLowerCase() && /sign-in code/.test(m.subject));
      const code = mail && /^[ \t]+(\d{6})[ \t]*$/m.exec(mail.text)?.[1];
      if (!code) throw new Error(`no sign-in code was mailed to ${email}`);
      return code;
    },
  };
}

/** A person signed in: their session's access token. */
export interface TestPerson {
  email: string;
  userId: string;
  sessionId: string;
  token: string;
}

let counter = 0;

/** An address nobody else in the run has. */
export function personEmail(label: string): string {
  return `${label}-${process.pid}-${++counter}-${randomUUID().slice(0, 8)}@example.com`;
}

/**
 * Another session of `userId`, in `orgId` (the user must be its member) or in none, with its
 * access token signed by the installation key as any node would sign it (like signInAsMember).
 * `mfa: false` leaves the second factor unchecked; by default it was checked now.
 */
export async function openSession(
  t: TestApp,
  userId: string,
  orgId: string | null,
  opts: { mfa?: boolean } = {},
): Promise<{ token: string; sessionId: string }> {
  const sessionId = randomUUID();
  await t.database.superuser((c) =>
    c.query(
      `INSERT INTO sessions (session_id, user_id, org_id, state, methods, expires_at, mfa_at)
       VALUES ($1, $2, $3, 'active', '{email_code,totp}', now() + interval '1 day', ${opts.mfa === false ? 'NULL' : 'now()'})`,
      [sessionId, userId, orgId],
    ),
  );
  const tokens = await createAgentTokens(
    { withInstallationTx: createInstallationTx(t.database.db), keyProvider: t.keyProvider },
    { issuer: 'strongroom', audience: 'strongroom-api' },
  );
  return { token: await tokens.issueUser({ userId, sessionId, orgId, ttlSeconds: 900 }), sessionId };
}

/**
 * A person who belongs to no org, signed in (their events go to the installation chain): a user
 * and a session with no org, made without the sign-in routes (tested on their own).
 */
export async function signInWithoutOrg(t: TestApp, email = personEmail('person'), opts: { mfa?: boolean } = {}): Promise<TestPerson> {
  const userId = randomUUID();
  await t.database.superuser((c) => c.query('INSERT INTO users (user_id, email) VALUES ($1, $2)', [userId, email.toLowerCase()]));
  const session = await openSession(t, userId, null, opts);
  return { email: email.toLowerCase(), userId, ...session };
}

/** Asks for a sign-in code (POST /v1/auth/email/start) and returns the code that was mailed. */
export async function mailedCode(t: TestApp, mail: CapturingMailer, email: string): Promise<string> {
  const res = await t.call(undefined, { method: 'POST', url: '/v1/auth/email/start', payload: { email } });
  if (res.statusCode !== 202) throw new Error(`POST /v1/auth/email/start answered ${res.statusCode}: ${res.body}`);
  return mail.codeFor(email);
}

/** Signs in through the API with a mailed code (token mode); throws unless a session opens. */
export async function signInByEmail(
  t: TestApp,
  mail: CapturingMailer,
  email: string,
): Promise<{ access_token: string; refresh_token: string; session_id: string; org_id: string | null }> {
  const code = await mailedCode(t, mail, email);
  const res: LightMyRequestResponse = await t.call(undefined, { method: 'POST', url: '/v1/auth/email/verify', payload: { email, code } });
  if (res.statusCode !== 200 || typeof res.json().access_token !== 'string') throw new Error(`signing in answered ${res.statusCode}: ${res.body}`);
  return res.json();
}

/** An authenticator enrolled and confirmed through the API: its secret and recovery codes. */
export interface TestAuthenticator {
  secret: Uint8Array;
  recoveryCodes: string[];
}

/** Enrols a TOTP authenticator for the session's person and confirms it with the current code. */
export async function enrolTotp(t: TestApp, token: string): Promise<TestAuthenticator> {
  const enrol = await t.call(token, { method: 'POST', url: '/v1/me/mfa/totp' });
  if (enrol.statusCode !== 201) throw new Error(`enrolling TOTP answered ${enrol.statusCode}: ${enrol.body}`);
  const secret = base32Decode((enrol.json() as { secret: string }).secret);
  const confirm = await t.call(token, { method: 'POST', url: '/v1/me/mfa/totp/confirm', payload: { code: totpCode(secret, totpStep(new Date())) } });
  if (confirm.statusCode !== 200) throw new Error(`confirming TOTP answered ${confirm.statusCode}: ${confirm.body}`);
  return { secret, recoveryCodes: (confirm.json() as { recovery_codes: string[] }).recovery_codes };
}
