import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createTenantTx, type WithTenantTx } from '../src/db/tenant.js';
import { createReviewReminders, type ReviewRemindersDeps } from '../src/domains/access/access.reminders.js';
import type { ExportedEvent, HeadsDocument } from '../src/domains/audit/audit.format.js';
import { verifyAuditLog } from '../src/domains/audit/audit.verify.js';
import { createVaultKeyring } from '../src/kms/keyring.js';
import { openLocalKeyProvider } from '../src/kms/local.js';
import { createLogger } from '../src/log.js';
import { createAgent, createPolicy, createTestApp, createVault, type TestApp, type TestOrg } from './support/app.js';

// P7: reminders of access review campaigns go out automatically, as `access.review.remind` audit
// events by the actor system:reminders, when an org has activity (there is no cross-tenant job
// runner: docs/security.md, "Known limits"). Each node checks an org at most hourly; a campaign
// is reminded of at most daily, once across nodes.
//
// Campaigns are opened through the API due in a week (due no reminder), then moved nearer in the
// database, which triggers nothing. Activity then comes from a fresh "node" (the app built again
// on the same database), whose first event of the org starts its first check; closing the node
// waits for that check. Reminder events are counted in the database, which triggers nothing either.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const REMINDER_REQUEST_ID = /^reminder-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let t: TestApp;
let withTenantTx: WithTenantTx;
const logs: string[] = [];

before(async () => {
  t = await createTestApp();
  withTenantTx = createTenantTx(t.database.db);
});
after(() => t.close());

/** A second server node on the same database and root key, as another process would be. */
async function startNode(): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  const keyProvider = await openLocalKeyProvider({ keyFile: join(t.keyDir, 'root-key.json'), create: false, onWarning: () => {} });
  const keyring = createVaultKeyring({ provider: keyProvider, cache: { maxEntries: 100, ttlMs: 60_000 } });
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(line) } });
  const app = await buildApp({ db: t.database.db, keyProvider, keyring, logger });
  return {
    app,
    async close() {
      // Waits for the background work the node started: its reminder checks among it.
      await app.close();
      keyring.wipeAll();
      await keyProvider.close();
    },
  };
}

/** Requests of `org` on a fresh node, which is then closed (so its checks have finished). */
async function activityOnNewNode(org: TestOrg, requests = 3): Promise<void> {
  const node = await startNode();
  try {
    for (let i = 0; i < requests; i += 1) {
      const res = await node.app.inject({ method: 'GET', url: '/v1/access/reviews', headers: { authorization: `Bearer ${org.token}` } });
      assert.equal(res.statusCode, 200, res.body);
    }
  } finally {
    await node.close();
  }
}

/** An org with one vault and two allow policies of an agent: its campaigns have two items. */
async function orgWithGrants(): Promise<TestOrg> {
  const org = await t.createOrg();
  const vaultId = await createVault(t, org);
  const agent = await createAgent(t, org);
  for (const pattern of ['/stripe/*', '/github/*']) {
    await createPolicy(t, org, vaultId, { principal_type: 'agent', principal_id: agent.id, secret_path_pattern: pattern, permissions: ['read'] });
  }
  return org;
}

interface Campaign {
  id: string;
  items: { id: string }[];
}

/** Opens a campaign due in a week, then moves its due date to `dueInMs` from now (negative: overdue). */
async function openCampaign(org: TestOrg, dueInMs: number): Promise<Campaign> {
  const res = await t.call(org.token, {
    method: 'POST',
    url: '/v1/access/reviews',
    payload: { name: `review ${dueInMs}`, due_at: new Date(Date.now() + 7 * DAY).toISOString() },
  });
  assert.equal(res.statusCode, 201, res.body);
  const campaign = res.json() as Campaign;
  assert.equal(campaign.items.length, 2);
  await withTenantTx(org.orgId, (tx) =>
    tx.query(`UPDATE access_reviews SET due_at = now() + $3::float8 * interval '1 millisecond' WHERE org_id = $1 AND review_id = $2`, [
      org.orgId,
      campaign.id,
      dueInMs,
    ]),
  );
  return campaign;
}

/** The org's automatic and manual reminder events, in chain order, read from the database. */
async function reminderEvents(org: TestOrg): Promise<{ seq: number; event: Record<string, unknown> }[]> {
  const rows = await withTenantTx(org.orgId, (tx) =>
    tx.query<{ seq: number | string; canonical: string }>(
      `SELECT seq, canonical FROM audit_events WHERE org_id = $1 AND action = 'access.review.remind' ORDER BY seq`,
      [org.orgId],
    ),
  );
  return rows.map((r) => ({ seq: Number(r.seq), event: JSON.parse(r.canonical) as Record<string, unknown> }));
}

