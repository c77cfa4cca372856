import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AdminConnection } from '../src/db/driver.js';
import { createTestDatabase, INSTALLATION_TABLES_WITH_ORG_ID, type TestDatabase } from './support/database.js';

// SPEC §1 "Tenant isolation in the database": every table with an org_id column must have
// org_id first in its primary key, ENABLE + FORCE row-level security, and a policy on the
// transaction's tenant for reads and writes. This test reads the catalogue, so a table added
// by a later migration is checked without anyone remembering to add it here.

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(() => t.close());

interface TenantTable {
  table: string;
  rls: boolean;
  forced: boolean;
  policies: { permissive: boolean; command: string; roles: string; qual: string | null; with_check: string | null }[];
  first_pk_column: string | null;
  owner: string;
}

/** Every table in public with an org_id column, and how it is protected. */
async function tenantTables(c: AdminConnection): Promise<TenantTable[]> {
  return c.query<TenantTable>(`
    SELECT c.relname AS table, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
           (SELECT COALESCE(json_agg(json_build_object(
                     'permissive', p.polpermissive, 'command', p.polcmd, 'roles', p.polroles::text,
                     'qual', pg_get_expr(p.polqual, p.polrelid), 'with_check', pg_get_expr(p.polwithcheck, p.polrelid))), '[]')
              FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
           (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = c.oid AND i.indisprimary) AS first_pk_column,
           pg_get_userbyid(c.relowner) AS owner
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
       AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
     ORDER BY c.relname`);
}

const TENANT_CHECK = '(org_id = current_org_id())';

/**
 * What is wrong with a tenant table's protection; empty when nothing is. Exactly one policy is
 * allowed, permissive, for every command and every role, reading and writing exactly
 * `org_id = current_org_id()`: permissive policies are OR-ed, so any second one (or an
 * `OR true`) would widen what a tenant sees.
 */
function problemsOf(row: TenantTable): string[] {
  const problems: string[] = [];
  if (!row.rls) problems.push('row-level security is not enabled');
  if (!row.forced) problems.push('row-level security is not forced');
  if (row.policies.length === 0) problems.push('it has no policy');
  if (row.policies.length > 1) problems.push(`it has ${row.policies.length} policies, not exactly one`);
  const [p] = row.policies;
  if (p && !(p.permissive && p.command === '*' && p.roles === '{0}')) {
    problems.push('its policy is not one permissive policy for all commands and all roles');
  }
  if (p?.qual !== TENANT_CHECK) problems.push(`its policy does not filter reads on exactly ${TENANT_CHECK}`);
  if (p?.with_check !== TENANT_CHECK) problems.push(`its policy does not check writes on exactly ${TENANT_CHECK}`);
  if (row.first_pk_column !== 'org_id') problems.push('org_id is not the first column of its primary key');
  if (row.owner === 'strongroom_app') problems.push('it is owned by the runtime role');
  return problems;
}

test('every table with an org_id column has forced row-level security, a tenant policy and org_id first in its key', async () => {
  const tables = (await t.superuser(tenantTables)).filter((row) => !(row.table in INSTALLATION_TABLES_WITH_ORG_ID));
  assert.ok(tables.length >= 6, `expected the foundation's tenant tables, found ${tables.map((r) => r.table).join(', ')}`);
  const failures = tables.flatMap((row) => problemsOf(row).map((p) => `${row.table}: ${p}`));
  assert.deepEqual(failures, []);
});

test('the installation tables that name an org hold only the columns listed for them', async () => {
  for (const [table, allowed] of Object.entries(INSTALLATION_TABLES_WITH_ORG_ID)) {
    const columns = await t.superuser((c) =>
      c.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      ),
    );
    assert.deepEqual(columns.map((c) => c.column_name).sort(), [...allowed].sort(), table);
  }
});

