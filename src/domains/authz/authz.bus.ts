import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import type { Logger } from '../../log.js';

/** An authz change committed in an org: its new epoch. */
export interface AuthzChange {
  orgId: string;
  epoch: number;
}

/**
 * Tells every node of the installation that an org's authorization data changed, so each drops
 * its cached snapshot of that org at once (SPEC §1: Redis for "revocation broadcast, cache
 * invalidation"; without REDIS_URL the same interface runs in-process).
 *
 * Correctness never waits on this broadcast: every request reads the org's epoch and its
 * principal's generation in its authentication transaction, so a node whose message is late or
 * lost still refuses a revoked token on its next request. The broadcast keeps caches small and
 * fresh; it cannot widen a revocation window, because there is none to widen.
 */
export interface AuthzBus {
  readonly kind: 'local' | 'redis';
  publish(change: AuthzChange): Promise<void>;
  /** `fn` runs for every change published by any node, this one included. */
  subscribe(fn: (change: AuthzChange) => void): void;
  close(): Promise<void>;
}

/** The in-process bus: one node, no Redis. */
export function createLocalBus(): AuthzBus {
  const listeners: ((change: AuthzChange) => void)[] = [];
  return {
    kind: 'local',
    async publish(change) {
      for (const fn of listeners) fn(change);
    },
    subscribe(fn) {
      listeners.push(fn);
    },
    async close() {},
  };
}

const CHANNEL = 'strongroom:authz:v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Parses a broadcast message; anything else on the channel is ignored. */
export function parseChange(message: string): AuthzChange | undefined {
  try {
    const value = JSON.parse(message) as { org?: unknown; epoch?: unknown };
    if (typeof value.org !== 'string' || !UUID.test(value.org)) return undefined;
    if (typeof value.epoch !== 'number' || !Number.isSafeInteger(value.epoch) || value.epoch < 0) return undefined;
    return { orgId: value.org, epoch: value.epoch };
  } catch {
    return undefined;
  }
}

/**
 * The Redis bus: PUBLISH on one channel, one subscriber connection per node. Connecting happens
 * in the background and never holds up start: Redis being down (at start or later) only costs
 * early cache eviction, which correctness does not need. A publish that fails is logged, not
 * thrown: the change is committed and enforced already. The subscriber resubscribes by itself
 * after a reconnect. Local listeners always hear this node's own changes, with or without Redis.
 */
export async function createRedisBus(url: string, logger: Logger): Promise<AuthzBus> {
  const node = randomUUID();
  const listeners: ((change: AuthzChange) => void)[] = [];
  const deliver = (change: AuthzChange) => {
    for (const fn of listeners) fn(change);
  };
  let lastError = 0;
  const onError = (err: unknown) => {
    // A reconnecting client reports every attempt: say it at most every 10 s.
    if (Date.now() - lastError < 10_000) return;
    lastError = Date.now();
    logger.warn({ err }, 'redis (authz broadcast) connection error; revocation is unaffected');
  };
  // No offline queue for publishing: a message that cannot go now is useless later.
  const pub = createClient({ url, disableOfflineQueue: true });
  pub.on('error', onError);
  // The subscriber queues its SUBSCRIBE until connected, and renews it after each reconnect.
  const sub = createClient({ url });
  sub.on('error', onError);
  const connecting = Promise.all([
    pub.connect(),
    sub.connect(),
    sub.subscribe(CHANNEL, (message) => {
      const parsed = parseChange(message);
      if (!parsed) return;
      const from = (JSON.parse(message) as { node?: unknown }).node;
      if (from !== node) deliver(parsed);
    }),
  ]);
  connecting.catch(onError);
  return {
    kind: 'redis',
    async publish(change) {
      deliver(change);
      try {
        await pub.publish(CHANNEL, JSON.stringify({ org: change.orgId, epoch: change.epoch, node }));
      } catch (err) {
        logger.warn({ err, orgId: change.orgId }, 'could not broadcast an authz change (enforced anyway by the epoch check)');
      }
    },
    subscribe(fn) {
      listeners.push(fn);
    },
    async close() {
      for (const client of [sub, pub]) {
        if (client.isReady) await client.quit().catch(() => client.destroy());
        else if (client.isOpen) client.destroy();
      }
      await connecting.catch(() => undefined);
    },
  };
}
