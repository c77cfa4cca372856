/**
 * Authorization decisions, as pure code (P1, P3). Policies are data and a decision is a value
 * (`{ allow, reasons }`), never an exception; services call {@link decide} in their first lines
 * and answer NOT_FOUND for anything the caller may not see.
 *
 * Today the only principal is an org's root token, which holds the built-in `owner` role over
 * its own org. The policy engine (roles, agents, path globs, conditions) replaces the body of
 * `decide` without changing its callers.
 */

/** Who is calling, as established by authentication. */
export interface Principal {
  readonly orgId: string;
  readonly kind: 'root_token';
  readonly id: string;
  readonly role: 'owner';
}

/** The actions of SPEC P3, plus org-level administration. */
export type Action = 'describe' | 'read' | 'write' | 'delete' | 'share' | 'detokenize' | 'admin';

/** What an action is on: an org-level collection, a vault, or a secret path in a vault. */
export type Resource =
  | { readonly kind: 'org'; readonly orgId: string }
  | { readonly kind: 'vault'; readonly orgId: string; readonly vaultId: string }
  | { readonly kind: 'secret'; readonly orgId: string; readonly vaultId: string; readonly path: string };

/** A decision and why it was made. */
export interface Decision {
  readonly allow: boolean;
  readonly reasons: readonly string[];
}

/** Decides whether `principal` may do `action` on `resource`. Default deny. */
export function decide(principal: Principal, action: Action, resource: Resource): Decision {
  if (resource.orgId !== principal.orgId) {
    return { allow: false, reasons: ['resource belongs to another org'] };
  }
  if (principal.role === 'owner') {
    return { allow: true, reasons: [`built-in role owner grants ${action} on the whole org`] };
  }
  return { allow: false, reasons: ['no grant (default deny)'] };
}

/** A string naming the principal in stored records (`created_by`) and, later, audit events. */
export function actorOf(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}
