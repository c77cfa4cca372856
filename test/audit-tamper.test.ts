import assert from 'node:assert/strict';
import { cleanEnv, describeResult, runCli as runCliIn, type Result } from './support/cli.js';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { leafHash, merkleRoot } from '../src/crypto/merkle.js';
import { openPglite, type Queryable } from '../src/db/driver.js';
import { createTenantTx } from '../src/db/tenant.js';
import { resourceRef, type AuditEventBody } from '../src/domains/audit/audit.events.js';
import {
  chainHash,
  headSigningPayload,
  personalCommitment,
  signingKeyId,
  type ExportedEvent,
  type HeadsDocument,
  type PersonalData,
} from '../src/domains/audit/audit.format.js';
import { bootstrapOrg } from '../src/domains/orgs/orgs.service.js';
import { pgliteDir } from '../src/runtime.js';
import { createTestDatabase, serverUrl } from './support/database.js';

// SPEC §3: "Audit tampering by a superuser (update, delete, reorder, truncate): detected at the
// exact position" — each scenario tampers with a real database as its superuser, then runs
// `strongroom audit verify` as an operator would and reads the seq it names.

const root = mkdtempSync(join(tmpdir(), 'sr-audit-tamper-'));
const EVENTS = 20;
const HEAD_SIZE = 15;
const OTHER_ORG_EVENTS = 5;

let counter = 0;
/** A new path under the test's temporary directory. */
function freshPath(prefix: string): string {
  return join(root, `${prefix}-${++counter}`);
}
after(() => rmSync(root, { recursive: true, force: true }));

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return runCliIn(args, env, root);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A database with two orgs' audit logs, written through audit_append, the first signed at 15. */
interface Fixture {
  orgId: string;
  otherOrgId: string;
  /** Event hashes of `orgId` by seq - 1, as audit_append returned them. */
  hashes: Buffer[];
  /** `strongroom audit verify` on this database: arguments and environment. */
  verifyArgs: string[];
  env: NodeJS.ProcessEnv;
  /** Runs SQL as the database superuser (PGlite: reopened, then closed again for the CLI). */
  superuser<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  dispose(): Promise<void>;
}

const actions = ['secret.read', 'secret.write', 'vault.list', 'secret.list', 'vault.create'] as const;

function eventBody(seq: number, pd: string | null): AuditEventBody {
  const action = actions[seq % actions.length] ?? 'secret.read';
  return {
    action,
    actor: { type: 'root_token', id: 'tok_tamper' },
    resource: resourceRef.secret('3f1e2d4c-aaaa-bbbb-cccc-111122223333', `/app/key-${seq}`),
    outcome: 'success',
    status: 200,
    reason: null,
    request_id: `req-${seq}`,
    pd,
    class: action === 'vault.list' || action === 'secret.list' ? 'operational' : 'security',
  };
}

/** Appends `count` events; every third carries personal data beside the chain (A2). */
async function appendEvents(q: Queryable, count: number): Promise<Buffer[]> {
  const payload = [];
  for (let seq = 1; seq <= count; seq += 1) {
    if (seq % 3 === 0) {
      const personal: PersonalData & { salt: string } = {
        salt: hex(randomBytes(32)),
        ip: `203.0.113.${seq}`,
        user_agent: 'curl/8.5.0',
        email: `person${seq}@example.com`,
      };
      payload.push({ ...eventBody(seq, personalCommitment(Buffer.from(personal.salt, 'hex'), personal)), personal });
    } else {
      payload.push(eventBody(seq, null));
    }
  }
  // Two calls, as the group commit does: the chain continues across them.
  const half = Math.ceil(count / 2);
  const rows = [];
  for (const part of [payload.slice(0, half), payload.slice(half)]) {
    rows.push(...(await q.query<{ seq: number | string; hash: Uint8Array }>('SELECT * FROM audit_append($1::jsonb)', [JSON.stringify(part)])));
  }
  assert.deepEqual(
    rows.map((r) => Number(r.seq)),
    Array.from({ length: count }, (_, i) => i + 1),
  );
  return rows.map((r) => Buffer.from(r.hash));
}

