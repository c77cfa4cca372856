import assert from 'node:assert/strict';
import { createRecordedTx } from '../src/domains/audit/audit.context.js';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { createTenantTx, type WithTenantTx } from '../src/db/tenant.js';
import type { AuditEventBody } from '../src/domains/audit/audit.events.js';
import { personalCommitment } from '../src/domains/audit/audit.format.js';
import { createAuditDelivery, type AuditDelivery, type AuditDeliveryDeps } from '../src/domains/audit/sinks/delivery.js';
import { verifySignatureHeader, type DeliveredRecord } from '../src/domains/audit/sinks/format.js';
import { registerAuditSinkRoutes } from '../src/domains/audit/sinks/sinks.routes.js';
import { createAuditSinkService, type AuditSinkService } from '../src/domains/audit/sinks/sinks.service.js';
import { createSinkBody, type CreatedSinkView } from '../src/domains/audit/sinks/sinks.types.js';
import { bootstrapOrg } from '../src/domains/orgs/orgs.service.js';
import { isAppError } from '../src/errors.js';
import { openLocalKeyProvider } from '../src/kms/local.js';
import type { KeyProvider } from '../src/kms/provider.js';
import { createLogger } from '../src/log.js';
import { registerProblemHandlers } from '../src/plugins/problem.js';
import { createLocalBus } from '../src/domains/authz/authz.bus.js';
import { createAuthorizer, type Caller } from '../src/domains/authz/authz.service.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

// A5: audit events stream to webhook and syslog sinks at least once, in seq order, with a
// cursor per sink. The HTTP audit hook is not used here: events are appended with
// audit_append and the delivery worker is driven directly.

let db: TestDatabase;
let withTenantTx: WithTenantTx;
let keyProvider: KeyProvider;
let tmp: string;
let cert: string;
let key: string;
const logs: string[] = [];
const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
const workers: AuditDelivery[] = [];
const servers: { close(): Promise<void> }[] = [];
let orgCounter = 0;

before(async () => {
  db = await createTestDatabase();
  withTenantTx = createTenantTx(db.db);
  tmp = mkdtempSync(join(tmpdir(), 'sr-sinks-'));
  keyProvider = await openLocalKeyProvider({ keyFile: join(tmp, 'root-key.json'), create: true, onWarning: () => {} });
  // A self-signed certificate for 127.0.0.1, trusted by the workers through their `ca` option.
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(tmp, 'cert.pem'), 'utf8');
  key = readFileSync(join(tmp, 'key.pem'), 'utf8');
});

