import { randomUUID } from 'node:crypto';
import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { decide } from '../../policy/engine.js';
import { WHOLE_VAULT } from '../../policy/glob.js';
import { actorOf } from '../../policy/policy.js';
import { BUILT_IN_ROLES } from '../../policy/roles.js';
import { grantAppliesTo, subjectIn, type GrantSubject } from '../../policy/subject.js';
import { ACTIONS } from '../../policy/types.js';
import type { Action, Resource, RoleDef } from '../../policy/types.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { roleDefOf } from '../authz/authz.repo.js';
import { type Authorizer, type Caller, separationOfDuties } from '../authz/authz.service.js';
import { deletePolicy, revokeTokensOfAgentsIn } from '../policies/policies.repo.js';
import {
  closeReview,
  decideReviewItem,
  findReview,
  findReviewItem,
  insertReview,
  listReviewItems,
  listReviews,
  loadAccessFacts,
  lockReview,
  lockReviewItem,
  recordReminder,
  type AccessFacts,
  type ReviewItemRow,
  type ReviewRow,
} from './access.repo.js';
import type {
  CreateReviewInput,
  DecisionInput,
  GrantSnapshot,
  MatrixRow,
  MatrixView,
  ReminderView,
  ReviewDetailView,
  ReviewItemView,
  ReviewSummaryView,
} from './access.types.js';

/** Dependencies of the access service. */
export interface AccessServiceDeps {
  withTenantTx: WithTenantTx;
  /** The transaction of a change that does not touch what decisions read: its audit event commits with it. */
  withRecordedTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'check' | 'snapshot' | 'contextOf' | 'withChange'>;
  now?: () => Date;
}

/** Access review (P7): the effective-access matrix and review campaigns. */
export interface AccessService {
  /** Who can do what on which vault: every grant that reaches an active member or agent. */
  matrix(caller: Caller): Promise<MatrixView>;
  createReview(caller: Caller, input: CreateReviewInput): Promise<ReviewDetailView>;
  listReviews(caller: Caller): Promise<ReviewSummaryView[]>;
  getReview(caller: Caller, reviewId: string): Promise<ReviewDetailView>;
  /** Keeps or revokes one grant of an open campaign; revoking deletes the policy at once. */
  decide(caller: Caller, reviewId: string, itemId: string, input: DecisionInput): Promise<ReviewItemView>;
  /**
   * Records a reminder of the unreviewed items by hand (its audit event reaches SIEM sinks);
   * automatic ones are sent by `access.reminders.ts`, and a reminder of either kind restarts the
   * day before the next automatic one.
   */
  remind(caller: Caller, reviewId: string): Promise<ReminderView>;
  close(caller: Caller, reviewId: string): Promise<ReviewSummaryView>;
}

// ---------------------------------------------------------------------------------------------
// Pure parts

/** A stored actor string (`user:<id>`, `root_token:<id>`, `agent:<id>`) as `{ type, id }`. */
export function parseActor(text: string): { type: 'user' | 'root_token' | 'agent'; id: string } {
  const at = text.indexOf(':');
  const type = at < 0 ? '' : text.slice(0, at);
  const id = at < 0 ? text : text.slice(at + 1);
  if (type === 'user' || type === 'root_token' || type === 'agent') return { type, id };
  throw new Error('a stored actor has an unknown type');
}

const ACTION_ORDER = new Map<Action, number>(ACTIONS.map((a, i) => [a, i]));

/** Distinct actions in the catalogue's order. */
function sortedActions(actions: Iterable<Action>): Action[] {
  return [...new Set(actions)].sort((a, b) => (ACTION_ORDER.get(a) ?? 0) - (ACTION_ORDER.get(b) ?? 0));
}

