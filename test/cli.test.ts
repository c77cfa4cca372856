import assert from 'node:assert/strict';
import { COMMAND_TIMEOUT_MS, bin, cleanEnv, describeResult, repoRoot, type Result } from './support/cli.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import bcrypt from 'bcryptjs';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { loadMigrations } from '../src/db/migrate.js';
import { createEmptyServerDatabase, serverUrl, withServer, withServerDatabase } from './support/database.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ROOT_TOKEN = /^sr_root_[A-Za-z0-9_-]+$/;
const LISTENING = /^Strongroom (\S+) listening on http:\/\/127\.0\.0\.1:(\d+) \(database: (.+)\)$/m;

const root = mkdtempSync(join(tmpdir(), 'sr-cli-test-'));
const children = new Set<ChildProcess>();
let dirCounter = 0;

after(async () => {
  await Promise.all([...children].map((child) => stopChild(child, 'SIGKILL')));
  rmSync(root, { recursive: true, force: true });
});

/** A fresh data directory path (not created). */
function freshDataDir(): string {
  return join(root, `data-${++dirCounter}`);
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  await exited(child);
  children.delete(child);
}

interface Spawned {
  child: ChildProcess;
  /** Settles once the process has exited and its output pipes are closed. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): Spawned {
  const child = spawn(process.execPath, [bin, ...args], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return { child, closed, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the CLI to completion. */
async function runCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Result> {
  const run = spawnCli(args, env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
  try {
    const { code, signal } = await run.closed;
    assert.equal(signal, null, `strongroom ${args.join(' ')} was killed by ${signal}\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`);
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  } finally {
    clearTimeout(timer);
    children.delete(run.child);
  }
}

/** Runs `bootstrap --json` and returns what it printed; fails unless it succeeds. */
async function bootstrapOrg(org: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ orgId: string; token: string }> {
  const r = await runCli(['bootstrap', '--org', org, '--json', ...args], env);
  assert.equal(r.code, 0, describeResult(r));
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `bootstrap --json prints one line\n${describeResult(r)}`);
  const body = JSON.parse(lines[0] ?? '') as { orgId: string; token: string };
  assert.deepEqual(Object.keys(body).sort(), ['orgId', 'token']);
  assert.match(body.orgId, UUID);
  assert.match(body.token, ROOT_TOKEN);
  return body;
}

interface Server {
  child: ChildProcess;
  url: string;
  database: string;
  version: string;
  stdout(): string;
  stderr(): string;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `serve --port 0` and waits for the line that says where it listens. */
async function startServer(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Server> {
  const run = spawnCli(['serve', '--port', '0', ...args], env);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      run.child.stdout?.off('data', check);
      run.child.kill('SIGKILL');
      reject(new Error(`serve ${why}\nstdout:\n${run.stdout()}\nstderr:\n${run.stderr()}`));
    };
    const timer = setTimeout(() => fail(`printed no listening line within ${COMMAND_TIMEOUT_MS} ms`), COMMAND_TIMEOUT_MS);
    const check = () => {
      const m = LISTENING.exec(run.stdout());
      if (m) {
        clearTimeout(timer);
        run.child.stdout?.off('data', check);
        run.child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null) => setImmediate(() => fail(`exited with ${code} before listening`));
    run.child.stdout?.on('data', check);
    run.child.once('exit', onExit);
  });
  return {
    child: run.child,
    version: match[1] ?? '',
    url: `http://127.0.0.1:${match[2]}`,
    database: match[3] ?? '',
    stdout: run.stdout,
    stderr: run.stderr,
    async stop() {
      const done = exited(run.child);
      run.child.kill('SIGTERM');
      const timer = setTimeout(() => run.child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
        children.delete(run.child);
      }
    },
  };
}

async function call(
  server: Server,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Creates a vault, writes a secret and reads it back, through the HTTP API. */
async function assertSecretRoundTrip(writer: Server, reader: Server, token: string): Promise<void> {
  const vault = await call(writer, 'POST', '/v1/vaults', { token, body: { name: 'payments' } });
  assert.equal(vault.status, 201, JSON.stringify(vault.body));
  const vaultId = vault.body.id as string;
  assert.match(vaultId, UUID);
  const put = await call(writer, 'PUT', `/v1/vaults/${vaultId}/secrets/stripe/api_key`, {
    token,
    body: { value: 'sk_live_round_trip' },
  });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const get = await call(reader, 'GET', `/v1/vaults/${vaultId}/secrets/stripe/api_key`, { token });
  assert.equal(get.status, 200, JSON.stringify(get.body));
  assert.equal(get.body.value, 'sk_live_round_trip');
  assert.equal(get.body.path, '/stripe/api_key');
}

describe('strongroom bootstrap', () => {
  test('prints one JSON line with the org id and its root token, and leaves no lock behind', async () => {
    const dataDir = freshDataDir();
    await bootstrapOrg('Acme', ['--data-dir', dataDir]);
    assert.ok(existsSync(join(dataDir, 'pgdata')), 'PGlite files are in the data directory');
    assert.equal(existsSync(join(dataDir, 'strongroom.lock')), false);
  });

  test('refuses an org name that already exists, whatever its case', async () => {
    const dataDir = freshDataDir();
    await bootstrapOrg('Acme Corp', ['--data-dir', dataDir]);
    for (const name of ['Acme Corp', 'ACME corp']) {
      const r = await runCli(['bootstrap', '--org', name, '--json', '--data-dir', dataDir]);
      assert.notEqual(r.code, 0, describeResult(r));
      assert.equal(r.code, 1, describeResult(r));
      assert.equal(r.stdout, '', 'no token is printed');
      assert.match(r.stderr, /already exists/, describeResult(r));
      assert.ok(r.stderr.includes(name), `the message names the org\n${describeResult(r)}`);
    }
    assert.equal(existsSync(join(dataDir, 'strongroom.lock')), false);
  });
});

describe('strongroom users import', () => {
  test('imports people with their bcrypt hashes, reporting what it skipped, and prints no hash', async () => {
    const dataDir = freshDataDir();
    const file = join(dataDir, '..', `people-${process.pid}-${Date.now()}.json`);
    const bcryptHash = await bcrypt.hash('an old password', 4);
    writeFileSync(file, JSON.stringify([{ email: 'ada@example.com', password_hash: bcryptHash }, { email: 'nope' }]));
    const r = await runCli(['users', 'import', '--file', file, '--json', '--data-dir', dataDir]);
    assert.equal(r.code, 0, describeResult(r));
    assert.deepEqual(JSON.parse(r.stdout), { created: 1, skipped: [{ email: 'nope', reason: 'invalid_email' }] });
    assert.ok(!r.stdout.includes(bcryptHash) && !r.stderr.includes(bcryptHash), 'hashes are never printed');
    const missing = await runCli(['users', 'import', '--data-dir', dataDir]);
    assert.equal(missing.code, 2, describeResult(missing));
    assert.match(missing.stderr, /--file/);
  });
});

describe('strongroom serve on embedded PGlite', () => {
  test('answers health, readiness and OpenAPI, and accepts a token bootstrapped before it started', async (t) => {
    const dataDir = freshDataDir();
    const org = await bootstrapOrg('Serve Org', ['--data-dir', dataDir]);
    const server = await startServer(['--data-dir', dataDir]);
    t.after(() => server.stop());

    assert.equal(server.version, version);
    assert.equal(server.database, `embedded PGlite in ${join(dataDir, 'pgdata')}`);

    const health = await call(server, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });

    const ready = await call(server, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
    assert.deepEqual(ready.body.database, { kind: 'pglite', ok: true });

    const openapi = await call(server, 'GET', '/v1/openapi.json');
    assert.equal(openapi.status, 200);
    assert.match(String(openapi.body.openapi), /^3\.1/);

    const anonymous = await call(server, 'POST', '/v1/vaults', { body: { name: 'nope' } });
    assert.equal(anonymous.status, 401);

    await assertSecretRoundTrip(server, server, org.token);
  });

  test('holds the data directory: a second serve and a bootstrap are refused, and the server is unharmed', async (t) => {
    const dataDir = freshDataDir();
    const server = await startServer(['--data-dir', dataDir]);
    t.after(() => server.stop());
    const pid = server.child.pid;
    assert.equal(typeof pid, 'number');
    assert.ok(existsSync(join(dataDir, 'strongroom.lock')));

    const second = await runCli(['serve', '--port', '0', '--data-dir', dataDir]);
    const bootstrap = await runCli(['bootstrap', '--org', 'Intruder', '--json', '--data-dir', dataDir]);
    for (const r of [second, bootstrap]) {
      assert.equal(r.code, 1, describeResult(r));
      assert.ok(r.stderr.includes(dataDir), `names the data directory\n${describeResult(r)}`);
      assert.match(r.stderr, /in use/, describeResult(r));
      assert.match(r.stderr, new RegExp(`pid ${pid}\\b`), describeResult(r));
      assert.doesNotMatch(r.stdout, /listening|sr_root_/, describeResult(r));
    }

    const ready = await call(server, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.database, { kind: 'pglite', ok: true });

    const stopped = await server.stop();
    assert.deepEqual(stopped, { code: 0, signal: null }, `stdout:\n${server.stdout()}\nstderr:\n${server.stderr()}`);
    assert.equal(existsSync(join(dataDir, 'strongroom.lock')), false, 'SIGTERM releases the lock');
    await bootstrapOrg('After Stop', ['--data-dir', dataDir]);
  });

  test('takes over a lock left by a process that is gone', async () => {
    const dataDir = freshDataDir();
    const dead = spawnSync('true');
    assert.equal(typeof dead.pid, 'number');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(dataDir, 'strongroom.lock'),
      JSON.stringify({ pid: dead.pid, host: hostname(), nonce: 'x', command: 'serve', since: '2026-01-01T00:00:00.000Z' }),
    );
    await bootstrapOrg('Recovered', ['--data-dir', dataDir]);
    assert.equal(existsSync(join(dataDir, 'strongroom.lock')), false);
  });
});

describe('strongroom migrate', () => {
  test('applies the migrations to a fresh data directory, then finds nothing to apply', async () => {
    const dataDir = freshDataDir();
    const first = await runCli(['migrate', '--data-dir', dataDir]);
    assert.equal(first.code, 0, describeResult(first));
    assert.match(first.stdout, /applied 0001_foundation/);
    const second = await runCli(['migrate', '--data-dir', dataDir]);
    assert.equal(second.code, 0, describeResult(second));
    assert.match(second.stdout, /nothing to apply/);
    assert.doesNotMatch(second.stdout, /0001_foundation/);
  });
});

describe('strongroom refuses bad configuration', () => {
  test('PORT=abc stops serve with exit code 2, naming PORT and touching nothing', async () => {
    const dataDir = freshDataDir();
    const r = await runCli(['serve', '--data-dir', dataDir], cleanEnv({ PORT: 'abc' }));
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /\bPORT\b/);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(dataDir), false, 'the data directory is not created');
  });

