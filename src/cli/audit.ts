import { isAscii } from 'node:buffer';
import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Database } from '../db/driver.js';
import { pendingMigrations } from '../db/migrate.js';
import { createTenantTx, type WithTenantTx } from '../db/tenant.js';
import type { ExportedEvent, SignedHead } from '../domains/audit/audit.format.js';
import { listAuditEvents, listHeads } from '../domains/audit/audit.repo.js';
import { toExported } from '../domains/audit/audit.service.js';
import {
  createAuditVerifier,
  createContentChecker,
  verifyAuditLog,
  type ContentChecker,
  type MalformedEvent,
  type VerifyInput,
  type VerifyReport,
} from '../domains/audit/audit.verify.js';
import { openConfiguredDatabase, pgliteDir } from '../runtime.js';

/**
 * `strongroom audit verify` (A3): checks audit logs end to end — chain, content, personal-data
 * commitments, signed heads — and names the first bad seq of each org. Two sources:
 * the configured database (every org, or `--org ID`), or an export (`--file export.jsonl
 * --heads heads.json`, no database and no configuration needed).
 *
 * Prints one line per org on stdout and progress on stderr. The exit code is 0 when every org
 * verified, 1 when one did not.
 */

/** Events read per tenant transaction: keyset pages keep each transaction short. */
const PAGE = 10_000;
const GENESIS_HEX = '0'.repeat(64);

function reportLine(report: VerifyReport, heads: number): string {
  if (report.ok) return `org ${report.org}: OK, ${report.events} events, ${heads} signed heads (${report.pruned} pruned)\n`;
  return `org ${report.org}: FAILED at seq ${report.firstBadSeq}: ${report.reason}\n`;
}

function progress(org: string): (verified: number) => void {
  return (verified) => process.stderr.write(`verified ${verified} events of org ${org}\n`);
}

/** Verifies the audit log of `--org`, or of every org the database shows, in the configured database. */
export async function verifyDatabaseAudit(config: Config, opts: { org: string | undefined }): Promise<number> {
  // Opening PGlite creates a database where there is none; a verifier must not.
  if (config.databaseUrl === undefined && !existsSync(pgliteDir(config.dataDir))) {
    process.stderr.write(`strongroom: there is no database in ${config.dataDir} (set --data-dir or DATABASE_URL).\n`);
    return 1;
  }
  const database = await openConfiguredDatabase(config, 'audit verify');
  try {
    const pending = await pendingMigrations(database.db);
    if (pending.length > 0) {
      process.stderr.write(
        `strongroom: the database on ${database.description} needs migrations (${pending.map((m) => m.name).join(', ')}); ` +
          'run "strongroom migrate" first.\n',
      );
      return 1;
    }
    const orgs = opts.org === undefined ? await listAuditedOrgs(database.db) : [opts.org];
    if (orgs.length === 0) {
      process.stderr.write(
        `strongroom: no org has audit events on ${database.description}, as this login sees it. ` +
          'A login that is not a superuser sees no org here (row-level security); name one with --org ID.\n',
      );
      return 1;
    }
    const withTenantTx = createTenantTx(database.db);
    let failed = false;
    for (const org of orgs) {
      const { report, heads } = await verifyOrg(withTenantTx, org);
      process.stdout.write(reportLine(report, heads));
      if (!report.ok) failed = true;
    }
    return failed ? 1 : 0;
  } finally {
    await database.close();
  }
}

/**
 * Every org with a chain. As the login role: a superuser (the operator's usual login, and
 * PGlite's) sees every org; a login bound by row-level security sees none, and is told so.
 */
async function listAuditedOrgs(db: Database): Promise<string[]> {
  try {
    const rows = await db.withAdminConnection((c) => c.query<{ org_id: string }>('SELECT org_id FROM audit_chain_heads ORDER BY org_id'));
    return rows.map((r) => r.org_id);
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return []; // may not read the table at all
    throw err;
  }
}

