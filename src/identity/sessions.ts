import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Queryable } from '../db/driver.js';
import type { WithInstallationTx, WithTenantTx } from '../db/tenant.js';
import type { AgentTokens } from '../domains/agents/agent-tokens.js';
import { generateToken, parseToken, tokenSecretMatches } from '../domains/tokens/tokens.fns.js';
import {
  findRefreshToken,
  findSession,
  insertRefreshToken,
  insertSession,
  markRefreshTokenUsed,
  revokeSessions,
  sessionAuthState,
  touchSession,
  type SessionAuthRow,
  type SessionRow,
} from './identity.repo.js';

/**
 * Sessions (I4). A session is one sign-in of one person: it is in at most one org at a time, has
 * an absolute lifetime (24 h by default) and an idle timeout, and ends on sign-out, sign-out
 * everywhere, an admin's revocation, or a reused refresh token.
 *
 * What a client holds:
 * - an **access token**: an EdDSA JWT (`token_use: user`, `sid`, `org`), 15 minutes, signed by
 *   the installation's access-token key (published in the JWKS). Every request reads the
 *   session row in its authentication transaction, so an ended session is refused at once on
 *   every node — the JWT's signature proves who, the row proves "still";
 * - a **refresh token** (`sr_refresh_…`), single use: each refresh hands out a new one. A used
 *   one presented again means a copy leaked, so the whole session (the token family) ends;
 * - for cookie sessions (the dashboard), a **CSRF token**: random, its hash in the session row,
 *   required in `X-CSRF-Token` on every cookie-authenticated request that changes something.
 */
export interface SessionOptions {
  accessTokenTtlSeconds: number;
  /** Absolute lifetime of a session. */
  maxSessionSeconds: number;
  /** A session unused this long ends. */
  idleTimeoutSeconds: number;
  /** How recent a second-factor check must be for step-up operations (I3). */
  stepUpSeconds: number;
  /** Time to complete the second factor after the first. */
  mfaPendingSeconds: number;
}

export const SESSION_DEFAULTS: SessionOptions = {
  accessTokenTtlSeconds: 900,
  maxSessionSeconds: 24 * 3600,
  idleTimeoutSeconds: 3600,
  stepUpSeconds: 600,
  mfaPendingSeconds: 300,
};

/** What a client receives when a session opens or refreshes. */
export interface IssuedSession {
  sessionId: string;
  orgId: string | null;
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  csrfToken: string;
}

/** A valid session behind a request, as its authentication transaction saw it. */
export interface SessionAuth {
  sessionId: string;
  userId: string;
  orgId: string | null;
  /** The member the user is in the session's org: org routes need one, `/v1/me` routes do not. */
  member: { memberId: string; role: string } | null;
  epoch: number;
  /** A second factor was checked within the step-up window. */
  recentMfa: boolean;
  /** The session's sign-in (first factor) happened within the step-up window. */
  recentSignIn: boolean;
  /** The org requires MFA and this session never did one. */
  mfaMissing: boolean;
  /** SHA-256 of the session's CSRF token, read with the rest (no second query for cookie requests). */
  csrfHash: Uint8Array | null;
}

export interface SessionService {
  readonly options: SessionOptions;
  /** Opens an active session (first and, if enrolled, second factor done) and issues its tokens. */
  open(q: Queryable, s: { userId: string; orgId: string | null; methods: string[]; mfa: boolean; userAgent: string | null }): Promise<IssuedSession>;
  /** Opens a session waiting for its second factor; returns the `sr_mfa_…` token that completes it. */
  openPending(q: Queryable, s: { userId: string; orgId: string | null; methods: string[]; userAgent: string | null }): Promise<{ sessionId: string; mfaToken: string }>;
  /** The pending session an `sr_mfa_…` token names, if it is still pending and fresh. */
  pendingOf(q: Queryable, mfaToken: string): Promise<SessionRow | undefined>;
  /** Completes a pending session after its second factor; undefined when another request completed (or ended) it first. */
  completePending(q: Queryable, session: SessionRow, method: string): Promise<IssuedSession | undefined>;
  /**
   * Rotates a refresh token. A used one presented again revokes the session (`reused`); an
   * unknown, ended or idle session is `invalid`.
   */
  refresh(q: Queryable, refreshToken: string): Promise<IssuedSession | { failed: 'invalid' | 'reused'; sessionId: string | null; userId: string | null }>;
  /** Moves a session to another org (the caller checked membership) and issues new tokens. */
  switchOrg(q: Queryable, sessionId: string, orgId: string | null): Promise<IssuedSession>;
  /** Records a second-factor check now (step-up). */
  noteMfa(q: Queryable, sessionId: string, method: string): Promise<void>;
  /** Checks a person's access token against its session, in `orgId`'s transaction when it names one. */
  authenticate(claims: { userId: string; sessionId: string; orgId: string | null }): Promise<SessionAuth | undefined>;
  /** SHA-256 of the session's CSRF token (for a request that is not otherwise authenticated: a cookie refresh). */
  csrfHashOf(sessionId: string): Promise<Uint8Array | null>;
}

