import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf } from '../../policy/policy.js';
import { BUILT_IN_ROLES, isBuiltInRole, type BuiltInRoleId } from '../../policy/roles.js';
import { ORG_AREAS, RESTRICTED_AREAS, type Action, type OrgArea, type RoleDef } from '../../policy/types.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { deletePoliciesNaming } from '../policies/policies.repo.js';
import { type Authorizer, type Caller, requireStepUp, separationOfDuties } from '../authz/authz.service.js';
import {
  countMembersWithRole,
  deleteRole,
  findRole,
  insertRole,
  listRoles,
  replaceRole,
  type RoleContent,
  type RoleRow,
} from './roles.repo.js';
import { BUILT_IN_ROLE_IDS, type RoleInput, type RoleView } from './roles.types.js';

/** Dependencies of the role service. */
export interface RoleServiceDeps {
  withTenantTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'withChange'>;
}

/** Roles (P2): the built-in ones, read-only, and the org's custom roles. */
export interface RoleService {
  list(caller: Caller): Promise<RoleView[]>;
  get(caller: Caller, roleId: string): Promise<RoleView>;
  create(caller: Caller, input: RoleInput): Promise<RoleView>;
  /** Replaces a custom role's whole definition; its holders get the new grants on their next request. */
  replace(caller: Caller, roleId: string, input: RoleInput): Promise<RoleView>;
  /** Deletes a custom role that no member holds. */
  remove(caller: Caller, roleId: string): Promise<void>;
}

const BUILT_IN_DESCRIPTIONS: Record<BuiltInRoleId, string> = {
  owner: 'Everything in the org, including granting the owner role and changing owners.',
  admin: 'Everything in the org, except granting the owner role or changing owners.',
  manager: 'Sees members, teams and agents, creates vaults in its teams and decides access requests for them; every action on the vaults of its teams.',
  office: 'Separation of duties: reads and writes the secrets of its teams\' vaults; never manages policies or integrations.',
  employee: 'Sees the vaults of its teams.',
};

/** A stored custom role as the engine's role definition. */
export function roleDefOfRow(row: Pick<RoleRow, 'role_id' | 'name' | 'org_grants' | 'vault_scope' | 'vault_actions' | 'restricted'>): RoleDef {
  return {
    id: row.role_id,
    name: row.name,
    builtIn: false,
    org: row.org_grants,
    vaults: row.vault_scope === null ? null : { scope: row.vault_scope, actions: row.vault_actions },
    restricted: row.restricted,
  };
}

/**
 * The definition of a role by id — a built-in one, or a custom role of the transaction's org
 * (locked as `lock` says); undefined when the org has no such role. Custom role ids are
 * compared in their canonical (lower-case) spelling, as members store them.
 */
export async function loadRoleDef(tx: TenantTx, roleId: string, lock?: 'share' | 'update'): Promise<RoleDef | undefined> {
  const builtIn = BUILT_IN_ROLES.get(roleId);
  if (builtIn) return builtIn;
  if (!UUID.test(roleId)) return undefined;
  const row = await findRole(tx, roleId.toLowerCase(), lock);
  return row ? roleDefOfRow(row) : undefined;
}

/** The role the caller acts with: root tokens are owners; agents hold no role. */
export async function callerRoleDef(tx: TenantTx, caller: Caller): Promise<RoleDef | undefined> {
  if (caller.kind === 'root_token') return BUILT_IN_ROLES.get('owner');
  if (caller.kind !== 'user' || caller.role === null) return undefined;
  return loadRoleDef(tx, caller.role);
}

/** True when the caller acts as an owner (an owner member, or a root token). */
export function isOwner(callerRole: RoleDef | undefined): boolean {
  return callerRole?.id === 'owner';
}

interface EffectiveGrants {
  org: Map<OrgArea, Set<Action>>;
  vaultScope: 'all' | 'team' | null;
  vaultActions: Set<Action>;
}

/**
 * What a role allows in effect, as the engine decides: a restricted role never administers
 * policies, integrations or a vault's policies (engine.ts rule 3); on vaults `read` implies
 * `describe`.
 */
function effectiveGrants(role: RoleDef): EffectiveGrants {
  const org = new Map<OrgArea, Set<Action>>();
  for (const area of ORG_AREAS) {
    const actions = new Set(role.org[area] ?? []);
    if (role.restricted && RESTRICTED_AREAS.includes(area)) actions.delete('admin');
    org.set(area, actions);
  }
  const vaultActions = new Set(role.vaults?.actions ?? []);
  if (role.restricted) vaultActions.delete('admin');
  if (vaultActions.has('read')) vaultActions.add('describe');
  return { org, vaultScope: vaultActions.size === 0 ? null : (role.vaults?.scope ?? null), vaultActions };
}

