import type { WithTenantTx } from '../../db/tenant.js';
import type { Principal } from '../../policy/policy.js';
import { DUMMY_SECRET_HASH, parseToken, tokenSecretMatches } from './tokens.fns.js';
import { findToken } from './tokens.repo.js';

/** Dependencies of the token service. */
export interface TokenServiceDeps {
  withTenantTx: WithTenantTx;
  now?: () => Date;
}

/** Authentication of Strongroom-issued bearer tokens. */
export interface TokenService {
  /**
   * The principal a bearer token stands for, or undefined for any token that is malformed,
   * unknown, revoked or expired — the caller answers all of these alike (401).
   */
  authenticate(bearer: string): Promise<Principal | undefined>;
}

/** Builds the token service. */
export function createTokenService(deps: TokenServiceDeps): TokenService {
  const now = deps.now ?? (() => new Date());
  return {
    async authenticate(bearer) {
      const parsed = parseToken(bearer);
      if (!parsed) return undefined;
      const row = await deps.withTenantTx(parsed.orgId, (tx) => findToken(tx, parsed.tokenId));
      // Compare against a dummy hash when there is no row, so unknown and known tokens take
      // the same time to refuse.
      const matches = tokenSecretMatches(parsed.secret, row?.secret_hash ?? DUMMY_SECRET_HASH);
      if (!row || !matches || row.kind !== parsed.kind) return undefined;
      if (row.revoked_at !== null) return undefined;
      if (row.expires_at !== null && row.expires_at.getTime() <= now().getTime()) return undefined;
      return { orgId: parsed.orgId, kind: 'root_token', id: row.token_id, role: row.role };
    },
  };
}