/**
 * The effective-access matrix (P7) of an org's facts at `now`: one row per grant that reaches an
 * active member or agent on a vault `visible` to the reader.
 *
 * - A role's vault grant is one row per vault it reaches (`/**`): every vault for scope `all`,
 *   the vaults of the member's teams for scope `team` (via `team:<id>`).
 * - Every unexpired policy that applies to the principal is a row: directly (`direct`), through a
 *   team (`team:<id>`) or through the member's role (`role:<id>`). Deny policies are rows with
 *   effect `deny`; they win over every allow covering the same action.
 * - Separation of duties (P2): a restricted role never administers a vault, so `admin` is left
 *   out of the allow rows of its members (the engine refuses it whatever grants it).
 *
 * @example
 * computeMatrix(facts, new Date(), () => true)
 * // [{ principal_type: 'agent', principal_name: 'billing-bot', secret_path_pattern: '/stripe/*',
 * //    actions: ['read'], effect: 'allow', source: 'policy:<id>', via: 'direct', … }]
 */
export function computeMatrix(facts: AccessFacts, now: Date, visible: (vaultId: string) => boolean): MatrixRow[] {
  const roles = new Map<string, RoleDef>(BUILT_IN_ROLES);
  for (const role of facts.roles) if (!BUILT_IN_ROLES.has(role.role_id)) roles.set(role.role_id, roleDefOf(role));
  const vaults = new Map(facts.vaults.filter((v) => visible(v.vault_id)).map((v) => [v.vault_id, v]));
  // Unexpired policies on visible vaults, by the principal they name (`type:id`).
  const byPrincipal = new Map<string, AccessFacts['policies']>();
  for (const p of facts.policies) {
    if (!vaults.has(p.vault_id) || (p.expires_at !== null && Date.parse(p.expires_at) <= now.getTime())) continue;
    const key = `${p.principal_type}:${p.principal_id}`;
    const list = byPrincipal.get(key);
    if (list === undefined) byPrincipal.set(key, [p]);
    else list.push(p);
  }
  const rows: MatrixRow[] = [];

  const addPolicyRows = (base: Pick<MatrixRow, 'principal_type' | 'principal_id' | 'principal_name'>, subject: GrantSubject, restricted: boolean) => {
    const names =
      subject.kind === 'agent'
        ? [`agent:${subject.id}`]
        : [`user:${subject.id}`, ...subject.teams.map((team) => `team:${team}`), ...(subject.roleId === null ? [] : [`role:${subject.roleId}`])];
    for (const p of names.flatMap((name) => byPrincipal.get(name) ?? [])) {
      if (!grantAppliesTo(p, subject)) continue;
      const vault = vaults.get(p.vault_id);
      if (vault === undefined) continue;
      const actions = sortedActions(p.permissions.filter((a) => !(restricted && p.effect === 'allow' && a === 'admin')));
      if (actions.length === 0) continue;
      const via = p.principal_type === 'team' ? `team:${p.principal_id}` : p.principal_type === 'role' ? `role:${p.principal_id}` : 'direct';
      rows.push({
        ...base,
        vault_id: vault.vault_id,
        vault_name: vault.name,
        secret_path_pattern: p.secret_path_pattern,
        actions,
        effect: p.effect,
        conditional: Object.keys(p.conditions ?? {}).length > 0,
        source: `policy:${p.policy_id}`,
        via,
        expires_at: p.expires_at === null ? null : new Date(p.expires_at).toISOString(),
      });
    }
  };

  for (const member of facts.members) {
    if (member.status !== 'active') continue;
    const base = {
      principal_type: 'user' as const,
      principal_id: member.member_id,
      // Never the e-mail: the matrix is exported (personal data minimisation).
      principal_name: member.display_name.trim() === '' ? member.member_id : member.display_name,
    };
    const role = roles.get(member.role);
    const restricted = role?.restricted === true;
    const grant = role?.vaults ?? null;
    if (role !== undefined && grant !== null) {
      const actions = sortedActions(grant.actions.filter((a) => !(restricted && a === 'admin')));
      for (const vault of vaults.values()) {
        let via: string;
        if (grant.scope === 'all') via = `role:${role.id}`;
        else if (vault.team_id !== null && member.teams.includes(vault.team_id)) via = `team:${vault.team_id}`;
        else continue;
        if (actions.length === 0) continue;
        rows.push({
          ...base,
          vault_id: vault.vault_id,
          vault_name: vault.name,
          secret_path_pattern: WHOLE_VAULT,
          actions,
          effect: 'allow',
          conditional: false,
          source: `role:${role.id}`,
          via,
          expires_at: null,
        });
      }
    }
    addPolicyRows(base, { kind: 'user', id: member.member_id, roleId: member.role, teams: member.teams }, restricted);
  }

  for (const agent of facts.agents) {
    if (agent.status !== 'active') continue;
    addPolicyRows(
      { principal_type: 'agent', principal_id: agent.agent_id, principal_name: agent.name },
      { kind: 'agent', id: agent.agent_id, roleId: null, teams: [] },
      false,
    );
  }

  const key = (r: MatrixRow) =>
    [r.principal_type, r.principal_name.toLowerCase(), r.principal_id, r.vault_name.toLowerCase(), r.vault_id, r.source.startsWith('role:') ? '0' : '1', r.secret_path_pattern, r.source];
  return rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i += 1) {
      const x = ka[i] as string;
      const y = kb[i] as string;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
}

