import { z } from 'zod';
import { name, text } from '../../schemas.js';

/** A vault or secret id in a URL. */
export const uuidParam = z.uuid().describe('A UUID');

export const createVaultBody = z
  .object({
    name: name(100).describe('Unique (case-insensitively) within the org'),
    description: text(1000).default(''),
    team_id: z.uuid().optional().describe("The team that owns the vault: its members' roles reach it (P2)"),
  })
  .strict();
export type CreateVaultInput = z.output<typeof createVaultBody>;

export const vaultParams = z.object({ vaultId: uuidParam }).strict();

export const deleteVaultQuery = z
  .object({
    force: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true')
      .describe('Delete the vault even if it still holds secrets; they are destroyed with it'),
  })
  .strict();

export const vaultResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  team_id: z.uuid().nullable(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
});
export type VaultView = z.output<typeof vaultResponse>;

export const vaultListResponse = z.object({ vaults: z.array(vaultResponse) });