after(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all(servers.map((s) => s.close()));
  await keyProvider.close();
  await db.close();
  rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers

interface TestOrg {
  orgId: string;
  principal: Caller;
}

async function createOrg(): Promise<TestOrg> {
  const { orgId } = await bootstrapOrg({ withTenantTx }, `sinks-${process.pid}-${++orgCounter}`);
  return { orgId, principal: { orgId, kind: 'root_token', id: 't', role: 'owner', epoch: 0, ip: null, reason: null, mfa: false } };
}

/** Appends `n` events (every third a failure, every event with personal data) and returns their seqs. */
async function appendEvents(orgId: string, n: number): Promise<number[]> {
  const bodies = Array.from({ length: n }, (_, i) => {
    const personal = { ip: `203.0.113.${i % 250}`, user_agent: `agent/${i}`, email: `person${i}@example.com` };
    const salt = randomBytes(32);
    const body: AuditEventBody & { personal: Record<string, string> } = {
      action: i % 2 === 0 ? 'secret.read' : 'vault.list',
      actor: { type: 'root_token', id: 't' },
      resource: { type: 'org', ref: `org:${orgId}` },
      outcome: i % 3 === 2 ? 'failure' : 'success',
      status: i % 3 === 2 ? 404 : 200,
      reason: null,
      request_id: `req-${i}`,
      pd: personalCommitment(salt, personal),
      class: 'security',
      personal: { ...personal, salt: salt.toString('hex') },
    };
    return body;
  });
  const rows = await withTenantTx(orgId, (tx) =>
    tx.query<{ seq: number }>('SELECT seq FROM audit_append($1::jsonb)', [JSON.stringify(bodies)]),
  );
  return rows.map((r) => Number(r.seq));
}

function startWorker(over: Partial<AuditDeliveryDeps> = {}): AuditDelivery {
  const worker = createAuditDelivery({
    withTenantTx,
    keyProvider,
    logger,
    nodeId: `test-node-${workers.length}`,
    allowPrivateNetworks: true,
    ca: cert,
    backoffMs: () => 30,
    ...over,
  });
  workers.push(worker);
  return worker;
}

function sinkService(delivery: { kick(orgId: string): void }, allowPrivateNetworks = true): AuditSinkService {
  const withRecordedTx = createRecordedTx(withTenantTx);
  const authz = createAuthorizer({ withTenantTx, withRecordedTx, bus: createLocalBus() });
  return createAuditSinkService({ withTenantTx, withRecordedTx, keyProvider, allowPrivateNetworks, delivery, authz });
}

async function createSink(service: AuditSinkService, org: TestOrg, body: Record<string, unknown>): Promise<CreatedSinkView> {
  return service.create(org.principal, createSinkBody.parse({ name: `sink-${++orgCounter}`, ...body }));
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The seqs of records, deduplicated by seq (as a receiver does), asserting they arrived in order. */
function dedupeInOrder(records: readonly DeliveredRecord[]): number[] {
  const seen: number[] = [];
  for (const r of records) {
    const last = seen[seen.length - 1] ?? 0;
    if (r.seq <= last) {
      assert.ok(seen.includes(r.seq), `seq ${r.seq} arrived after ${last} but was never seen before (reordered)`);
      continue;
    }
    assert.equal(r.seq, last + 1, `seq ${r.seq} follows ${last}: a gap`);
    seen.push(r.seq);
  }
  return seen;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface WebhookRequest {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

interface WebhookReceiver {
  url: string;
  requests: WebhookRequest[];
  /** Records of the requests answered 2xx, in arrival order. */
  accepted(): DeliveredRecord[];
}

/** An HTTPS receiver; `respond(n)` (n = 1, 2, ...) picks each answer's status, and may wait. */
async function startWebhookReceiver(respond: (n: number) => number | Promise<number> = () => 200): Promise<WebhookReceiver> {
  const requests: WebhookRequest[] = [];
  let n = 0;
  const server: HttpsServer = createHttpsServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const status = await respond(++n);
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end(status >= 300 ? 'nope' : 'ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  servers.push({
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
  return {
    url: `https://127.0.0.1:${port}/hooks/audit?source=strongroom`,
    requests,
    accepted: () =>
      requests
        .filter((q) => q.status >= 200 && q.status < 300)
        .flatMap((q) => (JSON.parse(q.body) as { events: DeliveredRecord[] }).events),
  };
}

interface SyslogFrame {
  pri: number;
  version: string;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sdId: string;
  sd: Record<string, string>;
  record: DeliveredRecord;
}

const RFC5424 = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) \[([^ \]]+)((?: [^=\s\]]+="(?:[^"\\\]]|\\["\\\]])*")*)\] (.*)$/s;

/** Parses one RFC 5424 message as our sinks send it. */
function parseSyslog(message: string): SyslogFrame {
  const m = RFC5424.exec(message);
  assert.ok(m, `not an RFC 5424 message: ${message.slice(0, 200)}`);
  const sd: Record<string, string> = {};
  for (const p of (m[9] ?? '').matchAll(/ ([^=\s\]]+)="((?:[^"\\\]]|\\["\\\]])*)"/g)) {
    sd[p[1] as string] = (p[2] as string).replace(/\\(["\\\]])/g, '$1');
  }
  return {
    pri: Number(m[1]),
    version: m[2] as string,
    timestamp: m[3] as string,
    hostname: m[4] as string,
    appName: m[5] as string,
    procId: m[6] as string,
    msgId: m[7] as string,
    sdId: m[8] as string,
    sd,
    record: JSON.parse(m[10] as string) as DeliveredRecord,
  };
}

interface SyslogReceiver {
  port: number;
  frames: SyslogFrame[];
  connections: number;
}

/** A syslog receiver over TCP or TLS that reads octet-counted frames (RFC 6587 §3.4.1). */
async function startSyslogReceiver(tls: boolean): Promise<SyslogReceiver> {
  const receiver: SyslogReceiver = { port: 0, frames: [], connections: 0 };
  const onConnection = (socket: Socket) => {
    receiver.connections++;
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const space = buf.indexOf(0x20);
        if (space < 0) break;
        const lenText = buf.subarray(0, space).toString('ascii');
        assert.match(lenText, /^[1-9]\d*$/, 'MSG-LEN is a positive decimal');
        const len = Number(lenText);
        if (buf.length < space + 1 + len) break;
        receiver.frames.push(parseSyslog(buf.subarray(space + 1, space + 1 + len).toString('utf8')));
        buf = buf.subarray(space + 1 + len);
      }
    });
    socket.on('error', () => {});
  };
  const server: NetServer = tls
    ? createTlsServer({ key, cert, minVersion: 'TLSv1.2' }, onConnection)
    : createNetServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.port = (server.address() as { port: number }).port;
  servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
  return receiver;
}

