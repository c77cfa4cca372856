/**
 * `npm run bench -- audit-verify`: throughput of the offline audit verifier (SPEC §3:
 * ≥ 200,000 events/s, chain + Merkle) over 1,000,000 synthetic events of one org.
 *
 * The events are made in memory exactly as `audit_append` makes them: the event body the server
 * sends, extended with `v`, `org`, `seq`, `time` and `class`, printed as PostgreSQL prints jsonb,
 * chained with `SHA-256(prev_hash || canonical)`; most carry personal data beside the chain under
 * a salted commitment `pd`. A tree head over the event hashes (RFC 6962, computed with
 * crypto/merkle.ts, independently of the verifier's own tree) is signed with Ed25519 every
 * 100,000 events. Before generating, one event is written through the real `audit_append` (in
 * PGlite) and compared byte for byte with the generator's text, so the format cannot drift.
 *
 * Only `verifyAuditLog` is timed; generation is not.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { openPglite } from '../src/db/driver.js';
import { runMigrations } from '../src/db/migrate.js';
import { createTenantTx } from '../src/db/tenant.js';
import { leafHash, createTreeBuilder } from '../src/crypto/merkle.js';
import type { AuditEventBody } from '../src/domains/audit/audit.events.js';
import {
  GENESIS_HASH,
  chainHash,
  headSigningPayload,
  personalCommitment,
  signingKeyId,
  type ExportedEvent,
  type PersonalData,
  type SignedHead,
} from '../src/domains/audit/audit.format.js';
import { verifyAuditLog } from '../src/domains/audit/audit.verify.js';
import { bootstrapOrg } from '../src/domains/orgs/orgs.service.js';
import { idleCheck, machineLine, othersLine, watchMachineCpu } from './machine.js';

const TARGET_EVENTS_PER_SECOND = 200_000;

export interface VerifyOptions {
  events: number;
  /** A signed head every this many events. */
  headEvery: number;
  /** Timed verifications of the same events; the median is the result. */
  repeat: number;
  /** Fraction of events with personal data (and a commitment). */
  personalShare: number;
}

export const VERIFY_DEFAULTS: VerifyOptions = { events: 1_000_000, headEvery: 100_000, repeat: 3, personalShare: 0.9 };

/** PostgreSQL's jsonb text: keys ordered by length, then bytewise; ", " and ": " as separators. */
function jsonbText(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  const keys = Object.keys(value).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText((value as Record<string, unknown>)[k])}`).join(', ')}}`;
}

/** What audit_append makes of a body: `v`, `org`, `seq`, `time`, `class` set, `personal` removed. */
function canonicalOf(body: AuditEventBody, org: string, seq: number, time: string): string {
  return jsonbText({ ...body, v: 1, org, seq, time, class: body.class });
}

interface Fixture {
  vaults: string[];
  tokenIds: string[];
}

function fixture(): Fixture {
  return {
    vaults: Array.from({ length: 20 }, () => randomUUID()),
    tokenIds: Array.from({ length: 5 }, () => randomUUID()),
  };
}

/** The body the audit hook builds for request `i` (reads mostly, some writes, lists and failures). */
function bodyOf(fx: Fixture, i: number, pd: string | null): AuditEventBody {
  const vault = fx.vaults[i % fx.vaults.length] as string;
  const path = `/services/svc-${String(i % 997).padStart(3, '0')}/api_key`;
  const actor = { type: 'root_token' as const, id: fx.tokenIds[i % fx.tokenIds.length] as string };
  const common = { reason: null, request_id: randomUUID(), pd };
  switch (i % 20) {
    case 0:
      return {
        action: 'auth.failure',
        actor: { type: 'anonymous', id: '-' },
        resource: { type: 'secret', ref: `secret:${vault}${path}`, vault_id: vault, path },
        outcome: 'failure',
        status: 401,
        class: 'security',
        ...common,
      };
    case 1:
      return {
        action: 'secret.write',
        actor,
        resource: { type: 'secret', ref: `secret:${vault}${path}`, vault_id: vault, path, version: 1 + (i % 7) },
        outcome: 'success',
        status: null,
        class: 'security',
        ...common,
        reason: 'rotation ticket OPS-1234',
      };
    case 2:
      return {
        action: 'secret.list',
        actor,
        resource: { type: 'vault', ref: `vault:${vault}`, vault_id: vault },
        outcome: 'success',
        status: 200,
        class: 'operational',
        ...common,
      };
    default:
      return {
        action: 'secret.read',
        actor,
        resource: { type: 'secret', ref: `secret:${vault}${path}`, vault_id: vault, path, version: 1 + (i % 7) },
        outcome: 'success',
        status: 200,
        class: 'security',
        ...common,
      };
  }
}

function personalOf(i: number): PersonalData {
  return {
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    user_agent: i % 3 === 0 ? 'strongroom-cli/0.1.0 (linux; x64)' : 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
    email: null,
  };
}