/** A new database with the two orgs' logs; on PGlite in `dataDir`, still open. */
async function populate(dataDir: string) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const database = await createTestDatabase({ dataDir: pgliteDir(dataDir) });
  const withTenantTx = createTenantTx(database.db);
  const org = await bootstrapOrg({ withTenantTx }, 'Tampered With');
  const other = await bootstrapOrg({ withTenantTx }, 'Bystander');
  const hashes = await withTenantTx(org.orgId, (tx) => appendEvents(tx, EVENTS));
  await withTenantTx(other.orgId, (tx) => appendEvents(tx, OTHER_ORG_EVENTS));

  // A signed head at 15, as the head signer would record it (A3).
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  const keyId = signingKeyId(raw);
  const leaves = hashes.map((h) => leafHash(h));
  const head = {
    org: org.orgId,
    tree_size: HEAD_SIZE,
    root_hash: hex(merkleRoot(leaves.slice(0, HEAD_SIZE))),
    signed_at: new Date().toISOString(),
    key_id: keyId,
  };
  const signature = sign(null, headSigningPayload(head), privateKey);
  await withTenantTx(org.orgId, async (tx) => {
    await tx.query(
      `INSERT INTO signing_keys (key_id, purpose, algorithm, public_key, provider, root_key_id, wrapped_private_key)
       VALUES ($1, 'audit-heads', 'Ed25519', $2, 'test', 'test', $3)`,
      [keyId, raw, Buffer.from([0])],
    );
    await tx.query('SELECT audit_record_head($1, $2, $3::timestamptz, $4, $5)', [
      HEAD_SIZE,
      Buffer.from(head.root_hash, 'hex'),
      head.signed_at,
      keyId,
      signature,
    ]);
  });
  return { database, orgId: org.orgId, otherOrgId: other.orgId, hashes };
}

/** On PGlite, one populated and closed data directory that each scenario copies. */
let pgliteTemplate: Promise<{ dataDir: string; orgId: string; otherOrgId: string; hashes: Buffer[] }> | undefined;

