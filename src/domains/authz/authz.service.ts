import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { decide } from '../../policy/engine.js';
import type { Action, AuthzSnapshot, Decision, DecisionContext, Principal, Resource } from '../../policy/types.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import type { AuthzBus } from './authz.bus.js';
import { bumpAuthzEpoch, loadSnapshot } from './authz.repo.js';

/**
 * An authenticated caller: the principal and the facts of its request that decisions read.
 * Authentication makes it; services pass it on unchanged.
 */
export interface Caller extends Principal {
  /** The org's authz epoch as of the request's authentication transaction. */
  readonly epoch: number;
  readonly ip: string | null;
  /** `X-Audit-Reason`, if the caller gave one. */
  readonly reason: string | null;
  /** Passed a second factor within the step-up window (I3). */
  readonly mfa: boolean;
  /** The signed-in session behind a person's request (absent for tokens: root, personal, agent). */
  readonly session?: { readonly sessionId: string; readonly userId: string };
}

/** Authorization of requests against the org's current policies and roles (P1–P4). */
export interface Authorizer {
  /**
   * Decides, records the decision in the request's audit event (A1), and throws unless allowed:
   * NOT_FOUND for anything the caller may not see (P1); REASON_REQUIRED / STEP_UP_REQUIRED when
   * the caller holds a grant whose condition it did not meet; SEPARATION_OF_DUTIES on an org
   * area a restricted role may never manage.
   */
  require(caller: Caller, action: Action, resource: Resource): Promise<Decision>;
  /** Decides without recording or throwing: for filtering lists. */
  check(caller: Caller, action: Action, resource: Resource): Promise<Decision>;
  /** The org's snapshot, at least as new as `minEpoch`. */
  snapshot(orgId: string, minEpoch: number): Promise<AuthzSnapshot>;
  /** The decision context of a caller, now. */
  contextOf(caller: Caller): DecisionContext;
  /**
   * A recorded transaction that changes what decisions read (policies, roles, teams, members,
   * agents, vaults' teams): the org's epoch is bumped inside it, and every node is told after
   * it commits.
   */
  withChange: WithTenantTx;
}

/** What the authorizer is built from. */
export interface AuthorizerDeps {
  withTenantTx: WithTenantTx;
  withRecordedTx: WithTenantTx;
  bus: AuthzBus;
  /** Orgs whose snapshots stay cached (least recently used go first). */
  maxOrgs?: number;
  now?: () => Date;
}

/**
 * A separation-of-duties refusal (P2) made by a service rather than the engine (nobody approves
 * their own request, changes their own role, …): recorded in the request's audit event as the
 * deciding refusal, `sod:<rule>`, so the log never shows the grant that let the caller get as
 * far as the check.
 */
export function separationOfDuties(rule: string, detail: string, action: Action = 'admin'): AppError {
  noteAuditDetail({ authz: { allow: false, action, by: [`sod:${rule}`] } });
  return new AppError('SEPARATION_OF_DUTIES', detail);
}

/**
 * Step-up (I3): sensitive operations — revealing a P0 secret, exporting the audit log, changing
 * policies, roles or a member's role, rotating keys, removing a second factor — need a second
 * factor checked within the last few minutes (STRONGROOM_STEP_UP_SECONDS). A person answers
 * STEP_UP_REQUIRED (403) without one, so a client can prompt and retry; a personal token, which
 * cannot show a second factor, is refused alike. Root tokens (the operator's bootstrap
 * credential) and agents (governed by their policies alone) are not people and are exempt.
 */
export function requireStepUp(caller: Caller, operation: string): void {
  if (caller.kind !== 'user' || caller.mfa) return;
  noteAuditDetail({ authz: { allow: false, action: 'admin', by: [`step_up:${operation}`] } });
  throw new AppError('STEP_UP_REQUIRED', 'Confirm with your second factor first (POST /v1/auth/step-up), then retry.', {
    extensions: { step_up: { operation } },
  });
}

/** The label of a grant in audit events and explain answers: `policy:<id>`, `role:<id>`, `sod:<id>`. */
export function grantLabel(grant: Decision['decidedBy'][number]): string {
  return `${grant.source}:${grant.id}`;
}

/** Builds the authorizer. Snapshots are cached per org and epoch; see AuthzBus for why that is safe. */
export function createAuthorizer(deps: AuthorizerDeps): Authorizer {
  const now = deps.now ?? (() => new Date());
  const maxOrgs = deps.maxOrgs ?? 1000;
  const cache = new Map<string, AuthzSnapshot>();
  const loading = new Map<string, Promise<AuthzSnapshot>>();

  deps.bus.subscribe(({ orgId, epoch }) => {
    const cached = cache.get(orgId);
    if (cached && cached.epoch < epoch) cache.delete(orgId);
  });

  function remember(snapshot: AuthzSnapshot): void {
    const cached = cache.get(snapshot.orgId);
    if (cached && cached.epoch > snapshot.epoch) return;
    cache.delete(snapshot.orgId);
    cache.set(snapshot.orgId, snapshot);
    if (cache.size > maxOrgs) cache.delete(cache.keys().next().value as string);
  }

  async function snapshot(orgId: string, minEpoch: number): Promise<AuthzSnapshot> {
    const cached = cache.get(orgId);
    if (cached && cached.epoch >= minEpoch) {
      cache.delete(orgId);
      cache.set(orgId, cached);
      return cached;
    }
    const pending = loading.get(orgId);
    if (pending) {
      const loaded = await pending;
      if (loaded.epoch >= minEpoch) return loaded;
    }
    const load = deps.withTenantTx(orgId, loadSnapshot).finally(() => {
      if (loading.get(orgId) === load) loading.delete(orgId);
    });
    loading.set(orgId, load);
    const loaded = await load;
    remember(loaded);
    return loaded;
  }

  function contextOf(caller: Caller): DecisionContext {
    return { now: now(), ip: caller.ip, mfa: caller.mfa, reason: caller.reason };
  }

  async function check(caller: Caller, action: Action, resource: Resource): Promise<Decision> {
    const snap = await snapshot(caller.orgId, caller.epoch);
    return decide(snap, caller, action, resource, contextOf(caller));
  }

  return {
    check,
    snapshot,
    contextOf,
    async require(caller, action, resource) {
      const decision = await check(caller, action, resource);
      noteAuditDetail({ authz: { allow: decision.allow, action, by: decision.decidedBy.map(grantLabel) } });
      if (decision.allow) return decision;
      if (decision.missing === 'reason') throw new AppError('REASON_REQUIRED', 'A policy grants this only with a stated reason: send it as X-Audit-Reason.');
      if (decision.missing === 'mfa') throw new AppError('STEP_UP_REQUIRED', 'A policy grants this only after a recent multi-factor authentication.');
      if (resource.kind === 'org' && decision.decidedBy.some((g) => g.source === 'sod')) {
        throw new AppError('SEPARATION_OF_DUTIES', 'Your role is marked for separation of duties and may not manage policies or integrations.');
      }
      throw notFound();
    },
    async withChange<T>(orgId: string, fn: (tx: TenantTx) => Promise<T>): Promise<T> {
      let epoch = 0;
      const result = await deps.withRecordedTx(orgId, async (tx) => {
        const value = await fn(tx);
        epoch = await bumpAuthzEpoch(tx);
        return value;
      });
      await deps.bus.publish({ orgId, epoch });
      return result;
    },
  };
}