async function reminderState(org: TestOrg, reviewId: string): Promise<{ reminders_sent: number; last_reminded_at: Date | null }> {
  const [row] = await withTenantTx(org.orgId, (tx) =>
    tx.query<{ reminders_sent: number; last_reminded_at: Date | null }>(
      'SELECT reminders_sent, last_reminded_at FROM access_reviews WHERE org_id = $1 AND review_id = $2',
      [org.orgId, reviewId],
    ),
  );
  assert.ok(row);
  return row;
}

const refOf = (id: string) => `access_review:${id}`;

describe('automatic reminders after org activity', () => {
  let org: TestOrg;
  let dueSoon: Campaign;
  let overdue: Campaign;

  before(async () => {
    org = await orgWithGrants();
    dueSoon = await openCampaign(org, 2 * HOUR);
    overdue = await openCampaign(org, -DAY);
  });

  test('a campaign due within a day, and an overdue one, each get exactly one reminder by the system', async () => {
    assert.deepEqual(await reminderEvents(org), [], 'no reminder before the org has activity on a node that checks');
    await activityOnNewNode(org);

    const events = await reminderEvents(org);
    assert.deepEqual(events.map((e) => (e.event.resource as { ref: string }).ref).sort(), [refOf(dueSoon.id), refOf(overdue.id)].sort());
    for (const { seq, event } of events) {
      assert.deepEqual(event.actor, { type: 'system', id: 'reminders' });
      assert.equal(event.action, 'access.review.remind');
      assert.equal((event.resource as { type: string }).type, 'access_review');
      assert.equal(event.outcome, 'success');
      assert.equal(event.status, null);
      assert.equal(event.reason, null);
      assert.equal(event.pd, null);
      assert.equal(event.class, 'security');
      assert.match(String(event.request_id), REMINDER_REQUEST_ID);
      assert.deepEqual(event.detail, { unreviewed: 2 });
      assert.equal(event.authz, undefined);
      // No personal data beside the chain either.
      const personal = await withTenantTx(org.orgId, (tx) => tx.query('SELECT 1 FROM audit_personal WHERE org_id = $1 AND seq = $2', [org.orgId, seq]));
      assert.equal(personal.length, 0);
    }
    for (const campaign of [dueSoon, overdue]) {
      const state = await reminderState(org, campaign.id);
      assert.equal(state.reminders_sent, 1);
      assert.ok(state.last_reminded_at && Math.abs(state.last_reminded_at.getTime() - Date.now()) < 60_000);
    }
    const described = await t.call(org.token, { method: 'GET', url: `/v1/access/reviews/${dueSoon.id}` });
    assert.equal(described.json().reminders_sent, 1);
  });

  test('a second burst of activity within the day sends none, on another node or the same one', async () => {
    await activityOnNewNode(org, 5);
    for (let i = 0; i < 5; i += 1) assert.equal((await t.call(org.token, { method: 'GET', url: '/v1/access/reviews' })).statusCode, 200);
    assert.equal((await reminderEvents(org)).length, 2);
    assert.equal((await reminderState(org, dueSoon.id)).reminders_sent, 1);
  });

  test('a reminder by hand still works, and counts with the automatic ones', async () => {
    const res = await t.call(org.token, { method: 'POST', url: `/v1/access/reviews/${dueSoon.id}/reminders` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().reminders_sent, 2);
    const manual = (await reminderEvents(org)).at(-1)?.event;
    assert.equal((manual?.actor as { type: string }).type, 'root_token');
  });

  test('the reminder events verify in the chain and under a signed head', async () => {
    const signed = await t.call(org.token, { method: 'POST', url: '/v1/audit/heads' });
    assert.equal(signed.statusCode, 201, signed.body);
    const exported = await t.call(org.token, { method: 'GET', url: '/v1/audit/export' });
    assert.equal(exported.statusCode, 200, exported.body);
    const events = exported.body
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as ExportedEvent);
    const heads = (await t.call(org.token, { method: 'GET', url: '/v1/audit/heads' })).json() as HeadsDocument;
    const report = await verifyAuditLog({
      org: org.orgId,
      events,
      heads: heads.heads,
      publicKeys: new Map(Object.entries(heads.public_keys).map(([id, key]) => [id, new Uint8Array(Buffer.from(key, 'base64'))])),
    });
    assert.equal(report.ok, true, JSON.stringify(report));
    const reminders = await reminderEvents(org);
    const covered = Math.max(...heads.heads.map((h) => h.tree_size));
    for (const { seq } of reminders) assert.ok(seq <= covered, `reminder ${seq} is under the signed head (${covered})`);
    const automatic = events.filter((e) => e.canonical !== null && (JSON.parse(e.canonical) as { actor: { type: string } }).actor.type === 'system');
    assert.equal(automatic.length, 2);
  });
});

