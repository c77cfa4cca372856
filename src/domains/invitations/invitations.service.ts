import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { WithInstallationTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { addUserOrg, findMembership, findUser } from '../../identity/identity.repo.js';
import type { Logger } from '../../log.js';
import type { Mailer } from '../../mail/mailer.js';
import { invitationMail } from '../../mail/templates.js';
import { actorOf } from '../../policy/policy.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { administers } from '../../policy/roles.js';
import { type Authorizer, type Caller, requireStepUp } from '../authz/authz.service.js';
import { findMember, findMemberByEmail, insertMember, linkMemberUser } from '../members/members.repo.js';
import type { AuditTarget } from '../orgs/orgs.types.js';
import { findOrg } from '../orgs/orgs.repo.js';
import { assertMayHandOut, callerRoleDef, loadRoleDef } from '../roles/roles.service.js';
import type { InvitationTokens } from './invitation-tokens.js';
import {
  findInvitation,
  insertInvitation,
  listInvitations,
  markInvitationAccepted,
  revokeInvitation,
  revokePendingFor,
  type InvitationRow,
} from './invitations.repo.js';
import type { AcceptedInvitationView, CreatedInvitationView, CreateInvitationInput, InvitationView } from './invitations.types.js';

/** Dependencies of the invitation service. */
export interface InvitationServiceDeps {
  withTenantTx: WithTenantTx;
  withRecordedTx: WithTenantTx;
  withInstallationTx: WithInstallationTx;
  authz: Pick<Authorizer, 'require' | 'withChange'>;
  tokens: InvitationTokens;
  mailer: Mailer;
  logger: Logger;
  /** Where people reach the server: the accept link is `<publicUrl>/invite#token=…`. */
  publicUrl: string;
  now?: () => Date;
}

/**
 * Invitations (I5): how people join an org. An admin invites an address with a role; the
 * invitee gets a signed, expiring, single-use link by e-mail and accepts it while signed in
 * with that very address (proven by an e-mail code or a provider that verified it). The
 * invitation's role obeys the rules of adding a member: only an owner invites an owner, nobody
 * invites to a role that allows more than their own.
 *
 * Accepting fails with one NOT_FOUND for every reason (unknown, tampered, revoked, expired,
 * used, another address), so a link tells its holder nothing about the org or the invitee.
 */
export interface InvitationService {
  create(caller: Caller, input: CreateInvitationInput): Promise<CreatedInvitationView>;
  list(caller: Caller): Promise<InvitationView[]>;
  /** Revokes a pending invitation: its link stops working at once. */
  revoke(caller: Caller, invitationId: string): Promise<void>;
  /** The signed-in person joins the org the invitation names. */
  accept(person: { userId: string }, token: string, audit: AuditTarget): Promise<AcceptedInvitationView>;
}

/** Builds the invitation service. */
export function createInvitationService(deps: InvitationServiceDeps): InvitationService {
  const { withTenantTx, withRecordedTx, authz } = deps;
  const now = deps.now ?? (() => new Date());
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'members' as const });

  function toView(row: InvitationRow): InvitationView {
    const expired = row.status === 'pending' && row.expires_at.getTime() <= now().getTime();
    return {
      id: row.invitation_id,
      email: row.email,
      role: row.role,
      status: expired ? 'expired' : row.status,
      expires_at: row.expires_at.toISOString(),
      created_by: row.created_by,
      created_at: row.created_at.toISOString(),
      accepted_at: row.accepted_at?.toISOString() ?? null,
    };
  }

  return {
    async create(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      const invitationId = randomUUID();
      const expiresAt = new Date(now().getTime() + input.expires_in_hours * 3_600_000);
      // Signed before the transaction: no key provider call inside it.
      const token = await deps.tokens.sign({ orgId: caller.orgId, invitationId, expiresAt });
      const made = await withRecordedTx(caller.orgId, async (tx) => {
        const role = await loadRoleDef(tx, input.role, 'share');
        if (!role) throw new AppError('VALIDATION_FAILED', 'There is no role with that id in this org.');
        assertMayHandOut(await callerRoleDef(tx, caller), role, 'grant');
        // Inviting someone into a role that administers is a role change (step-up, I3).
        if (administers(role)) requireStepUp(caller, 'role.change');
        if (await findMemberByEmail(tx, input.email)) {
          throw new AppError('CONFLICT', 'A member with that e-mail address already exists in this org.');
        }
        // One live invitation per address: a new one replaces the earlier links.
        await revokePendingFor(tx, input.email);
        const row = await insertInvitation(tx, { invitationId, email: input.email, role: input.role, expiresAt, createdBy: actorOf(caller) });
        noteAuditDetail({ createdId: invitationId });
        const inviter = caller.kind === 'user' ? await findMember(tx, caller.id) : undefined;
        return {
          row,
          roleName: role.name,
          orgName: (await findOrg(tx))?.name ?? '',
          inviterName: inviter ? inviter.display_name || inviter.email : 'An administrator',
        };
      });
      const acceptUrl = `${deps.publicUrl}/invite#token=${token}`;
      // After commit (no network inside a transaction). A mail that does not go is no failure:
      // the inviter has the link and may hand it over another way.
      const mail = invitationMail({ orgName: made.orgName, inviterName: made.inviterName, role: made.roleName, acceptUrl, expiresAt });
      const sent = await deps.mailer.send({ to: made.row.email, ...mail }).then(
        () => deps.mailer.configured,
        (err: unknown) => {
          deps.logger.warn({ err }, 'an invitation could not be e-mailed');
          return false;
        },
      );
      return { ...toView(made.row), accept_url: acceptUrl, token, email_sent: sent };
    },

    async list(caller) {
      await authz.require(caller, 'describe', area(caller));
      return (await withTenantTx(caller.orgId, listInvitations)).map(toView);
    },

    async revoke(caller, invitationId) {
      await authz.require(caller, 'admin', area(caller));
      await withRecordedTx(caller.orgId, async (tx) => {
        const row = await findInvitation(tx, invitationId, true);
        if (!row) throw notFound();
        if (row.status === 'accepted') throw new AppError('INVALID_STATE', 'That invitation was accepted: remove the member instead.');
        // Revoking a revoked invitation changes nothing and says so by succeeding.
        await revokeInvitation(tx, invitationId);
      });
    },

    async accept(person, token, audit) {
      const claims = await deps.tokens.verify(token);
      if (!claims) throw notFound();
      // A validly signed invitation provably names its org: the attempt is recorded there,
      // against the invitation it names, whether or not it succeeds.
      audit.recordIn(claims.orgId, { type: 'user', id: person.userId });
      noteAuditDetail({ createdId: claims.invitationId });
      const user = await deps.withInstallationTx((q) => findUser(q, person.userId));
      if (!user || user.status !== 'active') throw new AppError('UNAUTHENTICATED');
      return authz
        .withChange(claims.orgId, async (tx) => {
          const inv = await findInvitation(tx, claims.invitationId, true);
          // users.email is the verified address (I1): only its owner could have signed in with it.
          if (!inv || inv.status !== 'pending' || inv.expires_at.getTime() <= now().getTime() || inv.email !== user.email) throw notFound();
          const role = await loadRoleDef(tx, inv.role, 'share');
          if (!role) throw notFound(); // its custom role was deleted since: the invitation is void
          if (await findMembership(tx, user.user_id)) throw new AppError('CONFLICT', 'You are a member of this org already.');
          let memberId: string;
          let roleId: string;
          const existing = await findMemberByEmail(tx, user.email, true);
          if (existing) {
            // A member added by address before it signed in: linked, keeping its own role.
            if (existing.user_id !== null || existing.status !== 'active') {
              throw new AppError('CONFLICT', 'A member with your e-mail address exists in this org already: ask an admin.');
            }
            await linkMemberUser(tx, existing.member_id, user.user_id);
            memberId = existing.member_id;
            roleId = existing.role;
          } else {
            memberId = randomUUID();
            roleId = inv.role;
            await insertMember(tx, {
              memberId,
              email: user.email,
              displayName: user.display_name,
              role: inv.role,
              createdBy: inv.created_by,
              userId: user.user_id,
            });
          }
          await addUserOrg(tx, user.user_id, memberId);
          await markInvitationAccepted(tx, inv.invitation_id, user.user_id);
          // In the org's events a person is named by their member id.
          audit.recordIn(claims.orgId, { type: 'user', id: memberId });
          return { org_id: claims.orgId, member_id: memberId, role: roleId };
        })
        .catch((err: unknown) => {
          // An admin added the address (or another session accepted) in the same instant.
          if (isUniqueViolation(err, 'members_email_key') || isUniqueViolation(err, 'members_user_key')) {
            throw new AppError('CONFLICT', 'You are a member of this org already.', { cause: err });
          }
          throw err;
        });
    },
  };
}
