import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.js';
import type { Throttle } from './throttle.js';

/**
 * Brute-force defence for every sign-in endpoint (I2, OWASP ASVS 5.0 6.3.1 / 6.1.1):
 * - **per source and account**: after `maxFailures` failed attempts in `windowMs` from one IP
 *   against one account, that source is refused for the rest of the window — even with the right
 *   credentials. Only that source: the holder signs in from anywhere else, so an attacker cannot
 *   lock a victim out;
 * - **per IP**: failures against any account (`ipMaxFailures`), and requests per minute
 *   (`ipRequestsPerMinute`), so one source cannot spray many accounts;
 * - **per account**: failures from everywhere slow every further attempt on the account down
 *   (`slowdown*`), without refusing its holder.
 * The account key is a hash of what identifies the account (an e-mail address, a user id), the
 * same whether or not the account exists, so unknown and known accounts behave alike.
 */
export interface GuardOptions {
  maxFailures: number;
  windowMs: number;
  ipMaxFailures: number;
  ipRequestsPerMinute: number;
  slowdownAfter: number;
  slowdownStepMs: number;
  slowdownMaxMs: number;
}

export const GUARD_DEFAULTS: GuardOptions = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  ipMaxFailures: 50,
  ipRequestsPerMinute: 120,
  slowdownAfter: 10,
  slowdownStepMs: 250,
  slowdownMaxMs: 3_000,
};

/** What a failure led to: `lockedNow` the first time a source crosses the threshold. */
export interface FailureOutcome {
  lockedNow: boolean;
  failures: number;
}

export interface AuthGuard {
  readonly options: GuardOptions;
  /** Counts a request of `ip` to an auth endpoint; throws RATE_LIMITED past the per-minute limit. */
  rate(ip: string): Promise<void>;
  /**
   * Before checking credentials: throws TOO_MANY_ATTEMPTS when this source is locked out of
   * this account or has failed too often overall; waits the account's slowdown.
   */
  admit(ip: string, account: string): Promise<void>;
  /** Records a failed attempt. */
  fail(ip: string, account: string): Promise<FailureOutcome>;
  /** Counts a message sent to an account (sign-in codes); returns how many in the window. */
  countSend(account: string): Promise<number>;
  /** A successful sign-in from `ip`: its count against the account starts afresh. */
  succeed(ip: string, account: string): Promise<void>;
}

/** The opaque key of an account identifier (an address is lower-cased first). */
export function accountKey(kind: 'email' | 'user' | 'agent', value: string): string {
  return createHash('sha256').update(`${kind}:${value.toLowerCase()}`).digest('base64url');
}

function tooMany(resetAt: number, code: 'TOO_MANY_ATTEMPTS' | 'RATE_LIMITED'): AppError {
  const seconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
  return new AppError(code, undefined, { extensions: { retry_after_seconds: seconds } });
}

export function createAuthGuard(throttle: Throttle, options: GuardOptions = GUARD_DEFAULTS): AuthGuard {
  const src = (ip: string, account: string) => `src:${account}:${ip}`;
  return {
    options,
    async rate(ip) {
      const w = await throttle.hit(`rate:${ip}`, 60_000);
      if (w.count > options.ipRequestsPerMinute) throw tooMany(w.resetAt, 'RATE_LIMITED');
    },
    async admit(ip, account) {
      const [source, fromIp, onAccount] = await Promise.all([
        throttle.peek(src(ip, account)),
        throttle.peek(`ip:${ip}`),
        throttle.peek(`acct:${account}`),
      ]);
      if (source.count >= options.maxFailures) throw tooMany(source.resetAt, 'TOO_MANY_ATTEMPTS');
      if (fromIp.count >= options.ipMaxFailures) throw tooMany(fromIp.resetAt, 'TOO_MANY_ATTEMPTS');
      const over = onAccount.count - options.slowdownAfter;
      if (over >= 0) await sleep(Math.min(options.slowdownMaxMs, (over + 1) * options.slowdownStepMs));
    },
    async fail(ip, account) {
      const [source] = await Promise.all([
        throttle.hit(src(ip, account), options.windowMs),
        throttle.hit(`ip:${ip}`, options.windowMs),
        throttle.hit(`acct:${account}`, options.windowMs),
      ]);
      return { lockedNow: source.count === options.maxFailures, failures: source.count };
    },
    async countSend(account) {
      return (await throttle.hit(`send:${account}`, options.windowMs)).count;
    },
    async succeed(ip, account) {
      await throttle.clear(src(ip, account));
    },
  };
}
