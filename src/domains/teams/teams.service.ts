import { randomUUID } from 'node:crypto';
import { isForeignKeyViolation, isUniqueViolation } from '../../db/errors.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf } from '../../policy/policy.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { type Authorizer, type Caller, separationOfDuties } from '../authz/authz.service.js';
import { deletePoliciesNaming } from '../policies/policies.repo.js';
import {
  addTeamMember,
  deleteTeam,
  findTeam,
  insertTeam,
  listTeams,
  lockTeamAndMember,
  removeTeamMember,
  updateTeam,
  type TeamRow,
} from './teams.repo.js';
import type { CreateTeamInput, TeamView, UpdateTeamInput } from './teams.types.js';

/** Dependencies of the team service. */
export interface TeamServiceDeps {
  withTenantTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'withChange'>;
}

/**
 * Teams ("pods", P2): a member's team-scoped role reaches only the vaults of its teams. Every
 * change takes effect on the next request (the org's authz epoch is bumped with it).
 */
export interface TeamService {
  create(caller: Caller, input: CreateTeamInput): Promise<TeamView>;
  list(caller: Caller): Promise<TeamView[]>;
  get(caller: Caller, teamId: string): Promise<TeamView>;
  update(caller: Caller, teamId: string, input: UpdateTeamInput): Promise<TeamView>;
  /** Deletes a team: its members lose its vaults at once; the vaults are left without a team. */
  remove(caller: Caller, teamId: string): Promise<void>;
  /** Makes a member part of a team (idempotent). */
  addMember(caller: Caller, teamId: string, memberId: string): Promise<void>;
  /** Takes a member out of a team; NOT_FOUND when it is not in it. */
  removeMember(caller: Caller, teamId: string, memberId: string): Promise<void>;
}

function toView(row: TeamRow): TeamView {
  return {
    id: row.team_id,
    name: row.name,
    description: row.description,
    members: row.members,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

function conflictOnName(err: unknown): never {
  if (isUniqueViolation(err, 'teams_name_key')) {
    throw new AppError('CONFLICT', 'A team with that name already exists in this org.', { cause: err });
  }
  throw err;
}

/** Builds the team service. */
export function createTeamService(deps: TeamServiceDeps): TeamService {
  const { withTenantTx, authz } = deps;
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'teams' as const });

  return {
    async create(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      const teamId = randomUUID();
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          const inserted = await insertTeam(tx, { teamId, name: input.name, description: input.description, createdBy: actorOf(caller) });
          // Noted once it exists: a refused create is recorded as `team:(new)`.
          noteAuditDetail({ createdId: teamId });
          return inserted;
        })
        .catch(conflictOnName);
      return toView(row);
    },

    async list(caller) {
      await authz.require(caller, 'describe', area(caller));
      return (await withTenantTx(caller.orgId, listTeams)).map(toView);
    },

    async get(caller, teamId) {
      await authz.require(caller, 'describe', area(caller));
      const row = await withTenantTx(caller.orgId, (tx) => findTeam(tx, teamId));
      if (!row) throw notFound();
      return toView(row);
    },

    async update(caller, teamId, input) {
      await authz.require(caller, 'admin', area(caller));
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          const change = {
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.description === undefined ? {} : { description: input.description }),
          };
          // Thrown inside, so a missing team rolls back: no success recorded, no epoch bumped.
          if (!(await updateTeam(tx, teamId, change))) throw notFound();
          return (await findTeam(tx, teamId)) as TeamRow;
        })
        .catch(conflictOnName);
      return toView(row);
    },

    async remove(caller, teamId) {
      await authz.require(caller, 'admin', area(caller));
      await authz.withChange(caller.orgId, async (tx) => {
        // Its vault policies go first, while the team's id is still known to be this org's.
        const row = await findTeam(tx, teamId);
        if (!row) throw notFound();
        await deletePoliciesNaming(tx, 'team', row.team_id);
        await deleteTeam(tx, row.team_id);
      });
    },

    async addMember(caller, teamId, memberId) {
      await authz.require(caller, 'admin', area(caller));
      // Joining a team widens one's own reach (its vaults): someone else must decide it (P2).
      if (caller.kind === 'user' && caller.id.toLowerCase() === memberId.toLowerCase()) {
        throw separationOfDuties('self', 'You may not add yourself to a team; ask another administrator.');
      }
      try {
        await authz.withChange(caller.orgId, async (tx) => {
          const found = await lockTeamAndMember(tx, teamId, memberId);
          if (!found.team || !found.member) throw notFound();
          await addTeamMember(tx, teamId, memberId);
        });
      } catch (err) {
        // Deleted between the check and the insert.
        if (isForeignKeyViolation(err)) throw notFound();
        throw err;
      }
    },

    async removeMember(caller, teamId, memberId) {
      await authz.require(caller, 'admin', area(caller));
      await authz.withChange(caller.orgId, async (tx) => {
        if (!(await removeTeamMember(tx, teamId, memberId))) throw notFound();
      });
    },
  };
}
