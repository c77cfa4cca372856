import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { INSTALLATION_ORG_ID } from '../src/identity/identity.service.js';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';
import { INSTALLATION_TABLES_WITH_ORG_ID } from './support/database.js';

// SPEC §1: "A forgotten WHERE org_id must return nothing, because the database refuses — that is
// tested with raw SQL." These queries deliberately have no org filter at all.

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
let tables: string[];

before(async () => {
  t = await createTestApp();
  a = await t.createOrg();
  b = await t.createOrg();
  for (const org of [a, b]) {
    const vaultId = await createVault(t, org);
    await putSecret(t, org, vaultId, 'shared/name', { value: `value-of-${org.orgId}` });
    // A signed audit head too, so every tenant table holds rows of both orgs.
    const head = await t.call(org.token, { method: 'POST', url: '/v1/audit/heads' });
    if (head.statusCode !== 201) throw new Error(`signing a head answered ${head.statusCode}`);
  }
  tables = (
    await t.database.superuser((c) =>
      c.query<{ table: string }>(
        `SELECT table_name AS table FROM information_schema.columns
          WHERE table_schema = 'public' AND column_name = 'org_id' ORDER BY table_name`,
      ),
    )
  )
    .map((r) => r.table)
    .filter((table) => !(table in INSTALLATION_TABLES_WITH_ORG_ID));
});
after(() => t.close());

/** A transaction as the runtime role with the given settings, outside withTenantTx. */
function asRuntime<T>(settings: Record<string, string>, fn: Parameters<TestApp['database']['db']['transaction']>[1]) {
  return t.database.db.transaction(settings, fn) as Promise<T>;
}

describe('as the runtime role with raw SQL', () => {
  // Tables the setup fills for both orgs: the checks below must have rows to hide.
  const populated = ['orgs', 'api_tokens', 'vaults', 'vault_keys', 'secrets', 'secret_versions', 'audit_events', 'audit_personal', 'audit_heads', 'audit_chain_heads'];

  test('with no tenant set, every tenant table shows 0 rows', async () => {
    assert.deepEqual(populated.filter((p) => !tables.includes(p)), []);
    for (const table of populated) {
      // The installation's own org (identity events) is not one of the two.
      const [row] = await t.database.superuser((c) =>
        c.query<{ n: number }>(`SELECT count(DISTINCT org_id)::int AS n FROM ${table} WHERE org_id <> '${INSTALLATION_ORG_ID}'`),
      );
      assert.equal(row?.n, 2, `${table} should hold both orgs' rows (the superuser sees them)`);
    }
    for (const table of tables) {
      const [row] = await asRuntime<{ n: number }[]>({}, (q) => q.query(`SELECT count(*)::int AS n FROM ${table}`));
      assert.equal((row as { n: number }).n, 0, table);
    }
  });

  test("with tenant A set, every tenant table shows A's rows and only A's", async () => {
    for (const table of tables) {
      const rows = await asRuntime<{ org_id: string }[]>({ 'app.org_id': a.orgId }, (q) =>
        q.query(`SELECT DISTINCT org_id FROM ${table}`),
      );
      assert.deepEqual(rows, populated.includes(table) ? [{ org_id: a.orgId }] : rows.length === 0 ? [] : [{ org_id: a.orgId }], table);
    }
  });

  test('with an empty or malformed tenant setting, nothing is visible', async () => {
    const [row] = await asRuntime<{ n: number }[]>({ 'app.org_id': '' }, (q) => q.query('SELECT count(*)::int AS n FROM secrets'));
    assert.equal((row as { n: number }).n, 0);
    await assert.rejects(
      asRuntime({ 'app.org_id': 'not-a-uuid' }, (q) => q.query('SELECT count(*) FROM secrets')),
      /invalid input syntax for type uuid/,
    );
  });

  test("an insert with B's org_id while A is set is refused", async () => {
    await assert.rejects(
      asRuntime({ 'app.org_id': a.orgId }, (q) =>
        q.query(`INSERT INTO vaults (org_id, vault_id, name, key_version, created_by) VALUES ($1, $2, 'sneaky', 1, 'x')`, [
          b.orgId,
          randomUUID(),
        ]),
      ),
      (err: { code?: string }) => err.code === '42501',
    );
  });

  test("an update that moves A's row to B, or touches B's rows, changes nothing", async () => {
    await assert.rejects(
      asRuntime({ 'app.org_id': a.orgId }, (q) => q.query('UPDATE vaults SET org_id = $1', [b.orgId])),
      (err: { code?: string }) => err.code === '42501',
    );
    const updated = await asRuntime<unknown[]>({ 'app.org_id': a.orgId }, (q) =>
      q.query(`UPDATE secrets SET path = '/hijacked' WHERE org_id = $1 RETURNING 1`, [b.orgId]),
    );
    assert.equal(updated.length, 0);
    const deleted = await asRuntime<unknown[]>({ 'app.org_id': a.orgId }, (q) =>
      q.query('DELETE FROM secret_versions WHERE org_id = $1 RETURNING 1', [b.orgId]),
    );
    assert.equal(deleted.length, 0);
    const [bRows] = await t.database.superuser((c) =>
      c.query<{ n: number }>(`SELECT count(*)::int AS n FROM secret_versions WHERE org_id = $1`, [b.orgId]),
    );
    assert.equal(bRows?.n, 1);
  });

  test('the tenant setting does not outlive its transaction', async () => {
    await asRuntime({ 'app.org_id': a.orgId }, (q) => q.query('SELECT 1'));
    const [row] = await asRuntime<{ n: number }[]>({}, (q) => q.query('SELECT count(*)::int AS n FROM vaults'));
    assert.equal((row as { n: number }).n, 0);
  });

  test('SET ROLE strongroom_app on a superuser connection is refused the same way', async () => {
    const counts = await t.database.superuser(async (c) => {
      await c.exec('BEGIN; SET LOCAL ROLE strongroom_app;');
      try {
        return await c.query<{ n: number }>('SELECT count(*)::int AS n FROM secrets');
      } finally {
        await c.exec('ROLLBACK');
      }
    });
    assert.deepEqual(counts, [{ n: 0 }]);
  });
});
