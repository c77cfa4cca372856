import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createLogger } from '../../log.js';
import { createLocalBus, createRedisBus, parseChange, type AuthzChange } from './authz.bus.js';

const logger = createLogger({ level: 'silent' });
const redisUrl = process.env.TEST_REDIS_URL || undefined;

test('the local bus tells its own listeners', async () => {
  const bus = createLocalBus();
  const heard: AuthzChange[] = [];
  bus.subscribe((c) => heard.push(c));
  const change = { orgId: randomUUID(), epoch: 3 };
  await bus.publish(change);
  assert.deepEqual(heard, [change]);
});

test('reads only well-formed broadcast messages', () => {
  const org = randomUUID();
  assert.deepEqual(parseChange(JSON.stringify({ org, epoch: 2, node: 'x' })), { orgId: org, epoch: 2 });
  for (const bad of ['', 'nope', '{}', JSON.stringify({ org: 'x', epoch: 1 }), JSON.stringify({ org, epoch: -1 }), JSON.stringify({ org, epoch: 1.5 })]) {
    assert.equal(parseChange(bad), undefined, bad);
  }
});

test('an unreachable Redis neither holds up start nor fails a publish', async () => {
  const started = Date.now();
  // Nothing listens on port 1.
  const bus = await createRedisBus('redis://127.0.0.1:1', logger);
  assert.ok(Date.now() - started < 1000, 'start is not held up');
  const heard: AuthzChange[] = [];
  bus.subscribe((c) => heard.push(c));
  const change = { orgId: randomUUID(), epoch: 1 };
  await bus.publish(change);
  assert.deepEqual(heard, [change], "this node's listeners still hear its own change");
  await bus.close();
});

test('a change published on one node reaches the others through Redis', { skip: redisUrl ? false : 'needs TEST_REDIS_URL' }, async () => {
  const [a, b] = await Promise.all([createRedisBus(redisUrl as string, logger), createRedisBus(redisUrl as string, logger)]);
  try {
    const heardOnB: AuthzChange[] = [];
    const change = { orgId: randomUUID(), epoch: 7 };
    const arrived = new Promise<void>((resolve) =>
      b.subscribe((c) => {
        heardOnB.push(c);
        if (c.orgId === change.orgId) resolve();
      }),
    );
    // B subscribes in the background: publish until it hears (each publish is idempotent for caches).
    const deadline = Date.now() + 5000;
    let done = false;
    void arrived.then(() => (done = true));
    while (!done && Date.now() < deadline) {
      await a.publish(change);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(done, 'B heard the change');
    assert.deepEqual(heardOnB.find((c) => c.orgId === change.orgId), change);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