async function sinkState(org: TestOrg, service: AuditSinkService, sinkId: string) {
  const sink = (await service.list(org.principal)).find((s) => s.id === sinkId);
  assert.ok(sink, 'the sink is listed');
  return sink;
}

/** Every delivered record has exactly the documented fields, the chain links, and no e-mail or salt. */
function assertRecordShape(records: readonly DeliveredRecord[], orgId: string): void {
  for (const r of records) {
    assert.deepEqual(Object.keys(r).sort(), ['event', 'hash', 'ip', 'prev_hash', 'seq', 'user_agent']);
    assert.match(r.hash, /^[0-9a-f]{64}$/);
    assert.ok(r.event, 'the event is there');
    assert.equal(r.event.org, orgId);
    assert.equal(r.event.seq, r.seq);
    assert.deepEqual(
      Object.keys(r.event).sort(),
      ['action', 'actor', 'class', 'org', 'outcome', 'pd', 'reason', 'request_id', 'resource', 'seq', 'status', 'time', 'v'],
    );
    assert.match(r.ip ?? '', /^203\.0\.113\.\d+$/);
    assert.match(r.user_agent ?? '', /^agent\/\d+$/);
    const text = JSON.stringify(r);
    assert.ok(!text.includes('@example.com'), 'no e-mail address');
    assert.ok(!text.includes('salt'), 'no personal-data salt');
  }
  for (let i = 1; i < records.length; i++) {
    const prev = records[i - 1] as DeliveredRecord;
    const cur = records[i] as DeliveredRecord;
    if (cur.seq === prev.seq + 1) assert.equal(cur.prev_hash, prev.hash, `seq ${cur.seq} links to ${prev.seq}`);
  }
  if (records[0]?.seq === 1) assert.equal(records[0].prev_hash, '00'.repeat(32));
}

// ---------------------------------------------------------------------------------------------
// Webhooks

test('a webhook sink receives the whole history and new events once each, in seq order, with valid signatures', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 7);
  const receiver = await startWebhookReceiver();
  const worker = startWorker({ batchSize: 3 });
  const service = sinkService(worker);
  const sink = await createSink(service, org, { kind: 'webhook', url: receiver.url });
  assert.match(sink.secret ?? '', /^whsec_[A-Za-z0-9_-]{43}$/);
  assert.equal(sink.cursor_seq, 0);
  assert.deepEqual(sink.config, { url: receiver.url });
  await worker.drain(org.orgId);
  assert.deepEqual(receiver.accepted().map((r) => r.seq), range(1, 7));
  assert.equal(receiver.requests.length, 3, 'batches of at most 3');

  await appendEvents(org.orgId, 4);
  worker.kick(org.orgId);
  await worker.drain(org.orgId);
  const records = receiver.accepted();
  assert.deepEqual(records.map((r) => r.seq), range(1, 11), 'every event exactly once, in order');
  assertRecordShape(records, org.orgId);

  const now = Math.floor(Date.now() / 1000);
  const ids = new Set<string>();
  for (const req of receiver.requests) {
    assert.equal(req.headers['content-type'], 'application/json');
    const signature = String(req.headers['strongroom-signature']);
    assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.equal(verifySignatureHeader(sink.secret as string, signature, req.body, { nowSeconds: now, toleranceSeconds: 300 }), true);
    assert.equal(verifySignatureHeader(`${sink.secret}x`, signature, req.body, { nowSeconds: now, toleranceSeconds: 300 }), false);
    const delivery = String(req.headers['strongroom-delivery']);
    assert.match(delivery, /^[0-9a-f-]{36}$/);
    ids.add(delivery);
    assert.equal((JSON.parse(req.body) as { org: string }).org, org.orgId);
  }
  assert.equal(ids.size, receiver.requests.length, 'each delivery has its own id');

  const state = await sinkState(org, service, sink.id);
  assert.equal(state.cursor_seq, 11);
  assert.equal(state.attempts, 0);
  assert.equal(state.last_error, null);
  assert.ok(state.delivered_at);
});

