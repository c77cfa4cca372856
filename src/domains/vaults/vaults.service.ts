import { randomUUID } from 'node:crypto';
import { isForeignKeyViolation, isUniqueViolation } from '../../db/errors.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import type { VaultKeyring } from '../../kms/keyring.js';
import { BUILT_IN_ROLES } from '../../policy/roles.js';
import { ACTIONS } from '../../policy/types.js';
import { actorOf } from '../../policy/policy.js';
import type { Authorizer, Caller } from '../authz/authz.service.js';
import { insertPolicy } from '../policies/policies.repo.js';
import { WHOLE_VAULT } from '../../policy/glob.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import type { CreateVaultInput, VaultView } from './vaults.types.js';
import { countLiveSecrets, deleteVault, findVault, insertVault, listVaults, lockVault, type VaultRow } from './vaults.repo.js';

/** Dependencies of the vault service. */
export interface VaultServiceDeps {
  withTenantTx: WithTenantTx;
  keyring: Pick<VaultKeyring, 'createVaultKey' | 'forgetVault'>;
  authz: Pick<Authorizer, 'require' | 'check' | 'snapshot' | 'withChange'>;
}

/** Vaults: named containers of secrets, each with its own key (S1). */
export interface VaultService {
  create(principal: Caller, input: CreateVaultInput): Promise<VaultView>;
  list(principal: Caller): Promise<VaultView[]>;
  get(principal: Caller, vaultId: string): Promise<VaultView>;
  /** Deletes a vault; refuses one that holds secrets unless `force`. */
  remove(principal: Caller, vaultId: string, opts: { force: boolean }): Promise<void>;
}

function toView(row: VaultRow): VaultView {
  return {
    id: row.vault_id,
    name: row.name,
    description: row.description,
    team_id: row.team_id,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** Builds the vault service. */
export function createVaultService(deps: VaultServiceDeps): VaultService {
  const { withTenantTx, keyring, authz } = deps;
  /**
   * A vault may be placed in a team only by someone whose role reaches every vault or who is in
   * that team: otherwise a manager could plant vaults (holding every action on them) in other
   * teams' scope.
   */
  async function checkTeamReach(caller: Caller, teamId: string): Promise<void> {
    if (caller.kind !== 'user') return;
    const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
    const member = snapshot.members.get(caller.id);
    const role = member && (BUILT_IN_ROLES.get(member.role) ?? snapshot.roles.get(member.role));
    if (role?.vaults?.scope === 'all' || member?.teams.includes(teamId.toLowerCase())) return;
    throw new AppError('VALIDATION_FAILED', 'You can only create vaults in a team you belong to.');
  }

  return {
    async create(principal, input) {
      await authz.require(principal, 'write', { kind: 'org', orgId: principal.orgId, area: 'vaults' });
      if (input.team_id !== undefined) await checkTeamReach(principal, input.team_id);
      const vaultId = randomUUID();
      // The KMS call happens before the transaction opens (short transactions).
      const key = await keyring.createVaultKey({ orgId: principal.orgId, vaultId, version: 1 });
      try {
        const row = await authz.withChange(principal.orgId, async (tx) => {
          const createdBy = actorOf(principal);
          const inserted = await insertVault(tx, { vaultId, name: input.name, description: input.description, teamId: input.team_id ?? null, createdBy }, key);
          // The creator holds every action on the new vault (P3) — a root token already does, by its role.
          if (principal.kind !== 'root_token') {
            await insertPolicy(tx, {
              policyId: randomUUID(),
              vaultId,
              principalType: principal.kind,
              principalId: principal.id,
              pattern: WHOLE_VAULT,
              permissions: [...ACTIONS],
              effect: 'allow',
              conditions: {},
              expiresAt: null,
              description: 'vault creator',
              actor: createdBy,
            });
          }
          noteAuditDetail({ vaultId });
          return inserted;
        });
        return toView(row);
      } catch (err) {
        keyring.forgetVault(principal.orgId, vaultId);
        if (isUniqueViolation(err, 'vaults_name_key')) {
          throw new AppError('CONFLICT', 'A vault with that name already exists in this org.', { cause: err });
        }
        if (isForeignKeyViolation(err)) throw new AppError('VALIDATION_FAILED', 'There is no team with that team_id in this org.', { cause: err });
        throw err;
      }
    },

    async list(principal) {
      await authz.require(principal, 'describe', { kind: 'org', orgId: principal.orgId, area: 'vaults' });
      const rows = await withTenantTx(principal.orgId, (tx) => listVaults(tx));
      // Only the vaults the caller may see (a manager: its teams' vaults and its grants).
      const visible: VaultRow[] = [];
      for (const row of rows) {
        if ((await authz.check(principal, 'describe', { kind: 'vault', orgId: principal.orgId, vaultId: row.vault_id })).allow) visible.push(row);
      }
      return visible.map(toView);
    },

    async get(principal, vaultId) {
      await authz.require(principal, 'describe', { kind: 'vault', orgId: principal.orgId, vaultId });
      const row = await withTenantTx(principal.orgId, (tx) => findVault(tx, vaultId));
      if (!row) throw notFound();
      return toView(row);
    },

    async remove(principal, vaultId, opts) {
      await authz.require(principal, 'admin', { kind: 'vault', orgId: principal.orgId, vaultId });
      await authz.withChange(principal.orgId, async (tx) => {
        // Locked before counting, so a secret written meanwhile is either counted or refused.
        if (!(await lockVault(tx, vaultId))) throw notFound();
        if (!opts.force && (await countLiveSecrets(tx, vaultId)) > 0) {
          throw new AppError(
            'VAULT_NOT_EMPTY',
            'The vault still holds secrets. Delete them first, or pass force=true to destroy them with the vault.',
          );
        }
        await deleteVault(tx, vaultId);
      });
      // The wrapped key rows are gone with the vault; forget the unwrapped copies too, so the
      // vault's ciphertexts (in backups, say) can no longer be opened from this process.
      keyring.forgetVault(principal.orgId, vaultId);
    },
  };
}
