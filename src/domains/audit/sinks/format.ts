import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What audit sinks receive (A5), as pure functions: the delivered record of an event, the
 * webhook body and its signature, and the RFC 5424 syslog message with its TCP framing.
 * Records carry the chained event, its place in the chain and the event's IP address and user
 * agent (the org's own SIEM may see them); never a secret value, the personal-data salt, the
 * e-mail address, or anything else.
 */

/** An event as the delivery worker reads it (audit_events LEFT JOIN audit_personal). */
export interface SinkEventRow {
  seq: number;
  prev_hash: Uint8Array;
  hash: Uint8Array;
  event_time: Date;
  /** Null once retention pruned the event's content. */
  canonical: string | null;
  ip: string | null;
  user_agent: string | null;
}

/** One delivered event. `event` is the chained event (null once pruned); hashes are lower-case hex. */
export interface DeliveredRecord {
  seq: number;
  hash: string;
  prev_hash: string;
  event: Record<string, unknown> | null;
  ip: string | null;
  user_agent: string | null;
}

/** Facility 13: log audit (RFC 5424 §6.2.1). */
const FACILITY_LOG_AUDIT = 13;
const SEVERITY_INFO = 6;
const SEVERITY_WARNING = 4;
/** Private enterprise number of the structured-data id (RFC 5424 §7.2.2). */
export const SD_ID = 'strongroom@32473';

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** The record a sink receives for one event. */
export function toDeliveredRecord(row: SinkEventRow): DeliveredRecord {
  let event: Record<string, unknown> | null = null;
  if (row.canonical !== null) {
    const parsed: unknown = JSON.parse(row.canonical);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) event = parsed as Record<string, unknown>;
  }
  return {
    seq: Number(row.seq),
    hash: hex(row.hash),
    prev_hash: hex(row.prev_hash),
    event,
    ip: event === null ? null : row.ip,
    user_agent: event === null ? null : row.user_agent,
  };
}

/** The JSON body of one webhook delivery. */
export function webhookBody(orgId: string, records: readonly DeliveredRecord[]): string {
  return JSON.stringify({ org: orgId, events: records });
}

/**
 * The `strongroom-signature` header (Stripe's scheme): `t=<unix seconds>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<body>")>`. The key is the secret exactly as shown at creation
 * (the UTF-8 bytes of `whsec_…`), so receivers use it as given.
 */
export function signatureHeader(secret: Uint8Array, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.`, 'utf8').update(body, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Verifies a `strongroom-signature` header as a receiver would: any `v1` matching (compared in
 * constant time) within `toleranceSeconds` of `nowSeconds` (replay window).
 */
export function verifySignatureHeader(
  secret: Uint8Array | string,
  header: string,
  body: string,
  opts: { nowSeconds: number; toleranceSeconds: number },
): boolean {
  const parts = header.split(',').map((p) => p.split('=', 2) as [string, string | undefined]);
  const t = parts.find(([k]) => k === 't')?.[1];
  if (t === undefined || !/^\d{1,12}$/.test(t)) return false;
  if (Math.abs(opts.nowSeconds - Number(t)) > opts.toleranceSeconds) return false;
  const expected = Buffer.from(
    createHmac('sha256', secret).update(`${t}.`, 'utf8').update(body, 'utf8').digest('hex'),
    'utf8',
  );
  let ok = false;
  for (const [k, v] of parts) {
    if (k !== 'v1' || v === undefined) continue;
    const given = Buffer.from(v, 'utf8');
    if (given.length === expected.length && timingSafeEqual(given, expected)) ok = true;
  }
  return ok;
}

/** RFC 5424 §6.3.3: in a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
export function escapeSdParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** A header field of at most `max` PRINTUSASCII characters (%d33-126), or the NILVALUE `-`. */
function headerField(value: string | undefined, max: number): string {
  const printable = (value ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return printable === '' ? '-' : printable;
}

// RFC 5424 §6.2.3 TIMESTAMP (RFC 3339, at most 6 fraction digits).
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** The PRI of an event: facility log audit, warning for failure and error outcomes, else info. */
export function syslogPri(outcome: unknown): number {
  const severity = outcome === 'failure' || outcome === 'error' ? SEVERITY_WARNING : SEVERITY_INFO;
  return FACILITY_LOG_AUDIT * 8 + severity;
}

/**
 * One RFC 5424 message for one delivered event:
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [strongroom@32473 org="…" seq="…" hash="…"] MSG`,
 * MSGID the action, MSG the JSON record (no BOM: MSG-ANY, §6.4).
 */
export function syslogMessage(
  orgId: string,
  record: DeliveredRecord,
  opts: { eventTime: Date; hostname: string; appName: string },
): string {
  const event = record.event;
  const time = typeof event?.time === 'string' && TIMESTAMP.test(event.time) ? event.time : opts.eventTime.toISOString();
  const action = typeof event?.action === 'string' ? event.action : undefined;
  const sd =
    `[${SD_ID} org="${escapeSdParamValue(orgId)}" seq="${record.seq}" ` + `hash="${escapeSdParamValue(record.hash)}"]`;
  return [
    `<${syslogPri(event?.outcome)}>1`,
    time,
    headerField(opts.hostname, 255),
    headerField(opts.appName, 48),
    '-',
    headerField(action, 32),
    sd,
    JSON.stringify(record),
  ].join(' ');
}

/** Octet-counting framing (RFC 6587 §3.4.1, RFC 5425 §4.3): `MSG-LEN SP SYSLOG-MSG`. */
export function frameOctetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
