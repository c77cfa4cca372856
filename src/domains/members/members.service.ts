import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf } from '../../policy/policy.js';
import type { RoleDef } from '../../policy/types.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { administers } from '../../policy/roles.js';
import { type Authorizer, type Caller, requireStepUp, separationOfDuties } from '../authz/authz.service.js';
import { removeUserOrg, revokeSessions } from '../../identity/identity.repo.js';
import { revokeInvitationsBy } from '../invitations/invitations.repo.js';
import { deletePoliciesNaming } from '../policies/policies.repo.js';
import { assertMayHandOut, callerRoleDef, isOwner, loadRoleDef, roleExceeds } from '../roles/roles.service.js';
import { generateToken } from '../tokens/tokens.fns.js';
import { insertToken, revokeMemberTokens } from '../tokens/tokens.repo.js';
import { deleteMember, findMember, insertMember, listMembers, updateMember, type MemberRow } from './members.repo.js';
import type { CreateMemberInput, MemberView, UpdateMemberInput } from './members.types.js';

/** Dependencies of the member service. */
export interface MemberServiceDeps {
  withTenantTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'withChange'>;
}

/**
 * Members: the people of an org (I5, P2). Until sign-in exists, whoever adds a member receives
 * its first personal token (`sr_user_…`), once, to hand over.
 *
 * Rules beyond the `members` grant (403 SEPARATION_OF_DUTIES): only an owner grants the owner
 * role or changes, deactivates or deletes an owner; nobody hands out a role that allows more
 * than their own, nor changes a member whose role does; nobody changes their own role or
 * deactivates or deletes themselves. E-mail addresses are personal data: never logged.
 */
export interface MemberService {
  create(caller: Caller, input: CreateMemberInput): Promise<{ member: MemberView; token: string }>;
  list(caller: Caller): Promise<MemberView[]>;
  get(caller: Caller, memberId: string): Promise<MemberView>;
  /** Changes a member; `active: false` revokes every personal token it holds before this returns. */
  update(caller: Caller, memberId: string, input: UpdateMemberInput): Promise<MemberView>;
  remove(caller: Caller, memberId: string): Promise<void>;
  /** Ends every session the member's person has open in this org (other orgs' sessions stay); how many. */
  revokeSessions(caller: Caller, memberId: string): Promise<number>;
}

