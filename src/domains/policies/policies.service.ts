import { randomUUID } from 'node:crypto';
import { isForeignKeyViolation } from '../../db/errors.js';
import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf } from '../../policy/policy.js';
import { isBuiltInRole } from '../../policy/roles.js';
import { grantAppliesTo, subjectIn } from '../../policy/subject.js';
import type { AuthzSnapshot, PolicyPrincipalType } from '../../policy/types.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { type Authorizer, type Caller, requireStepUp, separationOfDuties } from '../authz/authz.service.js';
import { findVault } from '../vaults/vaults.repo.js';
import {
  deletePolicy,
  findPolicy,
  insertPolicy,
  listPolicies,
  lockPolicy,
  principalExists,
  replacePolicy,
  revokeTokensOfAgentsIn,
  type PolicyInput,
  type PolicyRow,
} from './policies.repo.js';
import type { PolicyBodyInput, PolicyView } from './policies.types.js';

/** Dependencies of the policy service. */
export interface PolicyServiceDeps {
  withTenantTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'check' | 'snapshot' | 'withChange'>;
}

/** Vault policies (P3): who may do what on which secret paths of a vault, under which conditions. */
export interface PolicyService {
  create(caller: Caller, vaultId: string, input: PolicyBodyInput): Promise<PolicyView>;
  list(caller: Caller, vaultId: string): Promise<PolicyView[]>;
  get(caller: Caller, vaultId: string, policyId: string): Promise<PolicyView>;
  /** Replaces a policy's content (PUT). */
  replace(caller: Caller, vaultId: string, policyId: string, input: PolicyBodyInput): Promise<PolicyView>;
  remove(caller: Caller, vaultId: string, policyId: string): Promise<void>;
}

function toView(row: PolicyRow): PolicyView {
  return {
    id: row.policy_id,
    vault_id: row.vault_id,
    principal_type: row.principal_type,
    principal_id: row.principal_id,
    secret_path_pattern: row.secret_path_pattern,
    permissions: row.permissions,
    effect: row.effect,
    conditions: row.conditions as PolicyView['conditions'],
    expires_at: row.expires_at?.toISOString() ?? null,
    description: row.description,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_by: row.updated_by,
    updated_at: row.updated_at.toISOString(),
  };
}

/**
 * P2 separation of duties: nobody grants, changes or removes a policy that applies to
 * themselves — directly, through one of their teams or through their role — or a vault admin
 * could widen its own access or drop a deny policy aimed at it. Root tokens, the org owner's
 * bootstrap credential, are exempt.
 */
function refuseSelfGrant(snapshot: AuthzSnapshot, caller: Caller, ...policies: { principal_type: PolicyPrincipalType; principal_id: string }[]): void {
  if (caller.kind === 'root_token') return;
  const self = subjectIn(snapshot, caller);
  if (self === undefined || policies.some((policy) => grantAppliesTo(policy, self))) {
    throw separationOfDuties('self', 'You may not create, change or delete a policy that applies to yourself (directly, through a team or through your role); ask another administrator.');
  }
}

const PRINCIPAL_WORD: Record<PolicyPrincipalType, string> = { user: 'member', agent: 'agent', team: 'team', role: 'role' };

/** Refuses a policy whose principal is not a member, agent, team or role of the org. */
async function requirePrincipal(tx: TenantTx, type: PolicyPrincipalType, id: string): Promise<void> {
  if (type === 'role' && isBuiltInRole(id)) return;
  if (!(await principalExists(tx, type, id))) {
    throw new AppError('VALIDATION_FAILED', `principal_id names no ${PRINCIPAL_WORD[type]} of this org.`, {
      extensions: { errors: [{ location: 'body', path: 'principal_id', message: `no ${PRINCIPAL_WORD[type]} of this org has this id` }] },
    });
  }
}

