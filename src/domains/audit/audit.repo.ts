import type { TenantTx } from '../../db/tenant.js';

/** An event row as the API and exporter read it. */
export interface AuditEventRow {
  seq: number;
  prev_hash: Uint8Array;
  hash: Uint8Array;
  canonical: string | null;
  pruned_at: Date | null;
  salt: Uint8Array | null;
  ip: string | null;
  user_agent: string | null;
  email: string | null;
}

/** Filters of the query API (A4); all optional, combined with AND. */
export interface AuditFilter {
  action?: string;
  actor?: string;
  resource?: string;
  outcome?: string;
  from?: string;
  to?: string;
}

const EVENT_COLUMNS = `e.seq, e.prev_hash, e.hash, e.canonical, e.pruned_at, p.salt, p.ip, p.user_agent, p.email`;

/** Events after `afterSeq` in seq order, matching `filter`, at most `limit`. */
export async function listAuditEvents(
  tx: TenantTx,
  opts: { filter: AuditFilter; afterSeq: number; limit: number },
): Promise<AuditEventRow[]> {
  const { filter } = opts;
  const rows = await tx.query<AuditEventRow & { seq: number | string }>(
    `SELECT ${EVENT_COLUMNS}
       FROM audit_events e LEFT JOIN audit_personal p ON p.org_id = e.org_id AND p.seq = e.seq
      WHERE e.org_id = $1 AND e.seq > $2
        AND ($3::text IS NULL OR e.action = $3)
        AND ($4::text IS NULL OR e.actor = $4)
        AND ($5::text IS NULL OR e.resource = $5 OR left(e.resource, length($5) + 1) = $5 || '/')
        AND ($6::text IS NULL OR e.outcome = $6)
        AND ($7::timestamptz IS NULL OR e.event_time >= $7)
        AND ($8::timestamptz IS NULL OR e.event_time < $8)
      ORDER BY e.seq
      LIMIT $9`,
    [
      tx.orgId,
      opts.afterSeq,
      filter.action ?? null,
      filter.actor ?? null,
      filter.resource ?? null,
      filter.outcome ?? null,
      filter.from ?? null,
      filter.to ?? null,
      opts.limit,
    ],
  );
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/** The org's chain head: how many events it has. */
export async function chainSize(tx: TenantTx): Promise<number> {
  const [row] = await tx.query<{ seq: number | string }>('SELECT seq FROM audit_chain_heads WHERE org_id = $1', [tx.orgId]);
  return row ? Number(row.seq) : 0;
}

/** Event hashes (the Merkle leaves' data) for seq in (after, upTo], in order. */
export async function eventHashes(tx: TenantTx, after: number, upTo: number): Promise<Uint8Array[]> {
  const rows = await tx.query<{ hash: Uint8Array }>(
    'SELECT hash FROM audit_events WHERE org_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
    [tx.orgId, after, upTo],
  );
  return rows.map((r) => r.hash);
}

/** A signed head as stored. */
export interface HeadRow {
  tree_size: number;
  root_hash: Uint8Array;
  signed_at: Date;
  key_id: string;
  signature: Uint8Array;
  frontier: Uint8Array;
}

const HEAD_COLUMNS = 'tree_size, root_hash, signed_at, key_id, signature, frontier';

function toHead(r: HeadRow & { tree_size: number | string }): HeadRow {
  return { ...r, tree_size: Number(r.tree_size) };
}

/** The org's largest signed head, or one of exactly `size`. */
export async function findHead(tx: TenantTx, size?: number): Promise<HeadRow | undefined> {
  const [row] =
    size === undefined
      ? await tx.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_heads WHERE org_id = $1 ORDER BY tree_size DESC LIMIT 1`, [tx.orgId])
      : await tx.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_heads WHERE org_id = $1 AND tree_size = $2`, [tx.orgId, size]);
  return row && toHead(row);
}

/** Every signed head of the org, smallest first. */
export async function listHeads(tx: TenantTx): Promise<HeadRow[]> {
  const rows = await tx.query<HeadRow>(`SELECT ${HEAD_COLUMNS} FROM audit_heads WHERE org_id = $1 ORDER BY tree_size`, [tx.orgId]);
  return rows.map(toHead);
}

/**
 * Records a signed head through the SECURITY DEFINER function (the runtime role cannot insert),
 * which rebuilds the root from the stored hashes and refuses one that does not match.
 */
export async function recordHead(
  tx: TenantTx,
  head: { tree_size: number; root_hash: Uint8Array; signed_at: string; key_id: string; signature: Uint8Array },
): Promise<void> {
  await tx.query('SELECT audit_record_head($1, $2, $3::timestamptz, $4, $5)', [
    head.tree_size,
    head.root_hash,
    head.signed_at,
    head.key_id,
    head.signature,
  ]);
}

/** Retention (A6) through the SECURITY DEFINER function: how many events were pruned. */
export async function pruneEvents(tx: TenantTx, eventClass: 'security' | 'operational', before: Date): Promise<number> {
  const [row] = await tx.query<{ n: number | string }>('SELECT audit_prune($1, $2) AS n', [eventClass, before.toISOString()]);
  return Number(row?.n ?? 0);
}
