/**
 * Signing people in through the real HTTP API in tests: an e-mail code read from the mail a
 * real SMTP server received, cookies as a browser would keep them, and the installation's audit
 * chain read straight from the database.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { ApiNode, Answer } from './nodes.js';
import { firstMatch, type TestSmtp } from './smtp.js';

/** The reserved org whose audit chain holds identity events that belong to no org. */
export const INSTALLATION_ORG_ID = '00000000-0000-0000-0000-000000000000';

/** Session cookie names (`__Host-` pins them to the origin, path `/`, Secure). */
export const COOKIES = {
  access: '__Host-sr_access',
  refresh: '__Host-sr_refresh',
  csrf: '__Host-sr_csrf',
  oidc: '__Host-sr_oidc',
  mfa: '__Host-sr_mfa',
} as const;

/** A token-mode session as `POST /v1/auth/email/verify` or `/v1/auth/refresh` answers it. */
export interface TokenSession {
  sessionId: string;
  orgId: string | null;
  accessToken: string;
  refreshToken: string;
  csrfToken: string;
  expiresIn: number;
}

/** A fresh address no other test (or earlier run against the same Redis) has used. */
export function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.com`;
}

/** An answer, for assertion messages. */
export function show(answer: Answer | LightMyRequestResponse): string {
  return 'statusCode' in answer ? `${answer.statusCode} ${answer.body.slice(0, 500)}` : `${answer.status} ${answer.text.slice(0, 500)}`;
}

/**
 * Asks `node` to e-mail a sign-in code to `email` and returns the code from the message the SMTP
 * server receives (only messages that arrive after the request count).
 */
export async function emailCode(node: ApiNode, smtp: TestSmtp, email: string): Promise<string> {
  const already = smtp.messages.length;
  const start = await node.request('POST', '/v1/auth/email/start', { body: { email } });
  if (start.status !== 202) throw new Error(`${node.name}: POST /v1/auth/email/start answered ${show(start)}`);
  const mail = await smtp.waitFor((m) => smtp.messages.indexOf(m) >= already && m.to.includes(email), 10_000);
  return firstMatch(mail.text, /^\s*(\d{6})\s*$/m);
}

/** The token-mode session in a sign-in or refresh answer; throws unless it is one. */
export function tokenSessionOf(answer: Answer): TokenSession {
  const b = answer.body;
  if (answer.status !== 200 || typeof b.access_token !== 'string' || typeof b.refresh_token !== 'string') {
    throw new Error(`expected a session, got ${show(answer)}`);
  }
  return {
    sessionId: b.session_id as string,
    orgId: (b.org_id as string | null) ?? null,
    accessToken: b.access_token,
    refreshToken: b.refresh_token,
    csrfToken: b.csrf_token as string,
    expiresIn: b.expires_in as number,
  };
}

/** Signs `email` in on `node` with an e-mail code (token mode); throws unless a session opens. */
export async function signInWithEmail(node: ApiNode, smtp: TestSmtp, email: string, opts: { orgId?: string } = {}): Promise<TokenSession> {
  const code = await emailCode(node, smtp, email);
  const verified = await node.request('POST', '/v1/auth/email/verify', {
    body: { email, code, ...(opts.orgId === undefined ? {} : { org_id: opts.orgId }) },
  });
  return tokenSessionOf(verified);
}

/** `POST /v1/auth/refresh` with a refresh token in the body. */
export function refresh(node: ApiNode, refreshToken: string): Promise<Answer> {
  return node.request('POST', '/v1/auth/refresh', { body: { refresh_token: refreshToken } });
}

/** The cookies an answer sets, by name (the last Set-Cookie of a name wins, as in a browser). */
export function setCookies(res: LightMyRequestResponse): Map<string, LightMyRequestResponse['cookies'][number]> {
  return new Map(res.cookies.map((c) => [c.name, c]));
}

/** A `Cookie` request header from name/value pairs. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

/** Runs SQL as the database superuser (TestDatabase.superuser, or a client on a server database). */
export type SuperuserSql = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** One event of an audit chain, as stored. */
export interface StoredEvent {
  seq: number;
  action: string;
  outcome: string;
  actor: { type: string; id: string };
  resource: { type: string; ref: string };
  detail?: Record<string, unknown>;
  request_id: string;
  /** The canonical JSON text, to check what it must not contain. */
  canonical: string;
}

/** The events of `orgId`'s chain with `action`, oldest first, after `afterSeq`. */
export async function chainEvents(sql: SuperuserSql, orgId: string, action: string, afterSeq = 0): Promise<StoredEvent[]> {
  const rows = await sql('SELECT seq, canonical FROM audit_events WHERE org_id = $1 AND action = $2 AND seq > $3 ORDER BY seq', [
    orgId,
    action,
    afterSeq,
  ]);
  return rows.map((r) => {
    const canonical = r.canonical as string;
    return { ...(JSON.parse(canonical) as Omit<StoredEvent, 'seq' | 'canonical'>), seq: Number(r.seq), canonical };
  });
}

/** The last sequence number of `orgId`'s chain (0 when empty). */
export async function lastSeq(sql: SuperuserSql, orgId: string): Promise<number> {
  const [row] = await sql('SELECT COALESCE(max(seq), 0) AS n FROM audit_events WHERE org_id = $1', [orgId]);
  return Number(row?.n ?? 0);
}

/**
 * Links an existing member of an org to a signed-in person, as accepting an invitation does:
 * the member row names the user, and the user's directory of orgs names the org.
 */
export async function linkMember(sql: SuperuserSql, orgId: string, memberId: string, userId: string): Promise<void> {
  await sql('UPDATE members SET user_id = $1 WHERE org_id = $2 AND member_id = $3', [userId, orgId, memberId]);
  await sql('INSERT INTO user_orgs (user_id, org_id, member_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [userId, orgId, memberId]);
}
