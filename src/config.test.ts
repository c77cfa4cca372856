import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'sr-config-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
/** Writes a config file into the test directory and returns its name relative to it. */
function configFile(content: string): string {
  const name = `config-${++fileCounter}.json`;
  writeFileSync(join(dir, name), content);
  return name;
}

/** Runs `fn`, which must throw a ConfigError, and returns that error. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

/** The setting each problem names (the text before the first colon). */
const namedSettings = (err: ConfigError) => err.problems.map((p) => p.split(':')[0]).sort();

describe('loadConfig defaults', () => {
  test('listens on 127.0.0.1:8400 with the local key provider and a data directory under cwd', () => {
    const config = loadConfig({ env: {}, cwd: '/srv/app' });
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8400);
    assert.equal(config.dataDir, '/srv/app/.strongroom');
    assert.equal(config.rootKeyFile, '/srv/app/.strongroom/root-key.json');
    assert.equal(config.keyProvider, 'local');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.databaseOwnerUrl, undefined);
    assert.equal(config.logLevel, 'info');
  });

  test('keeps an absolute data directory and puts the root key in it unless told otherwise', () => {
    const config = loadConfig({ env: { STRONGROOM_DATA_DIR: '/var/lib/strongroom' }, cwd: '/srv/app' });
    assert.equal(config.dataDir, '/var/lib/strongroom');
    assert.equal(config.rootKeyFile, '/var/lib/strongroom/root-key.json');
    const custom = loadConfig({ env: { STRONGROOM_ROOT_KEY_FILE: 'keys/root.json' }, cwd: '/srv/app' });
    assert.equal(custom.rootKeyFile, '/srv/app/keys/root.json');
  });

  test('returns a frozen object', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.keyCache));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.equal(config.port, 8400);
  });
});

describe('loadConfig sources', () => {
  test('flags win over the environment, which wins over the STRONGROOM_CONFIG file', () => {
    const file = configFile(
      JSON.stringify({ PORT: 1111, HOST: 'file-host', LOG_LEVEL: 'warn', STRONGROOM_DATA_DIR: 'from-file' }),
    );
    const config = loadConfig({
      env: { STRONGROOM_CONFIG: file, PORT: '2222', HOST: 'env-host' },
      flags: { PORT: '3333' },
      cwd: dir,
    });
    assert.equal(config.port, 3333, 'flag over env and file');
    assert.equal(config.host, 'env-host', 'env over file');
    assert.equal(config.logLevel, 'warn', 'file over default');
    assert.equal(config.dataDir, join(dir, 'from-file'), 'a relative STRONGROOM_CONFIG and data dir resolve against cwd');
  });

  test('reads every setting from the file when nothing else sets it', () => {
    const file = configFile(
      JSON.stringify({
        PORT: '9000',
        DATABASE_URL: 'postgres://app@db.internal:5432/strongroom',
        DATABASE_POOL_SIZE: 25,
        STRONGROOM_KEY_CACHE_SIZE: 5,
        STRONGROOM_KEY_CACHE_TTL_SECONDS: 2,
      }),
    );
    const config = loadConfig({ env: { STRONGROOM_CONFIG: join(dir, file) }, cwd: '/elsewhere' });
    assert.equal(config.port, 9000);
    assert.equal(config.databaseUrl, 'postgres://app@db.internal:5432/strongroom');
    assert.equal(config.databasePoolSize, 25);
    assert.deepEqual(config.keyCache, { maxEntries: 5, ttlMs: 2000 });
  });

  test('refuses unknown keys in the config file, naming them', () => {
    const file = configFile(JSON.stringify({ PORT: 8400, POTR: 1, DATABSE_URL: 'x' }));
    const err = configError(() => loadConfig({ env: { STRONGROOM_CONFIG: file }, cwd: dir }));
    const text = err.problems.join('\n');
    assert.match(text, /STRONGROOM_CONFIG/);
    assert.match(text, /POTR/);
    assert.match(text, /DATABSE_URL/);
  });

  test('refuses a config file that cannot be read', () => {
    const err = configError(() => loadConfig({ env: { STRONGROOM_CONFIG: 'missing.json' }, cwd: dir }));
    assert.equal(err.problems.length, 1);
    assert.match(err.problems[0] ?? '', /^STRONGROOM_CONFIG: /);
    assert.ok(err.message.includes(join(dir, 'missing.json')));
  });

  test('refuses a config file that is not a JSON object', () => {
    for (const content of ['{"PORT": 8400', '[1, 2]', 'null', '"PORT=8400"']) {
      const file = configFile(content);
      const err = configError(() => loadConfig({ env: { STRONGROOM_CONFIG: file }, cwd: dir }));
      assert.equal(err.problems.length, 1, content);
      assert.match(err.problems[0] ?? '', /^STRONGROOM_CONFIG: .*JSON object/, content);
    }
  });
});

