import { randomKey, wipe } from '../crypto/aead.js';
import { createKeyCache } from './key-cache.js';
import { vaultKeyAad, type KeyProvider } from './provider.js';

/** Names one version of one vault's key. */
export interface VaultKeyRef {
  orgId: string;
  vaultId: string;
  version: number;
}

/** A vault key as stored: wrapped by a root key of a provider. */
export interface StoredVaultKey {
  provider: string;
  rootKeyId: string;
  wrappedKey: Uint8Array;
}

/**
 * The middle of the key hierarchy (SPEC §1, K2): makes vault keys, has the root-key provider
 * wrap and unwrap them, and keeps unwrapped ones in a bounded, expiring cache so the hot read
 * path does not call the KMS. Every call that may reach the KMS happens outside database
 * transactions (STYLE: short transactions).
 */
export interface VaultKeyring {
  /** A new random vault key, wrapped by the provider's current root key. */
  createVaultKey(ref: VaultKeyRef): Promise<StoredVaultKey>;
  /**
   * Lends a private copy of the plaintext vault key (from the cache, or unwrapped by the
   * provider before `use` is called) to `use`; the copy is wiped when `use` settles. `use` may
   * open a transaction: the KMS call, if any, is over by then.
   */
  useVaultKey<T>(ref: VaultKeyRef, stored: StoredVaultKey, use: (key: Uint8Array) => T | Promise<T>): Promise<T>;
  /** Drops a vault's keys from the cache (vault deleted). */
  forgetVault(orgId: string, vaultId: string): void;
  /** Wipes every cached key (seal, shutdown). */
  wipeAll(): void;
}

/** Builds the keyring over a provider. */
export function createVaultKeyring(opts: {
  provider: KeyProvider;
  cache: { maxEntries: number; ttlMs: number };
}): VaultKeyring {
  const { provider } = opts;
  const cache = createKeyCache(opts.cache);
  const cacheId = (ref: VaultKeyRef) => `${ref.orgId}/${ref.vaultId}/${ref.version}`;
  return {
    async createVaultKey(ref) {
      const key = randomKey();
      try {
        const wrapped = await provider.wrap(key, vaultKeyAad(ref));
        cache.set(cacheId(ref), key);
        return { provider: provider.name, rootKeyId: wrapped.keyId, wrappedKey: wrapped.ciphertext };
      } finally {
        wipe(key);
      }
    },
    async useVaultKey(ref, stored, use) {
      const id = cacheId(ref);
      // The cache hands out copies and keeps its own on set: `key` is ours to wipe.
      let key = cache.get(id);
      if (!key) {
        if (stored.provider !== provider.name) {
          throw new Error(`vault key ${id} is wrapped by provider "${stored.provider}", but "${provider.name}" is configured`);
        }
        key = await provider.unwrap({ keyId: stored.rootKeyId, ciphertext: stored.wrappedKey }, vaultKeyAad(ref));
        cache.set(id, key);
      }
      try {
        return await use(key);
      } finally {
        wipe(key);
      }
    },
    forgetVault(orgId, vaultId) {
      cache.deleteWhere((id) => id.startsWith(`${orgId}/${vaultId}/`));
    },
    wipeAll() {
      cache.clear();
    },
  };
}
