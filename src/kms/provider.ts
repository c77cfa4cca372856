/**
 * The seam root-key providers plug into (SPEC K1): `local` now; `pkcs11`, `aws-kms`, `gcp-kms`
 * and `vault-transit` later. The root key never leaves its provider; Strongroom only ever
 * holds vault keys the provider wrapped or unwrapped for it (SPEC §1 "Key hierarchy").
 */

/** A wrapped (encrypted) key as returned by a provider, naming the provider key version that wrapped it. */
export interface WrappedKey {
  /** Provider key version (K3: old versions stay available for unwrap). */
  keyId: string;
  ciphertext: Uint8Array;
}

/** Result of a provider health probe (K4 seals the server when `ok` is false). */
export interface ProviderHealth {
  ok: boolean;
  /** User-safe explanation; never key material. */
  detail?: string;
}

/** A root-key provider: the root key never leaves it (K1). */
export interface KeyProvider {
  /** 'local', later 'pkcs11', 'aws-kms', ... */
  readonly name: string;
  /** Key version new wraps use. */
  currentKeyId(): string;
  /** Wraps `plaintext` under the current key, binding it to `aad`. */
  wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<WrappedKey>;
  /**
   * Unwraps with the key `wrapped.keyId` names.
   * Rejects with `UnknownKeyError` for an id the provider does not hold and with
   * `IntegrityError` when the ciphertext or AAD does not authenticate.
   */
  unwrap(wrapped: WrappedKey, aad: Uint8Array): Promise<Uint8Array>;
  health(): Promise<ProviderHealth>;
  /** Releases the provider; key material it holds in process is wiped. */
  close(): Promise<void>;
}

/**
 * Raised when a wrapped key names a provider key version the provider does not hold (e.g. the
 * key file was replaced). Distinct from `IntegrityError` so operators see a missing key rather
 * than apparent tampering. Key ids are fingerprints or provider names, never key material.
 */
export class UnknownKeyError extends Error {
  readonly keyId: string;

  constructor(provider: string, keyId: string) {
    // Ids come from stored rows; cap what we echo so a corrupted row cannot flood a log line.
    super(`The ${provider} key provider has no key with id ${JSON.stringify(keyId.slice(0, 80))}`);
    this.name = 'UnknownKeyError';
    this.keyId = keyId;
  }
}

const encoder = new TextEncoder();

/**
 * AAD binding a wrapped vault key to its vault and version:
 * `strongroom:vault-key:v1:org/vault/version` (SPEC §1), so a wrapped vault key copied to
 * another vault or tenant does not unwrap.
 *
 * Ids containing `/` are refused because they would make two refs share one AAD.
 *
 * @returns the UTF-8 bytes of the AAD string.
 * @example
 * await provider.wrap(vaultKey, vaultKeyAad({ orgId, vaultId, version: 1 }));
 */
export function vaultKeyAad(ref: { orgId: string; vaultId: string; version: number }): Uint8Array {
  for (const [name, id] of [
    ['orgId', ref.orgId],
    ['vaultId', ref.vaultId],
  ] as const) {
    if (id.length === 0 || id.includes('/')) throw new TypeError(`${name} must be non-empty and contain no "/"`);
  }
  if (!Number.isInteger(ref.version) || ref.version < 0 || ref.version > 0xffff_ffff) {
    throw new RangeError('vault key version must be an integer between 0 and 4294967295');
  }
  return encoder.encode(`strongroom:vault-key:v1:${ref.orgId}/${ref.vaultId}/${ref.version}`);
}
