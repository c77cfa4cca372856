import type { WithTenantTx } from '../../db/tenant.js';
import type { Principal } from '../../policy/types.js';
import type { SessionAuth, SessionService } from '../../identity/sessions.js';
import type { AgentTokens } from '../agents/agent-tokens.js';
import { findAgentState } from '../agents/agents.repo.js';
import { DUMMY_SECRET_HASH, parseToken, tokenSecretMatches } from './tokens.fns.js';
import { findToken } from './tokens.repo.js';

/** Dependencies of the token service. */
export interface TokenServiceDeps {
  withTenantTx: WithTenantTx;
  agentTokens: Pick<AgentTokens, 'verify'>;
  sessions: Pick<SessionService, 'authenticate'>;
  now?: () => Date;
}

/** Who a valid bearer token stands for, and the org's authz epoch as of that check. */
export interface Authenticated {
  principal: Principal;
  epoch: number;
  /** The session behind a person's access token. */
  session?: SessionAuth;
}

/** Why authentication failed: with the org to record it in, when the token provably names one. */
export interface AuthenticationFailure {
  failed: true;
  /** The org a well-formed token names (opaque tokens) or a validly signed one names (JWTs). */
  orgId: string | null;
}

/** Authentication of bearer tokens: root and personal tokens, and agent access tokens. */
export interface TokenService {
  /**
   * The principal a bearer token stands for, read in one tenant transaction together with the
   * org's authz epoch and the principal's state (active, token generation) — so a revocation
   * committed before this request began is always seen (P6). Malformed, unknown, revoked,
   * expired and superseded tokens all fail alike (401).
   */
  authenticate(bearer: string): Promise<Authenticated | AuthenticationFailure>;
}

/** Builds the token service. */
export function createTokenService(deps: TokenServiceDeps): TokenService {
  const now = deps.now ?? (() => new Date());
  const fail = (orgId: string | null): AuthenticationFailure => ({ failed: true, orgId });

  async function opaque(bearer: string): Promise<Authenticated | AuthenticationFailure | undefined> {
    const parsed = parseToken(bearer);
    if (!parsed) return undefined;
    // An agent's API key is exchanged for a token at /v1/auth/agent-token, never used itself.
    if (parsed.kind === 'agent') return fail(parsed.orgId);
    // Refresh and MFA tokens are exchanged at /v1/auth/*, never sent as bearer tokens.
    if (parsed.kind === 'refresh' || parsed.kind === 'mfa') return fail(null);
    const row = await deps.withTenantTx(parsed.orgId, (tx) => findToken(tx, parsed.tokenId));
    // Compare against a dummy hash when there is no row, so unknown and known tokens take
    // the same time to refuse.
    const matches = tokenSecretMatches(parsed.secret, row?.secret_hash ?? DUMMY_SECRET_HASH);
    if (!row || !matches || row.kind !== parsed.kind) return fail(parsed.orgId);
    if (row.revoked_at !== null) return fail(parsed.orgId);
    if (row.expires_at !== null && row.expires_at.getTime() <= now().getTime()) return fail(parsed.orgId);
    const epoch = Number(row.authz_epoch);
    if (row.kind === 'root') return { principal: { orgId: parsed.orgId, kind: 'root_token', id: row.token_id, role: 'owner' }, epoch };
    if (row.member_id === null || row.member_status !== 'active') return fail(parsed.orgId);
    // Where the org requires MFA, only personal tokens made after a second factor count.
    if (row.require_mfa && !row.minted_with_mfa) return fail(parsed.orgId);
    return { principal: { orgId: parsed.orgId, kind: 'user', id: row.member_id, role: row.member_role }, epoch };
  }

  async function agent(bearer: string): Promise<Authenticated | AuthenticationFailure> {
    const claims = await deps.agentTokens.verify(bearer);
    if ('invalid' in claims) return fail(claims.orgId);
    if (claims.kind === 'user') {
      // A person's token reaches org routes only from a session in that org, as its member.
      const session = claims.orgId === null ? undefined : await deps.sessions.authenticate(claims);
      if (!session?.member || claims.orgId === null) return fail(claims.orgId);
      return {
        principal: { orgId: claims.orgId, kind: 'user', id: session.member.memberId, role: session.member.role },
        epoch: session.epoch,
        session,
      };
    }
    const state = await deps.withTenantTx(claims.orgId, (tx) => findAgentState(tx, claims.agentId));
    if (!state || state.status !== 'active' || state.generation !== claims.generation) return fail(claims.orgId);
    return { principal: { orgId: claims.orgId, kind: 'agent', id: claims.agentId, role: null }, epoch: Number(state.authz_epoch) };
  }

  return {
    async authenticate(bearer) {
      return (await opaque(bearer)) ?? agent(bearer);
    },
  };
}
