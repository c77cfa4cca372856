import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp, type TestOrg } from './support/app.js';

/**
 * Acceptance: a distinctive secret value goes through every flow; afterwards the database
 * files (PGlite), the database rows, the server's log and every API error body are scanned,
 * and the plaintext appears in none of them.
 */

const CANARY = `CANARY-${randomUUID()}`;

/** The byte patterns the canary could leave behind: raw, UTF-16, base64 (any alignment), hex. */
function needlesOf(secret: string): { label: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const needles = [
    { label: 'UTF-8', bytes: utf8 },
    { label: 'UTF-16LE', bytes: Buffer.from(secret, 'utf16le') },
    { label: 'UTF-16BE', bytes: Buffer.from(secret, 'utf16le').swap16() },
    { label: 'hex', bytes: Buffer.from(utf8.toString('hex'), 'latin1') },
    { label: 'HEX', bytes: Buffer.from(utf8.toString('hex').toUpperCase(), 'latin1') },
  ];
  // base64 depends on where the value starts modulo 3: encode it at each offset and keep only
  // the characters that depend on the value alone (not on the unknown bytes around it).
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), utf8]).toString('base64');
    const stable = encoded.slice(shift === 0 ? 0 : 4, Math.floor((shift + utf8.length) / 3) * 4);
    needles.push({ label: `base64 (offset ${shift})`, bytes: Buffer.from(stable, 'latin1') });
    needles.push({
      label: `base64url (offset ${shift})`,
      bytes: Buffer.from(stable.replaceAll('+', '-').replaceAll('/', '_'), 'latin1'),
    });
  }
  return needles;
}

const NEEDLES = needlesOf(CANARY);

/** The forms of the canary found in `haystack` (empty when it is clean). */
function findCanary(haystack: Buffer | string): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : haystack;
  return NEEDLES.filter((n) => bytes.includes(n.bytes)).map((n) => n.label);
}

/** Reads every file under `dir` (recursively) and reports where the canary is found. */
function scanDirectory(dir: string): { files: number; bytes: number; hits: string[] } {
  const result = { files: 0, bytes: 0, hits: [] as string[] };
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const content = readFileSync(full);
        result.files++;
        result.bytes += content.length;
        const found = findCanary(content);
        if (found.length > 0) result.hits.push(`${full}: ${found.join(', ')}`);
      }
    }
  };
  walk(dir);
  return result;
}

let t: TestApp;
let closed = false;
let dataDir: string;
let orgA: TestOrg;
let orgB: TestOrg;

/** Every answer with status >= 400, with its headers (the body is what matters most). */
const errorResponses: { what: string; status: number; text: string }[] = [];
/** Every successful answer other than a read of a secret's value. */
const otherResponses: { what: string; text: string }[] = [];

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });

/**
 * Calls the API and files the answer: errors in `errorResponses`, successes (unless `reveals`,
 * a read that returns the value) in `otherResponses`.
 */
async function api(what: string, token: string | undefined, opts: InjectOptions, reveals = false): Promise<LightMyRequestResponse> {
  const res = await t.call(token, opts);
  const text = `${JSON.stringify(res.headers)}\n${res.body}`;
  if (res.statusCode >= 400) errorResponses.push({ what, status: res.statusCode, text });
  else if (!reveals) otherResponses.push({ what, text });
  return res;
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sr-canary-data-'));
  t = await createTestApp({ dataDir });
  orgA = await t.createOrg(`canary-a-${process.pid}`);
  orgB = await t.createOrg(`canary-b-${process.pid}`);
});

