import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

let t: TestApp;
let org: TestOrg;
let vaultId: string;

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
  vaultId = await createVault(t, org);
});
after(() => t.close());

const url = (path: string, query = '') => `/v1/vaults/${vaultId}/secrets/${path}${query}`;

describe('writing and reading secrets', () => {
  test('a secret written then read returns the same value, type, tier and metadata', async () => {
    const value = 'sk_live_51H\u00e9llo \u{1F511} "quoted" \\ \n multi-line';
    const put = await putSecret(t, org, vaultId, 'integrations/stripe/api_key', {
      value,
      type: 'api_key',
      tier: 'P0',
      metadata: { owner: 'billing', rotates: true },
    });
    assert.equal(put.statusCode, 201);
    assert.equal(put.headers.etag, '"1"');
    const written = put.json();
    assert.equal(written.path, '/integrations/stripe/api_key');
    assert.equal(written.current_version, 1);
    assert.equal('value' in written, false, 'a write never echoes the value');

    const read = await t.call(org.token, { method: 'GET', url: url('integrations/stripe/api_key') });
    assert.equal(read.statusCode, 200);
    assert.equal(read.headers['cache-control'], 'no-store');
    const body = read.json();
    assert.equal(body.value, value);
    assert.equal(body.version, 1);
    assert.equal(body.type, 'api_key');
    assert.equal(body.tier, 'P0');
    assert.deepEqual(body.metadata, { owner: 'billing', rotates: true });
  });

  test('a value of the maximum size round-trips byte for byte', async () => {
    const value = 'x'.repeat(64 * 1024 - 3) + '\u00e9!'; // 64 KiB in UTF-8
    await putSecret(t, org, vaultId, 'big/blob', { value, type: 'note' });
    const read = await t.call(org.token, { method: 'GET', url: url('big/blob') });
    assert.equal(read.json().value, value);
  });

  test('the path is normalised, so a leading slash or NFD spelling names the same secret', async () => {
    await putSecret(t, org, vaultId, 'caf\u00e9/key', { value: 'one' });
    const read = await t.call(org.token, { method: 'GET', url: url(encodeURIComponent('cafe\u0301') + '/key') });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().value, 'one');
    assert.equal(read.json().path, '/caf\u00e9/key');
  });

  test('every write is a new version and older versions stay readable', async () => {
    for (const v of ['v1', 'v2', 'v3']) await putSecret(t, org, vaultId, 'rotating/token', { value: v });
    const latest = await t.call(org.token, { method: 'GET', url: url('rotating/token') });
    assert.equal(latest.json().version, 3);
    assert.equal(latest.json().value, 'v3');
    assert.equal(latest.headers.etag, '"3"');
    const first = await t.call(org.token, { method: 'GET', url: url('rotating/token', '?version=1') });
    assert.equal(first.json().value, 'v1');
    assert.equal(first.json().current_version, 3);
    const missing = await t.call(org.token, { method: 'GET', url: url('rotating/token', '?version=9') });
    assert.equal(missing.statusCode, 404);
  });
});

