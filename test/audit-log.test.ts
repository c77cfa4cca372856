import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTenantTx } from '../src/db/tenant.js';
import { headSigningPayload, type SignedHead } from '../src/domains/audit/audit.format.js';
import { pruneEvents } from '../src/domains/audit/audit.repo.js';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

let t: TestApp;
let org: TestOrg;
let vaultId: string;

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
  vaultId = await createVault(t, org);
  for (let i = 1; i <= 5; i++) await putSecret(t, org, vaultId, `k/${i}`, { value: `value-${i}` });
});
after(() => t.close());

// --- An independent RFC 6962 / RFC 9162 implementation, written from the RFC for this test ---
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const leaf = (data: Uint8Array) => sha(Buffer.from([0]), data);
const node = (l: Uint8Array, r: Uint8Array) => sha(Buffer.from([1]), l, r);

/** RFC 9162 §2.1.3.2 */
function checkInclusion(index: number, size: number, leafHashValue: Uint8Array, proof: Buffer[], root: Buffer): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = Buffer.from(leafHashValue);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2 */
function checkConsistency(m: number, n: number, oldRoot: Buffer, newRoot: Buffer, proof: Buffer[]): boolean {
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  if (m === 0 || m > n) return false;
  const path = (m & (m - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  if (path.length === 0) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) { fn >>= 1; sn >>= 1; }
  let fr = path[0] as Buffer;
  let sr = path[0] as Buffer;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
    } else {
      sr = node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr.equals(oldRoot) && sr.equals(newRoot) && sn === 0;
}

const hexes = (xs: string[]) => xs.map((x) => Buffer.from(x, 'hex'));

async function get(url: string) {
  const res = await t.call(org.token, { method: 'GET', url });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.json();
}

function signatureValid(head: SignedHead, publicKeyBase64: string): boolean {
  const raw = Buffer.from(publicKeyBase64, 'base64');
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  return verifySignature(null, headSigningPayload(head), key, Buffer.from(head.signature, 'base64'));
}

describe('signed heads and proofs, checked by an independent RFC 6962 implementation', () => {
  test('the independent implementation passes the RFC 6962 test vectors it is checked with', () => {
    // certificate-transparency test data: 8 leaves, roots of size 1..8 (see src/crypto/merkle.test.ts)
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
    const mth = (ls: Buffer[]): Buffer => {
      if (ls.length === 1) return leaf(ls[0] as Buffer);
      let k = 1;
      while (k * 2 < ls.length) k *= 2;
      return node(mth(ls.slice(0, k)), mth(ls.slice(k)));
    };
    assert.equal(mth(data.slice(0, 8)).toString('hex'), '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
    assert.equal(mth(data.slice(0, 5)).toString('hex'), '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4');
  });

  test('every event has an inclusion proof that verifies against the signed, published head', async () => {
    const signed = await t.call(org.token, { method: 'POST', url: '/v1/audit/heads' });
    assert.equal(signed.statusCode, 201);
    const head = signed.json() as SignedHead;
    const latest = await get('/v1/audit/heads/latest');
    assert.ok(latest.tree_size >= head.tree_size);
    assert.ok(signatureValid(head, latest.public_key), 'the head is signed by the published key');
    for (let seq = 1; seq <= head.tree_size; seq++) {
      const p = await get(`/v1/audit/events/${seq}/proof?tree_size=${head.tree_size}`);
      assert.equal(p.root_hash, head.root_hash);
      const ok = checkInclusion(seq - 1, head.tree_size, leaf(Buffer.from(p.event_hash, 'hex')), hexes(p.proof), Buffer.from(head.root_hash, 'hex'));
      assert.ok(ok, `inclusion of ${seq}`);
    }
  });

  test('a proof for a different event, or against a forged head, does not verify', async () => {
    const head = (await get('/v1/audit/heads')).heads.at(-1) as SignedHead;
    const p = await get(`/v1/audit/events/2/proof?tree_size=${head.tree_size}`);
    const other = await get(`/v1/audit/events/3/proof?tree_size=${head.tree_size}`);
    const root = Buffer.from(head.root_hash, 'hex');
    assert.equal(checkInclusion(1, head.tree_size, leaf(Buffer.from(other.event_hash, 'hex')), hexes(p.proof), root), false);
    const forgedRoot = Buffer.from(root);
    forgedRoot[0] = (forgedRoot[0] as number) ^ 1;
    assert.equal(checkInclusion(1, head.tree_size, leaf(Buffer.from(p.event_hash, 'hex')), hexes(p.proof), forgedRoot), false);
    const key = (await get('/v1/audit/heads/latest')).public_key as string;
    assert.equal(signatureValid({ ...head, root_hash: forgedRoot.toString('hex') }, key), false, 'a forged root fails the signature');
    assert.equal(signatureValid({ ...head, tree_size: head.tree_size - 1 }, key), false, 'a forged size fails the signature');
  });

  test('consistency proofs between heads verify, and fail for the wrong roots', async () => {
    await t.call(org.token, { method: 'POST', url: '/v1/audit/heads' });
    await putSecret(t, org, vaultId, 'k/more', { value: 'more' });
    await t.call(org.token, { method: 'POST', url: '/v1/audit/heads' });
    const heads = (await get('/v1/audit/heads')).heads as SignedHead[];
    assert.ok(heads.length >= 2);
    for (let i = 0; i + 1 < heads.length; i++) {
      const from = heads[i] as SignedHead;
      const to = heads.at(-1) as SignedHead;
      const c = await get(`/v1/audit/consistency?from=${from.tree_size}&to=${to.tree_size}`);
      assert.equal(c.from_root, from.root_hash, 'the log agrees with the old signed head');
      assert.equal(c.to_root, to.root_hash);
      const oldRoot = Buffer.from(from.root_hash, 'hex');
      const newRoot = Buffer.from(to.root_hash, 'hex');
      assert.ok(checkConsistency(from.tree_size, to.tree_size, oldRoot, newRoot, hexes(c.proof)), `${from.tree_size} → ${to.tree_size}`);
      if (from.tree_size !== to.tree_size) {
        const wrong = Buffer.from(oldRoot);
        wrong[3] = (wrong[3] as number) ^ 0x80;
        assert.equal(checkConsistency(from.tree_size, to.tree_size, wrong, newRoot, hexes(c.proof)), false);
      }
    }
  });
});

describe('the audit tables are append-only for the runtime role', () => {
  for (const table of ['audit_events', 'audit_personal', 'audit_heads', 'audit_chain_heads']) {
    test(`INSERT, UPDATE, DELETE and TRUNCATE on ${table} are refused`, async () => {
      const statements = [
        `INSERT INTO ${table} (org_id) VALUES ('${org.orgId}')`,
        `UPDATE ${table} SET org_id = org_id`,
        `DELETE FROM ${table}`,
        `TRUNCATE ${table}`,
      ];
      for (const sql of statements) {
        await assert.rejects(
          t.database.db.transaction({ 'app.org_id': org.orgId }, (q) => q.query(sql)),
          (err: { code?: string }) => err.code === '42501',
          sql,
        );
      }
    });
  }
});

describe('fail-closed (A7)', () => {
  async function breakAudit(): Promise<void> {
    await t.database.superuser((c) => c.exec('REVOKE EXECUTE ON FUNCTION audit_append(jsonb) FROM strongroom_app'));
  }
  async function restoreAudit(): Promise<void> {
    await t.database.superuser((c) => c.exec('GRANT EXECUTE ON FUNCTION audit_append(jsonb) TO strongroom_app'));
  }

  test('while events cannot be written, reads answer 503 with no value and writes change nothing; service returns with it', async () => {
    await putSecret(t, org, vaultId, 'fc/key', { value: 'fail-closed-value-1' });
    await breakAudit();
    try {
      const read = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/fc/key` });
      assert.equal(read.statusCode, 503);
      assert.equal(read.json().code, 'UNAVAILABLE');
      assert.doesNotMatch(read.body, /fail-closed-value/);
      assert.equal(read.headers.etag, undefined);

      const write = await t.call(org.token, { method: 'PUT', url: `/v1/vaults/${vaultId}/secrets/fc/key`, payload: { value: 'fail-closed-value-2' } });
      assert.equal(write.statusCode, 503);
      const create = await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'made-while-broken' } });
      assert.equal(create.statusCode, 503);
      const del = await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${vaultId}/secrets/fc/key` });
      assert.equal(del.statusCode, 503);
      const exp = await t.call(org.token, { method: 'GET', url: '/v1/audit/export' });
      assert.equal(exp.statusCode, 503);
    } finally {
      await restoreAudit();
    }
    // None of the refused changes happened.
    const read = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/fc/key` });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().value, 'fail-closed-value-1');
    assert.equal(read.json().version, 1);
    const vaults = await t.call(org.token, { method: 'GET', url: '/v1/vaults' });
    assert.ok(!vaults.json().vaults.some((v: { name: string }) => v.name === 'made-while-broken'));
  });
});

describe('group commit', () => {
  test('concurrent requests each get their own event, in one unbroken chain', async () => {
    const [{ n: before }] = (await t.database.superuser((c) =>
      c.query<{ n: number | string }>('SELECT COALESCE(max(seq), 0) AS n FROM audit_events WHERE org_id = $1', [org.orgId]),
    )) as [{ n: number | string }];
    const reads = await Promise.all(
      Array.from({ length: 40 }, () => t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/k/1` })),
    );
    for (const r of reads) assert.equal(r.statusCode, 200);
    const rows = await t.database.superuser((c) =>
      c.query<{ seq: number | string; prev_hash: Uint8Array; hash: Uint8Array; canonical: string }>(
        'SELECT seq, prev_hash, hash, canonical FROM audit_events WHERE org_id = $1 AND seq > $2 ORDER BY seq',
        [org.orgId, Number(before)],
      ),
    );
    const ids = new Set(rows.map((r) => (JSON.parse(r.canonical) as { request_id: string }).request_id));
    for (const r of reads) assert.ok(ids.has(String(r.headers['x-request-id'])), 'each read has its event');
    let prev: Uint8Array | undefined;
    for (const r of rows) {
      if (prev) assert.deepEqual(Buffer.from(r.prev_hash), Buffer.from(prev));
      assert.deepEqual(Buffer.from(r.hash), sha(r.prev_hash, Buffer.from(r.canonical, 'utf8')));
      prev = r.hash;
    }
  });
});

