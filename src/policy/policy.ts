/**
 * Authorization (P1–P4). Policies and roles are data (`types.ts`); a decision is a value made
 * by pure code (`engine.ts`); the authorizer (`domains/authz`) loads an org's data and records
 * each decision in the request's audit event. Services call `authz.require` in their first
 * lines and answer NOT_FOUND for anything the caller may not see.
 */
import type { Principal } from './types.js';

export type { Action, Decision, Principal, Resource } from './types.js';

/** A string naming the principal in stored records (`created_by`) and audit events. */
export function actorOf(principal: Pick<Principal, 'kind' | 'id'>): string {
  return `${principal.kind}:${principal.id}`;
}
