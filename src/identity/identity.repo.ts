import type { Queryable } from '../db/driver.js';
import type { TenantTx } from '../db/tenant.js';

/**
 * SQL of the installation's identity tables (migration 0005): users, their external identities
 * and org directory, second factors, e-mail codes, OIDC flows, sessions and refresh tokens.
 * Every function takes the transaction it runs in; org-scoped reads take a `TenantTx`.
 */

/** A person as stored. */
export interface UserRow {
  user_id: string;
  email: string;
  display_name: string;
  password_hash: string | null;
  status: 'active' | 'disabled';
  created_at: Date;
  last_sign_in_at: Date | null;
}

const USER_COLUMNS = 'user_id, email, display_name, password_hash, status, created_at, last_sign_in_at';

export async function findUserByEmail(q: Queryable, email: string): Promise<UserRow | undefined> {
  const [row] = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [email]);
  return row;
}

export async function findUser(q: Queryable, userId: string): Promise<UserRow | undefined> {
  const [row] = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE user_id = $1`, [userId]);
  return row;
}

/** The user with `email`, made when there is none (its address was just proven). */
export async function upsertUserByEmail(q: Queryable, userId: string, email: string, displayName: string): Promise<UserRow> {
  await q.query('INSERT INTO users (user_id, email, display_name) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING', [
    userId,
    email,
    displayName.slice(0, 100),
  ]);
  return (await findUserByEmail(q, email)) as UserRow;
}

export async function setPasswordHash(q: Queryable, userId: string, hash: string | null): Promise<void> {
  await q.query('UPDATE users SET password_hash = $2, password_set_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END WHERE user_id = $1', [
    userId,
    hash,
  ]);
}

export async function noteSignIn(q: Queryable, userId: string): Promise<void> {
  await q.query('UPDATE users SET last_sign_in_at = now() WHERE user_id = $1', [userId]);
}

/** The user an external identity is linked to. */
export async function findIdentity(q: Queryable, issuer: string, subject: string): Promise<{ user_id: string } | undefined> {
  const [row] = await q.query<{ user_id: string }>('SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2', [
    issuer,
    subject,
  ]);
  return row;
}

export async function linkIdentity(q: Queryable, link: { issuer: string; subject: string; userId: string; provider: string }): Promise<void> {
  await q.query(
    `INSERT INTO user_identities (issuer, subject, user_id, provider) VALUES ($1, $2, $3, $4)
     ON CONFLICT (issuer, subject) DO UPDATE SET last_used_at = now()`,
    [link.issuer, link.subject, link.userId, link.provider],
  );
}

/** The orgs a user belongs to, per the directory (each is checked against its member row). */
export async function userOrgHints(q: Queryable, userId: string): Promise<{ org_id: string; member_id: string }[]> {
  return q.query('SELECT org_id, member_id FROM user_orgs WHERE user_id = $1 ORDER BY org_id', [userId]);
}

/** Notes in the directory that `userId` is member `memberId` of the transaction's org. */
export async function addUserOrg(tx: TenantTx, userId: string, memberId: string): Promise<void> {
  await tx.query(
    'INSERT INTO user_orgs (user_id, org_id, member_id) VALUES ($1, $2, $3) ON CONFLICT (user_id, org_id) DO UPDATE SET member_id = $3',
    [userId, tx.orgId, memberId],
  );
}

export async function removeUserOrg(tx: TenantTx, userId: string): Promise<void> {
  await tx.query('DELETE FROM user_orgs WHERE user_id = $1 AND org_id = $2', [userId, tx.orgId]);
}

/** A user's membership of the transaction's org, as the member row says. */
export interface MembershipRow {
  member_id: string;
  sessions_not_before: Date | null;
  role: string;
  status: 'active' | 'deactivated';
  org_name: string;
  require_mfa: boolean;
  password_sign_in: boolean;
}

export async function findMembership(tx: TenantTx, userId: string): Promise<MembershipRow | undefined> {
  const [row] = await tx.query<MembershipRow>(
    `SELECT m.member_id, m.role, m.status, m.sessions_not_before, o.name AS org_name, o.require_mfa, o.password_sign_in
       FROM members m JOIN orgs o ON o.org_id = m.org_id
      WHERE m.user_id = $1`,
    [userId],
  );
  return row;
}

// --- second factors -------------------------------------------------------------------------

export interface TotpRow {
  root_key_id: string;
  wrapped_secret: Uint8Array;
  confirmed_at: Date | null;
  last_step: string | null;
}

export async function findTotp(q: Queryable, userId: string): Promise<TotpRow | undefined> {
  const [row] = await q.query<TotpRow>('SELECT root_key_id, wrapped_secret, confirmed_at, last_step FROM mfa_totp WHERE user_id = $1', [userId]);
  return row;
}

/** Starts (or restarts, while unconfirmed) a TOTP enrolment. False when one is confirmed already. */
export async function putPendingTotp(q: Queryable, userId: string, rootKeyId: string, wrapped: Uint8Array): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO mfa_totp (user_id, root_key_id, wrapped_secret) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET root_key_id = $2, wrapped_secret = $3, created_at = now(), last_step = NULL
       WHERE mfa_totp.confirmed_at IS NULL
     RETURNING user_id`,
    [userId, rootKeyId, wrapped],
  );
  return rows.length === 1;
}

