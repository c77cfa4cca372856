/**
 * `npm run bench` (read): the audited secret read against a bare Fastify + one-row Postgres read,
 * on the same database server, in the same run (SPEC §3).
 *
 * Both servers run in this process; the load generator (autocannon) runs in a child process so
 * it has an event loop of its own.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { createTenantTx } from '../src/db/tenant.js';
import { bootstrapOrg } from '../src/domains/orgs/orgs.service.js';
import { createVaultKeyring } from '../src/kms/keyring.js';
import { openLocalKeyProvider } from '../src/kms/local.js';
import { createLogger } from '../src/log.js';
import { createBenchDatabase, type BenchDatabase } from './database.js';
import type { LoadJob, LoadRequest, LoadResult } from './load.js';
import { idleCheck, localPostgresCpuMs, machineLine, othersLine, postgresCpuDelta, watchMachineCpu } from './machine.js';
import { traceTransactions, type TransactionTrace } from './trace.js';

/** Strongroom's default pool size (DATABASE_POOL_SIZE); the baseline's pool has the same. */
const POOL_SIZE = 10;
const BASELINE_ROWS = 1000;
const TARGET_THROUGHPUT = 0.7;
const TARGET_P99 = 2;

export type Scenario = 'baseline' | 'hot' | 'orgs';

export interface ReadOptions {
  /** Seconds measured per scenario. */
  duration: number;
  /** Seconds of warm-up per scenario (not measured). */
  warmup: number;
  connections: number;
  /** Orgs of the spread scenario. */
  orgs: number;
  /** Secrets of the hot org. */
  hotSecrets: number;
  /** Secrets per org of the spread scenario. */
  secretsPerOrg: number;
  scenarios: Scenario[];
  /** Time the audited app's transactions (diagnostic: the wrapper itself costs a little). */
  trace: boolean;
}

export const READ_DEFAULTS: ReadOptions = {
  duration: 10,
  warmup: 2,
  connections: 32,
  orgs: 100,
  hotSecrets: 100,
  secretsPerOrg: 3,
  scenarios: ['baseline', 'hot', 'orgs'],
  trace: false,
};

interface Measured {
  name: string;
  result: LoadResult;
  warmupFailures: number;
  /** Audited scenarios: audit events the run added, and requests the server received. */
  audit?: { events: number; received: number };
  /** CPU used during the measured run (ms): this process (the servers), local Postgres, load generator. */
  cpu: { serverMs: number; postgresMs: number | undefined; loadMs: number };
  /** Share of the machine other processes used during the measured run (when Postgres is local). */
  others: string | undefined;
}

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    child.once('message', (msg: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.result);
      else reject(new Error(`load generator failed: ${msg.error}`));
    });
    child.once('exit', (code) => {
      if (!settled) reject(new Error(`load generator exited with code ${code} before answering`));
    });
    child.once('error', reject);
    child.send(job);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function countEvents(database: BenchDatabase): Promise<number> {
  const [row] = await database.superuser((c) => c.query<{ n: string | number }>('SELECT count(*) AS n FROM audit_events'));
  return Number(row?.n ?? 0);
}

/**
 * Waits until the audit log stops growing: when the load generator stops, requests it abandoned
 * are still being answered (and audited) by the server for a few milliseconds.
 */
