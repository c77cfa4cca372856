import { sign } from 'node:crypto';
import { createTreeBuilder, leafHash } from '../../crypto/merkle.js';
import type { WithInstallationTx, WithTenantTx } from '../../db/tenant.js';
import type { KeyProvider } from '../../kms/provider.js';
import { loadSigningKey, publicSigningKeys } from '../../kms/signing-keys.js';
import type { Logger } from '../../log.js';
import { headSigningPayload, type SignedHead } from './audit.format.js';
import { chainSize, eventHashes, findHead, pruneEvents, recordHead, type HeadRow } from './audit.repo.js';

/** Signs RFC 6962 tree heads of org audit chains with the installation's Ed25519 key (A3). */
export interface HeadSigner {
  /**
   * Signs a head over the org's whole chain now, unless the latest head already covers it; the
   * latest head either way, or null for an empty chain. `recorded` uses the request's recorded
   * transaction (the on-demand API).
   */
  signNow(orgId: string, opts?: { recorded?: boolean }): Promise<SignedHead | null>;
  /** After events were appended: signs in the background when the org's interval has passed. */
  noteAppended(orgId: string): void;
  /** key_id → base64 of the raw Ed25519 public key, for every key that ever signed heads. */
  publicKeys(): Promise<Record<string, string>>;
  /** The published form of a stored head. */
  toSignedHead(orgId: string, head: HeadRow): SignedHead;
  /** Resolves when no background signing runs. */
  drain(): Promise<void>;
}

/** What the signer is built from. */
export interface HeadSignerDeps {
  withTenantTx: WithTenantTx;
  withRecordedTx: WithTenantTx;
  withInstallationTx: WithInstallationTx;
  keyProvider: KeyProvider;
  logger: Logger;
  /** Background heads at most this often per org. */
  intervalMs: number;
  /** Retention per class (A6), applied after background signing at most hourly per org. */
  retentionDays: { operational: number; security: number };
  now?: () => Date;
}

const PRUNE_EVERY_MS = 3_600_000;

function decodeFrontier(head: HeadRow): { size: number; hashes: Uint8Array[] } {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < head.frontier.length; i += 32) hashes.push(head.frontier.subarray(i, i + 32));
  return { size: head.tree_size, hashes };
}

/** Builds the signer (loads or makes the signing key). */
export async function createHeadSigner(deps: HeadSignerDeps): Promise<HeadSigner> {
  const key = await loadSigningKey(deps, 'audit-heads');
  const now = deps.now ?? (() => new Date());
  const lastSigned = new Map<string, number>();
  const lastPruned = new Map<string, number>();
  const background = new Set<Promise<unknown>>();

  const toSignedHead = (orgId: string, head: HeadRow): SignedHead => ({
    org: orgId,
    tree_size: head.tree_size,
    root_hash: Buffer.from(head.root_hash).toString('hex'),
    signed_at: head.signed_at.toISOString(),
    key_id: head.key_id,
    signature: Buffer.from(head.signature).toString('base64'),
  });

  async function signNow(orgId: string, opts: { recorded?: boolean } = {}): Promise<SignedHead | null> {
    // Read what is new since the last head (short transaction), hash outside it.
    const work = await deps.withTenantTx(orgId, async (tx) => {
      const size = await chainSize(tx);
      const last = await findHead(tx);
      const fresh = size > (last?.tree_size ?? 0) ? await eventHashes(tx, last?.tree_size ?? 0, size) : [];
      return { size, last, fresh };
    });
    if (work.fresh.length === 0) return work.last ? toSignedHead(orgId, work.last) : null;
    const tree = createTreeBuilder(work.last ? decodeFrontier(work.last) : undefined);
    for (const hash of work.fresh) tree.push(leafHash(hash));
    const head = {
      org: orgId,
      tree_size: work.size,
      root_hash: Buffer.from(tree.root()).toString('hex'),
      signed_at: now().toISOString(),
      key_id: key.keyId,
    };
    const signature = sign(null, headSigningPayload(head), key.privateKey);
    const record = opts.recorded ? deps.withRecordedTx : deps.withTenantTx;
    // Read back what was stored: if another node signed this size first, that head stands.
    const stored = await record(orgId, async (tx) => {
      await recordHead(tx, {
        tree_size: head.tree_size,
        root_hash: Buffer.from(head.root_hash, 'hex'),
        signed_at: head.signed_at,
        key_id: head.key_id,
        signature,
      });
      return findHead(tx, head.tree_size);
    });
    lastSigned.set(orgId, now().getTime());
    if (!stored) throw new Error('a recorded tree head could not be read back');
    return toSignedHead(orgId, stored);
  }

  /** Retention (A6): prunes content older than each class's period, at most hourly per org. */
  async function maybePrune(orgId: string): Promise<void> {
    const t = now().getTime();
    if (t - (lastPruned.get(orgId) ?? 0) < PRUNE_EVERY_MS) return;
    lastPruned.set(orgId, t);
    const day = 86_400_000;
    const pruned = await deps.withTenantTx(orgId, async (tx) => ({
      operational: await pruneEvents(tx, 'operational', new Date(t - deps.retentionDays.operational * day)),
      security: await pruneEvents(tx, 'security', new Date(t - deps.retentionDays.security * day)),
    }));
    if (pruned.operational + pruned.security > 0) deps.logger.info({ orgId, pruned }, 'audit events pruned by retention');
  }

  return {
    signNow,
    noteAppended(orgId) {
      const t = now().getTime();
      if (t - (lastSigned.get(orgId) ?? 0) < deps.intervalMs) return;
      lastSigned.set(orgId, t);
      const run = signNow(orgId)
        .then(() => maybePrune(orgId))
        .catch((err: unknown) => deps.logger.warn({ err, orgId }, 'signing an audit tree head failed; retrying with the next events'))
        .finally(() => background.delete(run));
      background.add(run);
    },
    async publicKeys() {
      const keys = await publicSigningKeys(deps.withInstallationTx, 'audit-heads');
      return Object.fromEntries(keys.map((k) => [k.keyId, Buffer.from(k.rawPublicKey).toString('base64')]));
    },
    toSignedHead,
    async drain() {
      while (background.size > 0) await Promise.all([...background]);
    },
  };
}