/** The columns of the CSV export, in order. */
export const MATRIX_CSV_COLUMNS = [
  'principal_type',
  'principal_id',
  'principal_name',
  'vault_id',
  'vault_name',
  'secret_path_pattern',
  'actions',
  'effect',
  'conditional',
  'source',
  'via',
  'expires_at',
] as const satisfies readonly (keyof MatrixRow)[];

/**
 * One CSV cell: defended against formula injection (OWASP "CSV Injection": a cell a spreadsheet
 * would read as a formula — starting with = + - @ tab or CR — is prefixed with `'`), then quoted
 * per RFC 4180 §2 when it holds a quote, comma, CR or LF (quotes doubled).
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The matrix as RFC 4180 CSV: a header line, CRLF line ends, actions separated by spaces. */
export function matrixToCsv(view: MatrixView): string {
  const lines = [MATRIX_CSV_COLUMNS.join(',')];
  for (const row of view.rows) {
    lines.push(
      MATRIX_CSV_COLUMNS.map((column) => {
        const value = row[column];
        const text = Array.isArray(value) ? value.join(' ') : value === null ? '' : String(value);
        return csvCell(text);
      }).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

// ---------------------------------------------------------------------------------------------
// Views

/** A timestamp (a Date, or JSON text of a timestamptz) as ISO 8601 UTC; null when absent or unreadable. */
function iso(d: Date | string | null | undefined): string | null {
  if (d === null || d === undefined || d === '') return null;
  const date = new Date(d);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function toSummary(row: ReviewRow, now: Date): ReviewSummaryView {
  return {
    id: row.review_id,
    name: row.name,
    reviewer: parseActor(row.reviewer),
    status: row.status,
    due_at: row.due_at.toISOString(),
    overdue: row.status === 'open' && row.due_at.getTime() < now.getTime() && row.unreviewed > 0,
    counts: { total: row.total, kept: row.kept, revoked: row.revoked, unreviewed: row.unreviewed },
    reminders_sent: row.reminders_sent,
    last_reminded_at: iso(row.last_reminded_at),
    created_by: parseActor(row.created_by),
    created_at: row.created_at.toISOString(),
    closed_at: iso(row.closed_at),
  };
}

/** The snapshot of an item's grant, field by field: nothing else stored in the JSON leaves. */
function grantOf(row: ReviewItemRow): GrantSnapshot {
  const g = row.grant_data;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    vault_id: str(g.vault_id),
    vault_name: str(g.vault_name),
    principal_type: str(g.principal_type) as GrantSnapshot['principal_type'],
    principal_id: str(g.principal_id),
    principal_name: str(g.principal_name),
    secret_path_pattern: str(g.secret_path_pattern),
    permissions: Array.isArray(g.permissions) ? (g.permissions as Action[]) : [],
    effect: g.effect === 'deny' ? 'deny' : 'allow',
    conditional: g.conditional === true,
    expires_at: typeof g.expires_at === 'string' ? iso(g.expires_at) : null,
    description: str(g.description),
    created_by: str(g.created_by),
    created_at: iso(str(g.created_at)) ?? new Date(0).toISOString(),
  };
}

function toItem(row: ReviewItemRow): ReviewItemView {
  return {
    id: row.item_id,
    policy_id: row.policy_id,
    grant: grantOf(row),
    policy_exists: row.policy_exists,
    decision: row.decision,
    decided_by: row.decided_by === null ? null : parseActor(row.decided_by),
    decided_at: iso(row.decided_at),
    note: row.decision_note,
  };
}

// ---------------------------------------------------------------------------------------------
// Service

/** Builds the access service. */
export function createAccessService(deps: AccessServiceDeps): AccessService {
  const { withTenantTx, withRecordedTx, authz } = deps;
  const now = deps.now ?? (() => new Date());
  const area = (caller: Caller): Resource => ({ kind: 'org', orgId: caller.orgId, area: 'access' });
  const vault = (caller: Caller, vaultId: string): Resource => ({ kind: 'vault', orgId: caller.orgId, vaultId });
  const conflict = (detail: string) => new AppError('INVALID_STATE', detail);

  /** The vaults, among `ids`, that the caller may see (P1/P2: a manager, its teams' vaults). */
  async function visibleVaults(caller: Caller, ids: Iterable<string>): Promise<Set<string>> {
    const visible = new Set<string>();
    for (const id of new Set(ids)) {
      if ((await authz.check(caller, 'describe', vault(caller, id))).allow) visible.add(id);
    }
    return visible;
  }

  async function detail(caller: Caller, reviewId: string): Promise<ReviewDetailView> {
    const found = await withTenantTx(caller.orgId, async (tx) => {
      const review = await findReview(tx, reviewId);
      return review && { review, items: await listReviewItems(tx, reviewId) };
    });
    if (!found) throw notFound();
    const visible = await visibleVaults(caller, found.items.map((i) => String(i.grant_data.vault_id)));
    return {
      ...toSummary(found.review, now()),
      items: found.items.filter((i) => visible.has(String(i.grant_data.vault_id))).map(toItem),
    };
  }

  return {
    async matrix(caller) {
      await authz.require(caller, 'describe', area(caller));
      const facts = await withTenantTx(caller.orgId, loadAccessFacts);
      const visible = await visibleVaults(caller, facts.vaults.map((v) => v.vault_id));
      const at = now();
      return { generated_at: at.toISOString(), rows: computeMatrix(facts, at, (id) => visible.has(id)) };
    },

    async createReview(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      if (Date.parse(input.due_at) <= now().getTime()) {
        throw new AppError('VALIDATION_FAILED', 'due_at must be in the future.');
      }
      let reviewer = actorOf(caller);
      if (input.reviewer_member_id !== undefined) {
        const memberId = input.reviewer_member_id.toLowerCase();
        const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
        const principal = { orgId: caller.orgId, kind: 'user' as const, id: memberId, role: null };
        if (!decide(snapshot, principal, 'admin', area(caller), authz.contextOf(caller)).allow) {
          throw new AppError('VALIDATION_FAILED', 'reviewer_member_id must name an active member who may run access reviews (admin on access).');
        }
        reviewer = actorOf({ kind: 'user', id: memberId });
      }
      const reviewId = randomUUID();
      noteAuditDetail({ createdId: reviewId });
      await withRecordedTx(caller.orgId, (tx) =>
        insertReview(tx, { reviewId, name: input.name, reviewer, dueAt: input.due_at, createdBy: actorOf(caller) }),
      );
      return detail(caller, reviewId);
    },

    async listReviews(caller) {
      await authz.require(caller, 'describe', area(caller));
      const at = now();
      return (await withTenantTx(caller.orgId, listReviews)).map((row) => toSummary(row, at));
    },

    async getReview(caller, reviewId) {
      await authz.require(caller, 'describe', area(caller));
      return detail(caller, reviewId);
    },

    async decide(caller, reviewId, itemId, input) {
      await authz.require(caller, 'admin', area(caller));
      const found = await withTenantTx(caller.orgId, async (tx) => {
        const review = await findReview(tx, reviewId);
        const item = review && (await findReviewItem(tx, reviewId, itemId));
        return review && item && { review, item };
      });
      if (!found) throw notFound();
      const grant = grantOf(found.item);
      if (!(await authz.check(caller, 'describe', vault(caller, grant.vault_id))).allow) throw notFound();

      // Separation of duties (P2): nobody keeps (or revokes) a grant that reaches themselves.
      const snapshot = await authz.snapshot(caller.orgId, caller.epoch);
      const self = subjectIn(snapshot, caller);
      if (self !== undefined && grantAppliesTo(grant, self)) {
        throw separationOfDuties('self', 'You may not review a grant that applies to yourself: another reviewer must decide it.');
      }
      // A role restricted by separation of duties never manages policies (RESTRICTED_AREAS), and
      // revoking deletes one: the engine's own SoD rule says whether the caller's role is such.
      if (input.decision === 'revoke') {
        const policiesArea: Resource = { kind: 'org', orgId: caller.orgId, area: 'policies' };
        if (decide(snapshot, caller, 'admin', policiesArea, authz.contextOf(caller)).decidedBy.some((g) => g.source === 'sod')) {
          throw separationOfDuties('restricted', 'Your role is marked for separation of duties and may not revoke policies.');
        }
      }
      // The campaign's reviewer decides. Another access admin may stand in only where the
      // reviewer cannot: a shared root token, a reviewer no longer active, or the reviewer's own grant.
      const reviewer = parseActor(found.review.reviewer);
      if (reviewer.type !== caller.kind || reviewer.id !== caller.id) {
        const reviewerSubject = reviewer.type === 'root_token' ? undefined : subjectIn(snapshot, { kind: reviewer.type, id: reviewer.id });
        const standIn = reviewer.type === 'root_token' || reviewerSubject === undefined || grantAppliesTo(grant, reviewerSubject);
        if (!standIn) throw separationOfDuties('reviewer', "Only the campaign's reviewer decides its items.");
      }

      const decidedBy = actorOf(caller);
      const decideIn = async (tx: TenantTx): Promise<void> => {
        const review = await lockReview(tx, reviewId);
        if (!review) throw notFound();
        if (review.status !== 'open') throw conflict('The campaign is closed: its items can no longer be decided.');
        const item = await lockReviewItem(tx, reviewId, itemId);
        if (!item) throw notFound();
        if (item.decision !== null) throw conflict('This item is already decided; a decision is final.');
        if (input.decision === 'revoke') {
          const deleted = await deletePolicy(tx, grant.vault_id, found.item.policy_id);
          // P6: the agents the policy applied to lose their tokens in the same transaction.
          if (deleted) await revokeTokensOfAgentsIn(tx, [deleted]);
        }
        await decideReviewItem(tx, reviewId, itemId, { decision: input.decision, decidedBy, note: input.note ?? null });
      };
      // Revoking changes what decisions read (epoch bump, broadcast); keeping does not.
      if (input.decision === 'revoke') await authz.withChange(caller.orgId, decideIn);
      else await withRecordedTx(caller.orgId, decideIn);

      const item = await withTenantTx(caller.orgId, (tx) => findReviewItem(tx, reviewId, itemId));
      if (!item) throw notFound();
      return toItem(item);
    },

    async remind(caller, reviewId) {
      await authz.require(caller, 'admin', area(caller));
      return withRecordedTx(caller.orgId, async (tx) => {
        const locked = await lockReview(tx, reviewId);
        if (!locked) throw notFound();
        if (locked.status !== 'open') throw conflict('The campaign is closed.');
        const review = await findReview(tx, reviewId);
        const unreviewed = review?.unreviewed ?? 0;
        if (unreviewed === 0) throw conflict('Every item is reviewed: there is nothing to remind of.');
        const reminder = await recordReminder(tx, reviewId);
        return { unreviewed, reminded_at: reminder.last_reminded_at.toISOString(), reminders_sent: reminder.reminders_sent };
      });
    },

    async close(caller, reviewId) {
      await authz.require(caller, 'admin', area(caller));
      await withRecordedTx(caller.orgId, async (tx) => {
        const locked = await lockReview(tx, reviewId);
        if (!locked) throw notFound();
        if (locked.status !== 'open') throw conflict('The campaign is already closed.');
        await closeReview(tx, reviewId);
      });
      const row = await withTenantTx(caller.orgId, (tx) => findReview(tx, reviewId));
      if (!row) throw notFound();
      return toSummary(row, now());
    },
  };
}