async function settledEventCount(database: BenchDatabase): Promise<number> {
  let last = await countEvents(database);
  for (let stable = 0; stable < 3; ) {
    await sleep(100);
    const now = await countEvents(database);
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

function listenUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('server has no address');
  return `http://127.0.0.1:${address.port}`;
}

/** The bare baseline: Fastify (no logging), one route, one-row read on a pool of the same size. */
async function startBaseline(database: BenchDatabase): Promise<{ app: FastifyInstance; close(): Promise<void> }> {
  await database.superuser(async (c) => {
    await c.exec(`
      CREATE TABLE bench_rows (id integer PRIMARY KEY, value text NOT NULL);
      INSERT INTO bench_rows (id, value) SELECT i, md5(i::text) FROM generate_series(1, ${BASELINE_ROWS}) AS i;
      ANALYZE bench_rows;`);
  });
  const app = Fastify({ logger: false });
  let close: () => Promise<void>;
  if (database.url !== undefined) {
    const pool = new pg.Pool({ connectionString: database.url, max: POOL_SIZE, application_name: 'strongroom-bench-baseline' });
    pool.on('error', () => {});
    app.get<{ Params: { id: string } }>('/row/:id', async (request, reply) => {
      const { rows } = await pool.query<{ value: string }>('SELECT value FROM bench_rows WHERE id = $1', [Number(request.params.id)]);
      const row = rows[0];
      if (row === undefined) return reply.code(404).send({ error: 'not found' });
      return { id: Number(request.params.id), value: row.value };
    });
    close = async () => {
      await app.close();
      await pool.end();
    };
  } else {
    // PGlite: one embedded connection, shared with the audited app (it is the same database).
    app.get<{ Params: { id: string } }>('/row/:id', async (request, reply) => {
      const rows = await database.superuser((c) =>
        c.query<{ value: string }>('SELECT value FROM bench_rows WHERE id = $1', [Number(request.params.id)]),
      );
      const row = rows[0];
      if (row === undefined) return reply.code(404).send({ error: 'not found' });
      return { id: Number(request.params.id), value: row.value };
    });
    close = () => app.close();
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, close };
}

interface AuditedServer {
  app: FastifyInstance;
  trace: TransactionTrace | undefined;
  /** Audited requests (/v1/…) the HTTP server received. */
  received(): number;
  createOrg(name: string): Promise<{ orgId: string; token: string }>;
  close(): Promise<void>;
}

/** The real app, as `serve` builds it: local key provider in a temp dir, logger silent. */
async function startAudited(database: BenchDatabase, trace: boolean): Promise<AuditedServer> {
  const traced = trace ? traceTransactions(database.db) : undefined;
  const db = traced?.db ?? database.db;
  const keyDir = mkdtempSync(join(tmpdir(), 'sr-bench-key-'));
  const keyProvider = await openLocalKeyProvider({ keyFile: join(keyDir, 'root-key.json'), create: true, onWarning: () => {} });
  // The configured defaults (STRONGROOM_KEY_CACHE_SIZE / _TTL_SECONDS).
  const keyring = createVaultKeyring({ provider: keyProvider, cache: { maxEntries: 10_000, ttlMs: 300_000 } });
  const app = await buildApp({ db, keyProvider, keyring, logger: createLogger({ level: 'silent' }) });
  let received = 0;
  app.server.on('request', (req: { url?: string }) => {
    if (req.url?.startsWith('/v1/')) received += 1;
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const withTenantTx = createTenantTx(db);
  return {
    app,
    trace: traced,
    received: () => received,
    createOrg: (name) => bootstrapOrg({ withTenantTx }, name),
    async close() {
      await app.close();
      keyring.wipeAll();
      await keyProvider.close();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

/** Makes an org with one vault and `secrets` secrets through the API; the read requests for them. */
async function seedOrg(server: AuditedServer, name: string, secrets: number): Promise<LoadRequest[]> {
  const org = await server.createOrg(name);
  const headers = { authorization: `Bearer ${org.token}` };
  const created = await server.app.inject({ method: 'POST', url: '/v1/vaults', headers, payload: { name: 'bench' } });
  if (created.statusCode !== 201) throw new Error(`creating a vault answered ${created.statusCode}: ${created.body}`);
  const vaultId = (created.json() as { id: string }).id;
  const requests: LoadRequest[] = [];
  for (let i = 0; i < secrets; i += 1) {
    const path = `services/svc-${String(i).padStart(3, '0')}/api_key`;
    const url = `/v1/vaults/${vaultId}/secrets/${path}`;
    const put = await server.app.inject({
      method: 'PUT',
      url,
      headers,
      payload: { value: randomBytes(24).toString('base64url'), type: 'api_key' },
    });
    if (put.statusCode !== 201) throw new Error(`writing ${path} answered ${put.statusCode}: ${put.body}`);
    requests.push({ method: 'GET', path: url, headers });
  }
  return requests;
}

async function inBatches<T>(count: number, parallel: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

function failuresOf(r: LoadResult): number {
  return r.non2xx + r.errors + r.timeouts;
}

function isLocal(url: string | undefined): boolean {
  if (url === undefined) return false;
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}

async function measure(
  name: string,
  url: string,
  requests: LoadRequest[],
  opts: ReadOptions,
  database: BenchDatabase,
  audit?: { database: BenchDatabase; server: AuditedServer },
): Promise<Measured> {
  process.stdout.write(`  ${name}: warm-up ${opts.warmup} s… `);
  let warmupFailures = 0;
  if (opts.warmup > 0) {
    const warm = await runLoad({ url, connections: opts.connections, duration: opts.warmup, requests });
    warmupFailures = failuresOf(warm);
  }
  const before = audit ? { events: await settledEventCount(audit.database), received: audit.server.received() } : undefined;
  audit?.server.trace?.reset();
  process.stdout.write(`measuring ${opts.duration} s… `);
  const pgLocal = isLocal(database.url);
  const pgBefore = pgLocal ? localPostgresCpuMs() : undefined;
  const cpuBefore = process.cpuUsage();
  const watch = watchMachineCpu();
  const result = await runLoad({ url, connections: opts.connections, duration: opts.duration, requests });
  const cpuServer = process.cpuUsage(cpuBefore);
  const machine = watch();
  const pgAfter = pgLocal ? localPostgresCpuMs() : undefined;
  const cpu = {
    serverMs: (cpuServer.user + cpuServer.system) / 1000,
    postgresMs: postgresCpuDelta(pgBefore, pgAfter),
    loadMs: result.cpuMs,
  };
  const others = cpu.postgresMs === undefined ? undefined : othersLine(machine, cpu.serverMs + cpu.postgresMs + cpu.loadMs).text;
  let auditDelta: Measured['audit'];
  if (audit && before) {
    const events = (await settledEventCount(audit.database)) - before.events;
    auditDelta = { events, received: audit.server.received() - before.received };
  }
  process.stdout.write(`${result.rps.toFixed(0)} req/s\n`);
  if (audit?.server.trace) process.stdout.write(audit.server.trace.report(auditDelta?.received ?? result.responses));
  return { name, result, warmupFailures, cpu, others, ...(auditDelta ? { audit: auditDelta } : {}) };
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

function pad(s: string, n: number, right = false): string {
  return right ? s.padEnd(n) : s.padStart(n);
}

/** Runs the read benchmark; resolves with the process exit code. */
export async function runReadBench(opts: ReadOptions): Promise<number> {
  process.stdout.write(`Strongroom read benchmark\n${machineLine()}\n${(await idleCheck()).line}\n`);
  const database = await createBenchDatabase(POOL_SIZE);
  const cleanups: (() => Promise<void>)[] = [() => database.close()];
  try {
    process.stdout.write(`database: ${database.description}\n`);
    if (database.kind === 'pglite') {
      process.stdout.write(
        'NOTE: no PostgreSQL server given (BENCH_DATABASE_URL / TEST_DATABASE_URL): the baseline reads from the same\n' +
          '      in-memory PGlite (one connection, no WAL fsync), so these ratios say nothing about PostgreSQL.\n',
      );
    }
    process.stdout.write(
      `load: autocannon in a child process (own event loop), ${opts.connections} connections, ` +
        `${opts.warmup} s warm-up + ${opts.duration} s measured per scenario; servers in this process on 127.0.0.1\n` +
        `pools: baseline pg.Pool max ${POOL_SIZE}, Strongroom pool max ${POOL_SIZE}\n`,
    );

    const baseline = await startBaseline(database);
    cleanups.unshift(() => baseline.close());
    const audited = await startAudited(database, opts.trace);
    cleanups.unshift(() => audited.close());

    const setupStart = performance.now();
    const hotRequests = opts.scenarios.includes('hot') ? await seedOrg(audited, 'bench-hot', opts.hotSecrets) : [];
    let spreadRequests: LoadRequest[] = [];
    if (opts.scenarios.includes('orgs')) {
      const perOrg = await inBatches(opts.orgs, 8, (i) => seedOrg(audited, `bench-org-${String(i).padStart(3, '0')}`, opts.secretsPerOrg));
      // Interleaved (org 0, org 1, …, then each org's next secret), so consecutive requests of a
      // connection go to different orgs.
      for (let s = 0; s < opts.secretsPerOrg; s += 1) for (const org of perOrg) spreadRequests.push(org[s] as LoadRequest);
    }
    process.stdout.write(
      `setup: hot org with ${hotRequests.length} secrets; ${opts.scenarios.includes('orgs') ? opts.orgs : 0} orgs with ` +
        `${opts.secretsPerOrg} secrets each (${((performance.now() - setupStart) / 1000).toFixed(1)} s)\n\n`,
    );

    const baselineRequests: LoadRequest[] = Array.from({ length: 100 }, (_, i) => ({ method: 'GET', path: `/row/${i * 7 + 1}` }));
    const results: Measured[] = [];
    if (opts.scenarios.includes('baseline')) results.push(await measure('baseline', listenUrl(baseline.app), baselineRequests, opts, database));
    const audit = { database, server: audited };
    if (opts.scenarios.includes('hot')) {
      results.push(await measure('audited, 1 hot org', listenUrl(audited.app), hotRequests, opts, database, audit));
    }
    if (opts.scenarios.includes('orgs')) {
      results.push(await measure(`audited, ${opts.orgs} orgs`, listenUrl(audited.app), spreadRequests, opts, database, audit));
    }
    return report(results, opts);
  } finally {
    for (const cleanup of cleanups) {
      try {
        await cleanup();
      } catch (err) {
        process.stderr.write(`cleanup failed: ${String(err)}\n`);
      }
    }
  }
}

function report(results: Measured[], opts: ReadOptions): number {
  const base = results.find((r) => r.name === 'baseline');
  const header =
    `${pad('scenario', 22, true)}${pad('req/s', 10)}${pad('p50 ms', 9)}${pad('p90 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}` +
    `${pad('2xx', 9)}${pad('non-2xx', 9)}${pad('errors', 8)}  ${pad('throughput ×', 24, true)}p99 ×`;
  const lines = [header, '-'.repeat(header.length + 14)];
  let failed = false;
  const problems: string[] = [];
  for (const m of results) {
    const r = m.result;
    let ratios = '';
    if (m.name !== 'baseline' && base) {
      const thr = r.rps / base.result.rps;
      const p99 = r.p99 / base.result.p99;
      ratios =
        pad(`${fmt(thr)} (≥ ${TARGET_THROUGHPUT}: ${thr >= TARGET_THROUGHPUT ? 'met' : 'NOT met'})`, 24, true) +
        `${fmt(p99)} (≤ ${TARGET_P99}: ${p99 <= TARGET_P99 ? 'met' : 'NOT met'})`;
    }
    lines.push(
      `${pad(m.name, 22, true)}${pad(fmt(r.rps, 0), 10)}${pad(fmt(r.p50), 9)}${pad(fmt(r.p90), 9)}${pad(fmt(r.p99), 9)}` +
        `${pad(fmt(r.max, 1), 9)}${pad(String(r.status2xx), 9)}${pad(String(r.non2xx), 9)}${pad(String(r.errors + r.timeouts), 8)}  ${ratios}`,
    );
    if (failuresOf(r) > 0 || m.warmupFailures > 0) {
      failed = true;
      problems.push(
        `${m.name}: ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors, ${r.timeouts} timeouts` +
          (m.warmupFailures > 0 ? `, ${m.warmupFailures} failures in the warm-up` : ''),
      );
    }
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  process.stdout.write(
    `CPU per request during the measured runs (ms; the machine has ${availableParallelism()} cores shared by all three):\n` +
      `${pad('scenario', 22, true)}${pad('server', 10)}${pad('postgres', 10)}${pad('load gen', 10)}${pad('total', 10)}\n`,
  );
  for (const m of results) {
    const n = m.audit?.received ?? m.result.responses;
    const per = (ms: number | undefined) => (ms === undefined || n === 0 ? 'n/a' : (ms / n).toFixed(3));
    const total = m.cpu.postgresMs === undefined ? undefined : m.cpu.serverMs + m.cpu.postgresMs + m.cpu.loadMs;
    process.stdout.write(
      `${pad(m.name, 22, true)}${pad(per(m.cpu.serverMs), 10)}${pad(per(m.cpu.postgresMs), 10)}${pad(per(m.cpu.loadMs), 10)}${pad(per(total), 10)}` +
        `${m.others === undefined ? '' : `   ${m.others}`}\n`,
    );
  }
  process.stdout.write('\n');
  for (const m of results) {
    if (!m.audit) continue;
    // Requests the load generator abandoned at the end of its run were still answered, and
    // audited, by the server: the chain must have grown by every request the server received.
    const inFlight = m.audit.received - m.result.responses;
    const exact = m.audit.events === m.audit.received;
    const plausible = inFlight >= 0 && inFlight <= opts.connections;
    process.stdout.write(
      `audit check, ${m.name}: chain grew by ${m.audit.events} events; the server received ${m.audit.received} requests ` +
        `(${m.result.status2xx} answered 2xx to the load generator, ${inFlight} in flight when it stopped) — ` +
        `${exact && plausible ? 'OK, one event per request' : 'MISMATCH'}\n`,
    );
    if (!exact || !plausible) {
      failed = true;
      problems.push(`${m.name}: audit events ${m.audit.events} ≠ requests received ${m.audit.received} (in flight ${inFlight})`);
    }
  }
  if (base) {
    process.stdout.write(
      `\ntargets (SPEC §3): audited throughput ≥ ${TARGET_THROUGHPUT}× baseline, audited p99 ≤ ${TARGET_P99}× baseline p99\n`,
    );
  }
  if (failed) {
    process.stdout.write(`\nFAILED:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}