async function verifyOrg(withTenantTx: WithTenantTx, org: string): Promise<{ report: VerifyReport; heads: number }> {
  const { heads, publicKeys, chainHead } = await withTenantTx(org, async (tx) => {
    const rows = await listHeads(tx);
    const keys = await tx.query<{ key_id: string; public_key: Uint8Array }>(
      `SELECT key_id, public_key FROM signing_keys WHERE purpose = 'audit-heads'`,
    );
    const [chain] = await tx.query<{ seq: number | string; hash: string }>(
      `SELECT seq, encode(hash, 'hex') AS hash FROM audit_chain_heads WHERE org_id = $1`,
      [org],
    );
    return {
      heads: rows.map(
        (r): SignedHead => ({
          org,
          tree_size: r.tree_size,
          root_hash: Buffer.from(r.root_hash).toString('hex'),
          signed_at: r.signed_at.toISOString(),
          key_id: r.key_id,
          signature: Buffer.from(r.signature).toString('base64'),
        }),
      ),
      publicKeys: new Map(keys.map((k) => [k.key_id, new Uint8Array(k.public_key)])),
      // Every org with events has a chain head row; a missing one means every event lies beyond it.
      chainHead: chain === undefined ? { seq: 0, hash: GENESIS_HEX } : { seq: Number(chain.seq), hash: chain.hash },
    };
  });
  const events = databaseEvents(withTenantTx, org);
  const report = await verifyAuditLog({ org, events, heads, publicKeys, chainHead, onProgress: progress(org) });
  return { report, heads: heads.length };
}

/** The org's events in seq order, a keyset page per tenant transaction. */
async function* databaseEvents(withTenantTx: WithTenantTx, org: string): AsyncGenerator<ExportedEvent> {
  let afterSeq = 0;
  for (;;) {
    const rows = await withTenantTx(org, (tx) => listAuditEvents(tx, { filter: {}, afterSeq, limit: PAGE }));
    for (const row of rows) yield toExported(row);
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < PAGE) return;
    afterSeq = last.seq;
  }
}

// An export's heads document, as `GET /v1/audit/heads` serves it; bounded like any input. The
// values themselves are the verifier's to judge, so a bad head is reported at its tree size.
const headsDocumentSchema = z.object({
  org: z.string().max(200),
  public_keys: z.record(z.string().max(200), z.string().max(200)),
  heads: z
    .array(
      z.object({
        org: z.string().max(200),
        tree_size: z.number().int().positive(),
        root_hash: z.string().max(200),
        signed_at: z.string().max(100),
        key_id: z.string().max(200),
        signature: z.string().max(200),
      }),
    )
    .max(10_000_000),
});

function readHeadsDocument(path: string): z.infer<typeof headsDocumentSchema> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the heads file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`the heads file ${path} is not JSON`, { cause: err });
  }
  const result = headsDocumentSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.join('.') || 'document';
    throw new Error(`the heads file ${path} is not a heads document (GET /v1/audit/heads): ${where} ${issue?.message ?? ''}`.trim());
  }
  return result.data;
}

function isTextOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/**
 * One export line as an event, or why it is not one. Hand-written rather than zod: this runs for
 * every line at the verifier's full speed.
 */
function parseExportLine(line: string): ExportedEvent | MalformedEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { malformed: 'the line is not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { malformed: 'the line is not a JSON object' };
  const e = value as Record<string, unknown>;
  if (typeof e.seq !== 'number' || typeof e.prev_hash !== 'string' || typeof e.hash !== 'string' || !isTextOrNull(e.canonical)) {
    return { malformed: 'seq, prev_hash, hash or canonical is missing or of the wrong type' };
  }
  let personal: ExportedEvent['personal'] = null;
  if (e.personal !== null && e.personal !== undefined) {
    const p = e.personal as Record<string, unknown>;
    if (typeof p !== 'object' || typeof p.salt !== 'string' || !isTextOrNull(p.ip) || !isTextOrNull(p.user_agent) || !isTextOrNull(p.email)) {
      return { malformed: 'personal is not {salt, ip, user_agent, email}' };
    }
    personal = { salt: p.salt, ip: p.ip, user_agent: p.user_agent, email: p.email };
  }
  return { seq: e.seq, prev_hash: e.prev_hash, hash: e.hash, canonical: e.canonical, personal };
}

