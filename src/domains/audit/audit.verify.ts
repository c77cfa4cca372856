import * as nodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { headSigningPayload, personalCommitment, type ExportedEvent, type SignedHead } from './audit.format.js';

/**
 * The audit log verifier (A3, A6; SPEC §3 "tampering by a superuser … detected at the exact
 * position"). Pure: it reads only the iterables it is given, so the same code checks a database
 * (`strongroom audit verify`) and an export (`--file`, `--heads`).
 *
 * It walks the events once, in seq order, and stops at the first problem:
 * 1. seq runs 1, 2, 3, … (a deleted, duplicated or reordered event is named by the seq expected);
 * 2. `prev_hash` links to the previous event's `hash` (genesis for seq 1);
 * 3. `hash = SHA-256(prev_hash || canonical)`, and the canonical event names this org and seq
 *    (A2); personal data beside it matches its salted commitment `pd`;
 * 4. a pruned event (canonical null, A6) is accepted only under a validly signed head;
 * 5. the RFC 6962 root over the event hashes equals each signed head's root at its size, and the
 *    head's Ed25519 signature verifies with a known key;
 * 6. nothing is missing at the end (signed heads and the database's chain head are reached).
 * Checks 1–3 come first at each event, so an edited field is named at its own seq; a head can
 * only say that something in 1..tree_size differs, so a head failure names its tree size.
 *
 * Check 3 depends on nothing but the event, so it is a separate {@link ContentChecker} that a
 * caller may run elsewhere (the CLI runs it on worker threads while it parses an export) and
 * hand to the sequential {@link AuditVerifier}; {@link verifyAuditLog} does both in one pass.
 */

/** A line of an export that could not be read as an event; reported at the seq it should have had. */
export interface MalformedEvent {
  readonly malformed: string;
}

/** What to verify: one org's events, its signed heads and the keys that may have signed them. */
export interface VerifyInput {
  org: string;
  /** In seq order as stored. */
  events: AsyncIterable<ExportedEvent | MalformedEvent> | Iterable<ExportedEvent | MalformedEvent>;
  /** Any order. */
  heads: readonly SignedHead[];
  /** key_id → raw 32-byte Ed25519 public key. */
  publicKeys: ReadonlyMap<string, Uint8Array>;
  /** The database's recorded chain head (audit_chain_heads), when verifying a database. */
  chainHead?: { seq: number; hash: string };
  /** Called every {@link PROGRESS_INTERVAL} events. */
  onProgress?: (verified: number) => void;
}

/** The verdict: everything checked, or the first bad position and why. */
export type VerifyReport =
  | { ok: true; org: string; events: number; heads: number; pruned: number }
  | { ok: false; org: string; firstBadSeq: number; reason: string; events: number };

/** How often {@link VerifyInput.onProgress} is called, in events. */
export const PROGRESS_INTERVAL = 100_000;

const HEX32 = /^[0-9a-f]{64}$/;
// What JSON text escapes (quote, backslash, controls), and what RFC 8785 refuses or leaves to
// care (surrogates; U+2028/9): text with any of these takes the reference path.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\uD800-\uDFFF]/;
const GENESIS_HEX = '0'.repeat(64);
const encoder = new TextEncoder();
// RFC 8410 §4: the SubjectPublicKeyInfo DER of an Ed25519 key is this fixed prefix + the 32 raw bytes.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A head prepared once: its root, and why it cannot be trusted (if it cannot). */
interface PreparedHead {
  treeSize: number;
  /** Lower-case hex, compared with the computed root. */
  root: string;
  problem: string | undefined;
}

class Failure {
  constructor(
    readonly seq: number,
    readonly reason: string,
  ) {}
}

