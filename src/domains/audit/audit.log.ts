import type { WithTenantTx } from '../../db/tenant.js';
import { outsideAuditScope } from './audit.context.js';
import type { PersonalData } from './audit.format.js';
import type { AuditEventBody } from './audit.events.js';

/** An event to append: its chained body and, beside the chain, its personal data. */
export interface AuditEventInput {
  body: AuditEventBody;
  personal?: PersonalData & { salt: string };
}

/** Where an appended event landed in its org's chain. */
export interface AppendedEvent {
  seq: number;
  hash: Uint8Array;
}

/** Appends events to per-org hash chains through `audit_append`, durably. */
export interface AuditLog {
  /**
   * Appends `events` to the org's chain and resolves once they are committed. Rejects if they
   * could not be written: the caller must then fail its request (A7, fail-closed). Resolves
   * with no events when the org does not exist (a forged token must not grow a chain).
   */
  append(orgId: string, events: readonly AuditEventInput[]): Promise<AppendedEvent[]>;
  /** Resolves when nothing is being written. */
  drain(): Promise<void>;
}

interface Waiter {
  events: readonly AuditEventInput[];
  resolve(appended: AppendedEvent[]): void;
  reject(err: unknown): void;
}

/** Events per `audit_append` call at most: bounds one transaction's size. */
const MAX_BATCH_EVENTS = 500;

/**
 * Builds the audit log with group commit: while one append of an org is being committed, the
 * events of every other request of that org wait and then go in one `audit_append` call, one
 * transaction, one chain-lock acquisition. The first request of a quiet org is written at once
 * (no added latency); under load, one commit serves many requests — and each request is still
 * answered only after its own event is durable.
 *
 * `onAppended` runs after each commit (head signing, SIEM delivery); its errors are its own.
 */
export function createAuditLog(deps: {
  withTenantTx: WithTenantTx;
  onAppended?: (orgId: string, lastSeq: number) => void;
}): AuditLog {
  const queues = new Map<string, Waiter[]>();
  const running = new Map<string, Promise<void>>();

  async function flush(orgId: string): Promise<void> {
    for (;;) {
      const queue = queues.get(orgId) ?? [];
      if (queue.length === 0) {
        // Both forgotten in the same tick: the next append starts a new flush.
        queues.delete(orgId);
        running.delete(orgId);
        return;
      }
      const batch: Waiter[] = [];
      let count = 0;
      while (queue.length > 0 && (batch.length === 0 || count + (queue[0]?.events.length ?? 0) <= MAX_BATCH_EVENTS)) {
        const next = queue.shift() as Waiter;
        batch.push(next);
        count += next.events.length;
      }
      const payload = batch.flatMap((w) => w.events.map((e) => (e.personal ? { ...e.body, personal: e.personal } : e.body)));
      try {
        const rows = await deps.withTenantTx(orgId, (tx) =>
          tx.query<{ seq: number | string; hash: Uint8Array }>('SELECT seq, hash FROM audit_append($1::jsonb)', [
            JSON.stringify(payload),
          ]),
        );
        let i = 0;
        for (const w of batch) {
          const mine = rows.slice(i, i + w.events.length).map((r) => ({ seq: Number(r.seq), hash: r.hash }));
          i += w.events.length;
          w.resolve(mine);
        }
        const last = rows.at(-1);
        if (last && deps.onAppended) deps.onAppended(orgId, Number(last.seq));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }

  return {
    append(orgId, events) {
      if (events.length === 0) return Promise.resolve([]);
      return new Promise<AppendedEvent[]>((resolve, reject) => {
        const queue = queues.get(orgId);
        if (queue) queue.push({ events, resolve, reject });
        else queues.set(orgId, [{ events, resolve, reject }]);
        // Registered before it starts, so an append arriving meanwhile joins this flush.
        // The flush serves many requests, so it runs in none of their audit scopes.
        if (!running.has(orgId)) running.set(orgId, outsideAuditScope(() => Promise.resolve().then(() => flush(orgId))));
      });
    },
    async drain() {
      while (running.size > 0) await Promise.all(running.values());
    },
  };
}