// --- Offline: an export, checked on worker threads -------------------------------------------
//
// Reading an export costs more than verifying it: parsing a JSONL line and hashing its event take
// about as long as the rest of verification, and none of it depends on the neighbouring lines.
// So workers turn byte chunks of whole lines into checked events (parse, then the position-
// independent content checks of createContentChecker), and the main thread feeds their compact
// results in order to the sequential verifier (seq, links, Merkle tree, heads). The verdict is the
// one verifyAuditLog gives for the same lines, with every core at work (SPEC §3: 200,000
// events/s).

const WORKER_ROLE = 'strongroom-audit-verify-lines';
/** Bytes of whole lines handed to a worker at once. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** A prev_hash or hash that is not 64 characters is replaced by this, which matches no hash. */
const NOT_A_HASH = 'x'.repeat(64);

interface LineWorkerData {
  role: typeof WORKER_ROLE;
  org: string;
}

/** A worker's answer: what it found, and the chunk's memory handed back for reuse. */
interface LineWorkerReply {
  result: CheckedLines;
  memory: ArrayBuffer;
}

/** What a worker found in one chunk: every event up to and including the first problem. */
interface CheckedLines {
  count: number;
  seqs: Float64Array<ArrayBuffer>;
  /** 64 characters per event. */
  prevHashes: string;
  /** 64 characters per event. */
  hashes: string;
  pruned: Uint8Array<ArrayBuffer>;
  /** Index of the event with a problem, or -1. */
  problemAt: number;
  problem: string;
  /** The problem is an unreadable line rather than bad content. */
  malformed: boolean;
}

function fixedHash(value: string): string {
  return value.length === 64 ? value : NOT_A_HASH;
}

/** Parses and content-checks the lines of one chunk (on a worker thread). */
function checkLines(text: string, check: ContentChecker): CheckedLines {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() !== '') lines.push(line);
  }
  const seqs = new Float64Array(lines.length);
  const pruned = new Uint8Array(lines.length);
  const prevHashes: string[] = [];
  const hashes: string[] = [];
  const found = (count: number, problemAt: number, problem: string, malformed: boolean): CheckedLines => ({
    count,
    seqs,
    prevHashes: prevHashes.join(''),
    hashes: hashes.join(''),
    pruned,
    problemAt,
    problem,
    malformed,
  });
  for (let i = 0; i < lines.length; i += 1) {
    const event = parseExportLine(lines[i] as string);
    if ('malformed' in event) {
      prevHashes.push(NOT_A_HASH);
      hashes.push(NOT_A_HASH);
      return found(i + 1, i, event.malformed, true);
    }
    seqs[i] = event.seq;
    pruned[i] = event.canonical === null ? 1 : 0;
    prevHashes.push(fixedHash(event.prev_hash));
    hashes.push(fixedHash(event.hash));
    const problem = check(event);
    if (problem !== undefined) return found(i + 1, i, problem, false);
  }
  return found(lines.length, -1, '', false);
}

function runLineWorker(data: LineWorkerData): void {
  const port = parentPort;
  if (port === null) return;
  const check = createContentChecker(data.org);
  port.on('message', (bytes: Uint8Array<ArrayBuffer>) => {
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // ASCII (the usual export) decodes faster as latin1, to the same text.
    const result = checkLines(chunk.toString(isAscii(chunk) ? 'latin1' : 'utf8'), check);
    // The chunk's memory goes back to the reader, which fills it again: fresh pages cost more.
    port.postMessage({ result, memory: bytes.buffer } satisfies LineWorkerReply, [result.seqs.buffer, result.pruned.buffer, bytes.buffer]);
  });
}

if (!isMainThread && (workerData as Partial<LineWorkerData> | null)?.role === WORKER_ROLE) {
  runLineWorker(workerData as LineWorkerData);
}

/** A worker that answers chunks in the order it was given them. */
function startLineWorker(
  org: string,
  recycle: (memory: ArrayBuffer) => void,
): { check(bytes: Uint8Array<ArrayBuffer>): Promise<CheckedLines>; stop(): Promise<number> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: WORKER_ROLE, org } satisfies LineWorkerData });
  const waiting: { resolve(r: CheckedLines): void; reject(e: unknown): void }[] = [];
  let broken: unknown;
  worker.on('message', (reply: LineWorkerReply) => {
    recycle(reply.memory);
    waiting.shift()?.resolve(reply.result);
  });
  const fail = (err: unknown) => {
    broken = err;
    for (const w of waiting.splice(0)) w.reject(err);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`an audit verify worker stopped (exit code ${code})`)));
  return {
    check(bytes) {
      if (broken !== undefined) return Promise.reject(broken);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        worker.postMessage(bytes, [bytes.buffer]);
      });
    },
    stop: () => worker.terminate(),
  };
}