function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function createSessionService(deps: {
  withInstallationTx: WithInstallationTx;
  withTenantTx: WithTenantTx;
  tokens: Pick<AgentTokens, 'issueUser'>;
  options?: Partial<SessionOptions>;
  now?: () => Date;
}): SessionService {
  const options = { ...SESSION_DEFAULTS, ...deps.options };
  const now = deps.now ?? (() => new Date());

  async function issue(q: Queryable, session: { sessionId: string; userId: string; orgId: string | null }): Promise<IssuedSession> {
    const refresh = generateToken('refresh', session.sessionId);
    await insertRefreshToken(q, { tokenId: refresh.tokenId, sessionId: session.sessionId, hash: refresh.secretHash });
    const csrf = randomBytes(32).toString('base64url');
    await q.query('UPDATE sessions SET csrf_hash = $2 WHERE session_id = $1', [session.sessionId, sha256(csrf)]);
    const ttl = Math.min(options.accessTokenTtlSeconds, options.idleTimeoutSeconds);
    const accessToken = await deps.tokens.issueUser({ ...session, ttlSeconds: ttl });
    return { sessionId: session.sessionId, orgId: session.orgId, accessToken, expiresIn: ttl, refreshToken: refresh.token, csrfToken: csrf };
  }

  function usable(row: { revoked_at: Date | null; expires_at: Date; last_active_at: Date; state: string }): boolean {
    const t = now().getTime();
    return (
      row.revoked_at === null &&
      row.state === 'active' &&
      row.expires_at.getTime() > t &&
      t - row.last_active_at.getTime() <= options.idleTimeoutSeconds * 1000
    );
  }

  function expiry(): Date {
    return new Date(now().getTime() + options.maxSessionSeconds * 1000);
  }

  return {
    options,

    async open(q, s) {
      const sessionId = randomUUID();
      await insertSession(q, {
        sessionId,
        userId: s.userId,
        orgId: s.orgId,
        state: 'active',
        methods: s.methods,
        expiresAt: expiry(),
        mfaAt: s.mfa ? now() : null,
        pendingHash: null,
        userAgent: s.userAgent,
      });
      return issue(q, { sessionId, userId: s.userId, orgId: s.orgId });
    },

    async openPending(q, s) {
      const sessionId = randomUUID();
      const token = generateToken('mfa', sessionId);
      await insertSession(q, {
        sessionId,
        userId: s.userId,
        orgId: s.orgId,
        state: 'pending_mfa',
        methods: s.methods,
        expiresAt: new Date(now().getTime() + options.mfaPendingSeconds * 1000),
        mfaAt: null,
        pendingHash: token.secretHash,
        userAgent: s.userAgent,
      });
      return { sessionId, mfaToken: token.token };
    },

    async pendingOf(q, mfaToken) {
      const parsed = parseToken(mfaToken);
      if (!parsed || parsed.kind !== 'mfa') return undefined;
      const row = await findSession(q, parsed.orgId, true);
      if (!row || row.state !== 'pending_mfa' || row.revoked_at !== null || row.pending_hash === null) return undefined;
      if (!tokenSecretMatches(parsed.secret, row.pending_hash)) return undefined;
      if (row.expires_at.getTime() <= now().getTime()) return undefined;
      return row;
    },

    async completePending(q, session, method) {
      const methods = [...new Set([...session.methods, method])];
      const done = await q.query(
        `UPDATE sessions SET state = 'active', pending_hash = NULL, mfa_at = now(), methods = $2, expires_at = $3, last_active_at = now()
          WHERE session_id = $1 AND state = 'pending_mfa' AND revoked_at IS NULL RETURNING session_id`,
        [session.session_id, methods, expiry()],
      );
      // An MFA token completes one sign-in: a concurrent completion got there first.
      if (done.length !== 1) return undefined;
      return issue(q, { sessionId: session.session_id, userId: session.user_id, orgId: session.org_id });
    },

    async refresh(q, refreshToken) {
      const parsed = parseToken(refreshToken);
      if (!parsed || parsed.kind !== 'refresh') return { failed: 'invalid', sessionId: null, userId: null };
      const token = await findRefreshToken(q, parsed.tokenId);
      const session = token && token.session_id === parsed.orgId ? await findSession(q, token.session_id, true) : undefined;
      if (!token || !session || !tokenSecretMatches(parsed.secret, token.token_hash)) {
        return { failed: 'invalid', sessionId: null, userId: null };
      }
      if (token.used_at !== null) {
        // A refresh token is good once: seeing it again means two holders. End the family.
        await revokeSessions(q, { sessionId: session.session_id }, 'refresh_token_reused');
        return { failed: 'reused', sessionId: session.session_id, userId: session.user_id };
      }
      if (!usable(session)) return { failed: 'invalid', sessionId: session.session_id, userId: session.user_id };
      await markRefreshTokenUsed(q, parsed.tokenId);
      await touchSession(q, session.session_id);
      return issue(q, { sessionId: session.session_id, userId: session.user_id, orgId: session.org_id });
    },

    async switchOrg(q, sessionId, orgId) {
      // A switch continues the sign-in as a new session (same sign-in time, lifetime, second
      // factor) and ends the old one: every token issued before — of this org or the old one —
      // stops working, even after switching back.
      const next = randomUUID();
      await q.query(
        `INSERT INTO sessions (session_id, user_id, org_id, state, methods, created_at, expires_at, last_active_at, mfa_at, user_agent)
         SELECT $2, user_id, $3, state, methods, created_at, expires_at, now(), mfa_at, user_agent
           FROM sessions WHERE session_id = $1`,
        [sessionId, next, orgId],
      );
      await revokeSessions(q, { sessionId }, 'switched_org');
      const row = (await findSession(q, next)) as SessionRow;
      return issue(q, { sessionId: next, userId: row.user_id, orgId });
    },

    async noteMfa(q, sessionId, method) {
      await q.query(
        'UPDATE sessions SET mfa_at = now(), methods = (SELECT array_agg(DISTINCT m) FROM unnest(methods || $2::text) AS m) WHERE session_id = $1',
        [sessionId, method],
      );
    },

    async authenticate(claims) {
      const read = (q: Queryable) => sessionAuthState(q, claims.sessionId);
      const row: SessionAuthRow | undefined =
        claims.orgId === null ? await deps.withInstallationTx(read) : await deps.withTenantTx(claims.orgId, read);
      if (!row || !usable(row) || row.user_status !== 'active' || row.org_id !== claims.orgId) return undefined;
      // A password sign-in counts only in orgs that accept passwords (checked on every request,
      // so turning password sign-in off ends such sessions there).
      if (row.first_factor === 'password' && row.password_sign_in === false) return undefined;
      // An admin ended this person's sessions in the org: sign-ins from before then do not count.
      if (row.sessions_not_before !== null && row.created_at.getTime() <= row.sessions_not_before.getTime()) return undefined;
      const t = now().getTime();
      if (t - row.last_active_at.getTime() > 60_000) {
        // Activity keeps a session alive (idle timeout); noted at most once a minute.
        await deps.withInstallationTx((q) => touchSession(q, claims.sessionId));
      }
      const member = row.member_id !== null && row.member_status === 'active' ? { memberId: row.member_id, role: row.member_role as string } : null;
      return {
        sessionId: claims.sessionId,
        userId: claims.userId,
        orgId: claims.orgId,
        member,
        epoch: Number(row.authz_epoch ?? 0),
        recentMfa: row.mfa_at !== null && t - row.mfa_at.getTime() <= options.stepUpSeconds * 1000,
        recentSignIn: t - row.created_at.getTime() <= options.stepUpSeconds * 1000,
        mfaMissing: row.require_mfa === true && row.mfa_at === null,
        csrfHash: row.csrf_hash,
      };
    },

    async csrfHashOf(sessionId) {
      const [row] = await deps.withInstallationTx((q) =>
        q.query<{ csrf_hash: Uint8Array | null }>('SELECT csrf_hash FROM sessions WHERE session_id = $1', [sessionId]),
      );
      return row?.csrf_hash ?? null;
    },

  };
}
