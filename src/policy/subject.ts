import type { AuthzSnapshot, PolicyPrincipalType } from './types.js';

/*
 * Whom a stored policy row applies to, for the services that must know whether a grant reaches
 * the caller itself (separation of duties) or someone listed (the access matrix). Pure.
 */

/** Who a grant may apply to: the principal's kind, id, role and teams. */
export interface GrantSubject {
  readonly kind: 'user' | 'root_token' | 'agent';
  readonly id: string;
  readonly roleId: string | null;
  readonly teams: readonly string[];
}

/**
 * Whether a policy names this subject: directly, through one of its teams or its role — the
 * engine's rule (`appliesTo` in policy/engine.ts), kept in step with it.
 */
export function grantAppliesTo(grant: { principal_type: PolicyPrincipalType; principal_id: string }, who: GrantSubject): boolean {
  switch (grant.principal_type) {
    case 'user':
      return who.kind === 'user' && grant.principal_id === who.id;
    case 'agent':
      return who.kind === 'agent' && grant.principal_id === who.id;
    case 'team':
      return who.kind === 'user' && who.teams.includes(grant.principal_id);
    case 'role':
      return who.kind !== 'agent' && who.roleId !== null && grant.principal_id === who.roleId;
  }
}

/** The subject a snapshot knows for a principal; undefined for an unknown or inactive member or agent. */
export function subjectIn(snapshot: AuthzSnapshot, who: { kind: 'user' | 'root_token' | 'agent'; id: string; role?: string | null }): GrantSubject | undefined {
  switch (who.kind) {
    case 'root_token':
      // Root tokens are owners (api_tokens_kind_check).
      return { kind: 'root_token', id: who.id, roleId: who.role ?? 'owner', teams: [] };
    case 'user': {
      const member = snapshot.members.get(who.id);
      return member?.active ? { kind: 'user', id: who.id, roleId: member.role, teams: member.teams } : undefined;
    }
    case 'agent':
      return snapshot.agents.get(who.id)?.active ? { kind: 'agent', id: who.id, roleId: null, teams: [] } : undefined;
  }
}
