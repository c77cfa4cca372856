import { createHash, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/driver.js';
import type { WithInstallationTx, WithTenantTx } from '../db/tenant.js';
import { resourceRef, type AuditActor, type AuditEventBody } from '../domains/audit/audit.events.js';
import { personalCommitment } from '../domains/audit/audit.format.js';
import type { AuditLog } from '../domains/audit/audit.log.js';
import { noteAuditDetail } from '../domains/audit/audit.context.js';
import { AppError } from '../errors.js';
import type { KeyProvider } from '../kms/provider.js';
import type { Logger } from '../log.js';
import type { Mailer } from '../mail/mailer.js';
import { lockoutWarningMail, securityChangeMail, signInCodeMail } from '../mail/templates.js';
import { accountKey, type Attempt, type AuthGuard } from './guard.js';
import * as repo from './identity.repo.js';
import { OidcError, type OidcClient } from './oidc.js';
import { checkPasswordRules, hashPassword, verifyAgainstDummy, verifyPassword } from './passwords.js';
import type { IssuedSession, SessionService } from './sessions.js';
import {
  base32Encode,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  normaliseRecoveryCode,
  otpauthUri,
  recoveryCodeMatches,
  verifyTotp,
} from './totp.js';

/** The reserved org whose audit chain holds identity events that belong to no org. */
export const INSTALLATION_ORG_ID = '00000000-0000-0000-0000-000000000000';

/** Identity settings (config STRONGROOM_*). */
export interface IdentityOptions {
  emailCodeTtlSeconds: number;
  /** Guesses one e-mail code allows before it is spent. */
  emailCodeMaxAttempts: number;
  /** The issuer name authenticator apps show. */
  totpIssuer: string;
}

export const IDENTITY_DEFAULTS: IdentityOptions = {
  emailCodeTtlSeconds: 600,
  emailCodeMaxAttempts: 5,
  totpIssuer: 'Strongroom',
};

/** Facts of the request a sign-in step runs in. */
export interface RequestFacts {
  requestId: string;
  ip: string;
  userAgent: string | null;
  /** Where this request's audit event goes, and who it names: set by the service as it learns. */
  audit: { orgId: string; actor: AuditActor | null; email: string | null };
}

/** The outcome of a first factor: a session, or a token to complete with the second factor. */
export type SignInResult = { session: IssuedSession } | { mfaToken: string; sessionId: string };

export interface IdentityDeps {
  withInstallationTx: WithInstallationTx;
  withTenantTx: WithTenantTx;
  keyProvider: KeyProvider;
  sessions: SessionService;
  guard: AuthGuard;
  mailer: Mailer;
  auditLog: AuditLog;
  logger: Logger;
  oidc: ReadonlyMap<string, { client: OidcClient; name: string }>;
  options: IdentityOptions;
  now?: () => Date;
}

const EMAIL = /^[^\s@,;:<>()"[\]\\]{1,64}@[^\s@,;:<>()"[\]\\]{1,253}$/;

/** An address as compared and stored: trimmed, lower case; undefined when it is not one. */
export function normaliseEmail(input: string): string | undefined {
  const email = input.trim().toLowerCase();
  return email.length <= 254 && EMAIL.test(email) && !/[\u0000-\u001f\u007f]/.test(email) ? email : undefined;
}

function sha256(...parts: (string | Uint8Array)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function totpAad(userId: string): Buffer {
  return Buffer.from(`strongroom:totp-secret:v1:${userId}`);
}

/** Constant-time equality of two SHA-256 digests. */
function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === 32 && b.length === 32 && timingSafeEqual(a, b);
}

function signInFailed(): AppError {
  return new AppError('SIGN_IN_FAILED', 'The address, password or code is not right, or it expired.');
}

/**
 * Sign-in and everything a person does about themselves (I1–I4): e-mail codes, passwords, OIDC,
 * second factors and step-up, sessions. Orgs and invitations are in domains/orgs.
 */
export function createIdentityService(deps: IdentityDeps) {
  const now = deps.now ?? (() => new Date());
  const { guard, sessions, options } = deps;

  /** Appends an event that is not the request's own (a lockout, a reused refresh token). */
  async function sideEvent(orgId: string, body: Omit<AuditEventBody, 'pd' | 'class' | 'request_id' | 'reason' | 'status'>, facts: RequestFacts) {
    const salt = randomBytes(32);
    const personal = { ip: facts.ip, user_agent: facts.userAgent, email: facts.audit.email };
    await deps.auditLog.append(orgId, [
      {
        body: { ...body, status: null, reason: null, request_id: facts.requestId, pd: personalCommitment(salt, personal), class: 'security' },
        personal: { ...personal, salt: salt.toString('hex') },
      },
    ]);
  }

  /** A failed attempt; on the lockout threshold, the owner hears of it (at most a few times per window). */
  async function failed(attempt: Attempt, user: repo.UserRow | undefined, facts: RequestFacts): Promise<never> {
    const outcome = guard.fail(attempt);
    if (outcome.lockedNow) {
      await sideEvent(
        INSTALLATION_ORG_ID,
        {
          action: 'auth.lockout',
          actor: { type: 'anonymous', id: '-' },
          resource: user ? resourceRef.entity('user', user.user_id) : { type: 'user', ref: 'user:(unknown)' },
          outcome: 'failure',
          detail: { failures: outcome.failures },
        },
        facts,
      );
      // Many sources locking out one after another must not flood the owner's inbox.
      const warn = user !== undefined && (await guard.limit(`warn:${attempt.account}`, 3).then(() => true, () => false));
      if (user && warn) {
        const mail = lockoutWarningMail({
          attempts: outcome.failures,
          windowMinutes: Math.round(guard.options.windowMs / 60_000),
          sourceIp: facts.ip,
          at: now(),
        });
        // Not awaited: the attacker's answer must not wait on (or reveal) a mail being sent.
        deps.mailer.send({ to: user.email, ...mail }).catch((err: unknown) => deps.logger.warn({ err }, 'the lockout warning could not be sent'));
      }
    }
    throw signInFailed();
  }

  /** The orgs the person is an active member of: the directory's hints, each checked against its member row. */
  async function activeMemberships(userId: string): Promise<(repo.MembershipRow & { orgId: string })[]> {
    const hints = await deps.withInstallationTx((q) => repo.userOrgHints(q, userId));
    const found: (repo.MembershipRow & { orgId: string })[] = [];
    for (const h of hints) {
      const m = await deps.withTenantTx(h.org_id, (tx) => repo.findMembership(tx, userId));
      if (m?.status === 'active') found.push({ ...m, orgId: h.org_id });
    }
    return found;
  }

  /** The org a new session opens in: the one asked for if the user is an active member, else their first. */
  async function chooseOrg(userId: string, wanted: string | undefined, passwordOnly: boolean): Promise<string | null> {
    const open = (await activeMemberships(userId)).filter((m) => !passwordOnly || m.password_sign_in);
    return (open.find((m) => m.orgId === wanted) ?? open[0])?.orgId ?? null;
  }

  /**
   * Second-factor guesses are also capped per session (5: a pending sign-in is then ended) and
   * per person from all sources together (20 per window): a password thief with many addresses
   * still gets only a handful of tries at a 6-digit code. Counted before the check, taken back
   * when it succeeds (`releaseSecondFactor`).
   */
  async function limitSecondFactor(userId: string, sessionId: string, pending: boolean): Promise<void> {
    try {
      await guard.limit(`2fa-session:${sessionId}`, 5);
    } catch (err) {
      if (pending) await deps.withInstallationTx((q) => repo.revokeSessions(q, { sessionId }, 'too_many_second_factor_failures'));
      throw err;
    }
    await guard.limit(`2fa-user:${userId}`, 20);
  }

  async function releaseSecondFactor(userId: string, sessionId: string): Promise<void> {
    await Promise.all([guard.release(`2fa-session:${sessionId}`), guard.release(`2fa-user:${userId}`)]);
  }

  /** Tells the person a sign-in setting changed (not awaited: the change is made either way). */
  async function notify(userId: string, change: string): Promise<void> {
    const user = await deps.withInstallationTx((q) => repo.findUser(q, userId));
    if (!user) return;
    deps.mailer
      .send({ to: user.email, ...securityChangeMail({ change, at: now() }) })
      .catch((err: unknown) => deps.logger.warn({ err }, 'a security notice could not be sent'));
  }

  async function hasTotp(q: Queryable, userId: string): Promise<boolean> {
    const totp = await repo.findTotp(q, userId);
    return totp?.confirmed_at != null;
  }

  /** After a first factor: a session, or (second factor enrolled) a pending one. */
  async function firstFactorDone(user: repo.UserRow, method: string, wantedOrg: string | undefined, facts: RequestFacts): Promise<SignInResult> {
    const orgId = await chooseOrg(user.user_id, wantedOrg, method === 'password');
    facts.audit.actor = { type: 'user', id: user.user_id };
    facts.audit.orgId = orgId ?? INSTALLATION_ORG_ID;
    noteAuditDetail({ event: { method } });
    return deps.withInstallationTx(async (q) => {
      if (await hasTotp(q, user.user_id)) {
        const pending = await sessions.openPending(q, { userId: user.user_id, orgId, methods: [method], userAgent: facts.userAgent });
        return { mfaToken: pending.mfaToken, sessionId: pending.sessionId };
      }
      await repo.noteSignIn(q, user.user_id);
      return { session: await sessions.open(q, { userId: user.user_id, orgId, methods: [method], mfa: false, userAgent: facts.userAgent }) };
    });
  }

  /**
   * Checks a TOTP code of `userId`'s enrolment (confirmed, or pending when `confirm`) and uses its
   * step up. The secret is unwrapped outside any transaction (no KMS call holds one open); the
   * step is then claimed by one conditional statement, so a code still works only once.
   */
  async function useTotpCode(userId: string, code: string, confirm: boolean): Promise<boolean> {
    const totp = await deps.withInstallationTx((q) => repo.findTotp(q, userId));
    if (!totp || (totp.confirmed_at === null) !== confirm) return false;
    const secret = await deps.keyProvider.unwrap({ keyId: totp.root_key_id, ciphertext: totp.wrapped_secret }, totpAad(userId));
    let result: ReturnType<typeof verifyTotp>;
    try {
      result = verifyTotp(secret, code, { now: now(), lastUsedStep: totp.last_step === null ? null : Number(totp.last_step) });
    } finally {
      secret.fill(0);
    }
    if (!result.ok) return false;
    const step = result.step;
    return deps.withInstallationTx((q) => repo.useTotpStep(q, userId, step, confirm, totp.wrapped_secret));
  }

  /** Checks a TOTP or recovery code of `userId`, using it up: the method, or undefined when it is not right. */
  async function secondFactor(userId: string, input: { code?: string; recoveryCode?: string }): Promise<string | undefined> {
    if (input.code !== undefined) return (await useTotpCode(userId, input.code, false)) ? 'totp' : undefined;
    if (input.recoveryCode !== undefined) {
      const normalised = normaliseRecoveryCode(input.recoveryCode);
      if (!normalised) return undefined;
      return deps.withInstallationTx(async (q) => {
        const stored = await repo.unusedRecoveryCodes(q, userId);
        // Every stored hash is compared (constant time each), so timing does not say which matched.
        let match: Uint8Array | undefined;
        for (const hash of stored) if (recoveryCodeMatches(normalised, hash)) match = hash;
        return match && (await repo.useRecoveryCode(q, userId, match)) ? 'recovery_code' : undefined;
      });
    }
    return undefined;
  }

  return {
    /** Sends a sign-in code to `email` (I1). Same answer whether or not an account exists. */
    async emailStart(rawEmail: string, facts: RequestFacts): Promise<{ expiresIn: number }> {
      const email = normaliseEmail(rawEmail);
      if (!email) throw new AppError('VALIDATION_FAILED', 'Give a single e-mail address.');
      facts.audit.email = email;
      // Per address and source, and per address overall: nobody can spend the owner's allowance.
      if (await guard.allowSend(facts.ip, accountKey('email', email))) {
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        const codeId = randomUUID();
        await deps.withInstallationTx((q) =>
          repo.insertEmailCode(q, {
            codeId,
            emailHash: sha256('email:', email),
            codeHash: sha256(codeId, ':', code),
            expiresAt: new Date(now().getTime() + options.emailCodeTtlSeconds * 1000),
          }),
        );
        const mail = signInCodeMail({ code, minutesValid: Math.round(options.emailCodeTtlSeconds / 60), product: 'Strongroom' });
        // Not awaited: answering after the SMTP exchange would time how far delivery got.
        deps.mailer.send({ to: email, ...mail }).catch((err: unknown) => deps.logger.warn({ err }, 'a sign-in code could not be sent'));
      }
      return { expiresIn: options.emailCodeTtlSeconds };
    },

    /** Signs in with an e-mail code; makes the person's account on first sign-in (the address is proven). */
    async emailVerify(rawEmail: string, code: string, org: string | undefined, facts: RequestFacts): Promise<SignInResult> {
      const email = normaliseEmail(rawEmail);
      if (!email) throw new AppError('VALIDATION_FAILED', 'Give a single e-mail address.');
      facts.audit.email = email;
      // Failures are recorded with the method tried too, not only successes.
      noteAuditDetail({ event: { method: 'email_code' } });
      const attempt = await guard.admit(facts.ip, accountKey('email', email));
      const ok = await deps.withInstallationTx(async (q) => {
        // The address's last few codes count, so a code someone else asked for later does not
        // void the one the owner is typing; a wrong guess spends a try of the newest only.
        const live = await repo.liveEmailCodes(q, sha256('email:', email), now());
        const match = live.find((c) => hashesEqual(sha256(c.code_id, ':', code), c.code_hash));
        if (match) await repo.settleEmailCodes(q, sha256('email:', email));
        else if (live[0]) await repo.failEmailCode(q, live[0].code_id, options.emailCodeMaxAttempts);
        return match !== undefined;
      });
      const existing = await deps.withInstallationTx((q) => repo.findUserByEmail(q, email));
      if (!ok) return failed(attempt, existing, facts);
      await guard.succeed(attempt);
      const user = existing ?? (await deps.withInstallationTx((q) => repo.upsertUserByEmail(q, randomUUID(), email, '')));
      if (user.status !== 'active') throw signInFailed();
      return firstFactorDone(user, 'email_code', org, facts);
    },

    /** Signs in with a password (orgs opt in). Unknown accounts cost the same time as known ones. */
    async passwordSignIn(rawEmail: string, password: string, org: string | undefined, facts: RequestFacts): Promise<SignInResult> {
      // Something that is not an address is never looked up nor recorded (it may be a password
      // typed in the wrong field); it is refused like any unknown account, at the same cost.
      const email = normaliseEmail(rawEmail);
      facts.audit.email = email ?? null;
      noteAuditDetail({ event: { method: 'password' } });
      const attempt = await guard.admit(facts.ip, accountKey('email', email ?? rawEmail.trim().toLowerCase()));
      const user = email === undefined ? undefined : await deps.withInstallationTx((q) => repo.findUserByEmail(q, email));
      if (!user?.password_hash) {
        await verifyAgainstDummy(password);
        return failed(attempt, user, facts);
      }
      const verdict = await verifyPassword(password, user.password_hash);
      if (!verdict.ok || user.status !== 'active') return failed(attempt, user, facts);
      await guard.succeed(attempt);
      if (verdict.needsRehash) {
        // An imported (bcrypt) or older hash becomes argon2id on first use.
        const rehashed = await hashPassword(password);
        await deps.withInstallationTx((q) => repo.setPasswordHash(q, user.user_id, rehashed));
      }
      return firstFactorDone(user, 'password', org, facts);
    },

    /** Completes a pending sign-in with a TOTP or recovery code. */
    async completeMfa(mfaToken: string, input: { code?: string; recoveryCode?: string }, facts: RequestFacts): Promise<IssuedSession> {
      const pending = await deps.withInstallationTx((q) => sessions.pendingOf(q, mfaToken));
      if (!pending) throw signInFailed();
      facts.audit.actor = { type: 'user', id: pending.user_id };
      facts.audit.orgId = pending.org_id ?? INSTALLATION_ORG_ID;
      noteAuditDetail({ event: { method: input.code !== undefined ? 'totp' : 'recovery_code' } });
      await limitSecondFactor(pending.user_id, pending.session_id, true);
      const attempt = await guard.admit(facts.ip, accountKey('user', pending.user_id));
      const method = await secondFactor(pending.user_id, input);
      const result =
        method === undefined
          ? undefined
          : await deps.withInstallationTx(async (q) => {
              const session = await sessions.completePending(q, pending, method);
              if (session) await repo.noteSignIn(q, pending.user_id);
              return session && { method, session };
            });
      if (!result) {
        const user = await deps.withInstallationTx((q) => repo.findUser(q, pending.user_id));
        return failed(attempt, user, facts);
      }
      noteAuditDetail({ event: { method: result.method } });
      await guard.succeed(attempt);
      await releaseSecondFactor(pending.user_id, pending.session_id);
      return result.session;
    },

    /** A recent second factor for a signed-in session (step-up, I3). */
    async stepUp(sessionId: string, userId: string, input: { code?: string; recoveryCode?: string }, facts: RequestFacts): Promise<void> {
      noteAuditDetail({ event: { method: input.code !== undefined ? 'totp' : 'recovery_code' } });
      await limitSecondFactor(userId, sessionId, false);
      const attempt = await guard.admit(facts.ip, accountKey('user', userId));
      const method = await secondFactor(userId, input);
      if (method) await deps.withInstallationTx((q) => sessions.noteMfa(q, sessionId, method));
      if (!method) {
        const user = await deps.withInstallationTx((q) => repo.findUser(q, userId));
        return failed(attempt, user, facts);
      }
      noteAuditDetail({ event: { method } });
      await guard.succeed(attempt);
      await releaseSecondFactor(userId, sessionId);
    },

    /** Rotates a refresh token; a reused one ends its session (and is recorded). */
    async refresh(refreshToken: string, facts: RequestFacts): Promise<IssuedSession> {
      const result = await deps.withInstallationTx((q) => sessions.refresh(q, refreshToken));
      if ('failed' in result) {
        if (result.userId) facts.audit.actor = { type: 'user', id: result.userId };
        if (result.failed === 'reused' && result.sessionId && result.userId) {
          await sideEvent(
            INSTALLATION_ORG_ID,
            {
              action: 'auth.refresh.reuse',
              actor: { type: 'user', id: result.userId },
              resource: resourceRef.entity('session', result.sessionId),
              outcome: 'failure',
              detail: { sessions: 1 },
            },
            facts,
          );
        }
        throw new AppError('UNAUTHENTICATED', 'The refresh token is not valid: sign in again.');
      }
      const session = await deps.withInstallationTx((q) => repo.findSession(q, result.sessionId));
      facts.audit.actor = session ? { type: 'user', id: session.user_id } : null;
      facts.audit.orgId = result.orgId ?? INSTALLATION_ORG_ID;
      return result;
    },

    oidcProviders(): { id: string; name: string }[] {
      return [...deps.oidc.entries()].map(([id, p]) => ({ id, name: p.name }));
    },

    /** Starts an OIDC sign-in: the provider's URL, and the binding to set as a cookie. */
    async oidcStart(providerId: string, returnTo: string): Promise<{ url: string; binding: string }> {
      const provider = deps.oidc.get(providerId);
      if (!provider) throw new AppError('NOT_FOUND');
      const { url, flow } = await provider.client.start().catch((err: unknown) => {
        throw new AppError('UNAVAILABLE', 'The sign-in provider cannot be reached.', { cause: err });
      });
      const binding = randomBytes(32).toString('base64url');
      await deps.withInstallationTx((q) =>
        repo.insertOidcFlow(q, {
          stateHash: sha256(flow.state),
          bindingHash: sha256(binding),
          provider: providerId,
          nonce: flow.nonce,
          codeVerifier: flow.codeVerifier,
          returnTo,
          expiresAt: new Date(now().getTime() + 10 * 60_000),
        }),
      );
      return { url, binding };
    },

    /** Finishes an OIDC sign-in from the provider's redirect. */
    async oidcFinish(
      providerId: string,
      callbackUrl: URL,
      binding: string | undefined,
      facts: RequestFacts,
    ): Promise<{ result: SignInResult; returnTo: string }> {
      const provider = deps.oidc.get(providerId);
      if (!provider) throw new AppError('NOT_FOUND');
      const attempt = await guard.admit(facts.ip, accountKey('user', `oidc:${providerId}`));
      const state = callbackUrl.searchParams.get('state') ?? '';
      const flow = await deps.withInstallationTx((q) => repo.takeOidcFlow(q, sha256(state)));
      const bound = flow !== undefined && binding !== undefined && hashesEqual(sha256(binding), flow.binding_hash);
      if (!flow || !bound || flow.provider !== providerId || flow.expires_at.getTime() <= now().getTime()) {
        return failed(attempt, undefined, facts);
      }
      let identity;
      try {
        identity = await provider.client.finish(callbackUrl, { state, nonce: flow.nonce, codeVerifier: flow.code_verifier });
      } catch (err) {
        if (err instanceof OidcError) {
          deps.logger.info({ reason: err.reason, provider: providerId }, 'an OIDC sign-in was refused');
          return failed(attempt, undefined, facts);
        }
        throw err;
      }
      facts.audit.email = identity.email;
      const user = await deps.withInstallationTx(async (q) => {
        const linked = await repo.findIdentity(q, identity.issuer, identity.subject);
        if (linked) return repo.findUser(q, linked.user_id);
        // A new subject is linked to the account of its address only when the provider verified it.
        const email = identity.email ? normaliseEmail(identity.email) : undefined;
        if (!email || !identity.emailVerified) return undefined;
        const u = await repo.upsertUserByEmail(q, randomUUID(), email, identity.name ?? '');
        await repo.linkIdentity(q, { issuer: identity.issuer, subject: identity.subject, userId: u.user_id, provider: providerId });
        return u;
      });
      if (!user || user.status !== 'active') return failed(attempt, undefined, facts);
      await guard.succeed(attempt);
      return { result: await firstFactorDone(user, `oidc:${providerId}`, undefined, facts), returnTo: flow.return_to };
    },

    // --- the signed-in person ---------------------------------------------------------------

    async me(userId: string) {
      const user = await deps.withInstallationTx(async (q) => ({ user: await repo.findUser(q, userId), totp: await hasTotp(q, userId) }));
      if (!user.user) throw new AppError('UNAUTHENTICATED');
      return { user: user.user, totp: user.totp };
    },

    /** The orgs the person is an active member of. */
    async myOrgs(userId: string) {
      return (await activeMemberships(userId)).map((m) => ({
        orgId: m.orgId,
        name: m.org_name,
        memberId: m.member_id,
        role: m.role,
        requireMfa: m.require_mfa,
      }));
    },

    /** Moves the session to another org the person is an active member of (or out of any). */
    async switchOrg(sessionId: string, userId: string, orgId: string | null): Promise<IssuedSession> {
      if (orgId !== null) {
        const m = await deps.withTenantTx(orgId, (tx) => repo.findMembership(tx, userId));
        if (!m || m.status !== 'active') throw new AppError('NOT_FOUND');
        const session = await deps.withInstallationTx((q) => repo.findSession(q, sessionId));
        if (m.sessions_not_before !== null && session && session.created_at.getTime() <= m.sessions_not_before.getTime()) {
          throw new AppError('NOT_FOUND', 'Your sessions in that org were ended: sign in again to enter it.');
        }
        if (m.password_sign_in === false && session?.methods[0] === 'password') {
          throw new AppError('STEP_UP_REQUIRED', 'This org does not accept password sign-in: sign in with e-mail or your identity provider.');
        }
      }
      return deps.withInstallationTx((q) => sessions.switchOrg(q, sessionId, orgId));
    },

    async listSessions(userId: string) {
      return deps.withInstallationTx((q) => repo.listSessions(q, userId, sessions.options.idleTimeoutSeconds));
    },

    /** Ends one of the person's own sessions. */
    async revokeSession(userId: string, sessionId: string): Promise<void> {
      const ended = await deps.withInstallationTx(async (q) => {
        const s = await repo.findSession(q, sessionId);
        if (!s || s.user_id !== userId) return [];
        return repo.revokeSessions(q, { sessionId }, 'signed_out');
      });
      if (ended.length === 0) throw new AppError('NOT_FOUND');
      noteAuditDetail({ event: { sessions: ended.length } });
    },

    async signOut(sessionId: string): Promise<void> {
      await deps.withInstallationTx((q) => repo.revokeSessions(q, { sessionId }, 'signed_out'));
      noteAuditDetail({ event: { sessions: 1 } });
    },

    /** Ends every session of the person, this one included (I4: on every node, at once). */
    async signOutEverywhere(userId: string): Promise<number> {
      const ended = await deps.withInstallationTx((q) => repo.revokeSessions(q, { userId }, 'signed_out_everywhere'));
      noteAuditDetail({ event: { sessions: ended.length } });
      return ended.length;
    },

    /** Starts TOTP enrolment: the secret to put in an authenticator app (shown once). */
    async totpEnrol(userId: string): Promise<{ secret: string; uri: string }> {
      const user = await deps.withInstallationTx((q) => repo.findUser(q, userId));
      if (!user) throw new AppError('UNAUTHENTICATED');
      const secret = generateTotpSecret();
      try {
        const wrapped = await deps.keyProvider.wrap(secret, totpAad(userId));
        const stored = await deps.withInstallationTx((q) => repo.putPendingTotp(q, userId, wrapped.keyId, wrapped.ciphertext));
        if (!stored) throw new AppError('INVALID_STATE', 'An authenticator is enrolled already: remove it first.');
        const text = base32Encode(secret);
        return { secret: text, uri: otpauthUri({ secret, accountName: user.email.replace(/:/g, ''), issuer: options.totpIssuer }) };
      } finally {
        secret.fill(0);
      }
    },

    /** Confirms enrolment with a first code; returns the recovery codes (shown once). */
    async totpConfirm(userId: string, code: string): Promise<string[]> {
      const pending = await deps.withInstallationTx((q) => repo.findTotp(q, userId));
      if (!pending || pending.confirmed_at !== null) throw new AppError('INVALID_STATE', 'Start an enrolment first (POST /v1/me/mfa/totp).');
      if (!(await useTotpCode(userId, code, true))) {
        throw new AppError('VALIDATION_FAILED', 'That code is not right: check the time on your device.');
      }
      const recovery = generateRecoveryCodes();
      const hashes = recovery.map((c) => hashRecoveryCode(normaliseRecoveryCode(c) as string));
      await deps.withInstallationTx((q) => repo.replaceRecoveryCodes(q, userId, hashes));
      // Enrolling is not a step-up: whoever holds the session could enrol their own device.
      await notify(userId, 'An authenticator app was added to your account');
      return recovery;
    },

    async totpRemove(userId: string): Promise<void> {
      await deps.withInstallationTx((q) => repo.deleteTotp(q, userId));
      await notify(userId, 'The authenticator app and recovery codes were removed from your account');
    },

    async regenerateRecoveryCodes(userId: string): Promise<string[]> {
      return deps.withInstallationTx(async (q) => {
        if (!(await hasTotp(q, userId))) throw new AppError('INVALID_STATE', 'Enrol an authenticator first.');
        const recovery = generateRecoveryCodes();
        await repo.replaceRecoveryCodes(q, userId, recovery.map((c) => hashRecoveryCode(normaliseRecoveryCode(c) as string)));
        return recovery;
      }).then(async (codes) => {
        await notify(userId, 'New recovery codes were made for your account (the old ones no longer work)');
        return codes;
      });
    },

    /**
     * Deletes the person's account: identities, second factors, sessions. Only once they belong
     * to no org (leave each first), so no org loses a member — or its last owner — silently.
     */
    async deleteAccount(userId: string): Promise<void> {
      if ((await activeMemberships(userId)).length > 0) {
        throw new AppError('INVALID_STATE', 'Leave your orgs first (POST /v1/org/leave in each), then delete the account.');
      }
      await deps.withInstallationTx((q) => q.query('DELETE FROM users WHERE user_id = $1', [userId]));
    },

    /**
     * Sets (or replaces) the person's password; the list of common passwords is refused. A
     * password already set must be given (ASVS 6.2.3): a stolen session cannot replace it.
     */
    async setPassword(userId: string, password: string, currentPassword: string | undefined): Promise<void> {
      const user = await deps.withInstallationTx((q) => repo.findUser(q, userId));
      if (!user) throw new AppError('UNAUTHENTICATED');
      if (user.password_hash !== null) {
        if (currentPassword === undefined) throw new AppError('VALIDATION_FAILED', 'Give your current password as current_password.');
        // Guesses at the current password are limited like sign-in.
        await guard.limit(`password-change:${userId}`, guard.options.maxFailures);
        if (!(await verifyPassword(currentPassword, user.password_hash)).ok) {
          throw new AppError('VALIDATION_FAILED', 'The current password is not right.');
        }
        await guard.release(`password-change:${userId}`);
      }
      const rules = checkPasswordRules(password);
      if (!rules.ok) {
        const why = { too_short: 'at least 8 characters', too_long: 'at most 128 characters', common: 'not a common or breached password' };
        throw new AppError('VALIDATION_FAILED', `A password must be ${why[rules.reason]}.`);
      }
      const hash = await hashPassword(password);
      await deps.withInstallationTx((q) => repo.setPasswordHash(q, userId, hash));
      await notify(userId, user.password_hash === null ? 'A password was set on your account' : 'Your password was changed');
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