/** A fresh database for one scenario: its own PGlite data directory, or its own server database. */
async function createFixture(): Promise<Fixture> {
  if (serverUrl !== undefined) {
    const dataDir = freshPath('data');
    const { database, ...logs } = await populate(dataDir);
    const url = database.url as string;
    return {
      ...logs,
      verifyArgs: ['audit', 'verify', '--data-dir', dataDir],
      env: cleanEnv({ DATABASE_URL: url }),
      superuser: (fn) => database.superuser(fn),
      async dispose() {
        await database.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  pgliteTemplate ??= (async () => {
    const dataDir = freshPath('template');
    const { database, ...logs } = await populate(dataDir);
    // PGlite is one process's: closed, the directory can be copied and opened by the CLI.
    await database.close();
    return { dataDir, ...logs };
  })();
  const { dataDir: template, ...logs } = await pgliteTemplate;
  const dataDir = freshPath('data');
  cpSync(template, dataDir, { recursive: true });
  return {
    ...logs,
    verifyArgs: ['audit', 'verify', '--data-dir', dataDir],
    env: cleanEnv(),
    async superuser(fn) {
      const db = await openPglite(pgliteDir(dataDir));
      try {
        return await db.withAdminConnection(fn);
      } finally {
        await db.close();
      }
    },
    async dispose() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `audit verify` on the fixture's database. */
function verifyDatabase(f: Fixture, extra: string[] = []): Promise<Result> {
  return runCli([...f.verifyArgs, ...extra], f.env);
}

function assertFailedAt(r: Result, orgId: string, seq: number, reason?: RegExp): void {
  assert.equal(r.code, 1, describeResult(r));
  const line = r.stdout.split('\n').find((l) => l.startsWith(`org ${orgId}: `));
  assert.ok(line !== undefined, `a line for org ${orgId}\n${describeResult(r)}`);
  assert.match(line, new RegExp(`^org ${orgId}: FAILED at seq ${seq}: `), describeResult(r));
  if (reason !== undefined) assert.match(line, reason, describeResult(r));
}

function assertBystanderOk(r: Result, f: Fixture): void {
  assert.ok(r.stdout.includes(`org ${f.otherOrgId}: OK, ${OTHER_ORG_EVENTS} events, 0 signed heads (0 pruned)\n`), describeResult(r));
}

/** Sets the recorded chain head of the org, as an attacker covering their tracks would. */
async function setChainHead(q: Queryable, orgId: string, seq: number, hash: Uint8Array): Promise<void> {
  await q.query('UPDATE audit_chain_heads SET seq = $2, hash = $3 WHERE org_id = $1', [orgId, seq, Buffer.from(hash)]);
}

describe('strongroom audit verify on a database tampered with by its superuser', () => {
  test('a clean log verifies, and so does every other org', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    const r = await verifyDatabase(f);
    assert.equal(r.code, 0, describeResult(r));
    assert.ok(r.stdout.includes(`org ${f.orgId}: OK, ${EVENTS} events, 1 signed heads (0 pruned)\n`), describeResult(r));
    assertBystanderOk(r, f);

    const one = await verifyDatabase(f, ['--org', f.orgId.toUpperCase()]);
    assert.equal(one.code, 0, describeResult(one));
    assert.equal(one.stdout, `org ${f.orgId}: OK, ${EVENTS} events, 1 signed heads (0 pruned)\n`);
  });

  test('a field changed in an event is named at its seq', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser((q) =>
      q.query(
        `UPDATE audit_events SET canonical = jsonb_set(canonical::jsonb, '{action}', '"vault.delete"')::text
          WHERE org_id = $1 AND seq = 7`,
        [f.orgId],
      ),
    );
    const r = await verifyDatabase(f);
    assertFailedAt(r, f.orgId, 7, /hash does not match/);
    assertBystanderOk(r, f);
  });

  test('a deleted event is named by its seq', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser((q) => q.query('DELETE FROM audit_events WHERE org_id = $1 AND seq = 9', [f.orgId]));
    assertFailedAt(await verifyDatabase(f), f.orgId, 9, /event 9 is missing/);
  });

  test('two swapped events are named at the first of them', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser(async (q) => {
      await q.query('UPDATE audit_events SET seq = 1000004 WHERE org_id = $1 AND seq = 4', [f.orgId]);
      await q.query('UPDATE audit_events SET seq = 4 WHERE org_id = $1 AND seq = 5', [f.orgId]);
      await q.query('UPDATE audit_events SET seq = 5 WHERE org_id = $1 AND seq = 1000004', [f.orgId]);
    });
    assertFailedAt(await verifyDatabase(f), f.orgId, 4);
  });

  test('a forged event appended with a made-up hash is named at its seq', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    const forgedHash = randomBytes(32);
    await f.superuser(async (q) => {
      const [last] = await q.query<{ canonical: string }>('SELECT canonical FROM audit_events WHERE org_id = $1 AND seq = 20', [f.orgId]);
      const canonical = (last?.canonical ?? '').replace('"seq": 20', '"seq": 21').replace(/"action": "[a-z.]+"/, '"action": "vault.delete"');
      await q.query(
        `INSERT INTO audit_events (org_id, seq, prev_hash, hash, event_time, event_class, canonical)
         VALUES ($1, 21, $2, $3, now(), 'security', $4)`,
        [f.orgId, f.hashes[19], forgedHash, canonical],
      );
      await setChainHead(q, f.orgId, 21, forgedHash);
    });
    assertFailedAt(await verifyDatabase(f), f.orgId, 21, /hash does not match/);
  });

  test('an event rewritten with the chain recomputed after it is caught by the signed head', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser(async (q) => {
      const rows = await q.query<{ seq: number | string; prev_hash: Uint8Array; canonical: string }>(
        'SELECT seq, prev_hash, canonical FROM audit_events WHERE org_id = $1 AND seq >= 10 ORDER BY seq',
        [f.orgId],
      );
      let prev: Uint8Array = Buffer.from(rows[0]?.prev_hash ?? []);
      for (const row of rows) {
        const canonical = Number(row.seq) === 10 ? row.canonical.replace('"outcome": "success"', '"outcome": "failure"') : row.canonical;
        assert.ok(Number(row.seq) !== 10 || canonical !== row.canonical);
        const hash = chainHash(prev, canonical);
        await q.query('UPDATE audit_events SET prev_hash = $3, hash = $4, canonical = $5 WHERE org_id = $1 AND seq = $2', [
          f.orgId,
          Number(row.seq),
          Buffer.from(prev),
          Buffer.from(hash),
          canonical,
        ]);
        prev = hash;
      }
      await setChainHead(q, f.orgId, EVENTS, prev);
    });
    const r = await verifyDatabase(f);
    // Every link and hash is consistent again; only the signature over 1..15 still knows.
    assertFailedAt(r, f.orgId, HEAD_SIZE, /Merkle root over events 1\.\.15/);
  });

  test('a dropped tail under a signed head is named at the first missing seq', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser(async (q) => {
      await q.query('DELETE FROM audit_events WHERE org_id = $1 AND seq >= 13', [f.orgId]);
      await setChainHead(q, f.orgId, 12, f.hashes[11] as Buffer);
    });
    assertFailedAt(await verifyDatabase(f), f.orgId, 13, /truncated/);
  });

  test('a dropped tail past the last signed head is named by the recorded chain head', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser((q) => q.query('DELETE FROM audit_events WHERE org_id = $1 AND seq >= 18', [f.orgId]));
    assertFailedAt(await verifyDatabase(f), f.orgId, 18, /truncated/);
  });

  test('personal data changed beside the chain is named at its seq; erased personal data verifies', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    await f.superuser((q) => q.query(`UPDATE audit_personal SET email = 'someone.else@example.com' WHERE org_id = $1 AND seq = 6`, [f.orgId]));
    assertFailedAt(await verifyDatabase(f), f.orgId, 6, /commitment/);

    // Erasure (C2) deletes the personal row; the chain does not notice.
    await f.superuser((q) => q.query('DELETE FROM audit_personal WHERE org_id = $1 AND seq IN (6, 9)', [f.orgId]));
    const r = await verifyDatabase(f);
    assert.equal(r.code, 0, describeResult(r));
  });

  test('events pruned by retention under the signed head verify (A6)', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    const pruned = await f.superuser(async (q) => {
      await q.query(`SELECT set_config('app.org_id', $1, false)`, [f.orgId]);
      // Older than the 30-day floor for operational events (event_time is not chained).
      await q.query(`UPDATE audit_events SET event_time = now() - interval '40 days' WHERE org_id = $1`, [f.orgId]);
      const [row] = await q.query<{ n: number | string }>(`SELECT audit_prune('operational', now() + interval '1 day') AS n`);
      return Number(row?.n);
    });
    // vault.list and secret.list are operational: seq 2, 3, 7, 8, 12, 13 of the first 15.
    assert.equal(pruned, 6);
    const r = await verifyDatabase(f, ['--org', f.orgId]);
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(r.stdout, `org ${f.orgId}: OK, ${EVENTS} events, 1 signed heads (6 pruned)\n`);
  });
});

