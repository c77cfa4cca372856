import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Bearer tokens Strongroom issues: `sr_<kind>_<base64url(org id ‖ token id ‖ 32 random bytes)>`.
 * Kinds: `root` (an org's bootstrap owner token), `user` (a member's personal token), `agent`
 * (an agent's API key, whose "token id" is the agent id; it is only ever exchanged for a
 * short-lived access token, never accepted as a bearer token itself), `refresh` (a session's
 * refresh token: the first id is the session's) and `mfa` (the short-lived token between a first
 * and a second sign-in factor: the first id is the session's). Refresh and MFA tokens are never
 * bearer tokens either.
 *
 * The org id travels inside the token so the server finds the token's row in a tenant
 * transaction under row-level security — no lookup table across tenants, no privileged path.
 * The distinctive `sr_` prefix lets secret scanners spot a leaked token. Only SHA-256 of the
 * random part is stored: 256 bits of entropy need no slow hash (as GitHub does for its tokens).
 */
export type TokenKind = 'root' | 'user' | 'agent' | 'refresh' | 'mfa';

const TOKEN = /^sr_(root|user|agent|refresh|mfa)_([A-Za-z0-9_-]{86})$/;
const BODY_BYTES = 16 + 16 + 32;

/** A token's parts, as read from the Authorization header. */
export interface ParsedToken {
  kind: TokenKind;
  orgId: string;
  tokenId: string;
  secret: Uint8Array;
}

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A new token for `orgId` (an agent key passes the agent id as `tokenId`): the text to hand out once, and what to store. */
export function generateToken(
  kind: TokenKind,
  orgId: string,
  tokenId: string = randomUUID(),
): { token: string; tokenId: string; secretHash: Uint8Array } {
  const secret = randomBytes(32);
  const body = Buffer.concat([uuidToBytes(orgId), uuidToBytes(tokenId), secret]);
  const token = `sr_${kind}_${body.toString('base64url')}`;
  const secretHash = hashTokenSecret(secret);
  secret.fill(0);
  return { token, tokenId, secretHash };
}

/** Parses a token; undefined for anything that is not one of ours. */
export function parseToken(text: string): ParsedToken | undefined {
  const match = TOKEN.exec(text);
  if (!match) return undefined;
  const body = Buffer.from(match[2] as string, 'base64url');
  if (body.length !== BODY_BYTES) return undefined;
  return {
    kind: match[1] as TokenKind,
    orgId: bytesToUuid(body.subarray(0, 16)),
    tokenId: bytesToUuid(body.subarray(16, 32)),
    secret: body.subarray(32),
  };
}

/** SHA-256 of a token's random part: what the database keeps. */
export function hashTokenSecret(secret: Uint8Array): Uint8Array {
  return createHash('sha256').update(secret).digest();
}

/** A stored hash that matches no token, compared against when none is found (equal timing). */
export const DUMMY_SECRET_HASH: Uint8Array = hashTokenSecret(randomBytes(32));

/** Constant-time check of a presented secret against a stored hash. */
export function tokenSecretMatches(secret: Uint8Array, storedHash: Uint8Array): boolean {
  const presented = hashTokenSecret(secret);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}
