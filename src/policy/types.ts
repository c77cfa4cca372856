/**
 * The vocabulary of authorization (SPEC P1–P3): who asks, what they ask to do, on what, and the
 * data a decision is made from. Everything here is plain data; `engine.ts` decides on it as pure
 * code, `domains/authz/authz.service.ts` loads it from the database per org.
 */

/** The actions of SPEC P3. On org areas, `describe` is "see/list" and `admin` is "change". */
export const ACTIONS = ['describe', 'read', 'write', 'delete', 'share', 'detokenize', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

/** Org-level things a role may manage, apart from vaults and their secrets. */
export const ORG_AREAS = [
  'vaults', // describe: list vaults; write: create vaults
  'members', // describe: list members; admin: add, change, remove
  'teams',
  'roles',
  'agents',
  'policies', // admin: manage the policies of every vault (SoD-restricted roles never may)
  'audit', // describe: query, export, verify the audit log
  'integrations', // admin: SIEM sinks and other integrations (SoD-restricted roles never may)
  'access', // describe: access matrix, explain; admin: run access reviews
  'approvals', // admin: decide access requests for vaults the principal administers
] as const;
export type OrgArea = (typeof ORG_AREAS)[number];

/** The areas separation-of-duties restricted roles may never manage, whatever grants them. */
export const RESTRICTED_AREAS: readonly OrgArea[] = ['policies', 'integrations'];

export type PrincipalKind = 'root_token' | 'user' | 'agent';

/** Who is calling, as established by authentication. */
export interface Principal {
  readonly orgId: string;
  readonly kind: PrincipalKind;
  /** Token id (root_token), member id (user) or agent id (agent). */
  readonly id: string;
  /** Role id for users and root tokens (a built-in name or a custom role's uuid); null for agents. */
  readonly role: string | null;
}

/** What an action is on: an org area, a vault, or a secret path in a vault. */
export type Resource =
  | { readonly kind: 'org'; readonly orgId: string; readonly area: OrgArea }
  | { readonly kind: 'vault'; readonly orgId: string; readonly vaultId: string }
  | { readonly kind: 'secret'; readonly orgId: string; readonly vaultId: string; readonly path: string };

export type PolicyPrincipalType = 'user' | 'agent' | 'team' | 'role';
export type Effect = 'allow' | 'deny';

/** A daily window in which a policy applies. `start` > `end` wraps past midnight. */
export interface TimeWindow {
  /** Days of the week it applies on, 0 = Sunday … 6 = Saturday; all days when absent. */
  readonly days?: readonly number[];
  /** "HH:MM", inclusive. */
  readonly start: string;
  /** "HH:MM", exclusive. */
  readonly end: string;
  /** IANA time zone the window is read in; UTC when absent. */
  readonly timezone?: string;
}

/** Conditions under which a policy applies (SPEC P3). All present ones must hold. */
export interface PolicyConditions {
  /** The caller's IP must be in one of these CIDR blocks (IPv4 or IPv6). */
  readonly ip_allowlist?: readonly string[];
  readonly time_window?: TimeWindow;
  /** The caller must have passed MFA recently (step-up). */
  readonly mfa_required?: boolean;
  /** The caller must state a reason (`X-Audit-Reason`), which is audited. */
  readonly reason_required?: boolean;
}

/** A vault policy, as stored (1claw's shape). */
export interface Policy {
  readonly id: string;
  readonly vaultId: string;
  readonly principalType: PolicyPrincipalType;
  readonly principalId: string;
  /** Normalised glob over secret paths: `/stripe/*`, `/**`. */
  readonly pattern: string;
  readonly permissions: readonly Action[];
  readonly effect: Effect;
  readonly conditions: PolicyConditions;
  readonly expiresAt: Date | null;
}

/** What a role grants. */
export interface RoleDef {
  /** Built-in name (`owner`, `admin`, `manager`, `office`, `employee`) or a custom role's uuid. */
  readonly id: string;
  readonly name: string;
  readonly builtIn: boolean;
  /** Actions on org areas. */
  readonly org: Readonly<Partial<Record<OrgArea, readonly Action[]>>>;
  /** Actions on vaults and every secret in them: on all vaults, or only on the member's teams' vaults. */
  readonly vaults: { readonly scope: 'all' | 'team'; readonly actions: readonly Action[] } | null;
  /** Separation of duties: may never manage policies or integrations (RESTRICTED_AREAS). */
  readonly restricted: boolean;
}

/** Everything about one org that decisions read; loaded per org and cached per authz epoch. */
export interface AuthzSnapshot {
  readonly orgId: string;
  /** Bumped in the same transaction as any change to the data below. */
  readonly epoch: number;
  readonly policies: readonly Policy[];
  /** Built-in and custom roles by id. */
  readonly roles: ReadonlyMap<string, RoleDef>;
  /** Members by id: their role and teams. */
  readonly members: ReadonlyMap<string, { readonly role: string; readonly teams: readonly string[]; readonly active: boolean }>;
  /** Agents by id. */
  readonly agents: ReadonlyMap<string, { readonly active: boolean }>;
  /** Vaults by id: the team that owns each (null: no team, only org-wide roles and policies reach it). */
  readonly vaults: ReadonlyMap<string, { readonly teamId: string | null }>;
}

/** Facts about the request a policy's conditions read. */
export interface DecisionContext {
  readonly now: Date;
  readonly ip: string | null;
  /** True when the caller passed MFA within the step-up window. */
  readonly mfa: boolean;
  /** The stated reason (`X-Audit-Reason`), if any. */
  readonly reason: string | null;
}

/** What produced (part of) a decision. */
export type Grant =
  | { readonly source: 'policy'; readonly id: string; readonly effect: Effect }
  | { readonly source: 'role'; readonly id: string }
  | { readonly source: 'sod'; readonly id: string };

/** A decision and why it was made (P4). */
export interface Decision {
  readonly allow: boolean;
  /** The grants behind an allow; the deny policy or SoD rule behind a deny; empty for default deny. */
  readonly decidedBy: readonly Grant[];
  /** Human-readable reasons, in order. */
  readonly reasons: readonly string[];
  /**
   * When denied only because an allow policy's condition was unmet by the caller (not by the
   * resource or time): what the caller could supply. The API says so, since the caller already
   * holds the grant.
   */
  readonly missing?: 'reason' | 'mfa';
}