describe('loadConfig validation', () => {
  test('lists every invalid setting, each problem naming the setting to change', () => {
    const err = configError(() =>
      loadConfig({
        env: {
          PORT: 'abc',
          LOG_LEVEL: 'loud',
          DATABASE_POOL_SIZE: '0',
          STRONGROOM_KEY_PROVIDER: 'aws-kms',
          STRONGROOM_KEY_CACHE_TTL_SECONDS: '1.5',
        },
        cwd: dir,
      }),
    );
    assert.deepEqual(namedSettings(err), [
      'DATABASE_POOL_SIZE',
      'LOG_LEVEL',
      'PORT',
      'STRONGROOM_KEY_CACHE_TTL_SECONDS',
      'STRONGROOM_KEY_PROVIDER',
    ]);
    for (const problem of err.problems) assert.ok(err.message.includes(problem), 'the message lists every problem');
  });

  test('refuses ports outside 0..65535', () => {
    for (const port of ['-1', '65536', '80.5']) {
      const err = configError(() => loadConfig({ env: { PORT: port }, cwd: dir }));
      assert.deepEqual(namedSettings(err), ['PORT'], port);
    }
    assert.equal(loadConfig({ env: { PORT: '0' }, cwd: dir }).port, 0);
  });

  test('refuses a DATABASE_URL that is not PostgreSQL, naming it without echoing its password', () => {
    const err = configError(() => loadConfig({ env: { DATABASE_URL: 'mysql://u:SECRETPW@h/x' }, cwd: dir }));
    assert.deepEqual(namedSettings(err), ['DATABASE_URL']);
    assert.ok(!err.message.includes('SECRETPW'));
    assert.ok(!err.problems.join('\n').includes('SECRETPW'));
  });

  test('refuses a DATABASE_OWNER_URL that is not PostgreSQL, naming it without echoing its password', () => {
    const err = configError(() => loadConfig({ env: { DATABASE_OWNER_URL: 'http://owner:SECRETPW@h/x' }, cwd: dir }));
    assert.deepEqual(namedSettings(err), ['DATABASE_OWNER_URL']);
    assert.ok(!err.message.includes('SECRETPW'));
  });

  test('never echoes a valid DATABASE_URL password when another setting is wrong', () => {
    const file = configFile(JSON.stringify({ DATABASE_OWNER_URL: 'postgres://owner:FILEPW@h/x', LOG_LEVEL: 7 }));
    const err = configError(() =>
      loadConfig({
        env: { STRONGROOM_CONFIG: file, DATABASE_URL: 'postgres://u:SECRETPW@127.0.0.1:1/x', PORT: 'abc' },
        cwd: dir,
      }),
    );
    assert.deepEqual(namedSettings(err), ['LOG_LEVEL', 'PORT']);
    assert.ok(!err.message.includes('SECRETPW'));
    assert.ok(!err.message.includes('FILEPW'));
  });

  test('refuses a postgres:// DATABASE_URL that is not a parseable URL, naming it without echoing its password', () => {
    // Accepted by the scheme check alone, such a URL only failed later, at connect time, with a bare "Invalid URL".
    for (const url of ['postgres://u:SECRETPW@[bad/x', 'postgres://u:SECRETPW@h:99999/x']) {
      const err = configError(() => loadConfig({ env: { DATABASE_URL: url }, cwd: dir }));
      assert.deepEqual(namedSettings(err), ['DATABASE_URL'], url);
      assert.ok(!err.message.includes('SECRETPW'), url);
    }
  });

  test('accepts postgres:// and postgresql:// URLs as they are', () => {
    const config = loadConfig({
      env: { DATABASE_URL: 'postgresql://u:pw@db:5433/app', DATABASE_OWNER_URL: 'postgres://owner:pw@db/app' },
      cwd: dir,
    });
    assert.equal(config.databaseUrl, 'postgresql://u:pw@db:5433/app');
    assert.equal(config.databaseOwnerUrl, 'postgres://owner:pw@db/app');
  });
});

describe('access settings', () => {
  test('reads REDIS_URL, the token issuer and audience, and whom to trust for client addresses', () => {
    const config = loadConfig({
      env: {
        REDIS_URL: 'redis://127.0.0.1:6379',
        STRONGROOM_TOKEN_ISSUER: 'https://vault.example',
        STRONGROOM_TOKEN_AUDIENCE: 'api',
        STRONGROOM_TRUST_PROXY: '10.0.0.0/8,192.0.2.1',
      },
      cwd: dir,
    });
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
    assert.deepEqual(config.tokens, { issuer: 'https://vault.example', audience: 'api' });
    assert.deepEqual(config.trustProxy, ['10.0.0.0/8', '192.0.2.1']);
    assert.equal(loadConfig({ env: {}, cwd: dir }).trustProxy, false);
    assert.equal(loadConfig({ env: { STRONGROOM_TRUST_PROXY: '2' }, cwd: dir }).trustProxy, 2);
    assert.equal(loadConfig({ env: { STRONGROOM_TRUST_PROXY: 'true' }, cwd: dir }).trustProxy, true);
  });

  test('refuses a REDIS_URL that is not redis:// and a trust setting that is not one of the forms', () => {
    const err = configError(() => loadConfig({ env: { REDIS_URL: 'http://cache', STRONGROOM_TRUST_PROXY: 'everyone' }, cwd: dir }));
    assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), ['REDIS_URL', 'STRONGROOM_TRUST_PROXY']);
  });
});

test('a JSON config file may give numbers and booleans as JSON values', () => {
  const file = configFile(JSON.stringify({ PORT: 9001, STRONGROOM_AUDIT_SINKS_ALLOW_PRIVATE: true, STRONGROOM_TRUST_PROXY: 1 }));
  const config = loadConfig({ env: { STRONGROOM_CONFIG: file }, cwd: dir });
  assert.equal(config.port, 9001);
  assert.equal(config.audit.sinksAllowPrivateNetworks, true);
  assert.equal(config.trustProxy, 1);
});