test('a pruned event is delivered as event null, without personal data', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 3);
  // Retention blanks content and personal data (A6); done here as the superuser for brevity.
  await db.superuser(async (c) => {
    await c.query('DELETE FROM audit_personal WHERE org_id = $1 AND seq = 2', [org.orgId]);
    await c.query('UPDATE audit_events SET canonical = NULL, pruned_at = now() WHERE org_id = $1 AND seq = 2', [org.orgId]);
  });
  const receiver = await startWebhookReceiver();
  const worker = startWorker();
  await createSink(sinkService(worker), org, { kind: 'webhook', url: receiver.url });
  await worker.drain(org.orgId);
  const records = receiver.accepted();
  assert.deepEqual(records.map((r) => r.seq), [1, 2, 3]);
  assert.deepEqual(records[1], { ...records[1], event: null, ip: null, user_agent: null });
  assert.equal(records[2]?.prev_hash, records[1]?.hash, 'the chain still links through the pruned event');
});

test('a failing webhook is retried with backoff and then receives everything, once, in order', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 5);
  let failUntil = 3;
  const receiver = await startWebhookReceiver((n) => (n <= failUntil ? 500 : 200));
  const delays: number[] = [];
  const worker = startWorker({
    batchSize: 2,
    backoffMs: (attempt) => {
      delays.push(attempt);
      return 50 * attempt;
    },
  });
  const service = sinkService(worker);
  const sink = await createSink(service, org, { kind: 'webhook', url: receiver.url });
  await worker.drain(org.orgId);
  // The first try failed; the state says so, with a message that names no URL or secret.
  const failing = await sinkState(org, service, sink.id);
  assert.equal(failing.cursor_seq, 0);
  assert.ok(failing.attempts >= 1);
  assert.equal(failing.last_error, 'The webhook answered HTTP 500.');
  assert.ok(failing.next_attempt_at);

  await waitFor('the webhook to catch up', async () => (await sinkState(org, service, sink.id)).cursor_seq === 5);
  assert.deepEqual(delays, [1, 2, 3], 'one backoff per failure in a row, growing with the attempt count');
  assert.deepEqual(receiver.requests.slice(0, 3).map((r) => r.status), [500, 500, 500]);
  const firstBodies = receiver.requests.slice(0, 4).map((r) => (JSON.parse(r.body) as { events: DeliveredRecord[] }).events[0]?.seq);
  assert.deepEqual(firstBodies, [1, 1, 1, 1], 'a failed batch is sent again from the cursor');
  assert.deepEqual(receiver.accepted().map((r) => r.seq), range(1, 5), 'nothing lost, duplicated or reordered');
  const recovered = await sinkState(org, service, sink.id);
  assert.equal(recovered.attempts, 0);
  assert.equal(recovered.last_error, null);
  assert.equal(recovered.next_attempt_at, null);

  // A failure in the middle of a stream resumes from the last confirmed batch.
  failUntil = receiver.requests.length + 1;
  await appendEvents(org.orgId, 3);
  worker.kick(org.orgId);
  await waitFor('the webhook to catch up again', async () => (await sinkState(org, service, sink.id)).cursor_seq === 8);
  assert.deepEqual(receiver.accepted().map((r) => r.seq), range(1, 8));
  await worker.drain(org.orgId);
  const leases = await db.superuser((c) =>
    c.query<{ lease_owner: string | null }>('SELECT lease_owner FROM audit_sinks WHERE org_id = $1', [org.orgId]),
  );
  assert.deepEqual(leases, [{ lease_owner: null }], 'the lease is released once caught up');
});