/**
 * True when `role` allows something `holder` does not: an action on an org area, a wider vault
 * scope, or an action on vaults. Whoever holds `holder` may hand out only roles that do not
 * exceed it, or it could mint itself more access by proxy (a member it creates, whose first
 * token it receives).
 *
 * @example roleExceeds(BUILT_IN_ROLES.get('manager')!, BUILT_IN_ROLES.get('office')!) // true
 */
export function roleExceeds(role: RoleDef, holder: RoleDef): boolean {
  const wanted = effectiveGrants(role);
  const held = effectiveGrants(holder);
  for (const [area, actions] of wanted.org) {
    const mine = held.org.get(area) ?? new Set<Action>();
    for (const action of actions) if (!mine.has(action)) return true;
  }
  if (wanted.vaultScope === null) return false;
  if (held.vaultScope === null || (wanted.vaultScope === 'all' && held.vaultScope !== 'all')) return true;
  for (const action of wanted.vaultActions) if (!held.vaultActions.has(action)) return true;
  return false;
}

/**
 * Throws 403 SEPARATION_OF_DUTIES unless the caller may hand out `granted` (to a member, or as a
 * custom role's definition): only an owner grants `owner`, and nobody else hands out more than
 * their own role allows.
 */
export function assertMayHandOut(callerRole: RoleDef | undefined, granted: RoleDef, what: 'grant' | 'define'): void {
  if (isOwner(callerRole)) return;
  if (granted.id === 'owner') throw separationOfDuties('owner', 'Only an owner may grant the owner role.');
  if (callerRole === undefined || roleExceeds(granted, callerRole)) {
    throw separationOfDuties(
      'exceeds',
      what === 'grant'
        ? 'You may not grant a role that allows more than your own role does.'
        : 'You may not define a role that allows more than your own role does.',
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BUILT_IN_NAMES = new Set([...BUILT_IN_ROLES.values()].flatMap((r) => [r.id.toLowerCase(), r.name.toLowerCase()]));

function builtInView(id: BuiltInRoleId): RoleView {
  const role = BUILT_IN_ROLES.get(id) as RoleDef;
  return {
    id: role.id,
    name: role.name,
    description: BUILT_IN_DESCRIPTIONS[id],
    built_in: true,
    org_grants: Object.fromEntries(Object.entries(role.org).map(([area, actions]) => [area, [...actions]])),
    vault_scope: role.vaults?.scope ?? null,
    vault_actions: [...(role.vaults?.actions ?? [])],
    restricted: role.restricted,
  };
}

function toView(row: RoleRow): RoleView {
  return {
    id: row.role_id,
    name: row.name,
    description: row.description,
    built_in: false,
    org_grants: row.org_grants,
    vault_scope: row.vault_scope,
    vault_actions: row.vault_actions,
    restricted: row.restricted,
  };
}

/** Checks a custom role's definition beyond its schema; the content to store. */
function checkedContent(input: RoleInput): RoleContent {
  if (BUILT_IN_NAMES.has(input.name.toLowerCase())) {
    throw new AppError('VALIDATION_FAILED', `"${input.name}" is the name of a built-in role; choose another name.`);
  }
  if (input.vault_scope === null && input.vault_actions.length > 0) {
    throw new AppError('VALIDATION_FAILED', 'vault_actions need a vault_scope ("all" or "team"); set vault_scope, or send no vault_actions.');
  }
  if (input.vault_scope !== null && input.vault_actions.length === 0) {
    throw new AppError('VALIDATION_FAILED', 'A vault_scope needs at least one of vault_actions; or set vault_scope to null.');
  }
  if (input.restricted) {
    // The engine refuses these anyway (SoD, engine.ts rule 3); a role that seems to grant them misleads.
    const refused = RESTRICTED_AREAS.filter((area) => input.org_grants[area]?.includes('admin'));
    if (refused.length > 0) {
      throw new AppError(
        'VALIDATION_FAILED',
        `A restricted role (separation of duties) may never administer ${refused.join(' or ')}: remove "admin" from those org_grants, or make the role unrestricted.`,
      );
    }
    if (input.vault_actions.includes('admin')) {
      throw new AppError(
        'VALIDATION_FAILED',
        'A restricted role (separation of duties) may never administer the policies of a vault: remove "admin" from vault_actions, or make the role unrestricted.',
      );
    }
  }
  return {
    name: input.name,
    description: input.description,
    orgGrants: input.org_grants,
    vaultScope: input.vault_scope,
    vaultActions: input.vault_actions,
    restricted: input.restricted,
  };
}

function contentDef(content: RoleContent): RoleDef {
  return roleDefOfRow({
    role_id: '(new)',
    name: content.name,
    org_grants: content.orgGrants as Partial<Record<OrgArea, Action[]>>,
    vault_scope: content.vaultScope,
    vault_actions: [...content.vaultActions],
    restricted: content.restricted,
  });
}

function conflictOnName(err: unknown): never {
  if (isUniqueViolation(err, 'roles_name_key')) {
    throw new AppError('CONFLICT', 'A role with that name already exists in this org.', { cause: err });
  }
  throw err;
}

function refuseBuiltIn(roleId: string, what: 'changed' | 'deleted'): void {
  if (isBuiltInRole(roleId)) {
    throw new AppError('VALIDATION_FAILED', `Built-in roles cannot be ${what}; create a custom role with the grants you need instead.`);
  }
}

/** Builds the role service. */
export function createRoleService(deps: RoleServiceDeps): RoleService {
  const { withTenantTx, authz } = deps;
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'roles' as const });

  return {
    async list(caller) {
      await authz.require(caller, 'describe', area(caller));
      const custom = await withTenantTx(caller.orgId, listRoles);
      return [...BUILT_IN_ROLE_IDS.map(builtInView), ...custom.map(toView)];
    },

    async get(caller, roleId) {
      await authz.require(caller, 'describe', area(caller));
      if (isBuiltInRole(roleId)) return builtInView(roleId);
      const row = await withTenantTx(caller.orgId, (tx) => findRole(tx, roleId.toLowerCase()));
      if (!row) throw notFound();
      return toView(row);
    },

    async create(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      requireStepUp(caller, 'role.change');
      const content = checkedContent(input);
      const roleId = randomUUID();
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          assertMayHandOut(await callerRoleDef(tx, caller), contentDef(content), 'define');
          const inserted = await insertRole(tx, { ...content, roleId, createdBy: actorOf(caller) });
          // Noted once it exists: a refused create is recorded as `role:(new)`.
          noteAuditDetail({ createdId: roleId });
          return inserted;
        })
        .catch(conflictOnName);
      return toView(row);
    },

    async replace(caller, roleId, input) {
      await authz.require(caller, 'admin', area(caller));
      requireStepUp(caller, 'role.change');
      refuseBuiltIn(roleId, 'changed');
      const content = checkedContent(input);
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          const current = await findRole(tx, roleId.toLowerCase(), 'update');
          if (!current) throw notFound();
          const callerRole = await callerRoleDef(tx, caller);
          // Neither what the role is now nor what it becomes may exceed the caller's own role:
          // otherwise it could reshape (demote) members it may not manage.
          assertMayHandOut(callerRole, roleDefOfRow(current), 'define');
          assertMayHandOut(callerRole, contentDef(content), 'define');
          return (await replaceRole(tx, roleId.toLowerCase(), content)) as RoleRow;
        })
        .catch(conflictOnName);
      return toView(row);
    },

    async remove(caller, roleId) {
      await authz.require(caller, 'admin', area(caller));
      requireStepUp(caller, 'role.change');
      refuseBuiltIn(roleId, 'deleted');
      await authz.withChange(caller.orgId, async (tx) => {
        // Locked first: a member being given this role meanwhile holds it FOR SHARE, so either
        // that member is counted here or the role is gone when it looks.
        const row = await findRole(tx, roleId.toLowerCase(), 'update');
        if (!row) throw notFound();
        assertMayHandOut(await callerRoleDef(tx, caller), roleDefOfRow(row), 'define');
        const holders = await countMembersWithRole(tx, row.role_id);
        if (holders > 0) {
          throw new AppError(
            'CONFLICT',
            `${holders} member${holders === 1 ? '' : 's'} still hold${holders === 1 ? 's' : ''} this role; give them another role first.`,
          );
        }
        await deletePoliciesNaming(tx, 'role', row.role_id);
        await deleteRole(tx, row.role_id);
      });
    },
  };
}
