import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { importUsers } from '../src/cli/users.js';
import { createInstallationTx } from '../src/db/tenant.js';
import { GUARD_DEFAULTS } from '../src/identity/guard.js';
import { createTestApp, type TestApp } from './support/app.js';

// I1: bcrypt hashes from another system are accepted on import and upgraded to argon2id at the
// person's first password sign-in; the password never passes through the import.

let t: TestApp;
before(async () => {
  t = await createTestApp({ identity: { guard: { ...GUARD_DEFAULTS, slowdownStepMs: 1 } } });
});
after(() => t.close());

const storedHash = async (email: string) =>
  (await t.database.superuser((c) => c.query<{ password_hash: string | null }>('SELECT password_hash FROM users WHERE email = $1', [email])))[0]
    ?.password_hash;

test('imports people with bcrypt hashes; the first sign-in checks bcrypt and stores argon2id', async () => {
  const hash = await bcrypt.hash('correct horse battery staple', 10);
  const report = await createInstallationTx(t.database.db)((q) =>
    importUsers(q, [
      { email: 'Imported@Example.com', display_name: 'Imported', password_hash: hash.replace(/^\$2b\$/, '$2y$') },
      { email: 'no-password@example.com' },
      { email: 'weird@example.com', password_hash: '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=' },
      { email: 'not an address' },
      { email: 'imported@example.com' },
    ]),
  );
  assert.equal(report.created, 2);
  assert.deepEqual(
    report.skipped.map((s) => [s.email, s.reason]),
    [
      ['weird@example.com', 'unsupported_hash'],
      ['not an address', 'invalid_email'],
      ['imported@example.com', 'exists'],
    ],
  );
  assert.match((await storedHash('imported@example.com')) ?? '', /^\$2y\$10\$/);

  const wrong = await t.call(undefined, { method: 'POST', url: '/v1/auth/password', payload: { email: 'imported@example.com', password: 'wrong password!' } });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().code, 'SIGN_IN_FAILED');
  assert.match((await storedHash('imported@example.com')) ?? '', /^\$2y\$/, 'a failed sign-in changes nothing');

  const ok = await t.call(undefined, {
    method: 'POST',
    url: '/v1/auth/password',
    payload: { email: 'IMPORTED@example.com', password: 'correct horse battery staple' },
  });
  assert.equal(ok.statusCode, 200, ok.body);
  assert.ok(ok.json().access_token);
  assert.match((await storedHash('imported@example.com')) ?? '', /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

  const again = await t.call(undefined, { method: 'POST', url: '/v1/auth/password', payload: { email: 'imported@example.com', password: 'correct horse battery staple' } });
  assert.equal(again.statusCode, 200, 'the upgraded hash verifies');
  assert.equal((await t.call(undefined, { method: 'POST', url: '/v1/auth/password', payload: { email: 'no-password@example.com', password: 'anything at all' } })).statusCode, 401);
});

test('an import never takes over an existing account', async () => {
  const first = await bcrypt.hash('first password here', 4);
  const second = await bcrypt.hash('second password here', 4);
  const tx = createInstallationTx(t.database.db);
  await tx((q) => importUsers(q, [{ email: 'owner@example.com', password_hash: first }]));
  const report = await tx((q) => importUsers(q, [{ email: 'owner@example.com', password_hash: second }]));
  assert.deepEqual(report, { created: 0, skipped: [{ email: 'owner@example.com', reason: 'exists' }] });
  assert.equal(await storedHash('owner@example.com'), first);
});