test('a worker stopped mid-stream resumes in a new instance without loss (restart)', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 10);
  let arrived!: () => void;
  let releaseSecond!: () => void;
  const secondArrived = new Promise<void>((r) => (arrived = r));
  const gate = new Promise<void>((r) => (releaseSecond = r));
  const receiver = await startWebhookReceiver(async (n) => {
    if (n === 2) {
      arrived();
      await gate;
    }
    return 200;
  });

  const first = startWorker({ batchSize: 2, nodeId: 'node-before-restart' });
  const sink = await createSink(sinkService(first), org, { kind: 'webhook', url: receiver.url });
  await secondArrived; // the second batch is in flight
  const stopping = first.close();
  releaseSecond();
  await stopping;
  const service = sinkService({ kick: () => {} });
  const stopped = await sinkState(org, service, sink.id);
  assert.equal(stopped.cursor_seq, 4, 'the batch in flight was confirmed, and the worker stopped after it');
  assert.deepEqual(receiver.accepted().map((r) => r.seq), range(1, 4));
  const [lease] = await db.superuser((c) =>
    c.query<{ lease_owner: string | null }>('SELECT lease_owner FROM audit_sinks WHERE org_id = $1', [org.orgId]),
  );
  assert.equal(lease?.lease_owner, null, 'a stopping worker releases its lease');

  await appendEvents(org.orgId, 5);
  const second = startWorker({ nodeId: 'node-after-restart' });
  second.kick(org.orgId);
  await second.drain(org.orgId);
  assert.deepEqual(dedupeInOrder(receiver.accepted()), range(1, 15), 'everything after the cursor arrived, nothing was lost');
  assert.equal((await sinkState(org, service, sink.id)).cursor_seq, 15);
});

test('after a crash between sending and moving the cursor, the batch is sent again once the dead lease expires', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 6);
  const receiver = await startWebhookReceiver();
  const first = startWorker({ nodeId: 'node-that-crashes' });
  const service = sinkService(first);
  const sink = await createSink(service, org, { kind: 'webhook', url: receiver.url });
  await first.drain(org.orgId);
  await first.close();
  assert.deepEqual(receiver.accepted().map((r) => r.seq), range(1, 6));
  // The database as a crash leaves it: events 4..6 were received but the cursor still says 3,
  // and the dead node's lease runs for another moment.
  await db.superuser((c) =>
    c.query(
      `UPDATE audit_sinks SET cursor_seq = 3, lease_owner = 'node-that-crashes', lease_until = now() + interval '2 seconds'
        WHERE org_id = $1`,
      [org.orgId],
    ),
  );
  await appendEvents(org.orgId, 2);
  const second = startWorker({ nodeId: 'node-after-crash' });
  second.kick(org.orgId);
  await second.drain(org.orgId);
  assert.equal(receiver.accepted().length, 6, 'nothing is sent while the dead node holds the lease');
  await waitFor('the expired lease to be taken over', async () => (await sinkState(org, service, sink.id)).cursor_seq === 8);
  const seqs = receiver.accepted().map((r) => r.seq);
  assert.deepEqual(seqs, [...range(1, 6), ...range(4, 8)], 'resent from the cursor: duplicates only at the boundary');
  assert.deepEqual(dedupeInOrder(receiver.accepted()), range(1, 8));
});

// ---------------------------------------------------------------------------------------------
// Syslog