describe('check-and-set', () => {
  test('If-Match with the current version writes; with a stale one answers 412 and writes nothing', async () => {
    await putSecret(t, org, vaultId, 'cas/key', { value: 'a' });
    const ok = await t.call(org.token, { method: 'PUT', url: url('cas/key'), headers: { 'if-match': '"1"' }, payload: { value: 'b' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().current_version, 2);
    const stale = await t.call(org.token, { method: 'PUT', url: url('cas/key'), headers: { 'if-match': '"1"' }, payload: { value: 'c' } });
    assert.equal(stale.statusCode, 412);
    assert.equal(stale.json().code, 'VERSION_MISMATCH');
    const read = await t.call(org.token, { method: 'GET', url: url('cas/key') });
    assert.equal(read.json().value, 'b');
  });

  test('If-None-Match: * creates only a secret that does not exist', async () => {
    const created = await t.call(org.token, { method: 'PUT', url: url('cas/new'), headers: { 'if-none-match': '*' }, payload: { value: 'a' } });
    assert.equal(created.statusCode, 201);
    const again = await t.call(org.token, { method: 'PUT', url: url('cas/new'), headers: { 'if-none-match': '*' }, payload: { value: 'b' } });
    assert.equal(again.statusCode, 412);
  });

  test('If-Match on a secret that does not exist answers 412 and creates nothing', async () => {
    const res = await t.call(org.token, { method: 'PUT', url: url('cas/ghost'), headers: { 'if-match': '"1"' }, payload: { value: 'a' } });
    assert.equal(res.statusCode, 412);
    const read = await t.call(org.token, { method: 'GET', url: url('cas/ghost') });
    assert.equal(read.statusCode, 404);
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets?prefix=cas` });
    assert.deepEqual(list.json().secrets.map((s: { path: string }) => s.path), ['/cas/key', '/cas/new']);
  });

  test('concurrent writes of one secret each get their own version number', async () => {
    const writes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.call(org.token, { method: 'PUT', url: url('race/key'), payload: { value: `w${i}` } })),
    );
    const versions = writes.map((w) => w.json().current_version).sort((a: number, b: number) => a - b);
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('a malformed If-Match answers 400 INVALID_PRECONDITION', async () => {
    const res = await t.call(org.token, { method: 'PUT', url: url('cas/key'), headers: { 'if-match': 'yesterday' }, payload: { value: 'x' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'INVALID_PRECONDITION');
  });
});

describe('listing', () => {
  test('lists paths and descriptions under a prefix, in pages, and never values', async () => {
    const v = await createVault(t, org);
    for (const p of ['a/1', 'a/2', 'a/3', 'ab/1', 'b/1']) {
      await putSecret(t, org, v, p, { value: `canary-list-${p}` });
    }
    const first = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${v}/secrets?prefix=/a/&limit=2` });
    assert.equal(first.statusCode, 200);
    const page1 = first.json();
    assert.deepEqual(page1.secrets.map((s: { path: string }) => s.path), ['/a/1', '/a/2']);
    assert.ok(page1.next_cursor);
    const second = await t.call(org.token, {
      method: 'GET',
      url: `/v1/vaults/${v}/secrets?prefix=/a/&limit=2&cursor=${page1.next_cursor}`,
    });
    assert.deepEqual(second.json().secrets.map((s: { path: string }) => s.path), ['/a/3']);
    assert.equal(second.json().next_cursor, null);
    const all = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${v}/secrets` });
    assert.equal(all.json().secrets.length, 5);
    assert.doesNotMatch(all.body, /canary-list/);
  });
});

describe('deleting and destroying', () => {
  test('a deleted secret answers 404 and is not listed; writing it again brings it back at the next version', async () => {
    await putSecret(t, org, vaultId, 'del/key', { value: 'one' });
    const del = await t.call(org.token, { method: 'DELETE', url: url('del/key') });
    assert.equal(del.statusCode, 204);
    assert.equal((await t.call(org.token, { method: 'GET', url: url('del/key') })).statusCode, 404);
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets?prefix=del` });
    assert.deepEqual(list.json().secrets, []);
    assert.equal((await t.call(org.token, { method: 'DELETE', url: url('del/key') })).statusCode, 404);
    const again = await putSecret(t, org, vaultId, 'del/key', { value: 'two' });
    assert.equal(again.json().current_version, 2);
    const read = await t.call(org.token, { method: 'GET', url: url('del/key', '?version=1') });
    assert.equal(read.json().value, 'one');
  });

  test('a destroyed version answers 410 and its ciphertext is gone from the database', async () => {
    await putSecret(t, org, vaultId, 'destroy/key', { value: 'first' });
    await putSecret(t, org, vaultId, 'destroy/key', { value: 'second' });
    const res = await t.call(org.token, { method: 'DELETE', url: url('destroy/key', '?version=1') });
    assert.equal(res.statusCode, 204);
    const gone = await t.call(org.token, { method: 'GET', url: url('destroy/key', '?version=1') });
    assert.equal(gone.statusCode, 410);
    assert.equal(gone.json().code, 'SECRET_VERSION_DESTROYED');
    const current = await t.call(org.token, { method: 'GET', url: url('destroy/key') });
    assert.equal(current.json().value, 'second');
    const [row] = await t.database.superuser((c) =>
      c.query<{ envelope: Uint8Array | null }>(
        `SELECT v.envelope FROM secret_versions v JOIN secrets s USING (org_id, secret_id)
          WHERE s.path = '/destroy/key' AND v.version = 1`,
      ),
    );
    assert.equal(row?.envelope, null);
    // Destroying again is idempotent; a version that never existed is 404.
    assert.equal((await t.call(org.token, { method: 'DELETE', url: url('destroy/key', '?version=1') })).statusCode, 204);
    assert.equal((await t.call(org.token, { method: 'DELETE', url: url('destroy/key', '?version=7') })).statusCode, 404);
  });

  test('an expired secret answers 410 SECRET_EXPIRED', async () => {
    await putSecret(t, org, vaultId, 'expiring/key', { value: 'x', expires_at: new Date(Date.now() - 1000).toISOString() });
    const res = await t.call(org.token, { method: 'GET', url: url('expiring/key') });
    assert.equal(res.statusCode, 410);
    assert.equal(res.json().code, 'SECRET_EXPIRED');
    await putSecret(t, org, vaultId, 'expiring/key', { value: 'y', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal((await t.call(org.token, { method: 'GET', url: url('expiring/key') })).json().value, 'y');
  });
});