after(async () => {
  if (!closed) await t.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the canary scan', () => {
  test('finds the canary when it is there, as UTF-8, UTF-16LE or base64, in nested files', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sr-canary-scratch-'));
    try {
      mkdirSync(join(scratch, 'deep', 'er'), { recursive: true });
      writeFileSync(join(scratch, 'clean.bin'), Buffer.from(`nothing here but ${randomUUID()}`));
      assert.deepEqual(scanDirectory(scratch).hits, [], 'a clean directory has no hits');

      writeFileSync(join(scratch, 'deep', 'er', 'utf8.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(CANARY), Buffer.from([3])]));
      writeFileSync(join(scratch, 'utf16.bin'), Buffer.from(`x${CANARY}y`, 'utf16le'));
      for (const prefix of ['', 'a', 'ab']) {
        writeFileSync(join(scratch, `b64-${prefix.length}.txt`), Buffer.from(`${prefix}${CANARY}|tail`).toString('base64'));
      }
      const scan = scanDirectory(scratch);
      assert.equal(scan.files, 6);
      assert.ok(scan.hits.some((h) => h.includes('utf8.bin') && h.includes('UTF-8')), scan.hits.join('\n'));
      assert.ok(scan.hits.some((h) => h.includes('utf16.bin') && h.includes('UTF-16LE')), scan.hits.join('\n'));
      for (const offset of [0, 1, 2]) {
        assert.ok(scan.hits.some((h) => h.includes(`b64-${offset}.txt`) && h.includes('base64')), `base64 at offset ${offset}: ${scan.hits.join('\n')}`);
      }
      assert.deepEqual(findCanary(`{"value":"${CANARY}|v2"}`), ['UTF-8']);
      assert.deepEqual(findCanary('CANARY-00000000-0000-0000-0000-000000000000'), []);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});

describe('a canary secret through every flow', () => {
  let vaultId: string;
  let keptVaultId: string;
  const path = 'app/db/password';
  const secretUrl = (query = '') => `/v1/vaults/${vaultId}/secrets/${path}${query}`;

  test('every flow runs with the canary as the value, and a read returns it', async () => {
    // --- create, write versions with and without preconditions ---------------------------------
    const vault = await api('create vault', orgA.token, { method: 'POST', url: '/v1/vaults', ...json({ name: 'canary-flows', description: 'flows' }) });
    assert.equal(vault.statusCode, 201);
    vaultId = vault.json().id;

    const v1 = await api('create with If-None-Match', orgA.token, {
      method: 'PUT',
      url: secretUrl(),
      ...json({ value: CANARY, type: 'password', tier: 'P0', metadata: { owner: 'ops' } }),
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
    });
    assert.equal(v1.statusCode, 201, v1.body);
    const v2 = await api('write with If-Match', orgA.token, {
      method: 'PUT',
      url: secretUrl(),
      payload: JSON.stringify({ value: `${CANARY}|v2`, type: 'password', tier: 'P0' }),
      headers: { 'content-type': 'application/json', 'if-match': '"1"' },
    });
    assert.equal(v2.statusCode, 200, v2.body);
    const stale = await api('write with a stale If-Match', orgA.token, {
      method: 'PUT',
      url: secretUrl(),
      payload: JSON.stringify({ value: `${CANARY}|stale` }),
      headers: { 'content-type': 'application/json', 'if-match': '"1"' },
    });
    assert.equal(stale.statusCode, 412);
    const exists = await api('create over an existing secret', orgA.token, {
      method: 'PUT',
      url: secretUrl(),
      payload: JSON.stringify({ value: `${CANARY}|again` }),
      headers: { 'content-type': 'application/json', 'if-none-match': '*' },
    });
    assert.equal(exists.statusCode, 412);
    const v3 = await api('write with If-Match *', orgA.token, {
      method: 'PUT',
      url: secretUrl(),
      payload: JSON.stringify({ value: `${CANARY}|v3`, type: 'password', tier: 'P0' }),
      headers: { 'content-type': 'application/json', 'if-match': '*' },
    });
    assert.equal(v3.statusCode, 200, v3.body);
    const v4 = await api('write with an expiry', orgA.token, {
      method: 'PUT',
      url: secretUrl(),
      ...json({ value: `${CANARY}|v4`, type: 'password', tier: 'P0', expires_at: new Date(Date.now() + 86_400_000).toISOString() }),
    });
    assert.equal(v4.statusCode, 200, v4.body);

    // --- reads: latest, by version, listing --------------------------------------------------
    const latest = await api('read latest', orgA.token, { method: 'GET', url: secretUrl() }, true);
    assert.equal(latest.statusCode, 200);
    assert.equal(latest.json().value, `${CANARY}|v4`);
    assert.equal(latest.json().version, 4);
    // The scan works on an answer that does hold the canary.
    assert.deepEqual(findCanary(latest.body), ['UTF-8']);
    const first = await api('read version 1', orgA.token, { method: 'GET', url: secretUrl('?version=1') }, true);
    assert.equal(first.json().value, CANARY);
    const third = await api('read version 3', orgA.token, { method: 'GET', url: secretUrl('?version=3') }, true);
    assert.equal(third.json().value, `${CANARY}|v3`);
    const list = await api('list', orgA.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets` });
    assert.deepEqual(list.json().secrets.map((s: { path: string }) => s.path), ['/app/db/password']);
    const listPrefix = await api('list under a prefix', orgA.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets?prefix=app/db&limit=1` });
    assert.equal(listPrefix.statusCode, 200);
    assert.equal((await api('describe vault', orgA.token, { method: 'GET', url: `/v1/vaults/${vaultId}` })).statusCode, 200);
    assert.equal((await api('list vaults', orgA.token, { method: 'GET', url: '/v1/vaults' })).statusCode, 200);

    // --- another org: every route answers 404 ------------------------------------------------
    const foreign: [string, InjectOptions][] = [
      ['read', { method: 'GET', url: secretUrl() }],
      ['read version', { method: 'GET', url: secretUrl('?version=1') }],
      ['write', { method: 'PUT', url: secretUrl(), ...json({ value: `${CANARY}|foreign` }) }],
      ['list', { method: 'GET', url: `/v1/vaults/${vaultId}/secrets` }],
      ['describe vault', { method: 'GET', url: `/v1/vaults/${vaultId}` }],
      ['delete secret', { method: 'DELETE', url: secretUrl() }],
      ['destroy version', { method: 'DELETE', url: secretUrl('?version=1') }],
      ['delete vault', { method: 'DELETE', url: `/v1/vaults/${vaultId}?force=true` }],
    ];
    for (const [what, opts] of foreign) {
      const res = await api(`other org: ${what}`, orgB.token, opts);
      assert.equal(res.statusCode, 404, `other org: ${what}: ${res.body}`);
    }

    // --- refused requests that carry the canary ---------------------------------------------
    const ct = { 'content-type': 'application/json' };
    const refused: [string, string | undefined, InjectOptions][] = [
      ['no token', undefined, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY }) }],
      ['garbage token', 'not-a-token', { method: 'PUT', url: secretUrl(), ...json({ value: CANARY }) }],
      ['the canary as the token', CANARY, { method: 'GET', url: secretUrl() }],
      ['tier P9', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, tier: 'P9' }) }],
      ['type nope', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, type: 'nope' }) }],
      ['an unknown field beside the value', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, extra: 1 }) }],
      ['the canary as an unknown field', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x', extra: CANARY }) }],
      ['the canary nested in an unknown field', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x', note: { deep: [CANARY] } }) }],
      ['the canary in metadata of a refused write', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x', metadata: { note: CANARY }, tier: 'P9' }) }],
      ['the canary in over-long metadata', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, metadata: { note: CANARY.repeat(30) } }) }],
      ['the canary in a metadata array', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x', metadata: { note: [CANARY] } }) }],
      ['a bad metadata key', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, metadata: { 'bad key': 1 } }) }],
      ['a bad expiry', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, expires_at: 'tomorrow' }) }],
      ['the canary as expires_at', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x', expires_at: CANARY }) }],
      ['the canary as the type', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x', type: CANARY }) }],
      ['a value over 64 KiB', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY + 'x'.repeat(64 * 1024) }) }],
      ['a body over 512 KiB', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, pad: 'x'.repeat(520 * 1024) }) }],
      ['the value in an array', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: [CANARY] }) }],
      ['the value in an object', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: { v: CANARY } }) }],
      ['a body that is the canary string', orgA.token, { method: 'PUT', url: secretUrl(), ...json(CANARY) }],
      ['truncated JSON', orgA.token, { method: 'PUT', url: secretUrl(), headers: ct, payload: `{"value":"${CANARY}` }],
      ['invalid JSON', orgA.token, { method: 'PUT', url: secretUrl(), headers: ct, payload: `{value: "${CANARY}"}` }],
      ['a __proto__ key', orgA.token, { method: 'PUT', url: secretUrl(), headers: ct, payload: `{"value":"${CANARY}","__proto__":{"x":1}}` }],
      ['a constructor.prototype key', orgA.token, { method: 'PUT', url: secretUrl(), headers: ct, payload: `{"value":"x","constructor":{"prototype":{"v":"${CANARY}"}}}` }],
      ['a text/plain body', orgA.token, { method: 'PUT', url: secretUrl(), headers: { 'content-type': 'text/plain' }, payload: CANARY }],
      ['a form body', orgA.token, { method: 'PUT', url: secretUrl(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `value=${CANARY}` }],
      ['no content type', orgA.token, { method: 'PUT', url: secretUrl(), payload: `{"value":"${CANARY}"}` }],
      ['a malformed If-Match', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY }), headers: { ...ct, 'if-match': 'nope' } }],
      ['both preconditions', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY }), headers: { ...ct, 'if-match': '"4"', 'if-none-match': '*' } }],
      ['the canary as If-Match', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: 'x' }), headers: { ...ct, 'if-match': CANARY } }],
      ['a bad path', orgA.token, { method: 'PUT', url: `/v1/vaults/${vaultId}/secrets/a//b`, ...json({ value: CANARY }) }],
      ['a vault id that is not a UUID', orgA.token, { method: 'PUT', url: '/v1/vaults/nope/secrets/a', ...json({ value: CANARY }) }],
      ['a vault that does not exist', orgA.token, { method: 'PUT', url: `/v1/vaults/${randomUUID()}/secrets/a`, ...json({ value: CANARY }) }],
      ['the canary as a query parameter', orgA.token, { method: 'GET', url: secretUrl(`?version=${CANARY}`) }],
      ['the canary as an unknown query parameter', orgA.token, { method: 'GET', url: secretUrl(`?token=${CANARY}`) }],
      ['the canary as a cursor', orgA.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets?cursor=${CANARY}` }],
      ['the canary in a vault body', orgA.token, { method: 'POST', url: '/v1/vaults', ...json({ name: 'x', secret: CANARY }) }],
      ['the canary as a vault name that is too long', orgA.token, { method: 'POST', url: '/v1/vaults', ...json({ name: CANARY.repeat(3) }) }],
      // Both once reached the database and failed there; they are refused at validation now,
      // and neither the refusal nor its log may carry the value.
      ['a NUL in metadata', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, metadata: { note: 'a\u0000b' } }) }],
      ['an expiry in year 0', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: CANARY, expires_at: '0000-01-01T00:00:00Z' }) }],
    ];
    for (const [what, token, opts] of refused) {
      const res = await api(what, token, opts);
      assert.ok(res.statusCode >= 400, `${what} was accepted: ${res.statusCode} ${res.body}`);
    }
    // None of them wrote anything.
    const still = await api('read after the refused writes', orgA.token, { method: 'GET', url: secretUrl() }, true);
    assert.equal(still.json().version, 4);

    // --- destroy a version, delete, write again, delete the vault ----------------------------
    assert.equal((await api('destroy version 1', orgA.token, { method: 'DELETE', url: secretUrl('?version=1') })).statusCode, 204);
    assert.equal((await api('read a destroyed version', orgA.token, { method: 'GET', url: secretUrl('?version=1') })).statusCode, 410);
    assert.equal((await api('destroy version 2', orgA.token, { method: 'DELETE', url: secretUrl('?version=2') })).statusCode, 204);
    assert.equal((await api('delete secret', orgA.token, { method: 'DELETE', url: secretUrl() })).statusCode, 204);
    assert.equal((await api('read a deleted secret', orgA.token, { method: 'GET', url: secretUrl() })).statusCode, 404);
    const back = await api('write a deleted secret again', orgA.token, { method: 'PUT', url: secretUrl(), ...json({ value: `${CANARY}|v5` }) });
    assert.equal(back.json().current_version, 5);
    const notEmpty = await api('delete a vault that holds secrets', orgA.token, { method: 'DELETE', url: `/v1/vaults/${vaultId}` });
    assert.equal(notEmpty.statusCode, 409);
    assert.equal((await api('delete vault with force', orgA.token, { method: 'DELETE', url: `/v1/vaults/${vaultId}?force=true` })).statusCode, 204);
    assert.equal((await api('read in a deleted vault', orgA.token, { method: 'GET', url: secretUrl() })).statusCode, 404);
    assert.equal((await api('describe a deleted vault', orgA.token, { method: 'GET', url: `/v1/vaults/${vaultId}` })).statusCode, 404);

    // --- a vault that keeps its canary secret to the end, so the database holds live ciphertext -
    const kept = await api('create a second vault', orgA.token, { method: 'POST', url: '/v1/vaults', ...json({ name: 'canary-kept' }) });
    keptVaultId = kept.json().id;
    for (const value of [CANARY, `${CANARY}|kept`]) {
      const res = await api('write the kept secret', orgA.token, { method: 'PUT', url: `/v1/vaults/${keptVaultId}/secrets/kept/token`, ...json({ value, type: 'api_key' }) });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    }
    const keptRead = await api('read the kept secret', orgA.token, { method: 'GET', url: `/v1/vaults/${keptVaultId}/secrets/kept/token?version=1` }, true);
    assert.equal(keptRead.json().value, CANARY);

    // --- the audit trail of all of the above: rows (scanned with every table), API and export ---
    assert.equal((await api('sign an audit head', orgA.token, { method: 'POST', url: '/v1/audit/heads' })).statusCode, 201);
    const events = await api('query the audit log', orgA.token, { method: 'GET', url: '/v1/audit/events?limit=1000' });
    assert.ok(events.json().events.length > 20, 'the flows above were audited');
    assert.equal((await api('read the audit heads', orgA.token, { method: 'GET', url: '/v1/audit/heads' })).statusCode, 200);
    assert.equal((await api('prove an event', orgA.token, { method: 'GET', url: '/v1/audit/events/1/proof' })).statusCode, 200);
    const exported = await api('export the audit log', orgA.token, { method: 'GET', url: '/v1/audit/export' });
    assert.ok(exported.body.split('\n').length > 20);
  });

  test('no error body of the API carries the canary', () => {
    assert.ok(errorResponses.length >= 50, `only ${errorResponses.length} error answers were collected`);
    const leaks = errorResponses.filter((r) => findCanary(r.text).length > 0).map((r) => `${r.what} (${r.status}): ${r.text.slice(0, 300)}`);
    assert.deepEqual(leaks, []);
  });

  test('no answer other than a read of the value carries the canary', () => {
    assert.ok(otherResponses.length >= 10);
    const leaks = otherResponses.filter((r) => findCanary(r.text).length > 0).map((r) => `${r.what}: ${r.text.slice(0, 300)}`);
    assert.deepEqual(leaks, []);
  });

  test('no line of the server log carries the canary', () => {
    assert.ok(t.logs.length > 50, `only ${t.logs.length} log lines were captured`);
    const leaks = t.logs.filter((line) => findCanary(line).length > 0).map((line) => line.slice(0, 400));
    assert.deepEqual(leaks, []);
  });

  test('no row of any table holds the canary in plaintext', async () => {
    const dump = await t.database.superuser(async (c) => {
      const tables = await c.query<{ name: string }>(
        "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      );
      const rows: { table: string; row: string }[] = [];
      for (const { name } of tables) {
        for (const r of await c.query<{ row: string }>(`SELECT t::text AS row FROM public.${name} t`)) rows.push({ table: name, row: r.row });
      }
      return { tables: tables.map((x) => x.name), rows };
    });
    // The dump did read the data: the kept secret's path and its versions are there.
    assert.ok(dump.tables.includes('secret_versions'), dump.tables.join(', '));
    assert.ok(dump.rows.some((r) => r.table === 'secrets' && r.row.includes('/kept/token')), 'the secrets table was dumped');
    assert.ok(dump.rows.filter((r) => r.table === 'secret_versions').length >= 2, 'the secret versions were dumped');
    const leaks = dump.rows.filter((r) => findCanary(r.row).length > 0).map((r) => `${r.table}: ${findCanary(r.row).join(', ')}`);
    assert.deepEqual(leaks, []);
  });

  test('no file of the data directory holds the canary once the database is closed', async () => {
    const kind = t.database.kind;
    await t.close();
    closed = true;
    const scan = scanDirectory(dataDir);
    if (kind === 'pglite') {
      // PGlite wrote its cluster here, so the scan had something to read.
      assert.ok(scan.files > 10 && scan.bytes > 1024 * 1024, `the data directory holds only ${scan.files} files, ${scan.bytes} bytes`);
    }
    // On a PostgreSQL server (TEST_DATABASE_URL) the data lives on the server: the row dump above
    // covers it, and this directory must simply be empty of the canary too.
    assert.deepEqual(scan.hits, []);
  });
});