function toView(row: MemberRow): MemberView {
  return {
    id: row.member_id,
    email: row.email,
    display_name: row.display_name,
    role: row.role,
    active: row.status === 'active',
    teams: row.teams,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function conflictOnEmail(err: unknown): never {
  // The address is personal data: it is neither echoed nor logged.
  if (isUniqueViolation(err, 'members_email_key')) {
    throw new AppError('CONFLICT', 'A member with that e-mail address already exists in this org.', { cause: err });
  }
  throw err;
}

/** The role to give a member, kept (FOR SHARE) from being changed or deleted meanwhile; 400 when the org has none such. */
async function grantedRole(tx: TenantTx, roleId: string): Promise<RoleDef> {
  const role = await loadRoleDef(tx, roleId, 'share');
  if (!role) throw new AppError('VALIDATION_FAILED', 'There is no role with that id in this org.');
  return role;
}

/** Throws 403 unless the caller may change or remove `target` (owners only by owners; no one above oneself). */
export async function assertMayManage(tx: TenantTx, callerRole: RoleDef | undefined, target: MemberRow): Promise<void> {
  if (isOwner(callerRole)) return;
  if (target.role === 'owner') throw separationOfDuties('owner', 'Only an owner may change, deactivate or delete an owner.');
  const targetRole = await loadRoleDef(tx, target.role);
  if (targetRole !== undefined && (callerRole === undefined || roleExceeds(targetRole, callerRole))) {
    throw separationOfDuties('exceeds', 'You may not change or remove a member whose role allows more than your own.');
  }
}

const isSelf = (caller: Caller, target: MemberRow) => caller.kind === 'user' && caller.id === target.member_id;

/**
 * Ends the sessions `target`'s person has open in this org, inside the change's transaction:
 * every node reads the session row on every request (I4), so they stop with this commit.
 * Sessions in the person's other orgs are theirs to keep.
 */
async function endSessionsHere(tx: TenantTx, target: MemberRow, reason: string): Promise<number> {
  if (target.user_id === null) return 0;
  // Sessions signed in before now do not count here again, even switched in from another org.
  await tx.query('UPDATE members SET sessions_not_before = now() WHERE org_id = $1 AND member_id = $2', [tx.orgId, target.member_id]);
  const ended = await revokeSessions(tx, { userId: target.user_id, orgId: tx.orgId }, reason);
  return ended.length;
}

/** Builds the member service. */
export function createMemberService(deps: MemberServiceDeps): MemberService {
  const { withTenantTx, authz } = deps;
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'members' as const });

  return {
    async create(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      const memberId = randomUUID();
      const issued = generateToken('user', caller.orgId);
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          const role = await grantedRole(tx, input.role);
          assertMayHandOut(await callerRoleDef(tx, caller), role, 'grant');
          // Adding someone in a role that administers is a role change (step-up, I3).
          if (administers(role)) requireStepUp(caller, 'role.change');
          const inserted = await insertMember(tx, {
            memberId,
            email: input.email,
            displayName: input.display_name,
            role: input.role,
            createdBy: actorOf(caller),
          });
          await insertToken(tx, {
            tokenId: issued.tokenId,
            kind: 'user',
            role: null,
            memberId,
            secretHash: issued.secretHash,
            description: 'first personal token',
          });
          // Noted once it exists: a refused create is recorded as `member:(new)`.
          noteAuditDetail({ createdId: memberId });
          return inserted;
        })
        .catch(conflictOnEmail);
      return { member: toView(row), token: issued.token };
    },

    async list(caller) {
      await authz.require(caller, 'describe', area(caller));
      return (await withTenantTx(caller.orgId, listMembers)).map(toView);
    },

    async get(caller, memberId) {
      await authz.require(caller, 'describe', area(caller));
      const row = await withTenantTx(caller.orgId, (tx) => findMember(tx, memberId));
      if (!row) throw notFound();
      return toView(row);
    },

    async update(caller, memberId, input) {
      await authz.require(caller, 'admin', area(caller));
      const row = await authz.withChange(caller.orgId, async (tx) => {
        const target = await findMember(tx, memberId, true);
        if (!target) throw notFound();
        // Naming the role a member already holds is no change (and allowed on oneself).
        const newRole = input.role !== undefined && input.role !== target.role ? input.role : undefined;
        if (isSelf(caller, target) && newRole !== undefined) throw separationOfDuties('self', 'You may not change your own role.');
        if (isSelf(caller, target) && input.active === false) throw separationOfDuties('self', 'You may not deactivate yourself.');
        const callerRole = await callerRoleDef(tx, caller);
        await assertMayManage(tx, callerRole, target);
        if (newRole !== undefined) assertMayHandOut(callerRole, await grantedRole(tx, newRole), 'grant');
        // A role change is a step-up operation (I3), checked once the change is known to be allowed.
        if (newRole !== undefined) requireStepUp(caller, 'role.change');
        const updated = await updateMember(tx, target.member_id, {
          ...(input.display_name === undefined ? {} : { displayName: input.display_name }),
          ...(newRole === undefined ? {} : { role: newRole }),
          ...(input.active === undefined ? {} : { active: input.active }),
        });
        // P6: a deactivated member's tokens and sessions die with this commit, on every node.
        if (input.active === false) {
          await revokeMemberTokens(tx, target.member_id);
          await revokeInvitationsBy(tx, target.member_id);
          noteAuditDetail({ event: { sessions: await endSessionsHere(tx, target, 'member_deactivated') } });
        }
        return updated as MemberRow; // the row is locked: it is still there
      });
      return toView(row);
    },

    async remove(caller, memberId) {
      await authz.require(caller, 'admin', area(caller));
      await authz.withChange(caller.orgId, async (tx) => {
        const target = await findMember(tx, memberId, true);
        if (!target) throw notFound();
        if (isSelf(caller, target)) throw separationOfDuties('self', 'You may not delete yourself.');
        await assertMayManage(tx, await callerRoleDef(tx, caller), target);
        // Its tokens and team memberships go with the row (foreign keys); its vault policies here.
        await deletePoliciesNaming(tx, 'user', target.member_id);
        await revokeInvitationsBy(tx, target.member_id);
        await deleteMember(tx, target.member_id);
        if (target.user_id !== null) await removeUserOrg(tx, target.user_id);
        noteAuditDetail({ event: { sessions: await endSessionsHere(tx, target, 'member_removed') } });
      });
    },

    async revokeSessions(caller, memberId) {
      await authz.require(caller, 'admin', area(caller));
      // Recorded with the change; the epoch bump it brings is harmless (nothing decisions read changed).
      return authz.withChange(caller.orgId, async (tx) => {
        const target = await findMember(tx, memberId, true);
        if (!target) throw notFound();
        await assertMayManage(tx, await callerRoleDef(tx, caller), target);
        const ended = await endSessionsHere(tx, target, 'revoked_by_admin');
        noteAuditDetail({ event: { sessions: ended } });
        return ended;
      });
    },
  };
}
