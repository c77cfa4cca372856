/**
 * `npm run bench [-- <command>] [flags]`
 *
 *   read (default)   audited secret read vs bare Fastify + Postgres read (SPEC §3)
 *     --duration S       seconds measured per scenario (10)
 *     --warmup S         seconds of warm-up per scenario (2)
 *     --connections N    concurrent connections of the load generator (32)
 *     --orgs N           orgs of the spread scenario (100)
 *     --scenario LIST    comma-separated subset of baseline,hot,orgs (all)
 *     --trace            also time the audited app's database transactions (diagnostic)
 *   audit-verify     offline verifier throughput on synthetic events (SPEC §3)
 *     --events N         events (1000000)
 *     --repeat N         timed runs, median reported (3)
 *
 * Database: BENCH_DATABASE_URL or TEST_DATABASE_URL (a fresh sr_bench_* database on that server,
 * dropped at the end), else in-memory PGlite.
 */
import { parseArgs } from 'node:util';
import { runVerifyBench, VERIFY_DEFAULTS } from './audit-verify.js';
import { READ_DEFAULTS, runReadBench, type Scenario } from './read.js';

function positiveNumber(flag: string, value: string | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new Error(`--${flag} takes a non-negative number, not "${value}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      orgs: { type: 'string' },
      scenario: { type: 'string' },
      events: { type: 'string' },
      repeat: { type: 'string' },
      trace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'read';
  if (values.help) {
    process.stdout.write('usage: npm run bench [-- read|audit-verify] [--duration S] [--warmup S] [--connections N] [--orgs N] [--scenario baseline,hot,orgs] [--trace] [--events N] [--repeat N]\n');
    return 0;
  }
  switch (command) {
    case 'read': {
      const scenarios = (values.scenario ?? READ_DEFAULTS.scenarios.join(',')).split(',').map((s) => s.trim());
      for (const s of scenarios) {
        if (!['baseline', 'hot', 'orgs'].includes(s)) throw new Error(`unknown scenario "${s}" (baseline, hot, orgs)`);
      }
      return runReadBench({
        ...READ_DEFAULTS,
        duration: positiveNumber('duration', values.duration, READ_DEFAULTS.duration),
        warmup: positiveNumber('warmup', values.warmup, READ_DEFAULTS.warmup),
        connections: Math.max(1, positiveNumber('connections', values.connections, READ_DEFAULTS.connections, true)),
        orgs: Math.max(1, positiveNumber('orgs', values.orgs, READ_DEFAULTS.orgs, true)),
        scenarios: scenarios as Scenario[],
        trace: values.trace ?? false,
      });
    }
    case 'audit-verify':
      return runVerifyBench({
        ...VERIFY_DEFAULTS,
        events: Math.max(1, positiveNumber('events', values.events, VERIFY_DEFAULTS.events, true)),
        repeat: Math.max(1, positiveNumber('repeat', values.repeat, VERIFY_DEFAULTS.repeat, true)),
      });
    default:
      throw new Error(`unknown benchmark "${command}" (read, audit-verify)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
