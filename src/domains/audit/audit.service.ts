import { Readable } from 'node:stream';
import { consistencyProof, inclusionProof, leafHash, merkleRoot } from '../../crypto/merkle.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { type Authorizer, type Caller, requireStepUp } from '../authz/authz.service.js';
import type { ExportedEvent, HeadsDocument, SignedHead } from './audit.format.js';
import type { HeadSigner } from './audit.heads.js';
import { chainSize, eventHashes, findHead, listAuditEvents, listHeads, type AuditEventRow, type AuditFilter } from './audit.repo.js';
import type { AuditEventView } from './audit.types.js';

/** Dependencies of the audit service. */
export interface AuditServiceDeps {
  withTenantTx: WithTenantTx;
  signer: HeadSigner;
  authz: Pick<Authorizer, 'require'>;
}

/** Reading the audit log and proving it (A3, A4, A5). */
export interface AuditService {
  query(principal: Caller, filter: AuditFilter, opts: { cursor?: number; limit: number }): Promise<{ events: AuditEventView[]; next_cursor: string | null }>;
  latestHead(principal: Caller): Promise<SignedHead & { public_key: string }>;
  heads(principal: Caller): Promise<HeadsDocument>;
  signHead(principal: Caller): Promise<SignedHead>;
  inclusion(principal: Caller, seq: number, treeSize?: number): Promise<{ seq: number; leaf_index: number; event_hash: string; tree_size: number; root_hash: string; proof: string[]; head: SignedHead }>;
  consistency(principal: Caller, from: number, to: number): Promise<{ from: number; to: number; from_root: string; to_root: string; proof: string[] }>;
  /** JSONL of ExportedEvent, streamed in seq order. */
  exportStream(principal: Caller): Promise<Readable>;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const EXPORT_BATCH = 5000;

function toView(row: AuditEventRow): AuditEventView {
  return {
    seq: row.seq,
    hash: hex(row.hash),
    prev_hash: hex(row.prev_hash),
    pruned: row.canonical === null,
    event: row.canonical === null ? null : (JSON.parse(row.canonical) as Record<string, unknown>),
    ip: row.ip,
    user_agent: row.user_agent,
  };
}

/** The export line of a row: the exact hashed text, and personal data with its salt. */
export function toExported(row: AuditEventRow): ExportedEvent {
  return {
    seq: row.seq,
    prev_hash: hex(row.prev_hash),
    hash: hex(row.hash),
    canonical: row.canonical,
    personal: row.salt === null ? null : { salt: hex(row.salt), ip: row.ip, user_agent: row.user_agent, email: row.email },
  };
}

/** Builds the audit service. */
export function createAuditService(deps: AuditServiceDeps): AuditService {
  const { withTenantTx, signer } = deps;

  // The audit log is the org's own security record: for those whose role may read it (P1:
  // others see 404).
  async function authorize(caller: Caller): Promise<void> {
    await deps.authz.require(caller, 'describe', { kind: 'org', orgId: caller.orgId, area: 'audit' });
  }

  async function headOf(orgId: string, treeSize?: number): Promise<SignedHead> {
    const head = await withTenantTx(orgId, (tx) => findHead(tx, treeSize));
    if (head) return signer.toSignedHead(orgId, head);
    if (treeSize !== undefined) throw new AppError('VALIDATION_FAILED', 'There is no signed head of that tree size.');
    const signed = await signer.signNow(orgId);
    if (!signed) throw notFound();
    return signed;
  }

  return {
    async query(principal, filter, opts) {
      await authorize(principal);
      const rows = await withTenantTx(principal.orgId, (tx) =>
        listAuditEvents(tx, { filter, afterSeq: opts.cursor ?? 0, limit: opts.limit + 1 }),
      );
      const page = rows.slice(0, opts.limit);
      return {
        events: page.map(toView),
        next_cursor: rows.length > opts.limit ? String(page.at(-1)?.seq) : null,
      };
    },

    async latestHead(principal) {
      await authorize(principal);
      const head = await headOf(principal.orgId);
      const keys = await signer.publicKeys();
      return { ...head, public_key: keys[head.key_id] ?? '' };
    },

    async heads(principal) {
      await authorize(principal);
      const rows = await withTenantTx(principal.orgId, (tx) => listHeads(tx));
      return {
        org: principal.orgId,
        public_keys: await signer.publicKeys(),
        heads: rows.map((r) => signer.toSignedHead(principal.orgId, r)),
      };
    },

    async signHead(principal) {
      await authorize(principal);
      const head = await signer.signNow(principal.orgId, { recorded: true });
      if (!head) throw notFound();
      return head;
    },

    async inclusion(principal, seq, treeSize) {
      await authorize(principal);
      const head = await headOf(principal.orgId, treeSize);
      if (seq > head.tree_size) {
        throw new AppError('VALIDATION_FAILED', `Event ${seq} is not covered by the signed head of size ${head.tree_size} yet.`);
      }
      const hashes = await withTenantTx(principal.orgId, (tx) => eventHashes(tx, 0, head.tree_size));
      const leaves = hashes.map((h) => leafHash(h));
      return {
        seq,
        leaf_index: seq - 1,
        event_hash: hex(hashes[seq - 1] as Uint8Array),
        tree_size: head.tree_size,
        root_hash: head.root_hash,
        proof: inclusionProof(leaves, seq - 1, head.tree_size).map(hex),
        head,
      };
    },

    async consistency(principal, from, to) {
      await authorize(principal);
      if (from > to) throw new AppError('VALIDATION_FAILED', 'from must not be larger than to.');
      const hashes = await withTenantTx(principal.orgId, async (tx) => {
        if (to > (await chainSize(tx))) throw new AppError('VALIDATION_FAILED', 'to is larger than the log.');
        return eventHashes(tx, 0, to);
      });
      const leaves = hashes.map((h) => leafHash(h));
      return {
        from,
        to,
        from_root: hex(merkleRoot(leaves.slice(0, from))),
        to_root: hex(merkleRoot(leaves)),
        proof: consistencyProof(leaves, from, to).map(hex),
      };
    },

    async exportStream(principal) {
      await authorize(principal);
      requireStepUp(principal, 'audit.export');
      const orgId = principal.orgId;
      async function* lines(): AsyncGenerator<string> {
        let after = 0;
        for (;;) {
          const rows = await withTenantTx(orgId, (tx) => listAuditEvents(tx, { filter: {}, afterSeq: after, limit: EXPORT_BATCH }));
          for (const row of rows) yield `${JSON.stringify(toExported(row))}\n`;
          const last = rows.at(-1);
          if (!last || rows.length < EXPORT_BATCH) return;
          after = last.seq;
        }
      }
      return Readable.from(lines());
    },
  };
}