describe('retention (A6)', () => {
  test('prunes the content of old events covered by a signed head, keeping hashes so the chain still verifies', async () => {
    const other = await t.createOrg();
    const v = await createVault(t, other);
    await putSecret(t, other, v, 'old/one', { value: 'x' });
    await t.call(other.token, { method: 'GET', url: `/v1/vaults/${v}/secrets/old/one` });
    await t.call(other.token, { method: 'POST', url: '/v1/audit/heads' });
    await t.call(other.token, { method: 'GET', url: `/v1/vaults/${v}/secrets/old/one` }); // after the head: not prunable
    await t.database.superuser((c) => c.query(`UPDATE audit_events SET event_time = now() - interval '400 days' WHERE org_id = $1`, [other.orgId]));
    const withTenantTx = createTenantTx(t.database.db);
    const pruned = await withTenantTx(other.orgId, async (tx) => ({
      operational: await pruneEvents(tx, 'operational', new Date(Date.now() - 30 * 86_400_000)),
      security: await pruneEvents(tx, 'security', new Date(Date.now() - 365 * 86_400_000)),
    }));
    const rows = await t.database.superuser((c) =>
      c.query<{ seq: number | string; canonical: string | null; prev_hash: Uint8Array; hash: Uint8Array; personal: number | string }>(
        `SELECT e.seq, e.canonical, e.prev_hash, e.hash, (SELECT count(*) FROM audit_personal p WHERE p.org_id = e.org_id AND p.seq = e.seq) AS personal
           FROM audit_events e WHERE e.org_id = $1 ORDER BY e.seq`,
        [other.orgId],
      ),
    );
    const [head] = (await t.database.superuser((c) =>
      c.query<{ size: number | string }>('SELECT max(tree_size) AS size FROM audit_heads WHERE org_id = $1', [other.orgId]),
    )) as [{ size: number | string }];
    const covered = rows.filter((r) => Number(r.seq) <= Number(head.size));
    assert.equal(pruned.operational + pruned.security, covered.length);
    for (const r of covered) {
      assert.equal(r.canonical, null, `seq ${r.seq} is pruned`);
      assert.equal(Number(r.personal), 0, 'its personal data is gone');
    }
    const uncovered = rows.filter((r) => Number(r.seq) > Number(head.size));
    assert.ok(uncovered.length > 0 && uncovered.every((r) => r.canonical !== null), 'events past the last head keep their content');
    for (let i = 1; i < rows.length; i++) {
      assert.deepEqual(Buffer.from((rows[i] as { prev_hash: Uint8Array }).prev_hash), Buffer.from((rows[i - 1] as { hash: Uint8Array }).hash));
    }
    const listed = await t.call(other.token, { method: 'GET', url: '/v1/audit/events?limit=2' });
    assert.deepEqual(listed.json().events.map((e: { pruned: boolean; event: unknown }) => [e.pruned, e.event]), [
      [true, null],
      [true, null],
    ]);
  });
});

