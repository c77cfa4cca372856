import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../crypto/aead.js';
import { openLocalKeyProvider } from './local.js';
import { UnknownKeyError, vaultKeyAad } from './provider.js';

const aad = vaultKeyAad({ orgId: 'org_1', vaultId: 'vault_1', version: 1 });
const vaultKey = new Uint8Array(32).fill(0x5a);

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function collectWarnings(): { warnings: string[]; onWarning: (m: string) => void } {
  const warnings: string[] = [];
  return { warnings, onWarning: (m) => void warnings.push(m) };
}

function keyIdOf(key: Uint8Array): string {
  const digest = createHash('sha256').update('strongroom local key id\0').update(key).digest('hex');
  return `local-${digest.slice(0, 16)}`;
}

/** Writes a key file as given, with mode 0600. */
function writeKeyFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function keyringJson(key: Uint8Array, overrides: Record<string, unknown> = {}): string {
  const id = keyIdOf(key);
  return JSON.stringify({
    format: 'strongroom-local-keyring',
    version: 1,
    current: id,
    keys: [{ id, key: Buffer.from(key).toString('base64'), created_at: '2024-01-01T00:00:00.000Z' }],
    ...overrides,
  });
}

async function openError(keyFile: string, create = false): Promise<Error> {
  try {
    await openLocalKeyProvider({ keyFile, create, onWarning: () => undefined });
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('expected openLocalKeyProvider to reject');
}

test('vaultKeyAad encodes org, vault and version', () => {
  assert.equal(new TextDecoder().decode(aad), 'strongroom:vault-key:v1:org_1/vault_1/1');
  assert.throws(() => vaultKeyAad({ orgId: 'a/b', vaultId: 'v', version: 1 }), TypeError);
});

test('creates a 0600 key file in a 0700 directory and warns that it is for development only', async (t) => {
  const dir = join(tempDir(t), 'data', 'keys');
  const keyFile = join(dir, 'root-key.json');
  const { warnings, onWarning } = collectWarnings();
  const provider = await openLocalKeyProvider({ keyFile, create: true, onWarning });
  t.after(() => provider.close());

  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /development only/);
  assert.match(warnings[0] ?? '', /HSM\/KMS/);
  assert.ok(warnings[0]?.includes(keyFile));

  const file = JSON.parse(readFileSync(keyFile, 'utf8')) as {
    format: string;
    version: number;
    current: string;
    keys: { id: string; key: string; created_at: string }[];
  };
  assert.equal(file.format, 'strongroom-local-keyring');
  assert.equal(file.version, 1);
  assert.equal(file.keys.length, 1);
  const [entry] = file.keys;
  assert.ok(entry);
  const key = Buffer.from(entry.key, 'base64');
  assert.equal(key.length, 32);
  assert.equal(entry.id, keyIdOf(key));
  assert.equal(file.current, entry.id);
  assert.equal(provider.currentKeyId(), entry.id);
  assert.ok(!Number.isNaN(Date.parse(entry.created_at)));
  assert.ok(!warnings[0]?.includes(entry.key), 'the warning must not contain the key');
  assert.deepEqual(readdirSync(dir), ['root-key.json'], 'no temp file is left behind');
});

test('a reopened provider unwraps what the first one wrapped, and warns again', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const first = collectWarnings();
  const a = await openLocalKeyProvider({ keyFile, create: true, onWarning: first.onWarning });
  const wrapped = await a.wrap(vaultKey, aad);
  assert.equal(wrapped.keyId, a.currentKeyId());
  assert.equal(Buffer.from(wrapped.ciphertext).includes(Buffer.from(vaultKey)), false);
  await a.close();

  const second = collectWarnings();
  const b = await openLocalKeyProvider({ keyFile, create: false, onWarning: second.onWarning });
  t.after(() => b.close());
  assert.equal(b.name, 'local');
  assert.equal(b.currentKeyId(), wrapped.keyId);
  assert.deepEqual(await b.unwrap(wrapped, aad), vaultKey);
  assert.equal(second.warnings.length, 1);
  assert.match(second.warnings[0] ?? '', /development only/);
  assert.deepEqual(await b.health(), { ok: true });
});

test('rejects an unwrap with another vault\'s AAD', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const provider = await openLocalKeyProvider({ keyFile, create: true, onWarning: () => undefined });
  t.after(() => provider.close());
  const wrapped = await provider.wrap(vaultKey, aad);
  const otherAad = vaultKeyAad({ orgId: 'org_1', vaultId: 'vault_2', version: 1 });
  await assert.rejects(provider.unwrap(wrapped, otherAad), IntegrityError);
  const tampered = new Uint8Array(wrapped.ciphertext);
  tampered[20] = (tampered[20] ?? 0) ^ 1;
  await assert.rejects(provider.unwrap({ ...wrapped, ciphertext: tampered }, aad), IntegrityError);
});

test('rejects an unwrap naming a key id it does not hold', async (t) => {
  const dir = tempDir(t);
  const a = await openLocalKeyProvider({ keyFile: join(dir, 'a.json'), create: true, onWarning: () => undefined });
  const b = await openLocalKeyProvider({ keyFile: join(dir, 'b.json'), create: true, onWarning: () => undefined });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const wrapped = await a.wrap(vaultKey, aad);
  await assert.rejects(b.unwrap(wrapped, aad), (err: unknown) => err instanceof UnknownKeyError && err.keyId === wrapped.keyId);
});

