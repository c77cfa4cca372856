import { createClient } from 'redis';
import type { Logger } from '../log.js';

/**
 * Counters in fixed windows, for brute-force defence and rate limits (I2). SPEC §1 puts rate
 * limits in Redis so every node counts together; without REDIS_URL the same interface runs in
 * process (one node). When Redis is configured but unreachable, counting falls back to this
 * node's memory: limits get looser across nodes, never absent.
 *
 * A window starts at a key's first hit and lasts `windowMs`; keys are opaque (callers hash what
 * could be personal, like an e-mail address).
 */
export interface Throttle {
  readonly kind: 'memory' | 'redis';
  /** Counts one hit; returns the count in the current window and when it ends. */
  hit(key: string, windowMs: number): Promise<Window>;
  /** The current count (0 when no window is open). */
  peek(key: string): Promise<Window>;
  /** Closes a key's window (a source that signed in successfully starts afresh). */
  clear(key: string): Promise<void>;
  /** Takes back one hit (an attempt that turned out to succeed). */
  undo(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A key's count and when its window closes (ms since epoch; 0 when none is open). */
export interface Window {
  count: number;
  resetAt: number;
}

const PREFIX = 'strongroom:throttle:v1:';
const UNDO_SCRIPT = "if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('GET', KEYS[1])) > 0 then return redis.call('DECR', KEYS[1]) end return 0";
const MAX_KEYS = 100_000;

/** The in-process throttle: a Map, swept of closed windows as it grows. */
export function createMemoryThrottle(now: () => number = Date.now): Throttle {
  const windows = new Map<string, Window>();
  const sweep = () => {
    const t = now();
    for (const [key, w] of windows) if (w.resetAt <= t) windows.delete(key);
    // Still too many (an attack spread over many keys): drop the oldest-inserted.
    while (windows.size > MAX_KEYS) windows.delete(windows.keys().next().value as string);
  };
  const open = (key: string): Window | undefined => {
    const w = windows.get(key);
    if (w && w.resetAt <= now()) {
      windows.delete(key);
      return undefined;
    }
    return w;
  };
  return {
    kind: 'memory',
    async hit(key, windowMs) {
      const w = open(key) ?? { count: 0, resetAt: now() + windowMs };
      w.count += 1;
      windows.set(key, w);
      if (windows.size > MAX_KEYS) sweep();
      return { ...w };
    },
    async peek(key) {
      const w = open(key);
      return w ? { ...w } : { count: 0, resetAt: 0 };
    },
    async clear(key) {
      windows.delete(key);
    },
    async undo(key) {
      const w = open(key);
      if (w && w.count > 0) w.count -= 1;
    },
    async close() {
      windows.clear();
    },
  };
}

/** The Redis throttle: INCR + PEXPIRE NX per key; this node's memory when Redis fails. */
export async function createRedisThrottle(url: string, logger: Logger): Promise<Throttle> {
  const fallback = createMemoryThrottle();
  const client = createClient({ url, disableOfflineQueue: true });
  let lastError = 0;
  client.on('error', (err: unknown) => {
    if (Date.now() - lastError < 10_000) return;
    lastError = Date.now();
    logger.warn({ err }, 'redis (rate limits) connection error; counting in this node until it is back');
  });
  const connecting = client.connect().catch(() => undefined);
  const ready = () => client.isReady;
  return {
    kind: 'redis',
    async hit(key, windowMs) {
      if (!ready()) return fallback.hit(key, windowMs);
      try {
        const k = PREFIX + key;
        const [count, , ttl] = (await client.multi().incr(k).pExpire(k, windowMs, 'NX').pTTL(k).exec()) as unknown as [number, number, number];
        return { count: Number(count), resetAt: Date.now() + Math.max(0, Number(ttl)) };
      } catch {
        return fallback.hit(key, windowMs);
      }
    },
    async peek(key) {
      if (!ready()) return fallback.peek(key);
      try {
        const k = PREFIX + key;
        const [count, ttl] = (await client.multi().get(k).pTTL(k).exec()) as unknown as [string | null, number];
        if (count === null) return { count: 0, resetAt: 0 };
        return { count: Number(count), resetAt: Date.now() + Math.max(0, Number(ttl)) };
      } catch {
        return fallback.peek(key);
      }
    },
    async clear(key) {
      await fallback.clear(key);
      if (!ready()) return;
      await client.del(PREFIX + key).catch(() => undefined);
    },
    async undo(key) {
      await fallback.undo(key);
      if (!ready()) return;
      // DECR on a key whose window closed would open a negative one: only where it exists.
      await client.eval(UNDO_SCRIPT, { keys: [PREFIX + key] }).catch(() => undefined);
    },
    async close() {
      if (client.isReady) await client.quit().catch(() => client.destroy());
      else if (client.isOpen) client.destroy();
      await connecting;
      await fallback.close();
    },
  };
}
