import { randomUUID } from 'node:crypto';
import { isForeignKeyViolation } from '../../db/errors.js';
import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { normalisePattern } from '../../policy/glob.js';
import { actorOf } from '../../policy/policy.js';
import type { Resource } from '../../policy/types.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { type Authorizer, type Caller, separationOfDuties } from '../authz/authz.service.js';
import { insertPolicy, revokeTokensOfAgentsIn } from '../policies/policies.repo.js';
import { findVault } from '../vaults/vaults.repo.js';
import {
  countPendingOf,
  decideApproval,
  findApproval,
  insertApproval,
  listApprovals,
  lockApproval,
  type ApprovalRow,
  type ApprovalStatus,
} from './approvals.repo.js';
import type { ApprovalView, ApproveInput, CreateApprovalInput, DenyInput } from './approvals.types.js';

/** Dependencies of the approval service. */
export interface ApprovalServiceDeps {
  withTenantTx: WithTenantTx;
  /** The transaction of a change that does not touch what decisions read: its audit event commits with it. */
  withRecordedTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'check' | 'snapshot' | 'withChange'>;
  now?: () => Date;
}

/** Human approval of access requests (P8). */
export interface ApprovalService {
  /** A member or agent asks for a grant it lacks, for itself. */
  request(caller: Caller, input: CreateApprovalInput): Promise<ApprovalView>;
  /** The caller's own requests, and those it may decide. */
  list(caller: Caller, filter: { status?: ApprovalStatus }): Promise<ApprovalView[]>;
  get(caller: Caller, approvalId: string): Promise<ApprovalView>;
  /** A human approver grants the request: a policy for the requester, time-boxed when a duration is set. */
  approve(caller: Caller, approvalId: string, input: ApproveInput): Promise<ApprovalView>;
  deny(caller: Caller, approvalId: string, input: DenyInput): Promise<ApprovalView>;
}

/** Pending requests one requester may hold at once: a bound on what a (compromised) agent can pile up. */
export const MAX_PENDING_PER_REQUESTER = 100;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

function parseActor(text: string): { type: 'user' | 'root_token' | 'agent'; id: string } {
  const at = text.indexOf(':');
  const type = text.slice(0, at);
  if (at > 0 && (type === 'user' || type === 'root_token' || type === 'agent')) return { type, id: text.slice(at + 1) };
  throw new Error('a stored actor has an unknown type');
}

function toView(row: ApprovalRow): ApprovalView {
  return {
    id: row.approval_id,
    requester: { type: row.requester_type, id: row.requester_id },
    vault_id: row.vault_id,
    secret_path_pattern: row.secret_path_pattern,
    permissions: row.permissions,
    reason: row.reason,
    duration_seconds: row.duration_seconds,
    status: row.status,
    decided_by: row.decided_by === null ? null : parseActor(row.decided_by),
    decided_at: iso(row.decided_at),
    decision_note: row.decision_note,
    policy_id: row.policy_id,
    grant_expires_at: iso(row.grant_expires_at),
    created_at: row.created_at.toISOString(),
  };
}

/** Whether the caller is the request's requester. */
function isRequester(caller: Caller, row: Pick<ApprovalRow, 'requester_type' | 'requester_id'>): boolean {
  return caller.kind === row.requester_type && caller.id.toLowerCase() === row.requester_id.toLowerCase();
}

