/**
 * The load generator, run as a child process (`fork`) so that autocannon does not share the
 * server's event loop: on a 2-core machine a load generator in the server's process would take
 * its CPU from the very loop being measured.
 *
 * Protocol: the parent sends one {@link LoadJob}; the child answers with one {@link LoadResult}
 * and exits.
 */
import autocannon from 'autocannon';

/** One request of the cycle. */
export interface LoadRequest {
  method: 'GET';
  path: string;
  headers?: Record<string, string>;
}

export interface LoadJob {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /**
   * The requests each connection cycles through. Connection i starts at offset
   * i × length / connections, so connections spread over the list (over orgs, over paths)
   * instead of marching through it in step.
   */
  requests: LoadRequest[];
}

export interface LoadResult {
  /** Wall-clock seconds autocannon ran. */
  duration: number;
  /** Responses received. */
  responses: number;
  /** Responses per second over the run. */
  rps: number;
  /** Milliseconds, from per-response timings (sub-millisecond precision, not autocannon's integer histogram). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  status2xx: number;
  non2xx: number;
  /** Connection errors and timeouts reported by autocannon. */
  errors: number;
  timeouts: number;
  /** A few non-2xx statuses seen, for the report. */
  statuses: Record<string, number>;
  /** CPU time the load generator itself used (ms), so its share of the machine is known. */
  cpuMs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

async function run(job: LoadJob): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 20);
  let n = 0;
  const statuses: Record<string, number> = {};
  let status2xx = 0;
  let clientIndex = 0;
  const total = job.requests.length;
  const cpuStart = process.cpuUsage();
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.duration,
    requests: job.requests,
    setupClient: (client) => {
      const offset = Math.floor((clientIndex++ * total) / job.connections) % total;
      client.setRequests([...job.requests.slice(offset), ...job.requests.slice(0, offset)]);
      client.on('response', (statusCode: number, _bytes: number, ms: number) => {
        if (n === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        latencies[n++] = ms;
        if (statusCode >= 200 && statusCode < 300) status2xx += 1;
        else statuses[String(statusCode)] = (statuses[String(statusCode)] ?? 0) + 1;
      });
    },
  });
  const cpu = process.cpuUsage(cpuStart);
  const sorted = latencies.subarray(0, n).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    duration: result.duration,
    responses: n,
    rps: n / result.duration,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: n === 0 ? Number.NaN : (sorted[n - 1] as number),
    mean: n === 0 ? Number.NaN : sum / n,
    status2xx,
    non2xx: n - status2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

process.once('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (err: unknown) => process.send?.({ ok: false, error: String((err as Error)?.stack ?? err) }, () => process.exit(1)),
  );
});
