/**
 * The built-in roles (SPEC P2). Their definitions are code, not data: an org cannot change what
 * `owner` or `office` means, only create custom roles beside them. The docs' role table is this
 * file; keep them in step.
 */

import { ACTIONS, ORG_AREAS } from './types.js';
import type { Action, OrgArea, RoleDef } from './types.js';

export type BuiltInRoleId = 'owner' | 'admin' | 'manager' | 'office' | 'employee';

/** Every action on every org area. */
function everyOrgArea(): Partial<Record<OrgArea, readonly Action[]>> {
  const org: Partial<Record<OrgArea, readonly Action[]>> = {};
  for (const area of ORG_AREAS) org[area] = ACTIONS;
  return org;
}

/** A frozen built-in role, down to its action lists. */
function defineRole(role: Omit<RoleDef, 'builtIn'> & { readonly id: BuiltInRoleId }): RoleDef {
  const org = Object.freeze(
    Object.fromEntries(Object.entries(role.org).map(([area, actions]) => [area, Object.freeze([...actions])])),
  );
  const vaults =
    role.vaults === null ? null : Object.freeze({ ...role.vaults, actions: Object.freeze([...role.vaults.actions]) });
  return Object.freeze({ ...role, builtIn: true, org, vaults });
}

const ROLES: readonly RoleDef[] = [
  defineRole({
    id: 'owner',
    name: 'Owner',
    org: everyOrgArea(),
    vaults: { scope: 'all', actions: ACTIONS },
    restricted: false,
  }),
  // Same as owner until owner-only actions (ownership transfer) exist.
  defineRole({
    id: 'admin',
    name: 'Admin',
    org: everyOrgArea(),
    vaults: { scope: 'all', actions: ACTIONS },
    restricted: false,
  }),
  defineRole({
    id: 'manager',
    name: 'Manager',
    org: {
      vaults: ['describe', 'write'],
      members: ['describe'],
      teams: ['describe'],
      // Seeing agents only: an agent may hold grants on other teams' vaults, so rotating its
      // key or reactivating it would reach beyond this manager's teams.
      agents: ['describe'],
      access: ['describe'],
      approvals: ['admin'],
    },
    vaults: { scope: 'team', actions: ['describe', 'read', 'write', 'delete', 'share', 'detokenize', 'admin'] },
    restricted: false,
  }),
  // Separation of duties: creates and uses secrets, never manages policies or integrations.
  defineRole({
    id: 'office',
    name: 'Office',
    org: {
      vaults: ['describe'],
      members: ['describe'],
      teams: ['describe'],
    },
    vaults: { scope: 'team', actions: ['describe', 'read', 'write'] },
    restricted: true,
  }),
  defineRole({
    id: 'employee',
    name: 'Employee',
    org: {
      vaults: ['describe'],
      teams: ['describe'],
    },
    vaults: { scope: 'team', actions: ['describe'] },
    restricted: false,
  }),
];

/** The built-in roles by id: `owner`, `admin`, `manager`, `office`, `employee`. Frozen. */
export const BUILT_IN_ROLES: ReadonlyMap<string, RoleDef> = new Map(ROLES.map((role) => [role.id, role]));

/**
 * Whether `id` names a built-in role (rather than a custom role's uuid).
 *
 * @example isBuiltInRole('manager') // true
 */
export function isBuiltInRole(id: string): id is BuiltInRoleId {
  return BUILT_IN_ROLES.has(id);
}

/**
 * A role that administers something — any org area or vaults with `admin` — so that handing it
 * out (an invitation, a new member) is a step-up operation like changing a member's role (I3).
 */
export function administers(role: RoleDef): boolean {
  return Object.values(role.org).some((actions) => actions?.includes('admin')) || (role.vaults?.actions.includes('admin') ?? false);
}
