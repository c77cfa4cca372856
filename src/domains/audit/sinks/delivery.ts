import { hostname as osHostname } from 'node:os';
import { wipe } from '../../../crypto/aead.js';
import type { WithTenantTx } from '../../../db/tenant.js';
import type { KeyProvider } from '../../../kms/provider.js';
import type { Logger } from '../../../log.js';
import { describeDeliveryFailure, SinkDeliveryError } from './errors.js';
import { syslogMessage, toDeliveredRecord, webhookBody, type DeliveredRecord, type SinkEventRow } from './format.js';
import { sinkSecretAad } from './secret.js';
import {
  leaseDueSinks,
  nextWakeUp,
  readEventsAfter,
  recordDelivered,
  recordFailed,
  releaseLease,
  type LeasedSinkRow,
} from './sinks.repo.js';
import type { SyslogConfig, WebhookConfig } from './sinks.types.js';
import { sendSyslog } from './syslog.js';
import { sendWebhook } from './webhook.js';

/** Dependencies of the delivery worker. */
export interface AuditDeliveryDeps {
  withTenantTx: WithTenantTx;
  keyProvider: Pick<KeyProvider, 'unwrap'>;
  logger: Pick<Logger, 'warn' | 'error'>;
  /** Names this process in leases; unique per process (e.g. host, pid and a random part). */
  nodeId: string;
  /** Lets sinks reach loopback and private networks (STRONGROOM_AUDIT_SINKS_ALLOW_PRIVATE). */
  allowPrivateNetworks: boolean;
  /** Extra trusted CA certificates; production uses the system trust store. */
  ca?: string | Buffer;
  now?: () => Date;
  /** Events per delivery, at most; 100 by default. */
  batchSize?: number;
  /** Wait before the next try after the `attempt`-th failure in a row; 2^attempt s, at most 300 s, by default. */
  backoffMs?: (attempt: number) => number;
  /** Least time between runs started by `noteAppended` for one org (default 1000 ms). */
  minRunIntervalMs?: number;
}

/** Streams each org's audit events to its sinks (A5). */
export interface AuditDelivery {
  /**
   * Schedules a delivery run for the org: call it after committing new events. Runs coalesce —
   * at most one per org is in flight in this process, and kicks during a run cause one more.
   */
  kick(orgId: string): void;
  /**
   * After an org's events were committed: kicks it at most once per `minRunIntervalMs`. Every
   * request commits events, and a run costs a transaction even for an org with no sinks, so the
   * hot path pays for delivery at most once a second per org (delivery latency ≤ that interval).
   */
  noteAppended(orgId: string): void;
  /** Resolves once no run is in flight for the org (retry timers are not waited for). */
  drain(orgId: string): Promise<void>;
  /** Stops the retry timers and waits for the runs in flight, which stop after their current batch. */
  close(): Promise<void>;
}