test('a fully reviewed, a closed, or a campaign due in more than a day gets no reminder', async () => {
  const org = await orgWithGrants();
  const reviewed = await openCampaign(org, 2 * HOUR);
  for (const item of reviewed.items) {
    const res = await t.call(org.token, { method: 'POST', url: `/v1/access/reviews/${reviewed.id}/items/${item.id}/decision`, payload: { decision: 'keep' } });
    assert.equal(res.statusCode, 200, res.body);
  }
  const closed = await openCampaign(org, -HOUR);
  assert.equal((await t.call(org.token, { method: 'POST', url: `/v1/access/reviews/${closed.id}/close` })).statusCode, 200);
  const later = await openCampaign(org, 3 * DAY);

  await activityOnNewNode(org);
  assert.deepEqual(await reminderEvents(org), []);
  for (const campaign of [reviewed, closed, later]) assert.equal((await reminderState(org, campaign.id)).reminders_sent, 0);
});

describe('several nodes', () => {
  /** Reminders as another node would build them, with their warnings kept. */
  function reminders(deps: Partial<ReviewRemindersDeps> = {}) {
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void warnings.push(line) } });
    return { warnings, reminders: createReviewReminders({ withTenantTx, logger, ...deps }) };
  }

  test('two nodes checking at once send one reminder: the second claim finds it taken', async () => {
    const org = await orgWithGrants();
    const campaign = await openCampaign(org, HOUR);
    // Both nodes read the campaign as due before either claims it: the race the claim decides.
    let listed = 0;
    let release = () => {};
    const bothListed = new Promise<void>((resolve) => (release = resolve));
    let claims = 0;
    const gated = (): WithTenantTx => {
      let calls = 0;
      return async (orgId, fn) => {
        calls += 1;
        if (calls === 1) {
          const result = await withTenantTx(orgId, fn);
          if (++listed === 2) release();
          return result;
        }
        await bothListed;
        claims += 1;
        return withTenantTx(orgId, fn);
      };
    };
    const a = reminders({ withTenantTx: gated() });
    const b = reminders({ withTenantTx: gated() });
    a.reminders.noteActivity(org.orgId);
    b.reminders.noteActivity(org.orgId);
    await Promise.all([a.reminders.drain(), b.reminders.drain()]);

    assert.equal(claims, 2, 'both nodes tried to claim the reminder');
    assert.equal((await reminderEvents(org)).length, 1);
    assert.equal((await reminderState(org, campaign.id)).reminders_sent, 1);
    assert.deepEqual([...a.warnings, ...b.warnings], []);
  });

  test('two app nodes with activity at once send one reminder', async () => {
    const org = await orgWithGrants();
    const campaign = await openCampaign(org, HOUR);
    const nodes = await Promise.all([startNode(), startNode()]);
    try {
      const answers = await Promise.all(
        nodes.flatMap((n) => [1, 2].map(() => n.app.inject({ method: 'GET', url: '/v1/access/reviews', headers: { authorization: `Bearer ${org.token}` } }))),
      );
      for (const res of answers) assert.equal(res.statusCode, 200, res.body);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
    assert.equal((await reminderEvents(org)).length, 1);
    assert.equal((await reminderState(org, campaign.id)).reminders_sent, 1);
  });

  test('a node checks an org at most once per interval', async () => {
    const org = await orgWithGrants();
    let clock = Date.now();
    let transactions = 0;
    const counting: WithTenantTx = (orgId, fn) => {
      transactions += 1;
      return withTenantTx(orgId, fn);
    };
    const { reminders: r } = reminders({ withTenantTx: counting, checkEveryMs: 1000, now: () => new Date(clock) });
    r.noteActivity(org.orgId);
    await r.drain();
    assert.equal(transactions, 1, 'one read, nothing due');
    r.noteActivity(org.orgId);
    clock += 999;
    r.noteActivity(org.orgId);
    await r.drain();
    assert.equal(transactions, 1, 'within the interval: no check');
    clock += 1;
    r.noteActivity(org.orgId);
    await r.drain();
    assert.equal(transactions, 2);
  });

  test("a reminder's own event, coming back as activity, starts no further check", async () => {
    const org = await orgWithGrants();
    await openCampaign(org, HOUR);
    let appended = 0;
    // No interval at all, and a campaign reminded of as often as asked: only the check in flight
    // stands between the reminder's own event and another reminder.
    const { reminders: r, warnings } = reminders({
      checkEveryMs: 0,
      remindEveryMs: 0,
      onAppended: (orgId) => {
        appended += 1;
        r.noteActivity(orgId);
      },
    });
    r.noteActivity(org.orgId);
    await r.drain();
    assert.equal(appended, 1);
    assert.equal((await reminderEvents(org)).length, 1);
    assert.deepEqual(warnings, []);
  });
});

test('background reminder checks logged no failure', () => {
  const failures = logs.filter((line) => /reminders failed/.test(line));
  assert.deepEqual(failures, []);
});
