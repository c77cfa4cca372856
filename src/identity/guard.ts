import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
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

/** One credential check in flight, counted before it runs. */
export interface Attempt {
  readonly ip: string;
  readonly account: string;
  /** This attempt's number from its source against its account in the window. */
  readonly sourceCount: number;
}

export interface AuthGuard {
  readonly options: GuardOptions;
  /** Counts a request of `ip` to an auth endpoint; throws RATE_LIMITED past the per-minute limit. */
  rate(ip: string): Promise<void>;
  /**
   * Before checking credentials: counts the attempt **first** — so requests sent in parallel
   * cannot all pass before any failure is counted — and throws TOO_MANY_ATTEMPTS when this
   * source is locked out of this account or has failed too often overall; then waits the
   * account's slowdown. A successful check takes its counts back (`succeed`).
   */
  admit(ip: string, account: string): Promise<Attempt>;
  /** The attempt failed (its counts stand): says whether it locked its source out. */
  fail(attempt: Attempt): FailureOutcome;
  /** The attempt succeeded: its source starts afresh against the account, and its counts are taken back. */
  succeed(attempt: Attempt): Promise<void>;
  /** Counts a hit on `key`; throws TOO_MANY_ATTEMPTS once more than `max` fall in one window. */
  limit(key: string, max: number): Promise<void>;
  /** Takes back a hit of `limit` (an attempt that succeeded). */
  release(key: string): Promise<void>;
  /** Counts a message sent to an account from `ip`: false when the address or the source has had enough. */
  allowSend(ip: string, account: string): Promise<boolean>;
}

/** Messages one address may be sent per window, from one source and from all. */
const SENDS_PER_SOURCE = 5;
const SENDS_PER_ADDRESS = 10;

/** The opaque key of an account identifier (an address is lower-cased first). */
export function accountKey(kind: 'email' | 'user' | 'agent', value: string): string {
  return createHash('sha256').update(`${kind}:${value.toLowerCase()}`).digest('base64url');
}

/**
 * The source an address counts as: IPv4 as it is (an IPv4-mapped IPv6 address as its IPv4),
 * IPv6 by its /64 — one host usually holds a whole /64, so counting single IPv6 addresses would
 * give an attacker 2^64 fresh sources.
 */
export function sourceOf(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

function tooMany(resetAt: number, code: 'TOO_MANY_ATTEMPTS' | 'RATE_LIMITED'): AppError {
  const seconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
  return new AppError(code, undefined, { extensions: { retry_after_seconds: seconds } });
}

export function createAuthGuard(throttle: Throttle, options: GuardOptions = GUARD_DEFAULTS): AuthGuard {
  const src = (ip: string, account: string) => `src:${account}:${sourceOf(ip)}`;
  const ipKey = (ip: string) => `ip:${sourceOf(ip)}`;
  return {
    options,
    async rate(ip) {
      const w = await throttle.hit(`rate:${sourceOf(ip)}`, 60_000);
      if (w.count > options.ipRequestsPerMinute) throw tooMany(w.resetAt, 'RATE_LIMITED');
    },
    async admit(ip, account) {
      const [source, fromIp, onAccount] = await Promise.all([
        throttle.hit(src(ip, account), options.windowMs),
        throttle.hit(ipKey(ip), options.windowMs),
        throttle.hit(`acct:${account}`, options.windowMs),
      ]);
      if (source.count > options.maxFailures) throw tooMany(source.resetAt, 'TOO_MANY_ATTEMPTS');
      if (fromIp.count > options.ipMaxFailures) throw tooMany(fromIp.resetAt, 'TOO_MANY_ATTEMPTS');
      const over = onAccount.count - 1 - options.slowdownAfter;
      if (over >= 0) await sleep(Math.min(options.slowdownMaxMs, (over + 1) * options.slowdownStepMs));
      return { ip, account, sourceCount: source.count };
    },
    fail(attempt) {
      return { lockedNow: attempt.sourceCount === options.maxFailures, failures: attempt.sourceCount };
    },
    async succeed(attempt) {
      await Promise.all([
        throttle.clear(src(attempt.ip, attempt.account)),
        throttle.undo(ipKey(attempt.ip)),
        throttle.undo(`acct:${attempt.account}`),
      ]);
    },
    async limit(key, max) {
      const w = await throttle.hit(`limit:${key}`, options.windowMs);
      if (w.count > max) throw tooMany(w.resetAt, 'TOO_MANY_ATTEMPTS');
    },
    async release(key) {
      await throttle.undo(`limit:${key}`);
    },
    async allowSend(ip, account) {
      const [fromSource, toAddress] = await Promise.all([
        throttle.hit(`send:${account}:${sourceOf(ip)}`, options.windowMs),
        throttle.hit(`send:${account}`, options.windowMs),
      ]);
      return fromSource.count <= SENDS_PER_SOURCE && toAddress.count <= SENDS_PER_ADDRESS;
    },
  };
}
