/**
 * `--trace`: where an audited request's time goes, seen from the database side. Wraps the
 * Database handed to the app so that every transaction is timed in three parts: getting a
 * pooled connection plus BEGIN and the settings statement (until the body starts), the body's
 * statements, and COMMIT. Transactions are grouped by their first statement.
 */
import type { Database, Queryable, Row } from '../src/db/driver.js';

interface Bucket {
  count: number;
  acquire: number;
  body: number;
  commit: number;
  statements: number;
}

export interface TransactionTrace {
  db: Database;
  reset(): void;
  report(requests: number): string;
}

function labelOf(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  const fn = /FROM (audit_append|audit_record_head|audit_prune)\b/.exec(flat);
  if (fn) return `${fn[1]}()`;
  const table = /\b(?:FROM|INTO|UPDATE)\s+([a-z_]+)/i.exec(flat);
  return `${flat.split(' ')[0]?.toUpperCase() ?? '?'} ${table?.[1] ?? flat.slice(0, 30)}`;
}

export function traceTransactions(inner: Database): TransactionTrace {
  let buckets = new Map<string, Bucket>();
  let inFlight = 0;
  let maxInFlight = 0;
  const db: Database = {
    kind: inner.kind,
    withAdminConnection: (fn) => inner.withAdminConnection(fn),
    ping: () => inner.ping(),
    close: () => inner.close(),
    transaction<T>(settings: Readonly<Record<string, string>>, fn: (q: Queryable) => Promise<T>): Promise<T> {
      const t0 = performance.now();
      let t1 = t0;
      let t2 = t0;
      let label = '(no statement)';
      let statements = 0;
      inFlight += 1;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      return inner
        .transaction(settings, async (q) => {
          t1 = performance.now();
          const wrapped: Queryable = {
            query<R extends object = Row>(sql: string, params?: readonly unknown[]) {
              if (statements === 0) label = labelOf(sql);
              statements += 1;
              return q.query<R>(sql, params);
            },
          };
          try {
            return await fn(wrapped);
          } finally {
            t2 = performance.now();
          }
        })
        .finally(() => {
          inFlight -= 1;
          const b = buckets.get(label) ?? { count: 0, acquire: 0, body: 0, commit: 0, statements: 0 };
          b.count += 1;
          b.acquire += t1 - t0;
          b.body += t2 - t1;
          b.commit += performance.now() - t2;
          b.statements += statements;
          buckets.set(label, b);
        });
    },
  };
  return {
    db,
    reset() {
      buckets = new Map();
      maxInFlight = inFlight;
    },
    report(requests) {
      const rows = [...buckets].sort((a, b) => b[1].count - a[1].count);
      const head = `  ${'transaction (first statement)'.padEnd(34)}${'count'.padStart(8)}${'per req'.padStart(9)}${'stmts'.padStart(7)}` +
        `${'pool+BEGIN ms'.padStart(15)}${'body ms'.padStart(10)}${'COMMIT ms'.padStart(11)}`;
      const lines = rows.map(
        ([label, b]) =>
          `  ${label.slice(0, 33).padEnd(34)}${String(b.count).padStart(8)}${(b.count / Math.max(1, requests)).toFixed(3).padStart(9)}` +
          `${(b.statements / b.count).toFixed(1).padStart(7)}${(b.acquire / b.count).toFixed(2).padStart(15)}` +
          `${(b.body / b.count).toFixed(2).padStart(10)}${(b.commit / b.count).toFixed(2).padStart(11)}`,
      );
      return `${head}\n${lines.join('\n')}\n  (averages per transaction; most transactions in flight at once: ${maxInFlight})\n`;
    },
  };
}
