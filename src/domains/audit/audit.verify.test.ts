import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { leafHash, merkleRoot } from '../../crypto/merkle.js';
import {
  chainHash,
  GENESIS_HASH,
  headSigningPayload,
  personalCommitment,
  signingKeyId,
  type ExportedEvent,
  type PersonalData,
  type SignedHead,
} from './audit.format.js';
import { PROGRESS_INTERVAL, verifyAuditLog, type MalformedEvent, type VerifyInput, type VerifyReport } from './audit.verify.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const unhex = (s: string): Uint8Array => Buffer.from(s, 'hex');

/**
 * PostgreSQL's jsonb text, which is what audit_append hashes: keys ordered by length, then
 * bytewise; ", " between members and ": " after keys.
 */
function jsonbText(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  const keys = Object.keys(value).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText((value as Record<string, unknown>)[k])}`).join(', ')}}`;
}

interface Signer {
  keyId: string;
  publicKey: Uint8Array;
  privateKey: KeyObject;
}

function newSigner(): Signer {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  return { keyId: signingKeyId(raw), publicKey: raw, privateKey };
}

/** The canonical text audit_append would build for event `seq` of `org`. */
function canonicalOf(org: string, seq: number, pd: string | null, action = 'secret.read'): string {
  return jsonbText({
    action,
    actor: { type: 'root_token', id: 'tok_test' },
    resource: { type: 'secret', ref: 'secret:v1/db/password', vault_id: 'v1', path: '/db/password' },
    outcome: 'success',
    status: 200,
    reason: null,
    request_id: `req-${seq}`,
    pd,
    v: 1,
    org,
    seq,
    time: '2026-01-02T03:04:05.123456Z',
    class: 'security',
  });
}

function personalOf(seq: number): PersonalData & { salt: string } {
  return { salt: hex(randomBytes(32)), ip: `10.0.0.${seq % 250}`, user_agent: 'curl/8.0', email: `user${seq}@example.com` };
}

function signHead(signer: Signer, org: string, treeSize: number, rootHash: string): SignedHead {
  const unsigned = { org, tree_size: treeSize, root_hash: rootHash, signed_at: '2026-01-02T03:04:05.678Z', key_id: signer.keyId };
  return { ...unsigned, signature: sign(null, headSigningPayload(unsigned), signer.privateKey).toString('base64') };
}

/** Recomputes hashes from position `from` (0-based) on, as an attacker with write access would. */
function rechain(events: ExportedEvent[], from: number): void {
  for (let i = from; i < events.length; i += 1) {
    const event = events[i] as ExportedEvent;
    const prev = i === 0 ? GENESIS_HASH : unhex((events[i - 1] as ExportedEvent).hash);
    event.prev_hash = hex(prev);
    if (event.canonical !== null) event.hash = hex(chainHash(prev, event.canonical));
  }
}

interface Log {
  org: string;
  signer: Signer;
  events: ExportedEvent[];
  heads: SignedHead[];
  chainHead: { seq: number; hash: string };
}

/** A log of `count` events as audit_append writes it (every third with personal data), signed at `headSizes`. */
function buildLog(count: number, headSizes: readonly number[] = [15], signer = newSigner()): Log {
  const org = randomUUID();
  const events: ExportedEvent[] = [];
  let prev: Uint8Array = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq += 1) {
    const personal = seq % 3 === 0 ? personalOf(seq) : null;
    const pd = personal === null ? null : personalCommitment(unhex(personal.salt), personal);
    const canonical = canonicalOf(org, seq, pd);
    const hash = chainHash(prev, canonical);
    events.push({ seq, prev_hash: hex(prev), hash: hex(hash), canonical, personal });
    prev = hash;
  }
  return { org, signer, events, heads: headsFor(org, signer, events, headSizes), chainHead: { seq: count, hash: hex(prev) } };
}

function headsFor(org: string, signer: Signer, events: readonly ExportedEvent[], sizes: readonly number[]): SignedHead[] {
  const leaves = events.map((e) => leafHash(unhex(e.hash)));
  return sizes.map((size) => signHead(signer, org, size, hex(merkleRoot(leaves.slice(0, size)))));
}

function at<T>(list: readonly T[], seq: number): T {
  const value = list[seq - 1];
  if (value === undefined) throw new Error(`no event ${seq}`);
  return value;
}

