import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { wipe } from '../crypto/aead.js';
import type { WithInstallationTx } from '../db/tenant.js';
import { signingKeyId } from '../domains/audit/audit.format.js';
import type { KeyProvider } from './provider.js';

/** What an installation signs with its own Ed25519 keys: audit tree heads, access tokens, invitations. */
export type SigningPurpose = 'audit-heads' | 'agent-tokens' | 'invitations';

/** An installation signing key, unwrapped. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The raw 32-byte Ed25519 public key. */
  rawPublicKey: Uint8Array;
}

const AAD_PREFIX = 'strongroom:signing-key:v1:';

/**
 * The AAD that binds a wrapped private key to its id and purpose, so a row relabelled for
 * another purpose fails to unwrap. (Audit keys predate the purpose in the AAD and keep theirs.)
 */
function aadOf(purpose: SigningPurpose, keyId: string): Buffer {
  return Buffer.from(purpose === 'audit-heads' ? AAD_PREFIX + keyId : `${AAD_PREFIX}${purpose}:${keyId}`);
}

interface KeyRow {
  key_id: string;
  provider: string;
  root_key_id: string;
  wrapped_private_key: Uint8Array;
  public_key: Uint8Array;
}

/** Public keys of every key that ever signed for `purpose`, oldest first. */
export async function publicSigningKeys(
  withInstallationTx: WithInstallationTx,
  purpose: SigningPurpose,
): Promise<{ keyId: string; rawPublicKey: Uint8Array }[]> {
  const rows = await withInstallationTx((q) =>
    q.query<{ key_id: string; public_key: Uint8Array }>(
      'SELECT key_id, public_key FROM signing_keys WHERE purpose = $1 ORDER BY created_at, key_id',
      [purpose],
    ),
  );
  return rows.map((r) => ({ keyId: r.key_id, rawPublicKey: r.public_key }));
}

/** A raw Ed25519 public key as a KeyObject. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') }, format: 'jwk' });
}

const SELECT_OLDEST = `SELECT key_id, provider, root_key_id, wrapped_private_key, public_key FROM signing_keys
  WHERE purpose = $1 ORDER BY created_at, key_id LIMIT 1`;

/**
 * Loads the installation's signing key for `purpose`, making it on first use: an Ed25519 key
 * pair whose private half is wrapped by the root-key provider and stored in `signing_keys`.
 * Several nodes starting at once agree on one (an advisory lock serialises the first store).
 */
export async function loadSigningKey(
  deps: { withInstallationTx: WithInstallationTx; keyProvider: KeyProvider },
  purpose: SigningPurpose,
): Promise<SigningKey> {
  const oldest = () => deps.withInstallationTx((q) => q.query<KeyRow>(SELECT_OLDEST, [purpose]));
  let [row] = await oldest();
  if (!row) {
    const pair = generateKeyPairSync('ed25519');
    const raw = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    const keyId = signingKeyId(raw);
    const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    const wrapped = await deps.keyProvider.wrap(der, aadOf(purpose, keyId));
    wipe(der);
    // Nodes starting together on an empty database serialise here, so all of them end up with
    // the one key the first stored (a second key would make tokens of one node unknown to others).
    row = await deps.withInstallationTx(async (q) => {
      await q.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`strongroom:signing-key:${purpose}`]);
      const [existing] = await q.query<KeyRow>(SELECT_OLDEST, [purpose]);
      if (existing) return existing;
      await q.query(
        `INSERT INTO signing_keys (key_id, purpose, algorithm, public_key, provider, root_key_id, wrapped_private_key)
         VALUES ($1, $2, 'Ed25519', $3, $4, $5, $6)`,
        [keyId, purpose, raw, deps.keyProvider.name, wrapped.keyId, wrapped.ciphertext],
      );
      const [mine] = await q.query<KeyRow>(SELECT_OLDEST, [purpose]);
      return mine;
    });
  }
  if (!row) throw new Error(`no ${purpose} signing key could be stored`);
  const der = await deps.keyProvider.unwrap({ keyId: row.root_key_id, ciphertext: row.wrapped_private_key }, aadOf(purpose, row.key_id));
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    return { keyId: row.key_id, privateKey, publicKey: createPublicKey(privateKey), rawPublicKey: row.public_key };
  } finally {
    wipe(der);
  }
}