/** Builds the approval service. */
export function createApprovalService(deps: ApprovalServiceDeps): ApprovalService {
  const { withTenantTx, withRecordedTx, authz } = deps;
  const now = deps.now ?? (() => new Date());
  const area = (caller: Caller): Resource => ({ kind: 'org', orgId: caller.orgId, area: 'approvals' });
  const vault = (caller: Caller, vaultId: string): Resource => ({ kind: 'vault', orgId: caller.orgId, vaultId });
  const sod = (detail: string) => separationOfDuties('requester', detail);

  /**
   * Who may decide a request: a human (member or root token), never its requester (P2: whoever
   * requests a change cannot approve it), with admin on the org area approvals and admin on the
   * vault (a manager decides for its teams' vaults only). Anyone who may not see the request —
   * another org, an agent that did not make it, a member without those grants — gets the
   * missing-resource 404 (P1).
   */
  async function loadDecidable(caller: Caller, approvalId: string): Promise<ApprovalRow> {
    const row = await withTenantTx(caller.orgId, (tx) => findApproval(tx, approvalId));
    if (!row) throw notFound();
    // The requester sees its own request, so this 403 tells it nothing new.
    if (isRequester(caller, row)) throw sod('You may not decide your own access request: another approver must.');
    // Agents never decide (a human must), and see no request but their own.
    if (caller.kind === 'agent') throw notFound();
    await authz.require(caller, 'admin', area(caller));
    await authz.require(caller, 'admin', vault(caller, row.vault_id));
    return row;
  }

  /** Runs a decision on a locked, still pending request. */
  async function decideLocked<T>(tx: TenantTx, approvalId: string, fn: (row: ApprovalRow) => Promise<T>): Promise<T> {
    const row = await lockApproval(tx, approvalId);
    if (!row) throw notFound();
    if (row.status !== 'pending') throw new AppError('INVALID_STATE', `This request is already ${row.status}; a decision is final.`);
    return fn(row);
  }

  return {
    async request(caller, input) {
      // Root tokens already hold every grant (owner), and a grant must name a member or agent.
      if (caller.kind === 'root_token') {
        throw new AppError('VALIDATION_FAILED', 'A root token holds every grant already; access is requested by members and agents.');
      }
      const requesterType = caller.kind;
      const pattern = normalisePattern(input.secret_path_pattern);
      if (!pattern.ok) throw new AppError('VALIDATION_FAILED', `secret_path_pattern: ${pattern.reason}`);
      // Any vault id of the org may be named, even one the requester cannot describe: an agent
      // usually has no grant at all on the vault it asks for (that is the point of P8), and vault
      // ids are random UUIDs it can only know because someone told it. An id with no vault is
      // 404, exactly like another org's; the answer never carries the vault's name or anything
      // else about it, and the request itself is audited for the approvers to judge.
      const approvalId = randomUUID();
      noteAuditDetail({ createdId: approvalId });
      try {
        const row = await withRecordedTx(caller.orgId, async (tx) => {
          if (!(await findVault(tx, input.vault_id))) throw notFound();
          if ((await countPendingOf(tx, requesterType, caller.id)) >= MAX_PENDING_PER_REQUESTER) {
            throw new AppError('INVALID_STATE', `You already have ${MAX_PENDING_PER_REQUESTER} pending access requests; wait for a decision.`);
          }
          return insertApproval(tx, {
            approvalId,
            requesterType,
            requesterId: caller.id,
            vaultId: input.vault_id,
            pattern: pattern.pattern,
            permissions: input.permissions,
            reason: input.reason,
            durationSeconds: input.duration_seconds ?? null,
          });
        });
        return toView(row);
      } catch (err) {
        // The vault was deleted between the check and the insert.
        if (isForeignKeyViolation(err)) throw notFound();
        throw err;
      }
    },

    async list(caller, filter) {
      const rows = await withTenantTx(caller.orgId, (tx) => listApprovals(tx, filter));
      const approver = caller.kind !== 'agent' && (await authz.check(caller, 'admin', area(caller))).allow;
      const administered = new Map<string, boolean>();
      const visible: ApprovalRow[] = [];
      for (const row of rows) {
        if (isRequester(caller, row)) {
          visible.push(row);
          continue;
        }
        if (!approver) continue;
        let admin = administered.get(row.vault_id);
        if (admin === undefined) {
          admin = (await authz.check(caller, 'admin', vault(caller, row.vault_id))).allow;
          administered.set(row.vault_id, admin);
        }
        if (admin) visible.push(row);
      }
      return visible.map(toView);
    },

    async get(caller, approvalId) {
      const row = await withTenantTx(caller.orgId, (tx) => findApproval(tx, approvalId));
      if (!row) throw notFound();
      if (!isRequester(caller, row)) {
        // Anyone else sees it only if it may decide it; otherwise 404, as if it did not exist.
        if (caller.kind === 'agent') throw notFound();
        await authz.require(caller, 'admin', area(caller));
        await authz.require(caller, 'admin', vault(caller, row.vault_id));
      }
      return toView(row);
    },

    async approve(caller, approvalId, input) {
      const pending = await loadDecidable(caller, approvalId);
      // A grant for a member or agent that is gone or deactivated would wait for it silently.
      const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
      const active =
        pending.requester_type === 'agent'
          ? snapshot.agents.get(pending.requester_id)?.active === true
          : snapshot.members.get(pending.requester_id)?.active === true;
      if (!active) throw new AppError('INVALID_STATE', 'The requester is no longer an active member or agent; deny the request instead.');
      const decidedBy = actorOf(caller);
      const row = await authz.withChange(caller.orgId, (tx) =>
        decideLocked(tx, approvalId, async (locked) => {
          const duration = input.duration_seconds ?? locked.duration_seconds;
          // Time-boxed (P8): the engine ignores a policy past its expiry.
          const expiresAt = duration === null ? null : new Date(now().getTime() + duration * 1000);
          const policy = await insertPolicy(tx, {
            policyId: randomUUID(),
            vaultId: locked.vault_id,
            principalType: locked.requester_type,
            principalId: locked.requester_id,
            pattern: locked.secret_path_pattern,
            permissions: locked.permissions,
            effect: 'allow',
            conditions: {},
            expiresAt,
            description: `access request ${locked.approval_id}: ${locked.reason}`.slice(0, 1000),
            actor: decidedBy,
          });
          // P6: an agent's tokens die with any policy change that applies to it; it fetches a fresh one.
          await revokeTokensOfAgentsIn(tx, [policy]);
          return decideApproval(tx, approvalId, {
            status: 'approved',
            decidedBy,
            note: input.note ?? null,
            policyId: policy.policy_id,
            grantExpiresAt: expiresAt,
          });
        }),
      );
      return toView(row);
    },

    async deny(caller, approvalId, input) {
      await loadDecidable(caller, approvalId);
      const decidedBy = actorOf(caller);
      const row = await withRecordedTx(caller.orgId, (tx) =>
        decideLocked(tx, approvalId, () =>
          decideApproval(tx, approvalId, { status: 'denied', decidedBy, note: input.note ?? null, policyId: null, grantExpiresAt: null }),
        ),
      );
      return toView(row);
    },
  };
}