function verify(log: Log, overrides: Partial<VerifyInput> = {}): Promise<VerifyReport> {
  return verifyAuditLog({
    org: log.org,
    events: log.events,
    heads: log.heads,
    publicKeys: new Map([[log.signer.keyId, log.signer.publicKey]]),
    chainHead: log.chainHead,
    ...overrides,
  });
}

function assertFailsAt(report: VerifyReport, seq: number, reason?: RegExp): void {
  assert.equal(report.ok, false, `expected a failure at seq ${seq}, got ${JSON.stringify(report)}`);
  if (report.ok) return;
  assert.equal(report.firstBadSeq, seq, report.reason);
  if (reason !== undefined) assert.match(report.reason, reason);
}

describe('verifyAuditLog on a clean log', () => {
  test('verifies every event and every signed head', async () => {
    const log = buildLog(20, [1, 8, 15, 20]);
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: 20, heads: 4, pruned: 0 });
  });

  test('verifies an empty log', async () => {
    const log = buildLog(0, []);
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: 0, heads: 0, pruned: 0 });
  });

  test('reads an async iterable like an array, and heads in any order', async () => {
    const log = buildLog(20, [15, 3, 20]);
    async function* stream() {
      yield* log.events;
    }
    assert.deepEqual(await verify(log, { events: stream() }), { ok: true, org: log.org, events: 20, heads: 3, pruned: 0 });
  });

  test('accepts heads signed by a rotated-out key it still knows', async () => {
    const log = buildLog(20, [10]);
    const next = newSigner();
    log.heads.push(...headsFor(log.org, next, log.events, [20]));
    const publicKeys = new Map([
      [log.signer.keyId, log.signer.publicKey],
      [next.keyId, next.publicKey],
    ]);
    assert.equal((await verify(log, { publicKeys })).ok, true);
  });

  test('verifies without a chain head (an export)', async () => {
    const log = buildLog(20);
    const { chainHead: _omitted, ...rest } = log;
    assert.equal((await verifyAuditLog({ ...rest, publicKeys: new Map([[log.signer.keyId, log.signer.publicKey]]) })).ok, true);
  });

  test('reports progress every 100,000 events', async () => {
    // Built without the helpers' per-event JSON sorting and signing, to keep the test quick.
    const org = randomUUID();
    const count = PROGRESS_INTERVAL * 2 + 5;
    const events: ExportedEvent[] = [];
    let prev: Uint8Array = GENESIS_HASH;
    for (let seq = 1; seq <= count; seq += 1) {
      const canonical = `{"v": 1, "pd": null, "org": "${org}", "seq": ${seq}, "action": "secret.read"}`;
      const hash = chainHash(prev, canonical);
      events.push({ seq, prev_hash: hex(prev), hash: hex(hash), canonical, personal: null });
      prev = hash;
    }
    const seen: number[] = [];
    const report = await verifyAuditLog({ org, events, heads: [], publicKeys: new Map(), onProgress: (n) => seen.push(n) });
    assert.deepEqual(report, { ok: true, org, events: count, heads: 0, pruned: 0 });
    assert.deepEqual(seen, [PROGRESS_INTERVAL, PROGRESS_INTERVAL * 2]);
  });
});

