import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { type Authorizer, type Caller, requireStepUp } from '../authz/authz.service.js';
import { findMember, otherActiveOwners } from '../members/members.repo.js';
import { assertMayManage } from '../members/members.service.js';
import { lockOrg } from '../orgs/orgs.repo.js';
import { actsAsOwner } from '../orgs/orgs.service.js';
import { callerRoleDef } from '../roles/roles.service.js';
import { generateToken } from './tokens.fns.js';
import { findToken, insertToken, listTokens, otherLiveRootTokens, revokeToken, type TokenListRow } from './tokens.repo.js';
import type { CreatedTokenView, CreateTokenInput, TokenView } from './tokens.types.js';

/** Dependencies of the personal token service. */
export interface PersonalTokenServiceDeps {
  withTenantTx: WithTenantTx;
  withRecordedTx: WithTenantTx;
  authz: Pick<Authorizer, 'require'>;
  now?: () => Date;
}

/**
 * Personal API tokens (I4): `sr_user_…` tokens a signed-in member makes for scripts. They act
 * as the member (its role, its policies), expire (90 days by default, a year at most), are
 * shown once and stored as a hash. Only a person in a session makes them — a token cannot mint
 * another, so a leaked one cannot renew itself.
 *
 * Revoking: one's own tokens; any member's with the `members` admin grant (only an owner
 * touches an owner's); and the org's root tokens, by an owner — but never the last way in as
 * an owner (no other live root token, no active owner member).
 */
export interface PersonalTokenService {
  create(caller: Caller, input: CreateTokenInput): Promise<CreatedTokenView>;
  /** The caller's own personal tokens, and for owners the org's root tokens. */
  list(caller: Caller): Promise<TokenView[]>;
  revoke(caller: Caller, tokenId: string): Promise<void>;
}

function toView(row: TokenListRow): TokenView {
  return {
    id: row.token_id,
    kind: row.kind,
    member_id: row.member_id,
    description: row.description,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}

/** Builds the personal token service. */
export function createPersonalTokenService(deps: PersonalTokenServiceDeps): PersonalTokenService {
  const { withTenantTx, withRecordedTx, authz } = deps;
  const now = deps.now ?? (() => new Date());
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'members' as const });

  return {
    async create(caller, input) {
      if (caller.kind !== 'user' || caller.session === undefined) {
        throw new AppError('INVALID_STATE', 'Sign in to create a personal token: a token cannot make another one.');
      }
      // A long-lived credential outlives sessions and sign-out: minting one is a step-up operation.
      requireStepUp(caller, 'token.create');
      const issued = generateToken('user', caller.orgId);
      const expiresAt = new Date(now().getTime() + input.expires_in_days * 86_400_000);
      await withRecordedTx(caller.orgId, async (tx) => {
        await insertToken(tx, {
          tokenId: issued.tokenId,
          kind: 'user',
          role: null,
          memberId: caller.id,
          secretHash: issued.secretHash,
          description: input.description,
          expiresAt,
          mintedWithMfa: true,
        });
        noteAuditDetail({ createdId: issued.tokenId });
      });
      return { id: issued.tokenId, token: issued.token, description: input.description, expires_at: expiresAt.toISOString() };
    },

    async list(caller) {
      const memberId = caller.kind === 'user' ? caller.id : null;
      const rows = await withTenantTx(caller.orgId, (tx) => listTokens(tx, { memberId, includeRoot: actsAsOwner(caller) }));
      return rows.map(toView);
    },

    async revoke(caller, tokenId) {
      const row = await withTenantTx(caller.orgId, (tx) => findToken(tx, tokenId));
      if (!row) throw notFound();
      const own = row.kind === 'user' && caller.kind === 'user' && row.member_id === caller.id;
      if (row.kind === 'root') {
        if (!actsAsOwner(caller)) throw notFound();
      } else if (!own) {
        // Someone else's token: 404 unless the caller administers members.
        await authz.require(caller, 'admin', area(caller));
      }
      await withRecordedTx(caller.orgId, async (tx) => {
        if (row.kind === 'root') {
          // One at a time per org, so two revocations cannot each leave the other as the way in.
          await lockOrg(tx);
          if ((await otherLiveRootTokens(tx, tokenId)) + (await otherActiveOwners(tx, null)) === 0) {
            throw new AppError('INVALID_STATE', "This is the org's last way in as an owner: invite an owner (POST /v1/invitations) before revoking it.");
          }
        } else if (!own && row.member_id !== null) {
          const member = await findMember(tx, row.member_id, true);
          if (member) await assertMayManage(tx, await callerRoleDef(tx, caller), member);
        }
        // Revoking a revoked token changes nothing and says so by succeeding.
        await revokeToken(tx, tokenId);
      });
    },
  };
}