/**
 * Reads a file as chunks of whole lines (the last chunk may lack its newline), each in memory of
 * its own, taken from `spare` when there is some.
 */
async function* lineChunks(path: string, spare: ArrayBuffer[]): AsyncGenerator<Uint8Array<ArrayBuffer>> {
  const file = await open(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    for (;;) {
      const size = Math.max(CHUNK_BYTES, carry.length * 2);
      const memory = spare.length > 0 && size === CHUNK_BYTES ? (spare.pop() as ArrayBuffer) : new ArrayBuffer(size);
      const buf = Buffer.from(memory);
      carry.copy(buf, 0);
      const { bytesRead } = await file.read(buf, carry.length, buf.length - carry.length, null);
      const filled = carry.length + bytesRead;
      if (bytesRead === 0) {
        if (filled > 0) yield buf.subarray(0, filled);
        return;
      }
      const cut = buf.lastIndexOf(0x0a, filled - 1) + 1;
      // A line longer than the buffer: keep reading into a larger one.
      if (cut === 0) {
        carry = Buffer.from(buf.subarray(0, filled));
        continue;
      }
      carry = Buffer.from(buf.subarray(cut, filled));
      yield buf.subarray(0, cut);
    }
  } finally {
    await file.close();
  }
}

async function verifyExportFile(path: string, input: Omit<VerifyInput, 'events'>): Promise<VerifyReport> {
  const verifier = createAuditVerifier(input);
  const threads = Math.min(4, Math.max(1, availableParallelism()));
  const spare: ArrayBuffer[] = [];
  const recycle = (memory: ArrayBuffer) => {
    if (memory.byteLength === CHUNK_BYTES) spare.push(memory);
  };
  const workers = Array.from({ length: threads }, () => startLineWorker(input.org, recycle));
  const chunks = lineChunks(path, spare);
  const pending: Promise<CheckedLines>[] = [];
  let dispatched = 0;
  let done = false;
  const fill = async (): Promise<void> => {
    while (!done && pending.length < 2 * threads) {
      const next = await chunks.next();
      if (next.done === true) {
        done = true;
        return;
      }
      const promise = (workers[dispatched++ % threads] as (typeof workers)[number]).check(next.value);
      promise.catch(() => {}); // awaited in order below; this only keeps a later rejection from being "unhandled"
      pending.push(promise);
    }
  };
  try {
    await fill();
    for (let batch = pending.shift(); batch !== undefined; batch = pending.shift()) {
      const r = await batch;
      let ok = true;
      for (let i = 0; i < r.count && ok; i += 1) {
        if (i === r.problemAt && r.malformed) {
          ok = verifier.push({ malformed: r.problem });
        } else {
          const at = 64 * i;
          ok = verifier.pushChecked(
            r.seqs[i] as number,
            r.prevHashes.slice(at, at + 64),
            r.hashes.slice(at, at + 64),
            r.pruned[i] === 1,
            i === r.problemAt ? r.problem : undefined,
          );
        }
      }
      if (!ok) break;
      await fill();
    }
    return verifier.finish();
  } finally {
    await chunks.return(undefined);
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/** Verifies an export against its heads document, offline. */
export async function verifyExportedAudit(opts: { file: string; heads: string }): Promise<number> {
  const doc = readHeadsDocument(opts.heads);
  const publicKeys = new Map(Object.entries(doc.public_keys).map(([id, key]) => [id, new Uint8Array(Buffer.from(key, 'base64'))]));
  let report: VerifyReport;
  try {
    report = await verifyExportFile(opts.file, { org: doc.org, heads: doc.heads, publicKeys, onProgress: progress(doc.org) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot verify the export ${opts.file}: ${code ?? (err as Error).message}`, { cause: err });
  }
  process.stdout.write(reportLine(report, doc.heads.length));
  return report.ok ? 0 : 1;
}
