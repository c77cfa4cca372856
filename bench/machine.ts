import { readFileSync, readdirSync } from 'node:fs';
import { cpus, freemem, platform, release, totalmem } from 'node:os';

/** One line describing the machine the numbers come from. */
export function machineLine(): string {
  const list = cpus();
  const models = [...new Set(list.map((c) => c.model.trim()))].join(' / ');
  const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
  return (
    `machine: ${list.length} × ${models}; ${gib(totalmem())} GiB RAM (${gib(freemem())} free); ` +
    `${platform()} ${release()}; Node ${process.version}`
  );
}

function cpuTotals(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

/**
 * How busy the machine is before the benchmark starts (CPU used by other processes over one
 * second). Every core counts on a small machine: a test run next to the benchmark skews it.
 */
export async function idleCheck(): Promise<{ busyPercent: number; line: string }> {
  const a = cpuTotals();
  await new Promise((r) => setTimeout(r, 1000));
  const b = cpuTotals();
  const busyPercent = b.total === a.total ? 0 : 100 * (1 - (b.idle - a.idle) / (b.total - a.total));
  const warn = busyPercent > 15 ? ' — WARNING: the machine is busy with something else; results will be skewed' : '';
  return { busyPercent, line: `CPU busy before the run: ${busyPercent.toFixed(0)}%${warn}` };
}

/**
 * CPU time (ms) used so far by each `postgres` process of this machine (backends, WAL writer,
 * checkpointer), by pid, when the database server is local and /proc is readable; undefined
 * otherwise. Other databases of the same server count too: run the benchmark on a quiet server.
 */
export function localPostgresCpuMs(): Map<number, number> | undefined {
  if (process.platform !== 'linux') return undefined;
  const byPid = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    // Fields after the command: state is field 3; utime and stime are fields 14 and 15, in
    // USER_HZ ticks (100 per second on Linux).
    const fields = stat.slice(close + 2).split(' ');
    byPid.set(Number(pid), (Number(fields[11]) + Number(fields[12])) * 10);
  }
  return byPid.size === 0 ? undefined : byPid;
}

/**
 * Postgres CPU between two readings. Per process, because processes come and go (an idle pool
 * closes its connections): a process that exited takes its whole history out of a plain sum.
 */
export function postgresCpuDelta(before: Map<number, number> | undefined, after: Map<number, number> | undefined): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/**
 * Starts watching the machine's CPU: the returned function says how much CPU (ms, all cores)
 * the machine used since, so a caller can subtract what the benchmark itself used and report
 * what other processes took from it.
 */
export function watchMachineCpu(): () => { busyMs: number; capacityMs: number } {
  const a = cpuTotals();
  return () => {
    const b = cpuTotals();
    return { busyMs: b.total - a.total - (b.idle - a.idle), capacityMs: b.total - a.total };
  };
}

/** "other processes used N% of the machine" from a watch and the benchmark's own CPU (ms). */
export function othersLine(watch: { busyMs: number; capacityMs: number }, ownMs: number): { percent: number; text: string } {
  const percent = watch.capacityMs <= 0 ? 0 : (100 * Math.max(0, watch.busyMs - ownMs)) / watch.capacityMs;
  const warn = percent > 10 ? ' — WARNING: something else ran meanwhile; this result is skewed' : '';
  return { percent, text: `other processes: ${percent.toFixed(0)}% of the machine${warn}` };
}
