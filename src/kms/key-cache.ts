/**
 * Bounded, TTL'd in-memory cache of unwrapped vault keys (SPEC K2), so a secret read does not
 * need a KMS round trip each time, while the number of plaintext keys in memory and the time
 * each stays there are both capped. Every buffer that leaves the cache is wiped.
 */
import { wipe } from '../crypto/aead.js';

/** Options for {@link createKeyCache}. */
export interface KeyCacheOptions {
  /** Most keys held at once; the least recently used is evicted beyond it. */
  maxEntries: number;
  /** Lifetime of an entry from the moment it is set (not extended by reads). */
  ttlMs: number;
  /** Clock in milliseconds; injectable for tests. Defaults to `Date.now`. */
  now?: () => number;
}

/** A cache of unwrapped vault keys. */
export interface KeyCache {
  /**
   * Returns a **copy** of the cached key, which the caller owns and should `wipe()` when done;
   * `undefined` when absent or expired.
   */
  get(id: string): Uint8Array | undefined;
  /** Stores a private copy of `key`; the caller may wipe its own buffer right after. */
  set(id: string, key: Uint8Array): void;
  /** Removes and wipes one entry. */
  delete(id: string): void;
  /** Removes and wipes every entry whose id matches (e.g. all versions of a deleted vault); returns how many. */
  deleteWhere(predicate: (id: string) => boolean): number;
  /** Removes and wipes every entry (used when the server seals, K2/K4). */
  clear(): void;
  /** Number of live entries (expired ones are purged first). */
  readonly size: number;
}

interface Entry {
  key: Uint8Array;
  expiresAt: number;
}

/**
 * Creates a key cache.
 *
 * `get` returns a copy rather than the cached buffer. Handing out the cached buffer would mean
 * a later eviction — by another request, between the caller's `await`s — zeroes a key the
 * caller is still using, and encrypting under an all-zero key fails silently; a caller
 * that wiped it would corrupt the cache for everyone. A copy costs 32 bytes per read, and a
 * forgotten `wipe` only leaves one short-lived buffer for the garbage collector.
 *
 * @example
 * const cache = createKeyCache({ maxEntries: 10_000, ttlMs: 5 * 60_000 });
 * cache.set(`${vaultId}:${version}`, vaultKey);
 * const key = cache.get(`${vaultId}:${version}`);
 * try { ... } finally { if (key) wipe(key); }
 */
export function createKeyCache(opts: KeyCacheOptions): KeyCache {
  const { maxEntries, ttlMs } = opts;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError('ttlMs must be a positive number');
  const now = opts.now ?? Date.now;
  // Map iteration order is insertion order; re-inserting on read makes the first entry the
  // least recently used.
  const entries = new Map<string, Entry>();

  const remove = (id: string): void => {
    const entry = entries.get(id);
    if (entry === undefined) return;
    entries.delete(id);
    wipe(entry.key);
  };

  const purgeExpired = (): void => {
    const t = now();
    for (const [id, entry] of entries) if (t >= entry.expiresAt) remove(id);
  };

  return {
    get(id: string): Uint8Array | undefined {
      const entry = entries.get(id);
      if (entry === undefined) return undefined;
      if (now() >= entry.expiresAt) {
        remove(id);
        return undefined;
      }
      entries.delete(id);
      entries.set(id, entry);
      return new Uint8Array(entry.key);
    },
    set(id: string, key: Uint8Array): void {
      remove(id);
      entries.set(id, { key: new Uint8Array(key), expiresAt: now() + ttlMs });
      // Drop expired entries before evicting a live one for room.
      if (entries.size > maxEntries) purgeExpired();
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        remove(oldest);
      }
    },
    delete: remove,
    deleteWhere(predicate: (id: string) => boolean): number {
      let removed = 0;
      for (const id of [...entries.keys()]) {
        if (predicate(id)) {
          remove(id);
          removed++;
        }
      }
      return removed;
    },
    clear(): void {
      for (const entry of entries.values()) wipe(entry.key);
      entries.clear();
    },
    get size(): number {
      purgeExpired();
      return entries.size;
    },
  };
}