  test('a DATABASE_URL that is not PostgreSQL stops serve with exit code 2, naming DATABASE_URL', async () => {
    const r = await runCli(['serve', '--port', '0', '--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: 'mysql://x' }));
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /\bDATABASE_URL\b/);
    assert.equal(r.stdout, '');
  });

  test('never echoes the DATABASE_URL password when another setting is wrong', async () => {
    const r = await runCli(
      ['serve', '--data-dir', freshDataDir()],
      cleanEnv({ DATABASE_URL: 'postgres://u:SECRETPW@127.0.0.1:1/x', PORT: 'abc' }),
    );
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /\bPORT\b/);
    assert.ok(!r.stderr.includes('SECRETPW') && !r.stdout.includes('SECRETPW'), describeResult(r));
  });

  test('never echoes the DATABASE_URL password when the server cannot be reached', async () => {
    const r = await runCli(['migrate', '--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: 'postgres://u:SECRETPW@127.0.0.1:1/x' }));
    assert.equal(r.code, 1, describeResult(r));
    assert.notEqual(r.stderr, '');
    assert.ok(!r.stderr.includes('SECRETPW') && !r.stdout.includes('SECRETPW'), describeResult(r));
  });

  test('an unknown command exits with code 2 and shows the usage', async () => {
    const r = await runCli(['frobnicate', '--data-dir', freshDataDir()]);
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /unknown command "frobnicate"/);
    assert.match(r.stderr, /Usage: strongroom/);
    assert.equal(r.stdout, '');
  });

  test('an unknown flag exits with code 2 and shows the usage', async () => {
    const r = await runCli(['serve', '--prot', '1']);
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /--prot/);
    assert.match(r.stderr, /Usage: strongroom/);
  });

