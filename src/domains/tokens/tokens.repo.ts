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
  },
): Promise<void> {
  await tx.query(
    'INSERT INTO api_tokens (org_id, token_id, kind, role, member_id, secret_hash, description) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [tx.orgId, token.tokenId, token.kind, token.role, token.memberId ?? null, token.secretHash, token.description],
  );
}

/** A token of the transaction's org by id, revoked or not, with its member and the org's epoch. */
export async function findToken(tx: TenantTx, tokenId: string): Promise<TokenRow | undefined> {
  const [row] = await tx.query<TokenRow>(
    `SELECT t.token_id, t.kind, t.role, t.member_id, m.role AS member_role, m.status AS member_status,
            t.secret_hash, t.expires_at, t.revoked_at, o.authz_epoch
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