/** audit_append's time format: microseconds, UTC, `Z`. */
function timeOf(ms: number, micros: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/**
 * Writes one event through the real audit_append (in-memory PGlite) and checks the generator
 * makes the same text and hash from the same body, org, seq and time.
 */
async function checkFormat(): Promise<void> {
  const db = await openPglite(undefined);
  try {
    await runMigrations(db);
    const withTenantTx = createTenantTx(db);
    const org = await bootstrapOrg({ withTenantTx }, 'format-check');
    const fx = fixture();
    const personal = personalOf(12345);
    const salt = randomBytes(32);
    for (const i of [0, 1, 2, 3]) {
      const body = bodyOf(fx, i, personalCommitment(salt, personal));
      await withTenantTx(org.orgId, (tx) =>
        tx.query('SELECT seq, hash FROM audit_append($1::jsonb)', [
          JSON.stringify([{ ...body, personal: { ...personal, salt: salt.toString('hex') } }]),
        ]),
      );
      const [row] = await db.withAdminConnection((c) =>
        c.query<{ seq: number; canonical: string; prev_hash: Uint8Array; hash: Uint8Array }>(
          'SELECT seq, canonical, prev_hash, hash FROM audit_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1',
          [org.orgId],
        ),
      );
      if (!row) throw new Error('format check: audit_append wrote nothing');
      const time = (JSON.parse(row.canonical) as { time: string }).time;
      const mine = canonicalOf(body, org.orgId, Number(row.seq), time);
      if (mine !== row.canonical) {
        throw new Error(`format check: the generator's text differs from audit_append's:\n  db:  ${row.canonical}\n  gen: ${mine}`);
      }
      if (!Buffer.from(chainHash(row.prev_hash, mine)).equals(Buffer.from(row.hash))) {
        throw new Error('format check: the generator hashes differently from audit_append');
      }
    }
  } finally {
    await db.close();
  }
}

/**
 * {@link canonicalOf} written out for the body shapes {@link bodyOf} makes: the same text
 * (checked against it for the first events of every run, and it against audit_append), without
 * a generic serializer and key sort per event, so a million events are made in seconds.
 */
function fastCanonical(body: AuditEventBody, org: string, seq: number, time: string): string {
  const r = body.resource;
  const resource =
    r.path === undefined
      ? `{"ref": ${JSON.stringify(r.ref)}, "type": "${r.type}", "vault_id": "${r.vault_id}"}`
      : `{"ref": ${JSON.stringify(r.ref)}, "path": ${JSON.stringify(r.path)}, "type": "${r.type}"` +
        `${r.version === undefined ? '' : `, "version": ${r.version}`}, "vault_id": "${r.vault_id}"}`;
  return (
    `{"v": 1, "pd": ${body.pd === null ? 'null' : `"${body.pd}"`}, "org": "${org}", "seq": ${seq}, "time": "${time}", ` +
    `"actor": {"id": ${JSON.stringify(body.actor.id)}, "type": "${body.actor.type}"}, "class": "${body.class}", ` +
    `"action": "${body.action}", "reason": ${body.reason === null ? 'null' : JSON.stringify(body.reason)}, ` +
    `"status": ${body.status === null ? 'null' : body.status}, "outcome": "${body.outcome}", "resource": ${resource}, ` +
    `"request_id": "${body.request_id}"}`
  );
}

/** The salted commitment, as personalCommitment computes it (checked against it for the first events). */
function fastCommitment(salt: Buffer, personal: PersonalData): string {
  const json = `{"email":${JSON.stringify(personal.email)},"ip":${JSON.stringify(personal.ip)},"user_agent":${JSON.stringify(personal.user_agent)}}`;
  return createHash('sha256').update(salt).update(json, 'utf8').digest('hex');
}

/** Events checked against the general-purpose functions before the fast ones are trusted. */
const CROSS_CHECKED = 2000;

interface Generated {
  org: string;
  events: ExportedEvent[];
  heads: SignedHead[];
  publicKeys: Map<string, Uint8Array>;
  personal: number;
  bytes: number;
}

function generate(opts: VerifyOptions): Generated {
  const org = randomUUID();
  const fx = fixture();
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(12));
  const keyId = signingKeyId(raw);
  const tree = createTreeBuilder();
  const events: ExportedEvent[] = new Array(opts.events);
  const heads: SignedHead[] = [];
  let prev: Uint8Array = GENESIS_HASH;
  let prevHex = Buffer.from(prev).toString('hex');
  let personalCount = 0;
  let bytes = 0;
  let ms = Date.UTC(2026, 0, 5, 9, 0, 0);
  let time = timeOf(ms, 0);
  const personalEvery = opts.personalShare <= 0 ? Infinity : 1 / opts.personalShare;
  let personalDebt = 0;
  let salts = randomBytes(32 * 65_536);
  let saltAt = 0;
  for (let seq = 1; seq <= opts.events; seq += 1) {
    // Group commit: a batch of events shares its audit_append call's clock_timestamp().
    if (seq % 8 === 1) {
      ms += 1;
      time = timeOf(ms, seq % 1000);
    }
    personalDebt += 1;
    let personal: ExportedEvent['personal'] = null;
    let pd: string | null = null;
    if (personalDebt >= personalEvery) {
      personalDebt -= personalEvery;
      const data = personalOf(seq);
      if (saltAt + 32 > salts.length) {
        salts = randomBytes(32 * 65_536);
        saltAt = 0;
      }
      const salt = salts.subarray(saltAt, (saltAt += 32));
      pd = fastCommitment(salt, data);
      if (seq <= CROSS_CHECKED && pd !== personalCommitment(salt, data)) throw new Error('fastCommitment differs from personalCommitment');
      personal = { ...data, salt: salt.toString('hex') };
      personalCount += 1;
    }
    const body = bodyOf(fx, seq, pd);
    const canonical = fastCanonical(body, org, seq, time);
    if (seq <= CROSS_CHECKED && canonical !== canonicalOf(body, org, seq, time)) {
      throw new Error(`fastCanonical differs from canonicalOf:\n  ${canonical}\n  ${canonicalOf(body, org, seq, time)}`);
    }
    bytes += canonical.length;
    const hash = chainHash(prev, canonical);
    const hashHex = Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
    events[seq - 1] = { seq, prev_hash: prevHex, hash: hashHex, canonical, personal };
    tree.push(leafHash(hash));
    if (seq % opts.headEvery === 0 || seq === opts.events) {
      const unsigned = {
        org,
        tree_size: seq,
        root_hash: Buffer.from(tree.root()).toString('hex'),
        signed_at: new Date(ms).toISOString(),
        key_id: keyId,
      };
      heads.push({ ...unsigned, signature: sign(null, headSigningPayload(unsigned), privateKey).toString('base64') });
    }
    prev = hash;
    prevHex = hashHex;
  }
  return { org, events, heads, publicKeys: new Map([[keyId, raw]]), personal: personalCount, bytes };
}