describe('strongroom audit verify --file --heads (offline)', () => {
  /** An export of the fixture's first org as the API serves it: JSONL events and the heads document. */
  async function exportOf(f: Fixture): Promise<{ lines: string[]; heads: HeadsDocument }> {
    return f.superuser(async (q) => {
      const rows = await q.query<{
        seq: number | string;
        prev_hash: Uint8Array;
        hash: Uint8Array;
        canonical: string | null;
        salt: Uint8Array | null;
        ip: string | null;
        user_agent: string | null;
        email: string | null;
      }>(
        `SELECT e.seq, e.prev_hash, e.hash, e.canonical, p.salt, p.ip, p.user_agent, p.email
           FROM audit_events e LEFT JOIN audit_personal p ON p.org_id = e.org_id AND p.seq = e.seq
          WHERE e.org_id = $1 ORDER BY e.seq`,
        [f.orgId],
      );
      const lines = rows.map((r) => {
        const event: ExportedEvent = {
          seq: Number(r.seq),
          prev_hash: hex(r.prev_hash),
          hash: hex(r.hash),
          canonical: r.canonical,
          personal: r.salt === null ? null : { salt: hex(r.salt), ip: r.ip, user_agent: r.user_agent, email: r.email },
        };
        return JSON.stringify(event);
      });
      const heads = await q.query<{ tree_size: number | string; root_hash: Uint8Array; signed_at: Date; key_id: string; signature: Uint8Array }>(
        'SELECT tree_size, root_hash, signed_at, key_id, signature FROM audit_heads WHERE org_id = $1 ORDER BY tree_size',
        [f.orgId],
      );
      const keys = await q.query<{ key_id: string; public_key: Uint8Array }>(
        `SELECT key_id, public_key FROM signing_keys WHERE purpose = 'audit-heads'`,
      );
      return {
        lines,
        heads: {
          org: f.orgId,
          public_keys: Object.fromEntries(keys.map((k) => [k.key_id, Buffer.from(k.public_key).toString('base64')])),
          heads: heads.map((h) => ({
            org: f.orgId,
            tree_size: Number(h.tree_size),
            root_hash: hex(h.root_hash),
            signed_at: h.signed_at.toISOString(),
            key_id: h.key_id,
            signature: Buffer.from(h.signature).toString('base64'),
          })),
        },
      };
    });
  }

  function writeExport(name: string, lines: readonly string[], heads: HeadsDocument): { file: string; headsFile: string } {
    const base = freshPath(name);
    const file = `${base}.jsonl`;
    const headsFile = `${base}.heads.json`;
    writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
    writeFileSync(headsFile, JSON.stringify(heads));
    return { file, headsFile };
  }

  /** Offline: no database settings at all. */
  const verifyFile = (file: string, headsFile: string) => runCli(['audit', 'verify', '--file', file, '--heads', headsFile], cleanEnv());

  test('a clean export verifies; a changed line, a malformed line and a cut export are named at their seq', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    const { lines, heads } = await exportOf(f);
    assert.equal(lines.length, EVENTS);

    const clean = writeExport('clean', lines, heads);
    const ok = await verifyFile(clean.file, clean.headsFile);
    assert.equal(ok.code, 0, describeResult(ok));
    assert.equal(ok.stdout, `org ${f.orgId}: OK, ${EVENTS} events, 1 signed heads (0 pruned)\n`);

    const edited = [...lines];
    const line7 = JSON.parse(edited[6] as string) as ExportedEvent;
    line7.canonical = (line7.canonical as string).replace('"status": 200', '"status": 403');
    edited[6] = JSON.stringify(line7);
    const changed = writeExport('changed', edited, heads);
    assertFailedAt(await verifyFile(changed.file, changed.headsFile), f.orgId, 7, /hash does not match/);

    const broken = [...lines];
    broken[4] = (broken[4] as string).slice(0, 40);
    const malformed = writeExport('malformed', broken, heads);
    assertFailedAt(await verifyFile(malformed.file, malformed.headsFile), f.orgId, 5, /cannot be read/);

    const cut = writeExport('cut', lines.slice(0, 12), heads);
    assertFailedAt(await verifyFile(cut.file, cut.headsFile), f.orgId, 13, /truncated/);
  });

  test('an export checked against heads another key signed fails at the head', async (t) => {
    const f = await createFixture();
    t.after(() => f.dispose());
    const { lines, heads } = await exportOf(f);
    const stranger = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
    const keyId = Object.keys(heads.public_keys)[0] as string;
    const forged = writeExport('forged-key', lines, { ...heads, public_keys: { [keyId]: stranger.toString('base64') } });
    assertFailedAt(await verifyFile(forged.file, forged.headsFile), f.orgId, HEAD_SIZE, /signature/);
  });
});

describe('strongroom audit verify refuses what it cannot verify', () => {
  test('usage errors exit with code 2', async () => {
    const missingHeads = await runCli(['audit', 'verify', '--file', join(root, 'x.jsonl')], cleanEnv());
    assert.equal(missingHeads.code, 2, describeResult(missingHeads));
    assert.match(missingHeads.stderr, /--heads/);
    const badOrg = await runCli(['audit', 'verify', '--org', 'not-a-uuid', '--data-dir', join(root, 'none')], cleanEnv());
    assert.equal(badOrg.code, 2, describeResult(badOrg));
    const noSubcommand = await runCli(['audit'], cleanEnv());
    assert.equal(noSubcommand.code, 2, describeResult(noSubcommand));
  });

  test('a data directory without a database is reported, not created', async () => {
    const dataDir = freshPath('empty');
    const r = await runCli(['audit', 'verify', '--data-dir', dataDir], cleanEnv());
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stderr, /no database/);
    assert.equal(existsSync(dataDir), false);
  });
});