describe('verifyAuditLog names the first bad seq', () => {
  test('a field changed in a canonical event', async () => {
    const log = buildLog(20);
    const event = at(log.events, 7);
    event.canonical = (event.canonical as string).replace('"secret.read"', '"secret.list"');
    assertFailsAt(await verify(log), 7, /hash does not match/);
  });

  test('a deleted event', async () => {
    const log = buildLog(20);
    log.events.splice(8, 1);
    assertFailsAt(await verify(log), 9, /event 9 is missing/);
  });

  test('two events swapped in place', async () => {
    const log = buildLog(20);
    const [four, five] = [at(log.events, 4), at(log.events, 5)];
    log.events[3] = five;
    log.events[4] = four;
    assertFailsAt(await verify(log), 4);
  });

  test('two events swapped by renumbering their seq (as in the database)', async () => {
    const log = buildLog(20);
    const [four, five] = [at(log.events, 4), at(log.events, 5)];
    log.events[3] = { ...five, seq: 4 };
    log.events[4] = { ...four, seq: 5 };
    assertFailsAt(await verify(log), 4, /prev_hash/);
  });

  test('a duplicated event', async () => {
    const log = buildLog(20);
    log.events.splice(5, 0, at(log.events, 5));
    assertFailsAt(await verify(log), 6, /event 5 appears where event 6 belongs/);
  });

  test('a forged event inserted in the middle with a made-up hash', async () => {
    const log = buildLog(20);
    const forged: ExportedEvent = {
      seq: 11,
      prev_hash: at(log.events, 10).hash,
      hash: hex(randomBytes(32)),
      canonical: canonicalOf(log.org, 11, null, 'vault.create'),
      personal: null,
    };
    log.events.splice(10, 0, forged);
    for (let i = 11; i < log.events.length; i += 1) (log.events[i] as ExportedEvent).seq = i + 1;
    assertFailsAt(await verify(log), 11, /hash does not match/);
  });

  test('a forged event appended with a correct hash but past the recorded chain head', async () => {
    const log = buildLog(20);
    const canonical = canonicalOf(log.org, 21, null, 'vault.delete');
    const hash = hex(chainHash(unhex(log.chainHead.hash), canonical));
    log.events.push({ seq: 21, prev_hash: log.chainHead.hash, hash, canonical, personal: null });
    assertFailsAt(await verify(log), 21, /beyond the recorded chain head/);
  });

  test('an event rewritten and the whole chain after it recomputed: the signed head catches it', async () => {
    const log = buildLog(20, [15]);
    const event = at(log.events, 10);
    event.canonical = (event.canonical as string).replace('"secret.read"', '"secret.list"');
    rechain(log.events, 9);
    log.chainHead = { seq: 20, hash: at(log.events, 20).hash };
    assertFailsAt(await verify(log), 15, /Merkle root over events 1\.\.15/);
  });

  test('a tail dropped below a signed head', async () => {
    const log = buildLog(20, [15]);
    log.events.splice(12);
    log.chainHead = { seq: 12, hash: at(log.events, 12).hash };
    assertFailsAt(await verify(log), 13, /truncated/);
  });

  test('a tail dropped below the recorded chain head', async () => {
    const log = buildLog(20, [15]);
    log.events.splice(17);
    assertFailsAt(await verify(log), 18, /truncated: the chain head records 20 events/);
  });

  test('the last event differs from the recorded chain head', async () => {
    const log = buildLog(20, [15]);
    log.chainHead = { seq: 20, hash: hex(randomBytes(32)) };
    assertFailsAt(await verify(log), 20, /chain head/);
  });

  test('a wrong prev link, even with the hash recomputed over it', async () => {
    const log = buildLog(20);
    const event = at(log.events, 6);
    event.prev_hash = hex(randomBytes(32));
    event.hash = hex(chainHash(unhex(event.prev_hash), event.canonical as string));
    assertFailsAt(await verify(log), 6, /prev_hash does not match the hash of event 5/);
  });

  test('a first event that does not start from genesis', async () => {
    const log = buildLog(5, []);
    at(log.events, 1).prev_hash = 'ff'.repeat(32);
    assertFailsAt(await verify(log), 1, /genesis/);
  });

  test('a canonical event of another org or another seq, correctly chained', async () => {
    const other = buildLog(20);
    at(other.events, 3).canonical = canonicalOf(randomUUID(), 3, null);
    rechain(other.events, 2);
    assertFailsAt(await verify(other, { heads: [], chainHead: undefined }), 3, /another org/);

    const renumbered = buildLog(20);
    at(renumbered.events, 4).canonical = canonicalOf(renumbered.org, 5, null);
    rechain(renumbered.events, 3);
    assertFailsAt(await verify(renumbered, { heads: [], chainHead: undefined }), 4, /carries seq 5/);
  });

  test('canonical text that is not JSON, correctly chained', async () => {
    const log = buildLog(20);
    at(log.events, 2).canonical = '{"v": 1, "org": ';
    rechain(log.events, 1);
    assertFailsAt(await verify(log, { heads: [], chainHead: undefined }), 2, /not a JSON object/);
  });

  test('canonical events in another JSON layout are read in full, and checked the same', async () => {
    // Not PostgreSQL's jsonb text, so the verifier cannot read the prefix and parses the event.
    const log = buildLog(20, []);
    for (const event of log.events) {
      if (event.canonical !== null) event.canonical = JSON.stringify(JSON.parse(event.canonical));
    }
    rechain(log.events, 0);
    log.chainHead = { seq: 20, hash: at(log.events, 20).hash };
    assert.equal((await verify(log)).ok, true);

    const body = JSON.parse(at(log.events, 12).canonical as string) as Record<string, unknown>;
    at(log.events, 12).canonical = JSON.stringify({ ...body, org: randomUUID() });
    rechain(log.events, 11);
    log.chainHead = { seq: 20, hash: at(log.events, 20).hash };
    assertFailsAt(await verify(log), 12, /another org/);
  });

  test('a canonical event whose prefix names v, pd, org and seq but that is not JSON to the end', async () => {
    const log = buildLog(20, []);
    at(log.events, 3).canonical = `{"v": 1, "pd": null, "org": "${log.org}", "seq": 3, "time": `;
    rechain(log.events, 2);
    log.chainHead = { seq: 20, hash: at(log.events, 20).hash };
    assertFailsAt(await verify(log), 3, /not a JSON object/);
  });

  test('an event that could not be read', async () => {
    const log = buildLog(20);
    const events: (ExportedEvent | MalformedEvent)[] = [...log.events];
    events[7] = { malformed: 'not JSON' };
    assertFailsAt(await verify(log, { events }), 8, /cannot be read/);
  });

  test('a malformed hash', async () => {
    const log = buildLog(20);
    at(log.events, 5).hash = at(log.events, 5).hash.toUpperCase();
    assertFailsAt(await verify(log), 5, /hash/);
  });
});