test('refuses a key file readable by others and says to chmod 600', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const key = randomBytes(32);
  writeKeyFile(keyFile, keyringJson(key));
  chmodSync(keyFile, 0o644);
  const err = await openError(keyFile);
  assert.ok(err.message.includes(`chmod 600 ${keyFile}`), err.message);
  assert.ok(!err.message.includes(key.toString('base64')));

  chmodSync(keyFile, 0o640);
  assert.match((await openError(keyFile)).message, /chmod 600/);
  chmodSync(keyFile, 0o600);
  const provider = await openLocalKeyProvider({ keyFile, create: false, onWarning: () => undefined });
  assert.equal(provider.currentKeyId(), keyIdOf(key));
  await provider.close();
});

test('refuses corrupt JSON without quoting the key in the error', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const key = randomBytes(32);
  const b64 = key.toString('base64');
  // Cut just after the key, so a parser error that quotes nearby input would quote it.
  const json = keyringJson(key);
  writeKeyFile(keyFile, json.slice(0, json.indexOf(b64) + b64.length + 2) + '}}}');
  const err = await openError(keyFile);
  assert.match(err.message, /not valid JSON/);
  assert.ok(err.message.includes(keyFile));
  assert.ok(!err.message.includes(b64.slice(0, 12)), 'message must not contain key text');
  assert.equal(err.cause, undefined, 'the parser error (which quotes input) must not travel as cause');
});

test('refuses keys that are not exactly 32 bytes without quoting them', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  for (const length of [16, 31, 33, 64]) {
    const key = randomBytes(length);
    const b64 = key.toString('base64');
    writeKeyFile(keyFile, keyringJson(key));
    const err = await openError(keyFile);
    assert.match(err.message, /exactly 32 bytes/, `length ${length}`);
    assert.ok(!err.message.includes(b64.slice(0, 12)), `message must not contain key text (length ${length})`);
  }
});

test('refuses a key whose id is not its fingerprint', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const key = randomBytes(32);
  const wrongId = keyIdOf(randomBytes(32));
  writeKeyFile(
    keyFile,
    keyringJson(key, {
      current: wrongId,
      keys: [{ id: wrongId, key: key.toString('base64'), created_at: '2024-01-01T00:00:00Z' }],
    }),
  );
  const err = await openError(keyFile);
  assert.match(err.message, /does not match its id/);
  assert.ok(!err.message.includes(key.toString('base64').slice(0, 12)));
});

test('refuses a keyring whose current key is missing or whose shape is wrong', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const key = randomBytes(32);
  writeKeyFile(keyFile, keyringJson(key, { current: keyIdOf(randomBytes(32)) }));
  assert.match((await openError(keyFile)).message, /"current"/);

  writeKeyFile(keyFile, keyringJson(key, { format: 'something-else' }));
  assert.match((await openError(keyFile)).message, /format/);

  writeKeyFile(keyFile, keyringJson(key, { keys: [] }));
  assert.match((await openError(keyFile)).message, /keys/);
});

test('errors with the path and the fix when the key file is missing and create is false', async (t) => {
  const keyFile = join(tempDir(t), 'nope', 'root-key.json');
  const err = await openError(keyFile, false);
  assert.ok(err.message.includes(keyFile), err.message);
  assert.match(err.message, /strongroom serve/);
  assert.match(err.message, /STRONGROOM_ROOT_KEY_FILE/);
  assert.throws(() => statSync(keyFile), /ENOENT/, 'nothing was created');
});

test('two providers created at once end up with the same root key', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const { warnings, onWarning } = collectWarnings();
  const [a, b] = await Promise.all([
    openLocalKeyProvider({ keyFile, create: true, onWarning }),
    openLocalKeyProvider({ keyFile, create: true, onWarning }),
  ]);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  assert.equal(a.currentKeyId(), b.currentKeyId());
  assert.deepEqual(await b.unwrap(await a.wrap(vaultKey, aad), aad), vaultKey);
  assert.equal(warnings.filter((w) => w.startsWith('Created')).length, 1);
  assert.equal(warnings.length, 2);
});

test('after close it wipes the root key, refuses to wrap and reports unhealthy', async (t) => {
  const keyFile = join(tempDir(t), 'root-key.json');
  const key = randomBytes(32);
  writeKeyFile(keyFile, keyringJson(key));
  const provider = await openLocalKeyProvider({ keyFile, create: false, onWarning: () => undefined });
  const wrapped = await provider.wrap(vaultKey, aad);

  const wiped: Uint8Array[] = [];
  type Fill = (this: Uint8Array, value: number, start?: number, end?: number) => Uint8Array;
  const proto = Object.getPrototypeOf(Uint8Array.prototype) as { fill: Fill };
  const original = proto.fill;
  t.mock.method(proto, 'fill', function (this: Uint8Array, value: number, start?: number, end?: number) {
    if (value === 0) wiped.push(Uint8Array.from(this));
    return original.call(this, value, start, end);
  });
  await provider.close();
  t.mock.restoreAll();

  assert.ok(wiped.some((before) => Buffer.from(before).equals(key)), 'the root key buffer was zeroed');
  await assert.rejects(provider.wrap(vaultKey, aad), /closed/);
  await assert.rejects(provider.unwrap(wrapped, aad), /closed/);
  assert.equal((await provider.health()).ok, false);
});