describe('ciphertext integrity', () => {
  async function envelopeOf(path: string, orgId = org.orgId): Promise<Uint8Array> {
    const [row] = await t.database.superuser((c) =>
      c.query<{ envelope: Uint8Array }>(
        `SELECT v.envelope FROM secret_versions v JOIN secrets s USING (org_id, secret_id)
          WHERE s.org_id = $1 AND s.path = $2 AND v.version = s.current_version`,
        [orgId, path],
      ),
    );
    assert.ok(row);
    return row.envelope;
  }
  async function overwriteEnvelope(path: string, envelope: Uint8Array, orgId = org.orgId): Promise<void> {
    await t.database.superuser((c) =>
      c.query(
        `UPDATE secret_versions v SET envelope = $3 FROM secrets s
          WHERE s.org_id = v.org_id AND s.secret_id = v.secret_id AND s.org_id = $1 AND s.path = $2
            AND v.version = s.current_version`,
        [orgId, path, envelope],
      ),
    );
  }

  test("a ciphertext copied into another secret's row fails to decrypt with SECRET_INTEGRITY_FAILED", async () => {
    await putSecret(t, org, vaultId, 'moved/source', { value: 'the-source-value' });
    await putSecret(t, org, vaultId, 'moved/target', { value: 'the-target-value' });
    await overwriteEnvelope('/moved/target', await envelopeOf('/moved/source'));
    const res = await t.call(org.token, { method: 'GET', url: url('moved/target') });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().code, 'SECRET_INTEGRITY_FAILED');
    assert.doesNotMatch(res.body, /the-source-value|the-target-value/);
    assert.ok(t.logs.some((l) => l.includes('failed its integrity check')));
  });

  test("a ciphertext copied into another org's row fails to decrypt", async () => {
    const other = await t.createOrg();
    const otherVault = await createVault(t, other);
    await putSecret(t, other, otherVault, 'same/path', { value: 'other-org-value' });
    await putSecret(t, org, vaultId, 'same/path', { value: 'our-value' });
    await overwriteEnvelope('/same/path', await envelopeOf('/same/path', other.orgId));
    const res = await t.call(org.token, { method: 'GET', url: url('same/path') });
    assert.equal(res.json().code, 'SECRET_INTEGRITY_FAILED');
    assert.doesNotMatch(res.body, /other-org-value|our-value/);
  });

  test('a flipped bit in a stored ciphertext is detected', async () => {
    await putSecret(t, org, vaultId, 'flip/key', { value: 'flip-me' });
    const envelope = Buffer.from(await envelopeOf('/flip/key'));
    envelope[envelope.length - 20] = (envelope[envelope.length - 20] as number) ^ 1;
    await overwriteEnvelope('/flip/key', envelope);
    const res = await t.call(org.token, { method: 'GET', url: url('flip/key') });
    assert.equal(res.json().code, 'SECRET_INTEGRITY_FAILED');
  });
});

describe('listing under any database collation', () => {
  test('pages through paths that collations order differently without skipping or repeating any', async () => {
    // On a database whose collation ignores punctuation and case (ICU en-US), "a-b", "aB" and
    // "a_b" sort differently than byte order; the cursor and the order must still agree.
    const icu = await createTestApp({ icuLocale: 'en-US' });
    try {
      const o = await icu.createOrg();
      const v = await createVault(icu, o);
      const paths = ['a-b', 'aB', 'a_b', 'A', 'b', 'a.b', 'ab', 'a:b', 'Ab', 'a~b', 'a@b'];
      for (const p of paths) await putSecret(icu, o, v, p, { value: 'x' });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor === null ? '?limit=2' : `?limit=2&cursor=${cursor}`;
        const page = await icu.call(o.token, { method: 'GET', url: `/v1/vaults/${v}/secrets${query}` });
        assert.equal(page.statusCode, 200);
        seen.push(...page.json().secrets.map((s: { path: string }) => s.path));
        cursor = page.json().next_cursor;
      } while (cursor !== null);
      const expected = paths.map((p) => `/${p}`).sort((x, y) => (Buffer.compare(Buffer.from(x), Buffer.from(y))));
      assert.deepEqual(seen, expected);
    } finally {
      await icu.close();
    }
  });
});

describe('preconditions are strict', () => {
  test('weak, unquoted or malformed entity tags and non-decimal versions answer 400', async () => {
    await putSecret(t, org, vaultId, 'strict/key', { value: 'a' });
    for (const tag of ['W/"1"', '1', '"1', '"01"', '"0"', '"1", "2"']) {
      const res = await t.call(org.token, { method: 'PUT', url: url('strict/key'), headers: { 'if-match': tag }, payload: { value: 'b' } });
      assert.equal(res.statusCode, 400, tag);
      assert.equal(res.json().code, 'INVALID_PRECONDITION', tag);
    }
    for (const version of ['0x1', '1e0', '+1', '01', '1.0']) {
      const res = await t.call(org.token, { method: 'GET', url: url('strict/key', `?version=${encodeURIComponent(version)}`) });
      assert.equal(res.statusCode, 400, version);
    }
    const read = await t.call(org.token, { method: 'GET', url: url('strict/key') });
    assert.equal(read.json().value, 'a');
    assert.equal(read.json().version, 1);
  });

  test('If-Match: * writes only a secret that exists', async () => {
    const missing = await t.call(org.token, { method: 'PUT', url: url('star/key'), headers: { 'if-match': '*' }, payload: { value: 'a' } });
    assert.equal(missing.statusCode, 412);
    await putSecret(t, org, vaultId, 'star/key', { value: 'a' });
    const present = await t.call(org.token, { method: 'PUT', url: url('star/key'), headers: { 'if-match': '*' }, payload: { value: 'b' } });
    assert.equal(present.statusCode, 200);
  });
});
