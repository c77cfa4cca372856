import { createHash } from 'node:crypto';
import { canonicalBytes } from '../../crypto/canonical-json.js';

/**
 * The audit log's wire formats, shared by the writer, the API, the exporter and the verifier —
 * the contract an outside auditor's tools rely on (A2, A3). Change only by adding a version.
 *
 * Chain: `hash = SHA-256(prev_hash || UTF-8(canonical))`, `prev_hash` of seq 1 is 32 zero bytes.
 * `canonical` is the exact JSON text `audit_append` built and hashed (PostgreSQL's jsonb text of
 * the event with `v`, `org`, `seq`, `time` and `class` set by the database); verifiers hash the
 * text as it is and read fields from it, never rebuild it.
 *
 * Merkle tree: RFC 6962 over the org's events in seq order, leaf data = the event's 32-byte hash.
 * A signed head is Ed25519 over {@link headSigningPayload}.
 */

/** `prev_hash` of an org's first event. */
export const GENESIS_HASH: Uint8Array = new Uint8Array(32);

/** Personal data held beside the chain (A2). */
export interface PersonalData {
  ip: string | null;
  user_agent: string | null;
  email: string | null;
}

/** One line of `GET /v1/audit/export` (JSONL), and what the verifier reads from the database. */
export interface ExportedEvent {
  seq: number;
  /** Lower-case hex. */
  prev_hash: string;
  /** Lower-case hex. */
  hash: string;
  /** The exact hashed text; null once retention pruned the event's content. */
  canonical: string | null;
  /** Personal data with the salt of its commitment; null when there was none or it was erased. */
  personal: (PersonalData & { salt: string }) | null;
}

/** A signed tree head as published. */
export interface SignedHead {
  org: string;
  tree_size: number;
  /** Lower-case hex of the RFC 6962 root. */
  root_hash: string;
  /** ISO 8601 UTC, milliseconds. */
  signed_at: string;
  key_id: string;
  /** Base64 of the 64-byte Ed25519 signature over headSigningPayload. */
  signature: string;
}

/** `GET /v1/audit/heads`: every head of the org and the public keys that signed them. */
export interface HeadsDocument {
  org: string;
  /** key_id → base64 of the raw 32-byte Ed25519 public key. */
  public_keys: Record<string, string>;
  heads: SignedHead[];
}

/** The bytes a tree head's signature covers: canonical JSON (RFC 8785) of its fields. */
export function headSigningPayload(head: Pick<SignedHead, 'org' | 'tree_size' | 'root_hash' | 'signed_at' | 'key_id'>): Uint8Array {
  return canonicalBytes({
    v: 1,
    type: 'strongroom.audit.tree_head',
    org: head.org,
    tree_size: head.tree_size,
    root_hash: head.root_hash,
    signed_at: head.signed_at,
    key_id: head.key_id,
  });
}

/** The salted commitment to an event's personal data that the chained event carries as `pd`. */
export function personalCommitment(salt: Uint8Array, personal: PersonalData): string {
  return createHash('sha256')
    .update(salt)
    .update(canonicalBytes({ email: personal.email, ip: personal.ip, user_agent: personal.user_agent }))
    .digest('hex');
}

/** `SHA-256(prev_hash || UTF-8(canonical))`. */
export function chainHash(prevHash: Uint8Array, canonical: string): Uint8Array {
  return createHash('sha256').update(prevHash).update(canonical, 'utf8').digest();
}

/** The id of an Ed25519 public key: a fingerprint, stable across nodes. */
export function signingKeyId(publicKey: Uint8Array): string {
  return `ed25519:${createHash('sha256').update(publicKey).digest('hex').slice(0, 16)}`;
}
