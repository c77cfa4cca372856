import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { WithInstallationTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { addUserOrg, findUser, removeUserOrg, revokeSessions } from '../../identity/identity.repo.js';
import { name as nameSchema } from '../../schemas.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { type Authorizer, type Caller, requireStepUp, separationOfDuties } from '../authz/authz.service.js';
import { deleteMember, findMember, insertMember, otherActiveOwners, setMemberRole } from '../members/members.repo.js';
import { deletePoliciesNaming } from '../policies/policies.repo.js';
import { generateToken } from '../tokens/tokens.fns.js';
import { insertToken } from '../tokens/tokens.repo.js';
import { findOrgSettings, insertOrg, lockOrg, updateOrgSettings, type OrgSettingsRow } from './orgs.repo.js';
import type { AuditTarget, CreatedOrgView, OrgView, TransferView, UpdateOrgInput } from './orgs.types.js';
import { revokeInvitationsBy } from '../invitations/invitations.repo.js';

const orgName = nameSchema(100);

/** An org name as stored (NFC, trimmed); VALIDATION_FAILED when it is not one. */
function parseOrgName(raw: string): string {
  const parsed = orgName.safeParse(raw);
  if (!parsed.success) {
    throw new AppError('VALIDATION_FAILED', 'An org name is 1 to 100 characters of text with no control characters.');
  }
  return parsed.data;
}

/** What bootstrapping an org hands back, once. */
export interface BootstrappedOrg {
  orgId: string;
  name: string;
  /** The org's root token. Shown once; only its hash is stored. */
  token: string;
}

/**
 * Creates an org and its first credential, an org-owner root token (like Vault's root token:
 * how an operator starts before anyone can sign in). Org names are unique, whatever their case.
 */
export async function bootstrapOrg(deps: { withTenantTx: WithTenantTx }, rawName: string): Promise<BootstrappedOrg> {
  const name = parseOrgName(rawName);
  const orgId = randomUUID();
  const issued = generateToken('root', orgId);
  try {
    await deps.withTenantTx(orgId, async (tx) => {
      await insertOrg(tx, name);
      await insertToken(tx, {
        tokenId: issued.tokenId,
        kind: 'root',
        role: 'owner',
        secretHash: issued.secretHash,
        description: 'root token (bootstrap)',
      });
    });
  } catch (err) {
    if (isUniqueViolation(err, 'orgs_name_key')) {
      throw new AppError('CONFLICT', `An org named "${name}" already exists.`, { cause: err });
    }
    throw err;
  }
  return { orgId, name, token: issued.token };
}

/** Dependencies of the org service. */
export interface OrgServiceDeps {
  withTenantTx: WithTenantTx;
  withRecordedTx: WithTenantTx;
  withInstallationTx: WithInstallationTx;
  authz: Pick<Authorizer, 'require' | 'withChange'>;
  /** Signed-in people may create orgs (config STRONGROOM_ALLOW_ORG_CREATION). */
  allowOrgCreation: boolean;
}

/**
 * Orgs as their people see them (I5): creating one while signed in, its sign-in settings,
 * leaving it and handing ownership over.
 *
 * Owners are the org's last resort: the last active owner may not leave, and ownership goes
 * only to an active member who signs in (a person, linked by invitation). Handing ownership over
 * and changing the sign-in settings are step-up operations for people (I3).
 */
export interface OrgService {
  /** A signed-in person makes an org and becomes its first owner; no root token is made. */
  create(person: { userId: string }, name: string, audit: AuditTarget): Promise<CreatedOrgView>;
  describe(caller: Caller): Promise<OrgView>;
  update(caller: Caller, input: UpdateOrgInput): Promise<OrgView>;
  /** The caller stops being a member: its row, directory entry and sessions in this org go. */
  leave(caller: Caller): Promise<void>;
  transferOwnership(caller: Caller, memberId: string): Promise<TransferView>;
}

function toView(row: OrgSettingsRow): OrgView {
  return {
    id: row.org_id,
    name: row.name,
    require_mfa: row.require_mfa,
    password_sign_in: row.password_sign_in,
    created_at: row.created_at.toISOString(),
  };
}

/** Owner as authentication saw it: a root token, or a member holding the built-in `owner` role. */
export const actsAsOwner = (caller: Caller): boolean => caller.kind === 'root_token' || (caller.kind === 'user' && caller.role === 'owner');

/** Builds the org service. */
export function createOrgService(deps: OrgServiceDeps): OrgService {
  const { withTenantTx, withRecordedTx, authz } = deps;
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'members' as const });

  return {
    async create(person, rawName, audit) {
      if (!deps.allowOrgCreation) {
        throw new AppError('INVALID_STATE', 'This installation does not let people create orgs: ask an org owner for an invitation.');
      }
      const user = await deps.withInstallationTx((q) => findUser(q, person.userId));
      if (!user || user.status !== 'active') throw new AppError('UNAUTHENTICATED');
      const name = parseOrgName(rawName);
      const orgId = randomUUID();
      const memberId = randomUUID();
      // The event goes to the new org's chain, committed with the org itself.
      audit.recordIn(orgId, { type: 'user', id: memberId });
      try {
        const org = await authz.withChange(orgId, async (tx) => {
          await insertOrg(tx, name);
          await insertMember(tx, {
            memberId,
            email: user.email,
            displayName: user.display_name,
            role: 'owner',
            createdBy: `user:${memberId}`,
            userId: user.user_id,
          });
          await addUserOrg(tx, user.user_id, memberId);
          noteAuditDetail({ createdId: orgId });
          return (await findOrgSettings(tx)) as OrgSettingsRow;
        });
        return { ...toView(org), member_id: memberId, role: 'owner' as const };
      } catch (err) {
        audit.reset();
        if (isUniqueViolation(err, 'orgs_name_key')) {
          throw new AppError('CONFLICT', 'An org with that name exists already: choose another.', { cause: err });
        }
        throw err;
      }
    },

    async describe(caller) {
      await authz.require(caller, 'describe', area(caller));
      const row = await withTenantTx(caller.orgId, findOrgSettings);
      if (!row) throw notFound();
      return toView(row);
    },

    async update(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      // Turning MFA or password sign-in on or off changes how everyone gets in: a stolen session
      // alone must not be enough (I3). Root tokens, the operator's credential, are exempt.
      requireStepUp(caller, 'org.update');
      const row = await withRecordedTx(caller.orgId, (tx) =>
        updateOrgSettings(tx, {
          ...(input.require_mfa === undefined ? {} : { requireMfa: input.require_mfa }),
          ...(input.password_sign_in === undefined ? {} : { passwordSignIn: input.password_sign_in }),
        }),
      );
      if (!row) throw notFound();
      return toView(row);
    },

    async leave(caller) {
      if (caller.kind === 'root_token') {
        throw new AppError('INVALID_STATE', 'A root token is not a member and cannot leave: an owner revokes it (DELETE /v1/tokens/{tokenId}).');
      }
      if (caller.kind !== 'user') throw new AppError('INVALID_STATE', 'Only members leave an org.');
      await authz.withChange(caller.orgId, async (tx) => {
        await lockOrg(tx);
        const me = await findMember(tx, caller.id, true);
        if (!me) throw notFound();
        if (me.role === 'owner' && (await otherActiveOwners(tx, me.member_id)) === 0) {
          throw new AppError('INVALID_STATE', 'You are the last owner: hand ownership over (POST /v1/org/transfer-ownership) before you leave.');
        }
        // Its personal tokens and team memberships go with the row; its vault policies here.
        await deletePoliciesNaming(tx, 'user', me.member_id);
        await revokeInvitationsBy(tx, me.member_id);
        await deleteMember(tx, me.member_id);
        let ended = 0;
        if (me.user_id !== null) {
          await removeUserOrg(tx, me.user_id);
          ended = (await revokeSessions(tx, { userId: me.user_id, orgId: tx.orgId }, 'left_org')).length;
        }
        noteAuditDetail({ event: { sessions: ended } });
      });
    },

    async transferOwnership(caller, memberId) {
      await authz.require(caller, 'admin', area(caller));
      if (!actsAsOwner(caller)) throw separationOfDuties('owner', 'Only an owner may hand ownership over.');
      requireStepUp(caller, 'org.transfer');
      return authz.withChange(caller.orgId, async (tx) => {
        await lockOrg(tx);
        if (caller.kind === 'user') {
          // The role authentication saw may have changed since: read it again, under the lock.
          const me = await findMember(tx, caller.id, true);
          if (!me || me.role !== 'owner' || me.status !== 'active') throw separationOfDuties('owner', 'Only an owner may hand ownership over.');
        }
        const target = await findMember(tx, memberId, true);
        if (!target) throw notFound();
        if (caller.kind === 'user' && target.member_id === caller.id) throw new AppError('INVALID_STATE', 'Name another member: you are the owner.');
        if (target.role === 'owner') throw new AppError('INVALID_STATE', 'That member is an owner already.');
        if (target.status !== 'active' || target.user_id === null) {
          throw new AppError('INVALID_STATE', 'Ownership goes to an active member who signs in (one who joined by invitation).');
        }
        await setMemberRole(tx, target.member_id, 'owner');
        if (caller.kind === 'user') await setMemberRole(tx, caller.id, 'admin');
        return { member_id: target.member_id, role: 'owner' as const, your_role: caller.kind === 'user' ? ('admin' as const) : ('owner' as const) };
      });
    },
  };
}
