import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

let t: TestApp;
let org: TestOrg;

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
});
after(() => t.close());

test('a created vault is described, listed and has its own wrapped key', async () => {
  const res = await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'Payments', description: 'PSP keys' } });
  assert.equal(res.statusCode, 201);
  const vault = res.json();
  assert.equal(vault.name, 'Payments');
  assert.equal(vault.description, 'PSP keys');
  assert.match(vault.created_by, /^root_token:/);
  const got = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vault.id}` });
  assert.deepEqual(got.json(), vault);
  const list = await t.call(org.token, { method: 'GET', url: '/v1/vaults' });
  assert.ok(list.json().vaults.some((v: { id: string }) => v.id === vault.id));
  const keys = await t.database.superuser((c) =>
    c.query<{ version: number; provider: string; len: number }>(
      'SELECT version, provider, octet_length(wrapped_key) AS len FROM vault_keys WHERE vault_id = $1',
      [vault.id],
    ),
  );
  assert.deepEqual(keys, [{ version: 1, provider: 'local', len: 12 + 32 + 16 }]);
});

test('vault names are unique in an org whatever their case: 409 CONFLICT', async () => {
  await createVault(t, org, 'Ops');
  const res = await t.call(org.token, { method: 'POST', url: '/v1/vaults', payload: { name: 'OPS' } });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().code, 'CONFLICT');
});

test('two vaults keep separate keys: the same plaintext encrypts under different vault keys', async () => {
  const v1 = await createVault(t, org);
  const v2 = await createVault(t, org);
  const wrapped = await t.database.superuser((c) =>
    c.query<{ wrapped_key: Uint8Array }>('SELECT wrapped_key FROM vault_keys WHERE vault_id = ANY($1::uuid[])', [[v1, v2]]),
  );
  assert.equal(wrapped.length, 2);
  assert.notDeepEqual(wrapped[0]?.wrapped_key, wrapped[1]?.wrapped_key);
});

test('deleting a vault that holds secrets answers 409 VAULT_NOT_EMPTY and keeps everything', async () => {
  const v = await createVault(t, org);
  await putSecret(t, org, v, 'keep/me', { value: 'kept' });
  const res = await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${v}` });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json().code, 'VAULT_NOT_EMPTY');
  const read = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${v}/secrets/keep/me` });
  assert.equal(read.json().value, 'kept');
});

test('force=true deletes the vault with its key, secrets and versions', async () => {
  const v = await createVault(t, org);
  await putSecret(t, org, v, 'doomed/key', { value: 'gone' });
  const res = await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${v}?force=true` });
  assert.equal(res.statusCode, 204);
  assert.equal((await t.call(org.token, { method: 'GET', url: `/v1/vaults/${v}` })).statusCode, 404);
  assert.equal((await t.call(org.token, { method: 'GET', url: `/v1/vaults/${v}/secrets/doomed/key` })).statusCode, 404);
  const [left] = await t.database.superuser((c) =>
    c.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM vault_keys WHERE vault_id = $1) + (SELECT count(*) FROM secrets WHERE vault_id = $1)
              + (SELECT count(*) FROM secret_versions v JOIN secrets s USING (org_id, secret_id) WHERE s.vault_id = $1) AS n`,
      [v],
    ),
  );
  assert.equal(Number(left?.n), 0);
});

test('an empty vault, or one whose secrets were all deleted, is deleted without force', async () => {
  const v = await createVault(t, org);
  await putSecret(t, org, v, 'a', { value: 'x' });
  await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${v}/secrets/a` });
  const res = await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${v}` });
  assert.equal(res.statusCode, 204);
  assert.equal((await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${v}` })).statusCode, 404);
});

test('writing into a deleted vault answers 404', async () => {
  const v = await createVault(t, org);
  await t.call(org.token, { method: 'DELETE', url: `/v1/vaults/${v}` });
  const res = await t.call(org.token, { method: 'PUT', url: `/v1/vaults/${v}/secrets/x`, payload: { value: 'y' } });
  assert.equal(res.statusCode, 404);
  assert.equal(res.json().code, 'NOT_FOUND');
});
