import { z } from 'zod';
import type { BuiltInRoleId } from '../../policy/roles.js';
import { ACTIONS, ORG_AREAS, type Action } from '../../policy/types.js';
import { name, text } from '../../schemas.js';

/** The built-in role ids, in the order they are listed (most to least powerful). */
export const BUILT_IN_ROLE_IDS = ['owner', 'admin', 'manager', 'office', 'employee'] as const satisfies readonly BuiltInRoleId[];

/** A role named in a URL: a built-in role's id, or a custom role's UUID. */
export const roleParams = z
  .object({
    roleId: z.union([z.enum(BUILT_IN_ROLE_IDS), z.uuid()]).describe("A built-in role's id (`owner`, `admin`, …) or a custom role's UUID"),
  })
  .strict();

/** A list of actions: each one once, in the canonical order of ACTIONS. */
const actionList = z
  .array(z.enum(ACTIONS))
  .max(ACTIONS.length * 2)
  .transform((actions): Action[] => ACTIONS.filter((a) => actions.includes(a)));

const orgGrants = z
  .partialRecord(z.enum(ORG_AREAS), actionList)
  .describe('Actions on org areas: `describe` is see/list, `admin` is change')
  // An area with no actions is no grant at all: drop it, so a role reads the same however it was sent.
  .transform((grants) =>
    Object.fromEntries(Object.entries(grants).filter(([, actions]) => actions !== undefined && actions.length > 0)) as Partial<
      Record<(typeof ORG_AREAS)[number], Action[]>
    >,
  );

/** A custom role's definition, as created (POST) or replaced as a whole (PUT). */
export const roleBody = z
  .object({
    name: name(100).describe('Unique (case-insensitively) within the org; never the name of a built-in role'),
    description: text(1000).default(''),
    org_grants: orgGrants.default({}),
    vault_scope: z
      .enum(['all', 'team'])
      .nullable()
      .default(null)
      .describe("Which vaults `vault_actions` reach: every vault, only the vaults of the member's teams, or none (null)"),
    vault_actions: actionList.default([]).describe('Actions on the vaults in scope and every secret in them'),
    restricted: z
      .boolean()
      .default(false)
      .describe('Separation of duties: the role may never administer policies or integrations, nor the policies of a vault'),
  })
  .strict();
export type RoleInput = z.output<typeof roleBody>;

export const roleResponse = z.object({
  id: z.string().describe("A built-in role's id or a custom role's UUID"),
  name: z.string(),
  description: z.string(),
  built_in: z.boolean().describe('Built-in roles are defined by Strongroom and cannot be changed or deleted'),
  org_grants: z.partialRecord(z.enum(ORG_AREAS), z.array(z.enum(ACTIONS))),
  vault_scope: z.enum(['all', 'team']).nullable(),
  vault_actions: z.array(z.enum(ACTIONS)),
  restricted: z.boolean(),
});
export type RoleView = z.output<typeof roleResponse>;

export const roleListResponse = z.object({ roles: z.array(roleResponse) });
