import type { TenantTx } from '../../db/tenant.js';
import type { TokenKind } from './tokens.fns.js';

/** A token as stored: its hash, never the token. */
export interface TokenRow {
  token_id: string;
  kind: TokenKind;
  role: 'owner';
  secret_hash: Uint8Array;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Stores a newly issued token's hash. */
export async function insertToken(
  tx: TenantTx,
  token: { tokenId: string; kind: TokenKind; role: 'owner'; secretHash: Uint8Array; description: string },
): Promise<void> {
  await tx.query(
    'INSERT INTO api_tokens (org_id, token_id, kind, role, secret_hash, description) VALUES ($1, $2, $3, $4, $5, $6)',
    [tx.orgId, token.tokenId, token.kind, token.role, token.secretHash, token.description],
  );
}

/** A token of the transaction's org by id, revoked or not. */
export async function findToken(tx: TenantTx, tokenId: string): Promise<TokenRow | undefined> {
  const [row] = await tx.query<TokenRow>(
    `SELECT token_id, kind, role, secret_hash, expires_at, revoked_at
       FROM api_tokens WHERE org_id = $1 AND token_id = $2`,
    [tx.orgId, tokenId],
  );
  return row;
}