test('the coverage check catches a table that forgot row-level security', async () => {
  await t.superuser(async (c) => {
    await c.exec('CREATE TABLE forgetful (org_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (org_id, id))');
    try {
      const row = (await tenantTables(c)).find((r) => r.table === 'forgetful');
      assert.ok(row);
      assert.deepEqual(problemsOf(row), [
        'row-level security is not enabled',
        'row-level security is not forced',
        'it has no policy',
        `its policy does not filter reads on exactly ${TENANT_CHECK}`,
        `its policy does not check writes on exactly ${TENANT_CHECK}`,
      ]);
    } finally {
      await c.exec('DROP TABLE forgetful');
    }
  });
});

test('the coverage check catches a second permissive policy and a widened one', async () => {
  await t.superuser(async (c) => {
    await c.exec(`
      CREATE TABLE widened (org_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (org_id, id));
      ALTER TABLE widened ENABLE ROW LEVEL SECURITY; ALTER TABLE widened FORCE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON widened USING (org_id = current_org_id() OR true) WITH CHECK (org_id = current_org_id());
      CREATE TABLE doubled (org_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (org_id, id));
      ALTER TABLE doubled ENABLE ROW LEVEL SECURITY; ALTER TABLE doubled FORCE ROW LEVEL SECURITY;
      CREATE POLICY tenant_isolation ON doubled USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id());
      CREATE POLICY everyone_reads ON doubled FOR SELECT USING (true);`);
    try {
      const rows = await tenantTables(c);
      const widened = rows.find((r) => r.table === 'widened');
      const doubled = rows.find((r) => r.table === 'doubled');
      assert.ok(widened && doubled);
      assert.deepEqual(problemsOf(widened), [`its policy does not filter reads on exactly ${TENANT_CHECK}`]);
      assert.deepEqual(problemsOf(doubled), ['it has 2 policies, not exactly one']);
    } finally {
      await c.exec('DROP TABLE widened; DROP TABLE doubled;');
    }
  });
});

test('the runtime role is no superuser, cannot bypass RLS, create roles or databases, and owns nothing', async () => {
  const [role] = await t.superuser((c) =>
    c.query<{ rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolcanlogin: boolean; owned: number }>(
      `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin,
              (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owned
         FROM pg_roles r WHERE rolname = 'strongroom_app'`,
    ),
  );
  assert.deepEqual(role, { rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: false, owned: 0 });
});

test('the runtime role may not TRUNCATE any table (TRUNCATE is not subject to RLS) nor change schema_migrations', async () => {
  const rows = await t.superuser((c) =>
    c.query<{ table: string; truncate: boolean }>(
      `SELECT c.relname AS table, has_table_privilege('strongroom_app', c.oid, 'TRUNCATE') AS truncate
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')`,
    ),
  );
  assert.ok(rows.length > 0);
  assert.deepEqual(rows.filter((r) => r.truncate).map((r) => r.table), []);
  const [migrations] = await t.superuser((c) =>
    c.query<{ any: boolean }>(
      `SELECT has_table_privilege('strongroom_app', 'schema_migrations', 'INSERT, UPDATE, DELETE') AS any`,
    ),
  );
  assert.equal(migrations?.any, false);
  const [helper] = await t.superuser((c) =>
    c.query<{ exec: boolean }>(`SELECT has_function_privilege('strongroom_app', 'make_tenant_table(regclass, text)', 'EXECUTE') AS exec`),
  );
  assert.equal(helper?.exec, false, 'the runtime role cannot make or change tenant tables');
});

test('every table and function of the schema is owned by the owner role', async () => {
  const rows = await t.superuser((c) =>
    c.query<{ name: string; owner: string }>(
      `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
       UNION ALL
       SELECT p.proname, pg_get_userbyid(p.proowner)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public'`,
    ),
  );
  assert.ok(rows.length > 0);
  assert.deepEqual(rows.filter((r) => r.owner !== 'strongroom_owner'), []);
});