/**
 * Records an accepted step of the secret `wrapped` (confirming a pending enrolment, or using a
 * confirmed one); false when a concurrent request used that step (or a later one) first, or the
 * enrolment changed meanwhile. One conditional statement: single use needs no row lock.
 */
export async function useTotpStep(q: Queryable, userId: string, step: number, confirm: boolean, wrapped: Uint8Array): Promise<boolean> {
  const rows = await q.query(
    `UPDATE mfa_totp SET last_step = $2, confirmed_at = CASE WHEN $3 THEN now() ELSE confirmed_at END
      WHERE user_id = $1 AND wrapped_secret = $4 AND (confirmed_at IS NULL) = $3
        AND (last_step IS NULL OR last_step < $2) RETURNING user_id`,
    [userId, step, confirm, wrapped],
  );
  return rows.length === 1;
}

export async function deleteTotp(q: Queryable, userId: string): Promise<void> {
  await q.query('DELETE FROM mfa_totp WHERE user_id = $1', [userId]);
  await q.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
}

export async function replaceRecoveryCodes(q: Queryable, userId: string, hashes: Uint8Array[]): Promise<void> {
  await q.query('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
  for (const hash of hashes) await q.query('INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)', [userId, hash]);
}

export async function unusedRecoveryCodes(q: Queryable, userId: string): Promise<Uint8Array[]> {
  const rows = await q.query<{ code_hash: Uint8Array }>(
    'SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL ORDER BY code_hash',
    [userId],
  );
  return rows.map((r) => r.code_hash);
}

/** Marks a recovery code used; false when it was used already (a concurrent request). */
export async function useRecoveryCode(q: Queryable, userId: string, hash: Uint8Array): Promise<boolean> {
  const rows = await q.query(
    'UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id',
    [userId, hash],
  );
  return rows.length === 1;
}

// --- e-mail codes ---------------------------------------------------------------------------

export async function insertEmailCode(
  q: Queryable,
  code: { codeId: string; emailHash: Uint8Array; codeHash: Uint8Array; expiresAt: Date },
): Promise<void> {
  await q.query('INSERT INTO email_codes (code_id, email_hash, code_hash, expires_at) VALUES ($1, $2, $3, $4)', [
    code.codeId,
    code.emailHash,
    code.codeHash,
    code.expiresAt,
  ]);
}

export interface EmailCodeRow {
  code_id: string;
  code_hash: Uint8Array;
  expires_at: Date;
  attempts: number;
}

/** How many of an address's latest codes are good at once. */
const LIVE_CODES = 3;

/** The address's live codes (unused, unexpired, among its latest three), newest first, locked for this check. */
export async function liveEmailCodes(q: Queryable, emailHash: Uint8Array, now: Date): Promise<EmailCodeRow[]> {
  return q.query<EmailCodeRow>(
    `SELECT code_id, code_hash, expires_at, attempts FROM (
        SELECT * FROM email_codes WHERE email_hash = $1 ORDER BY created_at DESC LIMIT ${LIVE_CODES}
      ) latest
      WHERE used_at IS NULL AND expires_at > $2
      ORDER BY created_at DESC
      FOR UPDATE`,
    [emailHash, now],
  );
}

/** A code was used: every code of the address is spent (one sign-in per mail round). */
export async function settleEmailCodes(q: Queryable, emailHash: Uint8Array): Promise<void> {
  await q.query('UPDATE email_codes SET used_at = now() WHERE email_hash = $1 AND used_at IS NULL', [emailHash]);
}

/** A wrong guess: one try of the code spent; at `maxAttempts` the code is spent. */
export async function failEmailCode(q: Queryable, codeId: string, maxAttempts: number): Promise<void> {
  await q.query(
    `UPDATE email_codes SET attempts = attempts + 1, used_at = CASE WHEN attempts + 1 >= $2 THEN now() ELSE used_at END
      WHERE code_id = $1`,
    [codeId, maxAttempts],
  );
}

// --- OIDC flows -----------------------------------------------------------------------------

export interface OidcFlowRow {
  binding_hash: Uint8Array;
  provider: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  expires_at: Date;
}

export async function insertOidcFlow(
  q: Queryable,
  flow: { stateHash: Uint8Array; bindingHash: Uint8Array; provider: string; nonce: string; codeVerifier: string; returnTo: string; expiresAt: Date },
): Promise<void> {
  await q.query('DELETE FROM oidc_flows WHERE expires_at < now()');
  await q.query(
    `INSERT INTO oidc_flows (state_hash, binding_hash, provider, nonce, code_verifier, return_to, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [flow.stateHash, flow.bindingHash, flow.provider, flow.nonce, flow.codeVerifier, flow.returnTo, flow.expiresAt],
  );
}

/** Takes (deletes and returns) the flow a state names: a state is good for one callback. */
export async function takeOidcFlow(q: Queryable, stateHash: Uint8Array): Promise<OidcFlowRow | undefined> {
  const [row] = await q.query<OidcFlowRow>(
    'DELETE FROM oidc_flows WHERE state_hash = $1 RETURNING binding_hash, provider, nonce, code_verifier, return_to, expires_at',
    [stateHash],
  );
  return row;
}

// --- sessions -------------------------------------------------------------------------------

export interface SessionRow {
  session_id: string;
  user_id: string;
  org_id: string | null;
  state: 'pending_mfa' | 'active';
  methods: string[];
  created_at: Date;
  expires_at: Date;
  last_active_at: Date;
  mfa_at: Date | null;
  revoked_at: Date | null;
  pending_hash: Uint8Array | null;
  user_agent: string | null;
}

const SESSION_COLUMNS =
  'session_id, user_id, org_id, state, methods, created_at, expires_at, last_active_at, mfa_at, revoked_at, pending_hash, user_agent';

export async function insertSession(
  q: Queryable,
  s: {
    sessionId: string;
    userId: string;
    orgId: string | null;
    state: SessionRow['state'];
    methods: string[];
    expiresAt: Date;
    mfaAt: Date | null;
    pendingHash: Uint8Array | null;
    userAgent: string | null;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO sessions (session_id, user_id, org_id, state, methods, expires_at, mfa_at, pending_hash, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [s.sessionId, s.userId, s.orgId, s.state, s.methods, s.expiresAt, s.mfaAt, s.pendingHash, s.userAgent],
  );
}

export async function findSession(q: Queryable, sessionId: string, forUpdate = false): Promise<SessionRow | undefined> {
  const [row] = await q.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE session_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [sessionId],
  );
  return row;
}

/** Notes activity on a session (its idle timeout restarts). */
export async function touchSession(q: Queryable, sessionId: string): Promise<void> {
  await q.query('UPDATE sessions SET last_active_at = now() WHERE session_id = $1', [sessionId]);
}

/** Ends sessions; returns the ids ended. */
export async function revokeSessions(
  q: Queryable,
  where: { sessionId: string } | { userId: string; exceptSessionId?: string } | { userId: string; orgId: string },
  reason: string,
): Promise<string[]> {
  let filter: string;
  let params: unknown[];
  if ('sessionId' in where) {
    filter = 'session_id = $2';
    params = [where.sessionId];
  } else if ('orgId' in where) {
    filter = 'user_id = $2 AND org_id = $3';
    params = [where.userId, where.orgId];
  } else {
    filter = 'user_id = $2 AND session_id IS DISTINCT FROM $3::uuid';
    params = [where.userId, where.exceptSessionId ?? null];
  }
  const rows = await q.query<{ session_id: string }>(
    `UPDATE sessions SET revoked_at = now(), revoked_reason = $1 WHERE revoked_at IS NULL AND ${filter} RETURNING session_id`,
    [reason, ...params],
  );
  return rows.map((r) => r.session_id);
}

/** A person's live sessions: not ended, not past their lifetime, not idle longer than `idleSeconds`. */
export async function listSessions(q: Queryable, userId: string, idleSeconds: number): Promise<SessionRow[]> {
  return q.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions
      WHERE user_id = $1 AND revoked_at IS NULL AND state = 'active' AND expires_at > now()
        AND last_active_at > now() - make_interval(secs => $2)
      ORDER BY created_at DESC LIMIT 100`,
    [userId, idleSeconds],
  );
}

export async function insertRefreshToken(q: Queryable, t: { tokenId: string; sessionId: string; hash: Uint8Array }): Promise<void> {
  await q.query('INSERT INTO refresh_tokens (token_id, session_id, token_hash) VALUES ($1, $2, $3)', [t.tokenId, t.sessionId, t.hash]);
}

export interface RefreshTokenRow {
  session_id: string;
  token_hash: Uint8Array;
  used_at: Date | null;
}

export async function findRefreshToken(q: Queryable, tokenId: string): Promise<RefreshTokenRow | undefined> {
  const [row] = await q.query<RefreshTokenRow>('SELECT session_id, token_hash, used_at FROM refresh_tokens WHERE token_id = $1 FOR UPDATE', [
    tokenId,
  ]);
  return row;
}

export async function markRefreshTokenUsed(q: Queryable, tokenId: string): Promise<void> {
  await q.query('UPDATE refresh_tokens SET used_at = now() WHERE token_id = $1', [tokenId]);
}

/** The state a person's request is authenticated against, read in its org's transaction. */
export interface SessionAuthRow {
  state: SessionRow['state'];
  org_id: string | null;
  expires_at: Date;
  last_active_at: Date;
  mfa_at: Date | null;
  revoked_at: Date | null;
  user_status: 'active' | 'disabled';
  member_id: string | null;
  member_role: string | null;
  member_status: 'active' | 'deactivated' | null;
  require_mfa: boolean | null;
  password_sign_in: boolean | null;
  authz_epoch: string | null;
  created_at: Date;
  first_factor: string | null;
  /** Sessions signed in before this do not count in the org (an admin ended them). */
  sessions_not_before: Date | null;
  /** SHA-256 of the session's CSRF token (cookie sessions check it on changes). */
  csrf_hash: Uint8Array | null;
}

/**
 * One statement: the session, its user, the user's member row in the transaction's org (under
 * row-level security) and the org's authz epoch — so a sign-out or a deactivation committed
 * before this request is always seen (I4, P6).
 */
export async function sessionAuthState(q: Queryable, sessionId: string): Promise<SessionAuthRow | undefined> {
  const [row] = await q.query<SessionAuthRow>(
    `SELECT s.state, s.org_id, s.expires_at, s.last_active_at, s.mfa_at, s.revoked_at, s.created_at, s.methods[1] AS first_factor, s.csrf_hash,
            u.status AS user_status, m.member_id, m.role AS member_role, m.status AS member_status, m.sessions_not_before,
            o.require_mfa, o.password_sign_in, o.authz_epoch::text AS authz_epoch
       FROM sessions s
       JOIN users u ON u.user_id = s.user_id
       LEFT JOIN orgs o ON o.org_id = s.org_id AND o.org_id = current_org_id()
       LEFT JOIN members m ON m.org_id = o.org_id AND m.user_id = s.user_id
      WHERE s.session_id = $1`,
    [sessionId],
  );
  return row;
}