describe('what the runtime role cannot do through the audit functions', () => {
  const asRuntime = <T>(orgId: string, sql: string, params: unknown[] = []) =>
    t.database.db.transaction({ 'app.org_id': orgId }, (q) => q.query<T & object>(sql, params));

  test('record a head whose root does not match the log (the database rebuilds it)', async () => {
    const forgedRoot = Buffer.alloc(32, 0xab);
    await assert.rejects(
      asRuntime(org.orgId, 'SELECT audit_record_head(1, $1, now(), $2, $3)', [forgedRoot, 'forged', Buffer.alloc(64)]),
      /does not match the log/,
    );
    await assert.rejects(
      asRuntime(org.orgId, 'SELECT audit_record_head(999999, $1, now(), $2, $3)', [forgedRoot, 'forged', Buffer.alloc(64)]),
      /must cover/,
    );
    const [forged] = await t.database.superuser((c) =>
      c.query<{ n: number | string }>(`SELECT count(*) AS n FROM audit_heads WHERE org_id = $1 AND key_id = 'forged'`, [org.orgId]),
    );
    assert.equal(Number(forged?.n), 0);
  });

  test('prune events younger than the retention floors, whatever cutoff it asks for', async () => {
    await t.call(org.token, { method: 'POST', url: '/v1/audit/heads' });
    const [row] = await asRuntime<{ n: number | string }>(org.orgId, `SELECT audit_prune('security', 'infinity') + audit_prune('operational', 'infinity') AS n`);
    assert.equal(Number(row?.n), 0);
    const [left] = await t.database.superuser((c) =>
      c.query<{ n: number | string }>('SELECT count(*) AS n FROM audit_events WHERE org_id = $1 AND canonical IS NULL', [org.orgId]),
    );
    assert.equal(Number(left?.n), 0);
  });

  test('choose the retention class of an event: the database derives it from the action', async () => {
    const body = { action: 'secret.read', class: 'operational', actor: { type: 'root_token', id: 'x' }, resource: { type: 'secret', ref: 'secret:x' }, outcome: 'success', status: 200, reason: null, request_id: 'r', pd: null };
    const [appended] = await asRuntime<{ seq: number | string }>(org.orgId, 'SELECT seq FROM audit_append($1::jsonb)', [JSON.stringify([body])]);
    const [stored] = await t.database.superuser((c) =>
      c.query<{ event_class: string }>('SELECT event_class FROM audit_events WHERE org_id = $1 AND seq = $2', [org.orgId, Number(appended?.seq)]),
    );
    assert.equal(stored?.event_class, 'security');
  });

  test("the database's list of operational actions is the catalogue's", async () => {
    const { auditActions } = await import('../src/domains/audit/audit.events.js');
    const rows = await t.database.superuser((c) => c.query<{ action: string }>('SELECT action FROM audit_operational_actions ORDER BY action'));
    const expected = Object.entries(auditActions).filter(([, c]) => c === 'operational').map(([a]) => a).sort();
    assert.deepEqual(rows.map((r) => r.action), expected);
  });
});