function ed25519Key(raw: Uint8Array): KeyObject | undefined {
  if (raw.length !== 32) return undefined;
  try {
    return nodeCrypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

function prepareHeads(input: Omit<VerifyInput, 'events'>): PreparedHead[] {
  const keys = new Map<string, KeyObject | undefined>();
  const keyFor = (keyId: string): KeyObject | undefined => {
    if (!keys.has(keyId)) {
      const raw = input.publicKeys.get(keyId);
      keys.set(keyId, raw === undefined ? undefined : ed25519Key(raw));
    }
    return keys.get(keyId);
  };
  const prepared = input.heads.map((head): PreparedHead => {
    const treeSize = head.tree_size;
    const rootOk = typeof head.root_hash === 'string' && HEX32.test(head.root_hash);
    return { treeSize, root: rootOk ? head.root_hash : '', problem: headProblem(head, input.org, rootOk, keyFor) };
  });
  return prepared.sort((a, b) => a.treeSize - b.treeSize);
}

function headProblem(
  head: SignedHead,
  org: string,
  rootOk: boolean,
  keyFor: (keyId: string) => KeyObject | undefined,
): string | undefined {
  if (head.org !== org) return `it belongs to another org (${String(head.org)})`;
  if (!rootOk) return 'its root hash is not 32 bytes of lower-case hex';
  const key = typeof head.key_id === 'string' ? keyFor(head.key_id) : undefined;
  if (key === undefined) return `it was signed with an unknown or unusable key (${String(head.key_id)})`;
  const signature = typeof head.signature === 'string' ? Buffer.from(head.signature, 'base64') : Buffer.alloc(0);
  if (signature.length !== 64) return 'its signature is not 64 bytes';
  let valid = false;
  try {
    valid = nodeCrypto.verify(null, headSigningPayload(head), key, signature);
  } catch {
    valid = false; // a field that is not JSON (canonicalBytes refuses it) cannot be signed either
  }
  return valid ? undefined : 'its Ed25519 signature does not verify';
}

/**
 * SHA-256 of `data` as a string in `encoding`. The one-shot `crypto.hash` (Node ≥ 20.12) costs a
 * fraction of a `Hash` object for inputs this small, and a string digest (hex to compare with an
 * event's hash, latin1 — Node's 'binary' — to feed back into the tree) costs less than a Buffer one; older Node falls
 * back to `createHash`.
 */
const sha256: (data: Uint8Array, encoding: 'hex' | 'binary') => string =
  typeof nodeCrypto.hash === 'function'
    ? (data, encoding) => nodeCrypto.hash('sha256', data, encoding)
    : (data, encoding) => nodeCrypto.createHash('sha256').update(data).digest(encoding);

/**
 * RFC 6962 §2.1 Merkle Tree Hash over event hashes, built incrementally as a compact range of
 * perfect-subtree roots, like `createTreeBuilder` in crypto/merkle.ts (the tests check the two
 * agree at every size up to 70). Node hashes stay latin1 strings (one char per byte) written into
 * fixed scratch buffers for the one-shot hash, so a leaf costs no allocation but its digests:
 * a fraction of the general-purpose builder's time (measured at about a quarter), which alone
 * would spend most of the budget of SPEC §3 (200,000 events/s).
 */
class HexTree {
  readonly #stack: string[] = [];
  readonly #leaf = Buffer.alloc(33); // RFC 6962 §2.1: leaf = SHA-256(0x00 || d)
  readonly #node = Buffer.alloc(65).fill(0x01, 0, 1); // node = SHA-256(0x01 || left || right)
  #size = 0;
  /** The bytes of the last leaf's data: 32 zero bytes (the genesis hash) before the first. */
  readonly lastData: Uint8Array = this.#leaf.subarray(1);

  /** Appends the leaf whose data is the 32-byte hash `dataHex` (validated by the caller). */
  push(dataHex: string): void {
    this.#leaf.write(dataHex, 1, 'hex');
    let node = sha256(this.#leaf, 'binary');
    this.#size += 1;
    for (let carry = this.#size; carry % 2 === 0; carry /= 2) {
      node = this.#nodeHash(this.#stack.pop() as string, node);
    }
    this.#stack.push(node);
  }

  /** MTH of the leaves so far, as lower-case hex (never called on an empty tree). */
  root(): string {
    const stack = this.#stack;
    let acc = stack[stack.length - 1] as string;
    for (let i = stack.length - 2; i >= 0; i -= 1) acc = this.#nodeHash(stack[i] as string, acc);
    return Buffer.from(acc, 'latin1').toString('hex');
  }

  #nodeHash(left: string, right: string): string {
    this.#node.write(left, 1, 'latin1');
    this.#node.write(right, 33, 'latin1');
    return sha256(this.#node, 'binary');
  }
}

/**
 * Checks what one event says about itself, independent of its neighbours (A2): for a kept event,
 * `hash = SHA-256(prev_hash || canonical)`, the canonical event is version 1 and names this org
 * and the event's own seq, and personal data matches its commitment; for a pruned one, a
 * well-formed hash and no personal data left. Returns the problem, or undefined.
 *
 * Position-independent, so a caller may run it on other threads ({@link AuditVerifier.pushChecked});
 * `prev_hash` itself is checked by the sequential part, which also ranks its own findings first.
 * A caller that already holds the bytes of `prev_hash` passes them as `prevHashBytes`.
 */
export type ContentChecker = (event: ExportedEvent, prevHashBytes?: Uint8Array) => string | undefined;

/** Creates a {@link ContentChecker} for one org's events. */
export function createContentChecker(org: string): ContentChecker {
  // prev_hash || canonical, then salt || personal JSON, hashed without allocating per event.
  let scratch = Buffer.alloc(64 * 1024);
  let text = scratch.subarray(32); // where the UTF-8 after the 32-byte prefix goes
  /**
   * The scratch buffer, grown to hold 32 bytes and then the UTF-8 of `value` (at most 3 bytes per
   * UTF-16 unit; encodeInto would silently stop short); returns the length of both.
   */
  const fill = (value: string): number => {
    if (32 + 3 * value.length > scratch.length) {
      const grown = Buffer.alloc(32 + 3 * value.length);
      scratch.copy(grown, 0, 0, 32);
      scratch = grown;
      text = scratch.subarray(32);
    }
    return 32 + encoder.encodeInto(value, text).written;
  };
  const orgSeq = `, "org": "${org}", "seq": `;

  /**
   * {@link personalCommitment}, computed without its general-purpose serializer when it can be:
   * for text that needs no escaping, the RFC 8785 form of these three members is fixed (keys
   * sorted, strings quoted as they are). Anything else goes through the real function, which also
   * refuses lone surrogates. Undefined for data that cannot have a commitment.
   */
  const commitment = (personal: NonNullable<ExportedEvent['personal']>): string | undefined => {
    const { salt, email, ip, user_agent: userAgent } = personal;
    if (typeof salt !== 'string' || salt.length !== 64 || !isTextOrNull(email) || !isTextOrNull(ip) || !isTextOrNull(userAgent)) {
      return undefined;
    }
    // Hex decoding stops at the first character that is not hex: 32 bytes means 64 hex digits.
    if (scratch.write(salt, 0, 'hex') !== 32) return undefined;
    if (!(isPlainText(email) && isPlainText(ip) && isPlainText(userAgent))) {
      try {
        return personalCommitment(Buffer.from(scratch.subarray(0, 32)), { email, ip, user_agent: userAgent });
      } catch {
        return undefined;
      }
    }
    const length = fill(`{"email":${quoted(email)},"ip":${quoted(ip)},"user_agent":${quoted(userAgent)}}`);
    return sha256(scratch.subarray(0, length), 'hex');
  };

  return (event, prevHashBytes) => {
    const { canonical, personal } = event;
    if (canonical === null) {
      if (typeof event.hash !== 'string' || !HEX32.test(event.hash)) return 'the hash is not 32 bytes of lower-case hex';
      if (personal !== null) return 'a pruned event still has personal data, which nothing commits to';
      return undefined;
    }
    if (typeof canonical !== 'string' || typeof event.prev_hash !== 'string') return 'the event is malformed';
    // A2: hash = SHA-256(prev_hash || UTF-8(canonical)), over the text exactly as stored. Equality
    // with a computed hex digest also proves `hash` well-formed (a malformed prev_hash fails the
    // link check, which ranks first).
    const length = fill(canonical);
    if (prevHashBytes === undefined) scratch.write(event.prev_hash, 0, 'hex');
    else scratch.set(prevHashBytes, 0);
    if (sha256(scratch.subarray(0, length), 'hex') !== event.hash) {
      return 'the hash does not match the event (SHA-256(prev_hash || canonical))';
    }
    const pd = knownPrefixPd(canonical, orgSeq, event.seq);
    let fields: CanonicalFields | undefined;
    if (pd === undefined) {
      // Another layout, or another org or seq: read the whole event to say exactly what is wrong.
      fields = parsedFields(canonical);
      if (fields === undefined) return 'the canonical event is not a JSON object';
      if (fields.v !== 1) return 'the canonical event is not version 1';
      if (fields.org !== org) return 'the canonical event belongs to another org';
      if (fields.seq !== event.seq) return `the canonical event carries seq ${String(fields.seq)}`;
    }
    if (personal !== null) {
      const committed = pd === undefined ? fields?.pd : pd;
      if (typeof committed !== 'string') return 'personal data is present but the event commits to none';
      if (commitment(personal) !== committed) return 'the personal data does not match its commitment (pd)';
    }
    return undefined;
  };
}

/**
 * The sequential part of verification, fed one event at a time in stored order. `push` and
 * `pushChecked` answer false at the first problem; then (or after the last event) `finish`
 * gives the verdict. {@link verifyAuditLog} is the usual way in; this is for callers that check
 * content elsewhere (the CLI checks an export's lines on worker threads).
 */
export interface AuditVerifier {
  /** Checks one event completely. */
  push(event: ExportedEvent | MalformedEvent): boolean;
  /**
   * Takes an event whose content a {@link ContentChecker} of this org already examined, with
   * its finding (`problem`); `hash` must be one that checker accepted.
   */
  pushChecked(seq: number, prevHash: string, hash: string, pruned: boolean, problem: string | undefined): boolean;
  /** The verdict, after the last event or the first false. */
  finish(): VerifyReport;
}

/** Creates the sequential verifier of one org's log; see {@link AuditVerifier}. */
export function createAuditVerifier(input: Omit<VerifyInput, 'events'>): AuditVerifier {
  const org = input.org;
  const report = (failure: Failure | undefined, verifier: Verifier | undefined): VerifyReport => {
    if (failure !== undefined) return { ok: false, org, firstBadSeq: failure.seq, reason: failure.reason, events: verifier?.count ?? 0 };
    const v = verifier as Verifier;
    return { ok: true, org, events: v.count, heads: v.heads, pruned: v.pruned };
  };
  const badSize = input.heads.find((h) => !Number.isSafeInteger(h.tree_size) || h.tree_size < 1);
  if (badSize !== undefined) {
    const failure = new Failure(1, `a signed head has an invalid tree size (${String(badSize.tree_size)})`);
    return { push: () => false, pushChecked: () => false, finish: () => report(failure, undefined) };
  }
  const verifier = new Verifier(input, prepareHeads(input));
  const check = createContentChecker(org);
  let failure: Failure | undefined;
  let finished = false;
  const fail = (err: unknown): false => {
    if (!(err instanceof Failure)) throw err;
    failure = err;
    return false;
  };
  // No closure per event: these run once for every event of the log.
  return {
    push(event) {
      if (failure !== undefined) return false;
      try {
        if ('malformed' in event) {
          verifier.malformed(event.malformed);
        } else {
          // An event that does not link fails the link check, which ranks before its content;
          // one that does links to bytes the verifier already has.
          const problem = event.prev_hash === verifier.prevHex ? check(event, verifier.prevBytes) : undefined;
          verifier.step(event.seq, event.prev_hash, event.hash, event.canonical === null, problem);
        }
        return true;
      } catch (err) {
        return fail(err);
      }
    },
    pushChecked(seq, prevHash, hash, pruned, problem) {
      if (failure !== undefined) return false;
      try {
        verifier.step(seq, prevHash, hash, pruned, problem);
        return true;
      } catch (err) {
        return fail(err);
      }
    },
    finish() {
      if (!finished && failure === undefined) {
        finished = true;
        try {
          verifier.finish(input.chainHead);
        } catch (err) {
          fail(err);
        }
      }
      return report(failure, verifier);
    },
  };
}

/** The sequential state: seq, links, retention coverage, Merkle tree, heads; throws a {@link Failure}. */
class Verifier {
  readonly #heads: PreparedHead[];
  readonly #coveredSize: number;
  readonly #onProgress: ((verified: number) => void) | undefined;
  readonly #tree = new HexTree();
  #nextHead = 0;
  #count = 0;
  #pruned = 0;
  #prevHex = GENESIS_HEX;

  constructor(input: Omit<VerifyInput, 'events'>, heads: PreparedHead[]) {
    this.#heads = heads;
    this.#onProgress = input.onProgress;
    // A6: a pruned event's hash cannot be recomputed; only a head that will verify can pin it.
    this.#coveredSize = heads.reduce((max, h) => (h.problem === undefined && h.treeSize > max ? h.treeSize : max), 0);
  }

  get count(): number {
    return this.#count;
  }

  get pruned(): number {
    return this.#pruned;
  }

  get heads(): number {
    return this.#heads.length;
  }

  /** The hash the next event must link to, as hex and as bytes. */
  get prevHex(): string {
    return this.#prevHex;
  }

  get prevBytes(): Uint8Array {
    return this.#tree.lastData;
  }

  malformed(why: string): void {
    const seq = this.#count + 1;
    throw new Failure(seq, `event ${seq} cannot be read: ${why}`);
  }

  step(eventSeq: number, prevHash: string, hash: string, pruned: boolean, problem: string | undefined): void {
    const seq = this.#count + 1;
    if (eventSeq !== seq) {
      if (typeof eventSeq !== 'number' || !Number.isSafeInteger(eventSeq)) throw new Failure(seq, `event ${seq} has no valid seq`);
      throw new Failure(
        seq,
        eventSeq > seq
          ? `event ${seq} is missing (the next event is ${eventSeq})`
          : `event ${eventSeq} appears where event ${seq} belongs (duplicated or reordered)`,
      );
    }
    if (prevHash !== this.#prevHex) {
      throw new Failure(
        seq,
        seq === 1 ? 'the first event does not link to the genesis hash' : `prev_hash does not match the hash of event ${seq - 1}`,
      );
    }
    if (problem !== undefined) throw new Failure(seq, problem);
    if (pruned) {
      if (seq > this.#coveredSize) throw new Failure(seq, 'pruned event not covered by a signed head');
      this.#pruned += 1;
    }

    this.#tree.push(hash);
    this.#prevHex = hash;
    this.#count = seq;
    const head = this.#heads[this.#nextHead];
    if (head !== undefined && head.treeSize === seq) this.#checkHeadsAt(seq);
    if (this.#onProgress !== undefined && seq % PROGRESS_INTERVAL === 0) this.#onProgress(seq);
  }

  #checkHeadsAt(size: number): void {
    const root = this.#tree.root();
    for (let head = this.#heads[this.#nextHead]; head !== undefined && head.treeSize === size; head = this.#heads[++this.#nextHead]) {
      if (head.problem !== undefined) throw new Failure(size, `the signed head at tree size ${size} is not valid: ${head.problem}`);
      if (head.root !== root) {
        throw new Failure(
          size,
          `the Merkle root over events 1..${size} differs from the signed head at tree size ${size}: ` +
            `an event in 1..${size} was changed, removed, inserted or reordered (the chain itself is consistent)`,
        );
      }
    }
  }

  finish(chainHead: VerifyInput['chainHead']): void {
    const count = this.#count;
    const pending = this.#heads[this.#nextHead];
    if (pending !== undefined) {
      throw new Failure(count + 1, `log truncated: a signed head covers ${pending.treeSize} events, but only ${count} are present`);
    }
    if (chainHead === undefined) return;
    if (chainHead.seq > count) {
      throw new Failure(count + 1, `log truncated: the chain head records ${chainHead.seq} events, but only ${count} are present`);
    }
    if (chainHead.seq < count) {
      throw new Failure(chainHead.seq + 1, `event ${chainHead.seq + 1} lies beyond the recorded chain head (seq ${chainHead.seq})`);
    }
    if (chainHead.hash !== this.#prevHex) {
      throw new Failure(Math.max(count, 1), `the hash of event ${count} differs from the recorded chain head`);
    }
  }
}

/** The members of a canonical event the verifier checks. */
interface CanonicalFields {
  v: unknown;
  org: unknown;
  seq: unknown;
  pd: unknown;
}

const PREFIX_V1 = '{"v": 1, "pd": ';

/**
 * The `pd` of a canonical event that starts exactly as audit_append writes this org's event
 * `seq` — `null` or the commitment's hex — or undefined when it does not.
 *
 * PostgreSQL prints jsonb with members ordered by key length, then bytewise, so `v`, `pd`, `org`
 * and `seq` come first at the top level (every other key of an event is longer), with values no
 * nested member can fake. Matching that prefix in place costs a small fraction of `JSON.parse`,
 * which would otherwise be the largest share of verification (SPEC §3: 200,000 events/s). What
 * it leaves unchecked is whether the rest of the text is well-formed JSON: the database
 * guarantees that (its generated filter columns cast every canonical to jsonb), and in an export
 * the hash already binds the text — a forger able to rechain could write well-formed JSON just as
 * easily. Anything else goes through {@link parsedFields}.
 */
function knownPrefixPd(canonical: string, orgSeq: string, seq: number): string | null | undefined {
  if (!canonical.startsWith(PREFIX_V1) || canonical.charCodeAt(canonical.length - 1) !== 0x7d /* } */) return undefined;
  let at = PREFIX_V1.length;
  let pd: string | null = null;
  if (canonical.startsWith('null', at)) {
    at += 4;
  } else {
    // A string of 64 characters with no quote in it; whether they are hex is up to the caller's
    // comparison with a computed commitment.
    if (canonical.charCodeAt(at) !== 0x22 /* " */ || canonical.indexOf('"', at + 1) !== at + 65) return undefined;
    pd = canonical.slice(at + 1, at + 65);
    at += 66;
  }
  if (!canonical.startsWith(orgSeq, at)) return undefined;
  at += orgSeq.length;
  const seqText = String(seq);
  if (!canonical.startsWith(seqText, at)) return undefined;
  const next = canonical.charCodeAt(at + seqText.length);
  return next === 0x2c /* , */ || next === 0x7d /* } */ ? pd : undefined;
}

/** v, org, seq and pd of a canonical event read with `JSON.parse`; undefined when it is not a JSON object. */
function parsedFields(canonical: string): CanonicalFields | undefined {
  let body: unknown;
  try {
    body = JSON.parse(canonical);
  } catch {
    return undefined;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  return { v: fields.v, org: fields.org, seq: fields.seq, pd: fields.pd };
}

function isTextOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Text JSON.stringify (and RFC 8785) would copy as it is between quotes. */
function isPlainText(value: string | null): boolean {
  return value === null || !NEEDS_ESCAPE.test(value);
}

function quoted(value: string | null): string {
  return value === null ? 'null' : `"${value}"`;
}

/**
 * Verifies one org's audit log; see the module comment for what is checked, in which order.
 * Never throws for bad data: every problem is a `{ ok: false }` report naming the first bad seq.
 * Stops reading `events` at the first problem.
 *
 * @example
 * const report = await verifyAuditLog({ org, events, heads: doc.heads, publicKeys });
 * if (!report.ok) console.log(`FAILED at seq ${report.firstBadSeq}: ${report.reason}`);
 */
export async function verifyAuditLog(input: VerifyInput): Promise<VerifyReport> {
  const verifier = createAuditVerifier(input);
  const events = input.events;
  if (Symbol.asyncIterator in events) {
    for await (const event of events) if (!verifier.push(event)) break;
  } else {
    for (const event of events) if (!verifier.push(event)) break;
  }
  return verifier.finish();
}