describe('verifyAuditLog checks signed heads', () => {
  test('a bad signature', async () => {
    const log = buildLog(20, [8, 15]);
    const head = at(log.heads, 2);
    const signature = Buffer.from(head.signature, 'base64');
    signature[0] = (signature[0] ?? 0) ^ 1;
    head.signature = signature.toString('base64');
    assertFailsAt(await verify(log), 15, /signature does not verify/);
  });

  test('a head whose signed fields were changed after signing', async () => {
    const log = buildLog(20, [15]);
    at(log.heads, 1).signed_at = '2026-01-02T03:04:06.000Z';
    assertFailsAt(await verify(log), 15, /signature does not verify/);
  });

  test('a head signed with an unknown key', async () => {
    const log = buildLog(20, [15]);
    const stranger = newSigner();
    log.heads = headsFor(log.org, stranger, log.events, [15]);
    assertFailsAt(await verify(log), 15, /unknown or unusable key/);
  });

  test('a key that is not 32 bytes', async () => {
    const log = buildLog(20, [15]);
    assertFailsAt(await verify(log, { publicKeys: new Map([[log.signer.keyId, new Uint8Array(31)]]) }), 15, /unknown or unusable key/);
  });

  test('a validly signed head with a root that does not match', async () => {
    const log = buildLog(20, [15]);
    log.heads = [signHead(log.signer, log.org, 15, hex(randomBytes(32)))];
    assertFailsAt(await verify(log), 15, /Merkle root/);
  });

  test("another org's head", async () => {
    const log = buildLog(20, [15]);
    const otherOrg = randomUUID();
    log.heads = [signHead(log.signer, otherOrg, 15, at(log.heads, 1).root_hash)];
    assertFailsAt(await verify(log), 15, /another org/);
  });

  test('a head with an invalid tree size', async () => {
    const log = buildLog(20, [15]);
    log.heads = [{ ...at(log.heads, 1), tree_size: 0 }];
    assertFailsAt(await verify(log), 1, /invalid tree size/);
  });
});

describe('verifyAuditLog with personal data', () => {
  test('personal data changed beside the chain', async () => {
    const log = buildLog(20);
    const personal = at(log.events, 6).personal;
    assert.ok(personal);
    personal.email = 'someone-else@example.com';
    assertFailsAt(await verify(log), 6, /does not match its commitment/);
  });

  test('personal data with a different salt', async () => {
    const log = buildLog(20);
    const personal = at(log.events, 9).personal;
    assert.ok(personal);
    personal.salt = hex(randomBytes(32));
    assertFailsAt(await verify(log), 9, /does not match its commitment/);
  });

  test('personal data attached to an event that commits to none', async () => {
    const log = buildLog(20);
    at(log.events, 4).personal = personalOf(4);
    assertFailsAt(await verify(log), 4, /commits to none/);
  });

  test('personal data erased (C2) still verifies', async () => {
    const log = buildLog(20);
    for (const event of log.events) event.personal = null;
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: 20, heads: 1, pruned: 0 });
  });
});

