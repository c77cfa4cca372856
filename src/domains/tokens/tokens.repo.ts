import type { TenantTx } from '../../db/tenant.js';

/** A token as stored: its hash, never the token; with what authentication needs besides. */
export interface TokenRow {
  token_id: string;
  kind: 'root' | 'user';
  role: 'owner' | null;
  member_id: string | null;
  /** The member's role and status, for a member's personal token. */
  member_role: string | null;
  member_status: string | null;
  secret_hash: Uint8Array;
  expires_at: Date | null;
  revoked_at: Date | null;
  /** A personal token made right after a second factor (it may be used where the org requires MFA). */
  minted_with_mfa: boolean;
  require_mfa: boolean;
  /** The org's authz epoch, read in the same statement. */
  authz_epoch: string | number;
}

/** Stores a newly issued token's hash: a root token (role owner) or a member's personal token. */
export async function insertToken(
  tx: TenantTx,
  token: {
    tokenId: string;
    kind: 'root' | 'user';
    role: 'owner' | null;
    memberId?: string | null;
    secretHash: Uint8Array;
    description: string;
    /** When it stops working by itself; never when absent. */
    expiresAt?: Date | null;
    /** Made by a person who had just passed a second factor. */
    mintedWithMfa?: boolean;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO api_tokens (org_id, token_id, kind, role, member_id, secret_hash, description, expires_at, minted_with_mfa)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      tx.orgId,
      token.tokenId,
      token.kind,
      token.role,
      token.memberId ?? null,
      token.secretHash,
      token.description,
      token.expiresAt ?? null,
      token.mintedWithMfa ?? false,
    ],
  );
}

/** A token of the transaction's org by id, revoked or not, with its member and the org's epoch. */
export async function findToken(tx: TenantTx, tokenId: string): Promise<TokenRow | undefined> {
  const [row] = await tx.query<TokenRow>(
    `SELECT t.token_id, t.kind, t.role, t.member_id, m.role AS member_role, m.status AS member_status,
            t.secret_hash, t.expires_at, t.revoked_at, t.minted_with_mfa, o.require_mfa, o.authz_epoch
       FROM api_tokens t
       JOIN orgs o ON o.org_id = t.org_id
       LEFT JOIN members m ON m.org_id = t.org_id AND m.member_id = t.member_id
      WHERE t.org_id = $1 AND t.token_id = $2`,
    [tx.orgId, tokenId],
  );
  return row;
}

/** Revokes every personal token of a member (deactivation, removal). */
export async function revokeMemberTokens(tx: TenantTx, memberId: string): Promise<void> {
  await tx.query('UPDATE api_tokens SET revoked_at = now() WHERE org_id = $1 AND member_id = $2 AND revoked_at IS NULL', [
    tx.orgId,
    memberId,
  ]);
}

/** What lists of tokens show: never the hash. */
export interface TokenListRow {
  token_id: string;
  kind: 'root' | 'user';
  member_id: string | null;
  description: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** A member's personal tokens and, with `includeRoot`, the org's root tokens; newest first. */
export async function listTokens(tx: TenantTx, which: { memberId: string | null; includeRoot: boolean }): Promise<TokenListRow[]> {
  return tx.query<TokenListRow>(
    `SELECT token_id, kind, member_id, description, created_at, expires_at, revoked_at FROM api_tokens
      WHERE org_id = $1 AND ((kind = 'user' AND member_id = $2) OR (kind = 'root' AND $3))
      ORDER BY created_at DESC, token_id`,
    [tx.orgId, which.memberId, which.includeRoot],
  );
}

/** Revokes one token; false when it was revoked already. */
export async function revokeToken(tx: TenantTx, tokenId: string): Promise<boolean> {
  const rows = await tx.query('UPDATE api_tokens SET revoked_at = now() WHERE org_id = $1 AND token_id = $2 AND revoked_at IS NULL RETURNING token_id', [
    tx.orgId,
    tokenId,
  ]);
  return rows.length === 1;
}

/** Root tokens of the org other than `exceptTokenId` that still work (not revoked, not expired). */
export async function otherLiveRootTokens(tx: TenantTx, exceptTokenId: string): Promise<number> {
  const [row] = await tx.query<{ n: string | number }>(
    `SELECT count(*) AS n FROM api_tokens
      WHERE org_id = $1 AND kind = 'root' AND token_id <> $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
    [tx.orgId, exceptTokenId],
  );
  return Number(row?.n ?? 0);
}
