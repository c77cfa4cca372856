import { AsyncLocalStorage } from 'node:async_hooks';
import type { TenantTx, WithTenantTx } from '../../db/tenant.js';
import type { AuditEventDetail } from './audit.events.js';
import type { AuditEventInput } from './audit.log.js';

/** What services learn while a request runs, for its audit event. */
export interface AuditDetail {
  /** The vault a request created. */
  vaultId?: string;
  /** The secret version read or written. */
  version?: number;
  /** The sink a request created. */
  sinkId?: string;
  /** The id of another resource a request created (agent, policy, member, team, role, approval, review). */
  createdId?: string;
  /** Identity events: how the person proved who they are, sessions ended, failures counted. */
  event?: AuditEventDetail;
  /** The authorization decision that gated the request (A1, P4): allowed or not, and by what. */
  authz?: { allow: boolean; action: string; by: string[] };
}

/** The audit state of one request, reachable from the services it calls. */
export interface AuditScope {
  /** The org the request's event goes to, once authentication has run. */
  orgId(): string | null;
  /** The request's event with the given outcome (`status` null: recorded with its change). */
  build(status: number | null): AuditEventInput;
  /** Details services learn (the vault they created, the version they wrote). */
  readonly detail: AuditDetail;
  /** True once the event committed together with the request's change. */
  recorded: boolean;
}

const storage = new AsyncLocalStorage<AuditScope>();

/** Runs `fn` (the rest of a request) with `scope` as its audit scope. */
export function runInAuditScope(scope: AuditScope, fn: () => void): void {
  storage.run(scope, fn);
}

/** Runs `fn` outside any request's audit scope: for background work a request merely started. */
export function outsideAuditScope<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** The current request's audit scope, if any. */
export function currentAuditScope(): AuditScope | undefined {
  return storage.getStore();
}

/** Notes what a service learned for the request's audit event (e.g. the version it wrote). */
export function noteAuditDetail(detail: AuditDetail): void {
  const scope = storage.getStore();
  if (!scope) return;
  // A refusal is what the event records: a later allow (a second check) never hides it.
  const { authz, ...rest } = detail;
  Object.assign(scope.detail, rest);
  if (authz && (scope.detail.authz === undefined || scope.detail.authz.allow)) scope.detail.authz = authz;
}

/**
 * Appends `events` to the chain of `tx`'s org through `audit_append`, inside `tx`: they commit
 * with the transaction's change or not at all (A7). Personal data goes beside the chain. The
 * caller triggers the follow-up of an append (head signing, SIEM delivery) after commit.
 * How many were appended: none when the org does not exist (`audit_append` drops them).
 */
export async function appendAuditEvents(tx: TenantTx, events: readonly AuditEventInput[]): Promise<number> {
  if (events.length === 0) return 0;
  const payload = events.map((e) => (e.personal ? { ...e.body, personal: e.personal } : e.body));
  const rows = await tx.query('SELECT seq FROM audit_append($1::jsonb)', [JSON.stringify(payload)]);
  return rows.length;
}

/**
 * A `withTenantTx` for the one transaction of a request that changes something: the request's
 * success event is appended inside it, after `fn` and before commit, so the change and its
 * record commit together or not at all (A7 — no change without its event). If the event cannot
 * be written, the transaction rolls back and the request fails. Outside a request (CLI, jobs),
 * or when the event is already recorded, it is a plain tenant transaction.
 */
export function createRecordedTx(withTenantTx: WithTenantTx, onAppended?: (orgId: string) => void): WithTenantTx {
  return async <T>(orgId: string, fn: (tx: TenantTx) => Promise<T>): Promise<T> => {
    const scope = storage.getStore();
    if (!scope || scope.recorded || scope.orgId() !== orgId) return withTenantTx(orgId, fn);
    const result = await withTenantTx(orgId, async (tx) => {
      const value = await fn(tx);
      await appendAuditEvents(tx, [scope.build(null)]);
      return value;
    });
    scope.recorded = true;
    // Head signing and SIEM delivery follow a recorded change as they follow any append; they
    // serve the org, not this request, so they run outside its scope.
    if (onAppended) outsideAuditScope(() => onAppended(orgId));
    return result;
  };
}