/** Runs the verifier benchmark; resolves with the process exit code. */
export async function runVerifyBench(opts: VerifyOptions): Promise<number> {
  process.stdout.write(`Strongroom audit verifier benchmark\n${machineLine()}\n${(await idleCheck()).line}\n`);
  await checkFormat();
  process.stdout.write('format check: generator text and hash identical to audit_append (PGlite) — OK\n');

  const genStart = performance.now();
  const g = generate(opts);
  process.stdout.write(
    `generated ${g.events.length.toLocaleString('en')} events of one org (${g.personal.toLocaleString('en')} with personal data + ` +
      `commitment; canonical text avg ${(g.bytes / g.events.length).toFixed(0)} bytes), ${g.heads.length} signed heads ` +
      `(every ${opts.headEvery.toLocaleString('en')}), in ${((performance.now() - genStart) / 1000).toFixed(1)} s (not timed)\n`,
  );

  // Untimed: let the collector finish with the generator's garbage, and warm the verifier's code
  // up on a prefix, so the timed runs measure the verifier rather than the set-up.
  await new Promise((r) => setTimeout(r, 1000));
  const prefix = Math.min(g.events.length, opts.headEvery);
  await verifyAuditLog({
    org: g.org,
    events: g.events.slice(0, prefix),
    heads: g.heads.filter((h) => h.tree_size <= prefix),
    publicKeys: g.publicKeys,
  });

  const rates: number[] = [];
  for (let run = 1; run <= opts.repeat; run += 1) {
    const watch = watchMachineCpu();
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const report = await verifyAuditLog({ org: g.org, events: g.events, heads: g.heads, publicKeys: g.publicKeys });
    const seconds = (performance.now() - start) / 1000;
    const own = process.cpuUsage(cpuStart);
    const others = othersLine(watch(), (own.user + own.system) / 1000);
    if (!report.ok || report.events !== g.events.length) {
      process.stdout.write(`run ${run}: verification FAILED: ${JSON.stringify(report)}\n`);
      return 1;
    }
    const rate = report.events / seconds;
    rates.push(rate);
    process.stdout.write(
      `run ${run}: ${report.events.toLocaleString('en')} events, ${report.heads} heads verified in ${seconds.toFixed(2)} s = ` +
        `${Math.round(rate).toLocaleString('en')} events/s (${others.text})\n`,
    );
  }
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const met = median >= TARGET_EVENTS_PER_SECOND;
  process.stdout.write(
    `\nverifier throughput (median of ${rates.length}): ${Math.round(median).toLocaleString('en')} events/s — target ≥ ` +
      `${TARGET_EVENTS_PER_SECOND.toLocaleString('en')}: ${met ? 'met' : 'NOT met'} (${(median / TARGET_EVENTS_PER_SECOND).toFixed(2)}×)\n` +
      'single thread, in-process verifyAuditLog over an in-memory iterable (no database or file reading)\n',
  );
  return 0;
}