describe('verifyAuditLog computes what the reference functions compute', () => {
  test('the Merkle root at every tree size from 1 to 70 (crypto/merkle.ts)', async () => {
    const sizes = Array.from({ length: 70 }, (_, i) => i + 1);
    const log = buildLog(70, sizes);
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: 70, heads: 70, pruned: 0 });
  });

  test('the personal-data commitment for text that needs escaping (audit.format.ts)', async () => {
    const tricky: PersonalData[] = [
      { ip: null, user_agent: null, email: null },
      { ip: '::1', user_agent: 'Mozilla/5.0 "quoted" \\ back\\slash\ttab\nnewline', email: 'zoë@exämple.com' },
      { ip: '10.0.0.1', user_agent: 'emoji 🔐 and \u0000\u001f\u007f controls', email: '' },
      { ip: '2001:db8::1', user_agent: '\u2028\u2029 separators, 中文', email: null },
    ];
    const log = buildLog(tricky.length, []);
    tricky.forEach((personal, i) => {
      const salt = hex(randomBytes(32));
      const event = log.events[i] as ExportedEvent;
      event.personal = { salt, ...personal };
      event.canonical = canonicalOf(log.org, i + 1, personalCommitment(unhex(salt), personal));
    });
    rechain(log.events, 0);
    log.chainHead = { seq: tricky.length, hash: at(log.events, tricky.length).hash };
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: tricky.length, heads: 0, pruned: 0 });
  });

  test('events and personal data larger than any buffer the verifier starts with', async () => {
    const log = buildLog(3, []);
    const personal: PersonalData = { ip: '10.0.0.1', user_agent: `agent ${'é'.repeat(150_000)}`, email: 'big@example.com' };
    const salt = hex(randomBytes(32));
    const event = at(log.events, 3);
    event.personal = { salt, ...personal };
    event.canonical = canonicalOf(log.org, 3, personalCommitment(unhex(salt), personal)).replace(
      '"reason": null',
      `"reason": "${'ü'.repeat(100_000)}"`,
    );
    rechain(log.events, 2);
    log.chainHead = { seq: 3, hash: at(log.events, 3).hash };
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: 3, heads: 0, pruned: 0 });
    personal.user_agent = `agent ${'é'.repeat(149_999)}e`;
    event.personal = { salt, ...personal };
    assertFailsAt(await verify(log), 3, /commitment/);
  });

  test('personal data that could never have had a commitment (a lone surrogate) fails', async () => {
    const log = buildLog(20, []);
    const personal = at(log.events, 3).personal;
    assert.ok(personal);
    personal.user_agent = 'broken \ud800 text';
    assertFailsAt(await verify(log), 3, /commitment/);
  });
});

describe('verifyAuditLog with retention (A6)', () => {
  function prune(log: Log, seqs: readonly number[]): void {
    for (const seq of seqs) {
      const event = at(log.events, seq);
      event.canonical = null;
      event.personal = null;
    }
  }

  test('pruned events covered by a signed head verify', async () => {
    const log = buildLog(20, [15]);
    prune(log, [1, 2, 3, 6, 15]);
    assert.deepEqual(await verify(log), { ok: true, org: log.org, events: 20, heads: 1, pruned: 5 });
  });

  test('a pruned event beyond every signed head fails', async () => {
    const log = buildLog(20, [15]);
    prune(log, [3, 16]);
    assertFailsAt(await verify(log), 16, /pruned event not covered by a signed head/);
  });

  test('a pruned event covered only by a head that does not verify fails at the event', async () => {
    const log = buildLog(20, [15]);
    prune(log, [5]);
    const stranger = newSigner();
    log.heads = headsFor(log.org, stranger, log.events, [15]);
    assertFailsAt(await verify(log), 5, /not covered/);
  });

  test("a pruned event's hash rewritten with the chain recomputed after it: the signed head catches it", async () => {
    const log = buildLog(20, [15]);
    prune(log, [5]);
    at(log.events, 5).hash = hex(randomBytes(32));
    rechain(log.events, 5);
    log.chainHead = { seq: 20, hash: at(log.events, 20).hash };
    assertFailsAt(await verify(log), 15, /Merkle root/);
  });

  test('a pruned event that kept personal data fails', async () => {
    const log = buildLog(20, [15]);
    at(log.events, 3).canonical = null;
    assertFailsAt(await verify(log), 3, /pruned event still has personal data/);
  });
});

test('stops reading at the first problem', async () => {
  const log = buildLog(20, [15]);
  at(log.events, 4).hash = hex(randomBytes(32));
  let read = 0;
  function* counted() {
    for (const event of log.events) {
      read += 1;
      yield event;
    }
  }
  assertFailsAt(await verify(log, { events: counted() }), 4);
  assert.equal(read, 4);
});
