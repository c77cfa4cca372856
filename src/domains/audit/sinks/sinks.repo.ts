import type { TenantTx } from '../../../db/tenant.js';
import type { SinkEventRow } from './format.js';
import type { SinkConfig, SinkKind } from './sinks.types.js';

/** A sink as stored, without its wrapped secret. */
export interface SinkRow {
  sink_id: string;
  kind: SinkKind;
  name: string;
  config: SinkConfig;
  cursor_seq: number;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

/** A sink leased for delivery, with what delivering to it needs. */
export interface LeasedSinkRow extends SinkRow {
  secret_wrapped: Uint8Array | null;
  root_key_id: string | null;
  provider: string | null;
}

/** A new sink's wrapped webhook secret. */
export interface StoredSinkSecret {
  provider: string;
  rootKeyId: string;
  wrapped: Uint8Array;
}

const SINK_COLUMNS =
  'sink_id, kind, name, config, cursor_seq, attempts, next_attempt_at, last_error, created_at, delivered_at';
/** Seconds a delivering node holds a sink; a batch takes at most the send timeout (10 s). */
export const LEASE_SECONDS = 60;

function normalise<T extends SinkRow>(row: T): T {
  return { ...row, cursor_seq: Number(row.cursor_seq) };
}

/** Creates a sink starting at the beginning of the org's chain (cursor 0). */
export async function insertSink(
  tx: TenantTx,
  sink: { sinkId: string; kind: SinkKind; name: string; config: SinkConfig },
  secret: StoredSinkSecret | null,
): Promise<SinkRow> {
  const [row] = await tx.query<SinkRow>(
    `INSERT INTO audit_sinks (org_id, sink_id, kind, name, config, secret_wrapped, root_key_id, provider)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) RETURNING ${SINK_COLUMNS}`,
    [
      tx.orgId,
      sink.sinkId,
      sink.kind,
      sink.name,
      JSON.stringify(sink.config),
      secret?.wrapped ?? null,
      secret?.rootKeyId ?? null,
      secret?.provider ?? null,
    ],
  );
  return normalise(row as SinkRow);
}

/** The org's sinks, by name. */
export async function listSinks(tx: TenantTx): Promise<SinkRow[]> {
  const rows = await tx.query<SinkRow>(
    `SELECT ${SINK_COLUMNS} FROM audit_sinks WHERE org_id = $1 ORDER BY lower(name), sink_id`,
    [tx.orgId],
  );
  return rows.map(normalise);
}

/** Deletes a sink. True if it existed. */
export async function deleteSink(tx: TenantTx, sinkId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM audit_sinks WHERE org_id = $1 AND sink_id = $2 RETURNING sink_id', [
    tx.orgId,
    sinkId,
  ]);
  return rows.length > 0;
}

/**
 * Leases every sink of the org that is due (no retry pending after `now`) and not leased by a
 * live lease, to `owner` for {@link LEASE_SECONDS}. Lease times use the database clock, which
 * every node shares.
 */
export async function leaseDueSinks(tx: TenantTx, owner: string, now: Date): Promise<LeasedSinkRow[]> {
  const rows = await tx.query<LeasedSinkRow>(
    `UPDATE audit_sinks
        SET lease_owner = $2, lease_until = now() + make_interval(secs => $4)
      WHERE org_id = $1
        AND (next_attempt_at IS NULL OR next_attempt_at <= $3)
        AND (lease_until IS NULL OR lease_until < now())
      RETURNING ${SINK_COLUMNS}, secret_wrapped, root_key_id, provider`,
    [tx.orgId, owner, now, LEASE_SECONDS],
  );
  return rows.map(normalise);
}

/**
 * When the org next needs a delivery run, for the sinks this run did not finish: those waiting
 * for a retry or leased by another node (whose lease may expire — a node that died). Each wakes
 * at the later of its retry time and its lease's end, which may already have passed (then at
 * once). Null when every sink is idle and caught up.
 */
export async function nextWakeUp(tx: TenantTx): Promise<Date | null> {
  const [row] = await tx.query<{ wake: Date | null }>(
    `SELECT min(GREATEST(COALESCE(next_attempt_at, '-infinity'), COALESCE(lease_until, '-infinity'))) AS wake
       FROM audit_sinks
      WHERE org_id = $1 AND (next_attempt_at IS NOT NULL OR lease_owner IS NOT NULL)`,
    [tx.orgId],
  );
  return row?.wake ?? null;
}

/** The next events after `afterSeq`, in seq order, with their IP address and user agent. */
export async function readEventsAfter(tx: TenantTx, afterSeq: number, limit: number): Promise<SinkEventRow[]> {
  const rows = await tx.query<SinkEventRow>(
    `SELECT e.seq, e.prev_hash, e.hash, e.event_time, e.canonical, p.ip, p.user_agent
       FROM audit_events e
       LEFT JOIN audit_personal p ON p.org_id = e.org_id AND p.seq = e.seq
      WHERE e.org_id = $1 AND e.seq > $2
      ORDER BY e.seq
      LIMIT $3`,
    [tx.orgId, afterSeq, limit],
  );
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/**
 * Records a confirmed delivery up to `lastSeq`, clears the failure state, and either keeps the
 * lease for the next batch (`keepLease`) or releases it. Guarded by the lease: false when this
 * node no longer holds it (the sink was deleted, or the lease expired and another node took it).
 */
export async function recordDelivered(
  tx: TenantTx,
  sinkId: string,
  owner: string,
  lastSeq: number,
  keepLease: boolean,
): Promise<boolean> {
  const rows = await tx.query(
    `UPDATE audit_sinks
        SET cursor_seq = GREATEST(cursor_seq, $4), attempts = 0, last_error = NULL, next_attempt_at = NULL,
            delivered_at = now(),
            lease_owner = CASE WHEN $5 THEN lease_owner END,
            lease_until = CASE WHEN $5 THEN now() + make_interval(secs => $6) END
      WHERE org_id = $1 AND sink_id = $2 AND lease_owner = $3
      RETURNING sink_id`,
    [tx.orgId, sinkId, owner, lastSeq, keepLease, LEASE_SECONDS],
  );
  return rows.length > 0;
}

/** Records a failed delivery: one more attempt, the next one at `nextAttemptAt`; releases the lease. */
export async function recordFailed(
  tx: TenantTx,
  sinkId: string,
  owner: string,
  failure: { message: string; nextAttemptAt: Date },
): Promise<{ attempts: number } | undefined> {
  const [row] = await tx.query<{ attempts: number }>(
    `UPDATE audit_sinks
        SET attempts = attempts + 1, last_error = left($4, 500), next_attempt_at = $5,
            lease_owner = NULL, lease_until = NULL
      WHERE org_id = $1 AND sink_id = $2 AND lease_owner = $3
      RETURNING attempts`,
    [tx.orgId, sinkId, owner, failure.message, failure.nextAttemptAt],
  );
  return row;
}

/** Releases a lease without changing anything else (caught up, or stopping). */
export async function releaseLease(tx: TenantTx, sinkId: string, owner: string): Promise<void> {
  await tx.query(
    `UPDATE audit_sinks SET lease_owner = NULL, lease_until = NULL
      WHERE org_id = $1 AND sink_id = $2 AND lease_owner = $3`,
    [tx.orgId, sinkId, owner],
  );
}