/** 2^attempt seconds, capped at 5 minutes. */
export function defaultBackoffMs(attempt: number): number {
  return Math.min(2 ** attempt, 300) * 1000;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A run that failed on the database is tried again after this. */
const RUN_RETRY_MS = 30_000;
const MAX_TIMER_MS = 24 * 60 * 60 * 1000;

/**
 * Builds the delivery worker. Delivery is at-least-once with a cursor per sink: a run leases
 * each due sink in a short transaction, reads the events after its cursor, sends them outside
 * any transaction, and moves the cursor only after the receiver confirmed them (2xx, or a
 * cleanly closed syslog connection). A crash between sending and moving the cursor sends the
 * batch again; receivers dedupe by seq. A failure backs off exponentially and is retried by an
 * unref'd timer; a lease left by a node that died is taken over when it expires.
 *
 * @example
 * const delivery = createAuditDelivery({ withTenantTx, keyProvider, logger, nodeId, allowPrivateNetworks: false });
 * // after appending events for orgId:
 * delivery.kick(orgId);
 */
export function createAuditDelivery(deps: AuditDeliveryDeps): AuditDelivery {
  const { withTenantTx, keyProvider, logger, nodeId, allowPrivateNetworks, ca } = deps;
  const clock = deps.now ?? (() => new Date());
  const batchSize = deps.batchSize ?? 100;
  const backoffMs = deps.backoffMs ?? defaultBackoffMs;
  const host = osHostname();
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new RangeError('batchSize must be 1 to 10000');

  const runs = new Map<string, { promise: Promise<void>; again: boolean }>();
  const lastRun = new Map<string, number>();
  const minRunIntervalMs = deps.minRunIntervalMs ?? 1000;
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  let closed = false;

  /** Kicks the org at `at` unless an earlier kick is already scheduled. */
  function schedule(orgId: string, at: Date): void {
    if (closed) return;
    const existing = timers.get(orgId);
    if (existing && existing.at <= at.getTime()) return;
    if (existing) clearTimeout(existing.timer);
    const delay = Math.min(Math.max(at.getTime() - clock().getTime(), 10), MAX_TIMER_MS);
    const timer = setTimeout(() => {
      timers.delete(orgId);
      kick(orgId);
    }, delay);
    timer.unref();
    timers.set(orgId, { at: at.getTime(), timer });
  }

  async function send(orgId: string, sink: LeasedSinkRow, rows: SinkEventRow[], records: DeliveredRecord[], secret: Uint8Array | null) {
    if (sink.kind === 'webhook') {
      if (!secret) throw new SinkDeliveryError('The webhook has no signing secret.');
      const config = sink.config as WebhookConfig;
      await sendWebhook({
        url: config.url,
        secret,
        body: webhookBody(orgId, records),
        allowPrivateNetworks,
        now: clock,
        ...(ca === undefined ? {} : { ca }),
      });
      return;
    }
    const config = sink.config as SyslogConfig;
    const messages = records.map((record, i) =>
      syslogMessage(orgId, record, { eventTime: (rows[i] as SinkEventRow).event_time, hostname: host, appName: config.app_name }),
    );
    await sendSyslog({
      host: config.host,
      port: config.port,
      tls: config.tls,
      messages,
      allowPrivateNetworks,
      ...(ca === undefined ? {} : { ca }),
    });
  }

  async function recordFailure(orgId: string, sink: LeasedSinkRow, attempts: number, err: unknown): Promise<void> {
    const message = describeDeliveryFailure(err);
    const nextAttemptAt = new Date(clock().getTime() + Math.max(0, backoffMs(attempts)));
    const recorded = await withTenantTx(orgId, (tx) => recordFailed(tx, sink.sink_id, nodeId, { message, nextAttemptAt }));
    logger.warn({ orgId, sinkId: sink.sink_id, attempts: recorded?.attempts ?? attempts, error: message }, 'audit sink delivery failed');
    if (recorded) schedule(orgId, nextAttemptAt);
  }

  /** Delivers everything after the sink's cursor, batch by batch, while this node holds its lease. */
  async function deliverSink(orgId: string, sink: LeasedSinkRow): Promise<void> {
    let cursor = sink.cursor_seq;
    let secret: Uint8Array | null = null;
    try {
      if (sink.kind === 'webhook') {
        try {
          if (sink.secret_wrapped === null || sink.root_key_id === null) throw new SinkDeliveryError('The webhook has no signing secret.');
          secret = await keyProvider.unwrap(
            { keyId: sink.root_key_id, ciphertext: sink.secret_wrapped },
            sinkSecretAad(orgId, sink.sink_id),
          );
        } catch (err) {
          await recordFailure(orgId, sink, sink.attempts + 1, new SinkDeliveryError('The signing secret could not be unwrapped.', { cause: err }));
          return;
        }
      }
      for (;;) {
        if (closed) break;
        const rows = await withTenantTx(orgId, (tx) => readEventsAfter(tx, cursor, batchSize));
        if (rows.length === 0) break;
        const records = rows.map(toDeliveredRecord);
        try {
          await send(orgId, sink, rows, records, secret);
        } catch (err) {
          // Attempts reset on every success, so this is the first failure unless the run began failing.
          await recordFailure(orgId, sink, cursor === sink.cursor_seq ? sink.attempts + 1 : 1, err);
          return;
        }
        const last = (records[records.length - 1] as DeliveredRecord).seq;
        const held = await withTenantTx(orgId, (tx) => recordDelivered(tx, sink.sink_id, nodeId, last, true));
        // Deleted meanwhile, or our lease ran out and another node took the sink: stop here.
        if (!held) return;
        cursor = last;
      }
      await withTenantTx(orgId, (tx) => releaseLease(tx, sink.sink_id, nodeId));
    } finally {
      if (secret) wipe(secret);
    }
  }

  async function runOnce(orgId: string): Promise<void> {
    // One short transaction when nothing is due (the common case of a kick after each request).
    const { leased, idleWake } = await withTenantTx(orgId, async (tx) => {
      const due = await leaseDueSinks(tx, nodeId, clock());
      return { leased: due, idleWake: due.length === 0 ? await nextWakeUp(tx) : null };
    });
    if (leased.length === 0) {
      if (idleWake) schedule(orgId, idleWake);
      return;
    }
    // Sinks are independent: a slow one does not hold the others back.
    const results = await Promise.allSettled(leased.map((sink) => deliverSink(orgId, sink)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (closed) return;
    const wake = await withTenantTx(orgId, (tx) => nextWakeUp(tx));
    if (wake) schedule(orgId, wake);
  }

  function kick(orgId: string): void {
    if (closed) return;
    if (!UUID.test(orgId)) {
      logger.warn({ orgId: orgId.slice(0, 64) }, 'audit delivery kicked for an org id that is not a UUID');
      return;
    }
    const running = runs.get(orgId);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false, promise: Promise.resolve() };
    state.promise = (async () => {
      do {
        state.again = false;
        lastRun.set(orgId, clock().getTime());
        try {
          await runOnce(orgId);
        } catch (err) {
          // A database or key provider outage: leases left behind expire; try again later.
          logger.error({ err, orgId }, 'audit delivery run failed');
          schedule(orgId, new Date(clock().getTime() + RUN_RETRY_MS));
        }
      } while (state.again && !closed);
    })().finally(() => {
      runs.delete(orgId);
    });
    runs.set(orgId, state);
  }

  return {
    kick,
    noteAppended(orgId) {
      const last = lastRun.get(orgId);
      if (last === undefined || clock().getTime() - last >= minRunIntervalMs) kick(orgId);
      else schedule(orgId, new Date(last + minRunIntervalMs));
    },
    async drain(orgId) {
      for (let run = runs.get(orgId); run; run = runs.get(orgId)) await run.promise;
    },
    async close() {
      closed = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      await Promise.all([...runs.values()].map((r) => r.promise));
    },
  };
}