  test('bootstrap without --org exits with code 2 and says to pass it', async () => {
    const dataDir = freshDataDir();
    const r = await runCli(['bootstrap', '--json', '--data-dir', dataDir]);
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /--org/);
    assert.equal(r.stdout, '');
    assert.equal(existsSync(dataDir), false, 'the data directory is not created');
  });
});

describe('strongroom --help and --version', () => {
  test('--help prints the usage and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /^Usage: strongroom <command>/);
    for (const command of ['serve', 'bootstrap', 'migrate']) assert.match(r.stdout, new RegExp(`\\n  ${command} `));
  });

  test("--version prints package.json's version and exits 0", async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(r.stdout, `${version}\n`);
  });
});

if (serverUrl) {
  describe('strongroom on a PostgreSQL server (DATABASE_URL)', () => {
    test('bootstrap and serve use DATABASE_URL, and two servers on it run at once without a data-dir lock', async (t) => {
      const database = await createEmptyServerDatabase();
      const env = cleanEnv({ DATABASE_URL: database.url });
      const dataDir = freshDataDir(); // holds the local root key, shared by both servers
      const servers: Server[] = [];
      t.after(async () => {
        await Promise.all(servers.map((s) => s.stop()));
        await database.drop();
      });

      const org = await bootstrapOrg('Postgres Org', ['--data-dir', dataDir], env);
      assert.equal(existsSync(join(dataDir, 'pgdata')), false, 'no PGlite files with DATABASE_URL');

      const dbName = new URL(database.url).pathname;
      const first = await startServer(['--data-dir', dataDir], env);
      servers.push(first);
      const second = await startServer(['--data-dir', dataDir], env);
      servers.push(second);
      for (const server of [first, second]) {
        assert.match(server.database, /^PostgreSQL at /);
        assert.ok(server.database.endsWith(dbName), server.database);
        const ready = await call(server, 'GET', '/readyz');
        assert.equal(ready.status, 200, JSON.stringify(ready.body));
        assert.deepEqual(ready.body.database, { kind: 'postgres', ok: true });
      }
      assert.equal(existsSync(join(dataDir, 'strongroom.lock')), false, 'PostgreSQL needs no data-dir lock');

      // Written through one server, read through the other: one database, one root key.
      await assertSecretRoundTrip(first, second, org.token);

      for (const server of servers.splice(0)) {
        assert.deepEqual(await server.stop(), { code: 0, signal: null }, server.stderr());
      }
    });

    test('several migrate processes at once apply each migration exactly once', async (t) => {
      const database = await createEmptyServerDatabase();
      t.after(() => database.drop());
      const env = cleanEnv({ DATABASE_URL: database.url });
      const runs = await Promise.all([1, 2, 3].map(() => runCli(['migrate', '--data-dir', freshDataDir()], env)));
      for (const r of runs) assert.equal(r.code, 0, describeResult(r));
      assert.equal(runs.filter((r) => /applied 0001_foundation/.test(r.stdout)).length, 1, runs.map((r) => r.stdout).join(''));
      const rows = await withServerDatabase(database.url, (c) => c.query('SELECT id FROM schema_migrations ORDER BY id'));
      assert.deepEqual(rows.rows.map((r: { id: string }) => r.id), (await loadMigrations()).map((m) => m.id));
    });

    describe('a production login that is only a member of strongroom_app', () => {
      const login = `sr_api_${process.pid}_${Date.now().toString(36)}`;
      const password = 'api-login-password';
      let database: { url: string; drop(): Promise<void> };
      let apiUrl: string;
      let adminEnv: NodeJS.ProcessEnv;

      before(async () => {
        database = await createEmptyServerDatabase();
        adminEnv = cleanEnv({ DATABASE_URL: database.url });
        const migrated = await runCli(['migrate', '--data-dir', freshDataDir()], adminEnv);
        assert.equal(migrated.code, 0, describeResult(migrated));
        await withServer((c) => c.query(`CREATE ROLE ${login} LOGIN NOINHERIT PASSWORD '${password}'`));
        const url = new URL(database.url);
        url.username = login;
        url.password = password;
        apiUrl = url.toString();
      });
      after(async () => {
        await database.drop();
        await withServer((c) => c.query(`DROP ROLE IF EXISTS ${login}`));
      });

      test('is refused at start until it is granted strongroom_app, with a message saying so', async () => {
        const r = await runCli(['serve', '--port', '0', '--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: apiUrl }));
        assert.notEqual(r.code, 0, describeResult(r));
        assert.match(r.stderr, /GRANT strongroom_app TO/);
        assert.ok(!r.stderr.includes(password));
      });

      test('serves without migrating or warning once granted, and cannot become the owner or read tables itself', async (t) => {
        await withServer((c) => c.query(`GRANT strongroom_app TO ${login}`));
        const dataDir = freshDataDir();
        const org = await bootstrapOrg('Api Login Org', ['--data-dir', dataDir], adminEnv);
        const server = await startServer(['--data-dir', dataDir], cleanEnv({ DATABASE_URL: apiUrl }));
        t.after(() => server.stop());
        assert.match(server.database, /^PostgreSQL at /);
        const created = await call(server, 'POST', '/v1/vaults', { token: org.token, body: { name: 'via-api-login' } });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.doesNotMatch(server.stdout() + server.stderr(), /superuser, bypasses row-level security/);

        // The login itself: no privileges of its own (NOINHERIT), no way to the owner role.
        const probe = new pg.Client({ connectionString: apiUrl });
        await probe.connect();
        try {
          await assert.rejects(probe.query('SELECT count(*) FROM secrets'), (e: { code?: string }) => e.code === '42501');
          await assert.rejects(probe.query('SET ROLE strongroom_owner'), (e: { code?: string }) => e.code === '42501');
          await probe.query('SET ROLE strongroom_app');
          await assert.rejects(probe.query('DROP POLICY tenant_isolation ON secrets'), (e: { code?: string }) => e.code === '42501');
          const { rows } = await probe.query('SELECT count(*)::int AS n FROM secrets');
          assert.equal(rows[0].n, 0, 'no tenant set, no rows');
        } finally {
          await probe.end();
        }
      });

      test('on a database that needs migrations, says to migrate with an owner login instead of failing obscurely', async (t) => {
        const fresh = await createEmptyServerDatabase();
        t.after(() => fresh.drop());
        const url = new URL(fresh.url);
        url.username = login;
        url.password = password;
        const r = await runCli(['serve', '--port', '0', '--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: url.toString() }));
        assert.notEqual(r.code, 0, describeResult(r));
        assert.match(r.stderr, /needs migrations \(0001_foundation\.sql/);
        assert.match(r.stderr, /DATABASE_OWNER_URL/);
        // With an owner login for migrations, the same server starts.
        const server = await startServer(['--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: url.toString(), DATABASE_OWNER_URL: fresh.url }));
        t.after(() => server.stop());
        assert.equal((await call(server, 'GET', '/readyz')).status, 200);
      });
    });

    test('warns at start when the DATABASE_URL login is a superuser', async (t) => {
      const database = await createEmptyServerDatabase();
      t.after(() => database.drop());
      const server = await startServer(['--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: database.url }));
      t.after(() => server.stop());
      const [row] = (await withServerDatabase(database.url, (c) => c.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user'))).rows;
      if (row.rolsuper) assert.match(server.stdout(), /superuser, bypasses row-level security or can become strongroom_owner/);
      else assert.doesNotMatch(server.stdout(), /superuser, bypasses/);
    });

    test('never prints the DATABASE_URL password on start', async (t) => {
      const database = await createEmptyServerDatabase();
      t.after(() => database.drop());
      const url = new URL(database.url);
      url.password = 'SECRETPW';
      // Whether or not the server checks the password, it must not show it.
      const r = await runCli(['migrate', '--data-dir', freshDataDir()], cleanEnv({ DATABASE_URL: url.toString() }));
      assert.ok(!r.stdout.includes('SECRETPW') && !r.stderr.includes('SECRETPW'), describeResult(r));
      if (r.code === 0) assert.match(r.stdout, /PostgreSQL at /);
    });
  });
}