for (const tls of [false, true]) {
  test(`a syslog sink over ${tls ? 'TLS' : 'TCP'} receives RFC 5424 frames in seq order`, async () => {
    const org = await createOrg();
    await appendEvents(org.orgId, 5);
    const receiver = await startSyslogReceiver(tls);
    const worker = startWorker({ batchSize: 4 });
    const service = sinkService(worker);
    const sink = await createSink(service, org, { kind: 'syslog', host: '127.0.0.1', port: receiver.port, tls });
    assert.equal(sink.secret, undefined, 'syslog sinks have no secret');
    assert.deepEqual(sink.config, { host: '127.0.0.1', port: receiver.port, tls, app_name: 'strongroom' });
    await worker.drain(org.orgId);
    await appendEvents(org.orgId, 2);
    worker.kick(org.orgId);
    await worker.drain(org.orgId);
    await waitFor('the frames', () => receiver.frames.length === 7);
    assert.equal(receiver.connections, 3, 'one connection per batch');
    assert.deepEqual(receiver.frames.map((f) => f.record.seq), range(1, 7));
    assertRecordShape(receiver.frames.map((f) => f.record), org.orgId);
    for (const f of receiver.frames) {
      const event = f.record.event as { action: string; outcome: string; time: string };
      assert.equal(f.version, '1');
      assert.equal(f.pri, event.outcome === 'success' ? 13 * 8 + 6 : 13 * 8 + 4);
      assert.equal(f.timestamp, event.time);
      assert.match(f.hostname, /^[\x21-\x7e]{1,255}$/);
      assert.equal(f.appName, 'strongroom');
      assert.equal(f.procId, '-');
      assert.equal(f.msgId, event.action);
      assert.equal(f.sdId, 'strongroom@32473');
      assert.deepEqual(f.sd, { org: org.orgId, seq: String(f.record.seq), hash: f.record.hash });
    }
    assert.ok(receiver.frames.some((f) => f.pri === 108) && receiver.frames.some((f) => f.pri === 110));
    assert.equal((await sinkState(org, service, sink.id)).cursor_seq, 7);
  });
}

test('a syslog TLS sink refuses a receiver whose certificate it does not trust', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 1);
  const receiver = await startSyslogReceiver(true);
  const worker = startWorker({ ca: undefined, backoffMs: () => 60_000 });
  const service = sinkService(worker);
  const sink = await createSink(service, org, { kind: 'syslog', host: '127.0.0.1', port: receiver.port, tls: true });
  await worker.drain(org.orgId);
  const state = await sinkState(org, service, sink.id);
  assert.equal(state.cursor_seq, 0);
  assert.equal(state.attempts, 1);
  assert.match(state.last_error ?? '', /^Delivery failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)\.$/);
  assert.equal(receiver.frames.length, 0);
});

// ---------------------------------------------------------------------------------------------
// SSRF guard, secrets, tenancy

