import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import type { VaultKeyring } from '../../kms/keyring.js';
import { actorOf, decide, type Principal } from '../../policy/policy.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import type { CreateVaultInput, VaultView } from './vaults.types.js';
import { countLiveSecrets, deleteVault, findVault, insertVault, listVaults, lockVault, type VaultRow } from './vaults.repo.js';

/** Dependencies of the vault service. */
export interface VaultServiceDeps {
  withTenantTx: WithTenantTx;
  /** The transaction that changes something: the request's audit event commits with it. */
  withRecordedTx: WithTenantTx;
  keyring: Pick<VaultKeyring, 'createVaultKey' | 'forgetVault'>;
}

/** Vaults: named containers of secrets, each with its own key (S1). */
export interface VaultService {
  create(principal: Principal, input: CreateVaultInput): Promise<VaultView>;
  list(principal: Principal): Promise<VaultView[]>;
  get(principal: Principal, vaultId: string): Promise<VaultView>;
  /** Deletes a vault; refuses one that holds secrets unless `force`. */
  remove(principal: Principal, vaultId: string, opts: { force: boolean }): Promise<void>;
}

function toView(row: VaultRow): VaultView {
  return {
    id: row.vault_id,
    name: row.name,
    description: row.description,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
  };
}

/** Builds the vault service. */
export function createVaultService(deps: VaultServiceDeps): VaultService {
  const { withTenantTx, withRecordedTx, keyring } = deps;
  return {
    async create(principal, input) {
      if (!decide(principal, 'admin', { kind: 'org', orgId: principal.orgId }).allow) throw notFound();
      const vaultId = randomUUID();
      // The KMS call happens before the transaction opens (short transactions).
      const key = await keyring.createVaultKey({ orgId: principal.orgId, vaultId, version: 1 });
      try {
        const row = await withRecordedTx(principal.orgId, async (tx) => {
          const inserted = await insertVault(tx, { vaultId, name: input.name, description: input.description, createdBy: actorOf(principal) }, key);
          noteAuditDetail({ vaultId });
          return inserted;
        });
        return toView(row);
      } catch (err) {
        keyring.forgetVault(principal.orgId, vaultId);
        if (isUniqueViolation(err, 'vaults_name_key')) {
          throw new AppError('CONFLICT', 'A vault with that name already exists in this org.', { cause: err });
        }
        throw err;
      }
    },

    async list(principal) {
      if (!decide(principal, 'describe', { kind: 'org', orgId: principal.orgId }).allow) return [];
      const rows = await withTenantTx(principal.orgId, (tx) => listVaults(tx));
      return rows.map(toView);
    },

    async get(principal, vaultId) {
      if (!decide(principal, 'describe', { kind: 'vault', orgId: principal.orgId, vaultId }).allow) throw notFound();
      const row = await withTenantTx(principal.orgId, (tx) => findVault(tx, vaultId));
      if (!row) throw notFound();
      return toView(row);
    },

    async remove(principal, vaultId, opts) {
      if (!decide(principal, 'admin', { kind: 'vault', orgId: principal.orgId, vaultId }).allow) throw notFound();
      await withRecordedTx(principal.orgId, async (tx) => {
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