/** Builds the policy service. */
export function createPolicyService(deps: PolicyServiceDeps): PolicyService {
  const { withTenantTx, authz } = deps;

  /**
   * Managing a vault's policies needs `admin` on the org's policies (owner, admin) or `admin` on
   * the vault itself (a manager on its team's vault, a creator's whole-vault grant). The decision
   * that lets the caller in is the one recorded. A role restricted by separation of duties is
   * refused on the org area (403) before the vault is considered; the engine refuses it `admin`
   * on every vault as well.
   */
  async function authorize(caller: Caller, vaultId: string): Promise<void> {
    const orgArea = { kind: 'org' as const, orgId: caller.orgId, area: 'policies' as const };
    const org = await authz.check(caller, 'admin', orgArea);
    if (org.allow || org.decidedBy.some((grant) => grant.source === 'sod')) {
      await authz.require(caller, 'admin', orgArea);
      return;
    }
    await authz.require(caller, 'admin', { kind: 'vault', orgId: caller.orgId, vaultId });
  }

  function inputOf(caller: Caller, vaultId: string, policyId: string, input: PolicyBodyInput): PolicyInput {
    return {
      policyId,
      vaultId,
      principalType: input.principal_type,
      principalId: input.principal_id,
      pattern: input.secret_path_pattern,
      permissions: input.permissions,
      effect: input.effect,
      conditions: input.conditions,
      expiresAt: input.expires_at === null ? null : new Date(input.expires_at),
      description: input.description,
      actor: actorOf(caller),
    };
  }

  /** The vault was deleted while the change ran: its policies went with it. */
  function vaultGone(err: unknown): never {
    if (isForeignKeyViolation(err)) throw notFound();
    throw err;
  }

  return {
    async create(caller, vaultId, input) {
      await authorize(caller, vaultId);
      requireStepUp(caller, 'policy.change');
      const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
      refuseSelfGrant(snapshot, caller, input);
      const policyId = randomUUID();
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          if (!(await findVault(tx, vaultId))) throw notFound();
          await requirePrincipal(tx, input.principal_type, input.principal_id);
          const inserted = await insertPolicy(tx, inputOf(caller, vaultId, policyId, input));
          // Noted once it exists, so a refused create is recorded as `policy:(new)`.
          noteAuditDetail({ createdId: policyId });
          // P6: the agent it names loses every token it holds, on every node, as this commits.
          await revokeTokensOfAgentsIn(tx, [inserted]);
          return inserted;
        })
        .catch(vaultGone);
      return toView(row);
    },

    async list(caller, vaultId) {
      await authorize(caller, vaultId);
      const rows = await withTenantTx(caller.orgId, async (tx) => {
        if (!(await findVault(tx, vaultId))) throw notFound();
        return listPolicies(tx, vaultId);
      });
      return rows.map(toView);
    },

    async get(caller, vaultId, policyId) {
      await authorize(caller, vaultId);
      const row = await withTenantTx(caller.orgId, (tx) => findPolicy(tx, vaultId, policyId));
      if (!row) throw notFound();
      return toView(row);
    },

    async replace(caller, vaultId, policyId, input) {
      await authorize(caller, vaultId);
      requireStepUp(caller, 'policy.change');
      const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
      refuseSelfGrant(snapshot, caller, input);
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          const before = await lockPolicy(tx, vaultId, policyId);
          if (!before) throw notFound();
          refuseSelfGrant(snapshot, caller, before);
          await requirePrincipal(tx, input.principal_type, input.principal_id);
          const after = await replacePolicy(tx, inputOf(caller, vaultId, policyId, input));
          if (!after) throw notFound();
          // P6: both the agent it named and the one it names now lose their tokens.
          await revokeTokensOfAgentsIn(tx, [before, after]);
          return after;
        })
        .catch(vaultGone);
      return toView(row);
    },

    async remove(caller, vaultId, policyId) {
      await authorize(caller, vaultId);
      requireStepUp(caller, 'policy.change');
      const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
      await authz.withChange(caller.orgId, async (tx) => {
        const before = await lockPolicy(tx, vaultId, policyId);
        if (!before) throw notFound();
        refuseSelfGrant(snapshot, caller, before);
        const deleted = await deletePolicy(tx, vaultId, policyId);
        if (!deleted) throw notFound();
        await revokeTokensOfAgentsIn(tx, [deleted]);
      });
    },
  };
}