test('sinks to loopback, private, link-local or metadata addresses are refused without allowPrivateNetworks', async () => {
  const org = await createOrg();
  const service = sinkService({ kick: () => {} }, false);
  const refused = [
    { kind: 'webhook', url: 'https://127.0.0.1/hook' },
    { kind: 'webhook', url: 'https://10.0.0.1/hook' },
    { kind: 'webhook', url: 'https://169.254.169.254/latest/meta-data/' },
    { kind: 'webhook', url: 'https://[::1]/hook' },
    { kind: 'webhook', url: 'https://[::ffff:127.0.0.1]/hook' },
    { kind: 'webhook', url: 'https://localhost:8443/hook' },
    { kind: 'webhook', url: 'http://93.184.215.14/hook' },
    { kind: 'webhook', url: 'https://user:pass@93.184.215.14/hook' },
    { kind: 'webhook', url: 'not a url' },
    { kind: 'syslog', host: '10.0.0.1', port: 6514 },
    { kind: 'syslog', host: '192.168.0.10', port: 514, tls: false },
    { kind: 'syslog', host: '[fe80::1]', port: 6514 },
    { kind: 'syslog', host: '0.0.0.0', port: 6514 },
  ];
  for (const body of refused) {
    await assert.rejects(createSink(service, org, body), (err) => isAppError(err, 'VALIDATION_FAILED'), JSON.stringify(body));
  }
  assert.deepEqual(await service.list(org.principal), []);
  const ok = await createSink(service, org, { kind: 'webhook', url: 'https://93.184.215.14/hook' });
  assert.equal(ok.kind, 'webhook');
  const rows = await db.superuser((c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_sinks WHERE org_id = $1', [org.orgId]));
  assert.deepEqual(rows, [{ n: 1 }]);
});

test('the guard runs again before each delivery: a worker without allowPrivateNetworks sends nothing to loopback', async () => {
  const org = await createOrg();
  await appendEvents(org.orgId, 2);
  const receiver = await startWebhookReceiver();
  const worker = startWorker({ allowPrivateNetworks: false, backoffMs: () => 60_000 });
  const service = sinkService(worker, true);
  const sink = await createSink(service, org, { kind: 'webhook', url: receiver.url });
  await worker.drain(org.orgId);
  const state = await sinkState(org, service, sink.id);
  assert.equal(receiver.requests.length, 0);
  assert.equal(state.cursor_seq, 0);
  assert.equal(state.attempts, 1);
  assert.match(state.last_error ?? '', /non-public network/);
  assert.ok(!(state.last_error ?? '').includes('127.0.0.1'), 'the error names no address');
});

test('the webhook secret is shown once: never listed, never stored or logged in plain text', async () => {
  const org = await createOrg();
  const worker = startWorker({ backoffMs: () => 60_000 });
  const service = sinkService(worker);
  const receiver = await startWebhookReceiver();
  await appendEvents(org.orgId, 1);
  const sink = await createSink(service, org, { kind: 'webhook', url: receiver.url });
  const secret = sink.secret as string;
  await worker.drain(org.orgId);
  const listed = JSON.stringify(await service.list(org.principal));
  assert.ok(!listed.includes(secret));
  assert.ok(!listed.includes('secret'));
  const dump = await db.superuser((c) =>
    c.query<{ row: string; wrapped_hex: string; provider: string; root_key_id: string }>(
      `SELECT row_to_json(s)::text AS row, encode(secret_wrapped, 'hex') AS wrapped_hex, provider, root_key_id
         FROM audit_sinks s WHERE org_id = $1`,
      [org.orgId],
    ),
  );
  assert.equal(dump.length, 1);
  const [row] = dump as [{ row: string; wrapped_hex: string; provider: string; root_key_id: string }];
  const secretBody = secret.slice('whsec_'.length);
  for (const form of [secret, secretBody, Buffer.from(secret).toString('hex'), Buffer.from(secretBody, 'base64url').toString('hex')]) {
    assert.ok(!row.row.includes(form), 'not in the row');
    assert.ok(!row.wrapped_hex.includes(form), 'not in the wrapped bytes');
  }
  assert.equal(row.provider, 'local');
  assert.equal(row.root_key_id, keyProvider.currentKeyId());
  assert.ok(!logs.some((l) => l.includes(secretBody)), 'never logged');
  // The wrapped secret is bound to its sink: copied to another sink, it no longer unwraps.
  const other = await createSink(service, org, { kind: 'webhook', url: receiver.url });
  await worker.drain(org.orgId);
  await db.superuser((c) =>
    c.query(
      `UPDATE audit_sinks SET secret_wrapped = (SELECT secret_wrapped FROM audit_sinks WHERE sink_id = $1),
              cursor_seq = 0, next_attempt_at = NULL
        WHERE sink_id = $2`,
      [sink.id, other.id],
    ),
  );
  const before = receiver.requests.length;
  worker.kick(org.orgId);
  await worker.drain(org.orgId);
  assert.equal(receiver.requests.length, before);
  const state = await sinkState(org, service, other.id);
  assert.equal(state.last_error, 'The signing secret could not be unwrapped.');
});

test('another org can neither see nor delete a sink: NOT_FOUND, and the sink is kept', async () => {
  const org = await createOrg();
  const intruder = await createOrg();
  const service = sinkService({ kick: () => {} });
  const sink = await createSink(service, org, { kind: 'webhook', url: 'https://93.184.215.14/hook' });
  assert.deepEqual(await service.list(intruder.principal), []);
  await assert.rejects(service.remove(intruder.principal, sink.id), (err) => isAppError(err, 'NOT_FOUND'));
  assert.equal((await service.list(org.principal)).length, 1, 'the org itself still lists it');
  await assert.rejects(service.remove(org.principal, '00000000-0000-4000-8000-000000000000'), (err) => isAppError(err, 'NOT_FOUND'));
  await assert.rejects(service.remove(org.principal, 'not-a-uuid'), (err) => isAppError(err, 'NOT_FOUND'));
  // Under RLS the intruder's transactions see no sink of the org, even by id.
  const seen = await withTenantTx(intruder.orgId, (tx) =>
    tx.query('SELECT sink_id FROM audit_sinks WHERE sink_id = $1', [sink.id]),
  );
  assert.deepEqual(seen, []);
  await service.remove(org.principal, sink.id);
  assert.deepEqual(await service.list(org.principal), []);
});

test('sink names are unique per org, whatever their case: CONFLICT', async () => {
  const org = await createOrg();
  const service = sinkService({ kick: () => {} });
  await createSink(service, org, { kind: 'webhook', name: 'SIEM', url: 'https://93.184.215.14/hook' });
  await assert.rejects(
    createSink(service, org, { kind: 'webhook', name: 'siem', url: 'https://93.184.215.14/other' }),
    (err) => isAppError(err, 'CONFLICT'),
  );
});

// ---------------------------------------------------------------------------------------------
// Routes

test('the routes create (201, secret once), list (no secret) and delete (204, then 404), and declare their audit actions', async () => {
  const org = await createOrg();
  const app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);
  registerProblemHandlers(app);
  const declared: string[] = [];
  app.addHook('onRoute', (route) => {
    const audit = route.config?.audit;
    const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
    if (method !== 'HEAD') declared.push(`${method} ${route.url} ${typeof audit?.action === 'string' ? audit.action : '?'}`);
  });
  app.addHook('onRequest', async (request) => {
    request.principal = org.principal;
  });
  registerAuditSinkRoutes(app, sinkService({ kick: () => {} }, false));
  await app.ready();
  try {
    assert.deepEqual(declared.sort(), [
      'DELETE /v1/audit/sinks/:sinkId audit.sink.delete',
      'GET /v1/audit/sinks audit.sink.list',
      'POST /v1/audit/sinks audit.sink.create',
    ]);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/audit/sinks',
      payload: { kind: 'webhook', name: 'Splunk', url: 'https://93.184.215.14/hook' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json() as CreatedSinkView;
    assert.match(body.secret ?? '', /^whsec_/);
    assert.equal(body.cursor_seq, 0);
    const syslog = await app.inject({
      method: 'POST',
      url: '/v1/audit/sinks',
      payload: { kind: 'syslog', name: 'rsyslog', host: '93.184.215.14', port: 6514 },
    });
    assert.equal(syslog.statusCode, 201, syslog.body);
    assert.deepEqual((syslog.json() as CreatedSinkView).config, { host: '93.184.215.14', port: 6514, tls: true, app_name: 'strongroom' });
    for (const payload of [
      { kind: 'webhook', name: 'x', url: 'https://93.184.215.14/', extra: 1 },
      { kind: 'webhook', name: 'x', url: `https://93.184.215.14/${'a'.repeat(3000)}` },
      { kind: 'email', name: 'x' },
      { kind: 'syslog', name: 'x', host: 'bad host', port: 514 },
      { kind: 'syslog', name: 'x', host: '93.184.215.14', port: 70000 },
      { kind: 'syslog', name: 'x', host: '93.184.215.14', port: 514, app_name: 'has space' },
      { kind: 'webhook', name: 'x', url: 'https://127.0.0.1/' },
    ]) {
      const res = await app.inject({ method: 'POST', url: '/v1/audit/sinks', payload });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal((res.json() as { code: string }).code, 'VALIDATION_FAILED');
    }
    const list = await app.inject({ method: 'GET', url: '/v1/audit/sinks' });
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes('whsec_') && !list.body.includes('"secret"'));
    const sinks = (list.json() as { sinks: { id: string; attempts: number; last_error: null; next_attempt_at: null }[] }).sinks;
    assert.equal(sinks.length, 2);
    assert.deepEqual(
      sinks.map((s) => [s.attempts, s.last_error, s.next_attempt_at]),
      [
        [0, null, null],
        [0, null, null],
      ],
    );
    const del = await app.inject({ method: 'DELETE', url: `/v1/audit/sinks/${body.id}` });
    assert.equal(del.statusCode, 204);
    const again = await app.inject({ method: 'DELETE', url: `/v1/audit/sinks/${body.id}` });
    assert.equal(again.statusCode, 404);
    assert.equal((again.json() as { code: string }).code, 'NOT_FOUND');
  } finally {
    await app.close();
  }
});
