import { z } from 'zod';
import { name, text } from '../../schemas.js';

export const teamParams = z.object({ teamId: z.uuid().describe('A UUID') }).strict();

export const teamMemberParams = z
  .object({
    teamId: z.uuid().describe("The team's UUID"),
    memberId: z.uuid().describe("The member's UUID"),
  })
  .strict();

export const createTeamBody = z
  .object({
    name: name(100).describe('Unique (case-insensitively) within the org'),
    description: text(1000).default(''),
  })
  .strict();
export type CreateTeamInput = z.output<typeof createTeamBody>;

export const updateTeamBody = z
  .object({
    name: name(100).optional(),
    description: text(1000).optional(),
  })
  .strict();
export type UpdateTeamInput = z.output<typeof updateTeamBody>;

export const teamResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  members: z.array(z.uuid()).describe("The team's members, by id"),
  created_by: z.string(),
  created_at: z.iso.datetime(),
});
export type TeamView = z.output<typeof teamResponse>;

export const teamListResponse = z.object({ teams: z.array(teamResponse) });
