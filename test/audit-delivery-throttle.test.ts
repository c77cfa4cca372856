import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { TenantTx, WithTenantTx } from '../src/db/tenant.js';
import { createAuditDelivery } from '../src/domains/audit/sinks/delivery.js';
import { createLogger } from '../src/log.js';

// Every request commits audit events; delivery must not cost a transaction per request.

test('after commits, delivery runs at most once per interval per org, and still runs after the last commit', async () => {
  const runs: string[] = [];
  // A stand-in database that has no sinks: each run is one transaction that finds nothing due.
  const withTenantTx = (async (orgId: string, fn: (tx: TenantTx) => Promise<unknown>) => {
    runs.push(orgId);
    return fn({ orgId, query: async () => [] } as unknown as TenantTx);
  }) as WithTenantTx;
  const delivery = createAuditDelivery({
    withTenantTx,
    keyProvider: { unwrap: async () => new Uint8Array(32) },
    logger: createLogger({ level: 'silent' }),
    nodeId: 'n1',
    allowPrivateNetworks: false,
    minRunIntervalMs: 200,
  });
  const org = '11111111-1111-4111-8111-111111111111';
  try {
    for (let i = 0; i < 50; i++) delivery.noteAppended(org);
    await delivery.drain(org);
    const afterBurst = runs.length;
    assert.ok(afterBurst >= 1 && afterBurst <= 2, `a burst of 50 commits ran delivery ${afterBurst} times`);
    await sleep(350);
    await delivery.drain(org);
    assert.ok(runs.length > afterBurst, 'the commits after the first run are delivered by a scheduled run');
    assert.ok(runs.length <= 3, `at most one run per interval, got ${runs.length}`);
    delivery.kick(org);
    await delivery.drain(org);
    assert.equal(runs.length > 2, true, 'an explicit kick (a new sink) runs at once');
  } finally {
    await delivery.close();
  }
});
