/**
 * The catalogue of audit actions (A1): one typed place, versioned with the event format
 * (`v: 1` in every event). Each action belongs to a retention class (A6): `security` events
 * are kept 12 months by default, `operational` ones 30 days.
 */
export const auditActions = {
  'auth.failure': 'security',
  'vault.create': 'security',
  'vault.list': 'operational',
  'vault.describe': 'operational',
  'vault.delete': 'security',
  'secret.write': 'security',
  'secret.read': 'security',
  'secret.list': 'operational',
  'secret.delete': 'security',
  'secret.version.destroy': 'security',
  'audit.events.query': 'security',
  'audit.export': 'security',
  'audit.heads.read': 'operational',
  'audit.heads.sign': 'security',
  'audit.proof': 'operational',
  'audit.sink.create': 'security',
  'audit.sink.list': 'operational',
  'audit.sink.delete': 'security',
  'agent.create': 'security',
  'agent.list': 'operational',
  'agent.describe': 'operational',
  'agent.update': 'security',
  'agent.delete': 'security',
  'agent.key.rotate': 'security',
  'agent.token.issue': 'security',
  'policy.create': 'security',
  'policy.list': 'operational',
  'policy.describe': 'operational',
  'policy.update': 'security',
  'policy.delete': 'security',
  'authz.explain': 'security',
  'member.create': 'security',
  'member.list': 'operational',
  'member.describe': 'operational',
  'member.update': 'security',
  'member.delete': 'security',
  'team.create': 'security',
  'team.list': 'operational',
  'team.describe': 'operational',
  'team.update': 'security',
  'team.delete': 'security',
  'team.member.add': 'security',
  'team.member.remove': 'security',
  'role.create': 'security',
  'role.list': 'operational',
  'role.describe': 'operational',
  'role.update': 'security',
  'role.delete': 'security',
  'access.matrix': 'security',
  'access.review.create': 'security',
  'access.review.list': 'operational',
  'access.review.describe': 'operational',
  'access.review.decide': 'security',
  'access.review.remind': 'security',
  'access.review.close': 'security',
  'approval.request': 'security',
  'approval.list': 'operational',
  'approval.describe': 'operational',
  'approval.approve': 'security',
  'approval.deny': 'security',
  // Identity (I1–I5): events with no org go to the installation chain.
  'auth.signin': 'security',
  'auth.email_code.send': 'security',
  'auth.mfa.verify': 'security',
  'auth.lockout': 'security',
  'auth.refresh': 'operational',
  'auth.refresh.reuse': 'security',
  'auth.signout': 'security',
  'auth.signout.everywhere': 'security',
  'auth.switch': 'security',
  'auth.step_up': 'security',
  'auth.oidc.start': 'security',
  'auth.oidc.callback': 'security',
  'me.describe': 'operational',
  'me.orgs': 'operational',
  'me.delete': 'security',
  'mfa.totp.enrol': 'security',
  'mfa.totp.confirm': 'security',
  'mfa.totp.remove': 'security',
  'mfa.recovery_codes.regenerate': 'security',
  'password.set': 'security',
  'session.list': 'operational',
  'session.revoke': 'security',
  'member.sessions.revoke': 'security',
  'token.create': 'security',
  'token.list': 'operational',
  'token.revoke': 'security',
  'org.create': 'security',
  'org.describe': 'operational',
  'org.update': 'security',
  'org.leave': 'security',
  'org.transfer': 'security',
  'invitation.create': 'security',
  'invitation.list': 'operational',
  'invitation.revoke': 'security',
  'invitation.accept': 'security',
} as const satisfies Record<string, AuditClass>;

export type AuditClass = 'security' | 'operational';
export type AuditAction = keyof typeof auditActions;

/** How a request ended, from its HTTP status: 2xx/3xx success, 4xx failure, 5xx error. */
export type AuditOutcome = 'success' | 'failure' | 'error';

/** What an event is about. `ref` is the one string filters match (`vault:<id>`, `secret:<vault>/<path>`). */
export interface AuditResource {
  type: 'org' | 'vault' | 'secret' | 'audit' | 'audit_sink' | EntityType;
  ref: string;
  vault_id?: string;
  path?: string;
  version?: number;
}

/** Who acted. `system` is the server's own background work (`id` names which: `reminders`). */
export interface AuditActor {
  /** `user`: a member id in an org's events; a user id (the person) in identity events. */
  type: 'root_token' | 'user' | 'agent' | 'anonymous' | 'system';
  id: string;
}

/** Counts an event reports about what it acted on; never personal data. */
export interface AuditEventDetail {
  /** `access.review.remind`: the campaign's items still unreviewed. */
  unreviewed?: number;
  /** Identity events: how the person proved who they are (`password`, `email_code`, `oidc:<provider>`, `totp`, `recovery_code`). */
  method?: string;
  /** Sessions a revocation ended. */
  sessions?: number;
  /** `auth.lockout`: failed attempts from the source in the window. */
  failures?: number;
}

/**
 * The chained body of an event as the server builds it; `audit_append` adds `v`, `org`, `seq`,
 * `time` and `class`. Never holds a secret value, a credential or personal data (only `pd`, the
 * commitment to the personal data stored beside the chain).
 */
export interface AuditEventBody {
  action: AuditAction;
  actor: AuditActor;
  resource: AuditResource;
  outcome: AuditOutcome;
  /** HTTP status; null for a change recorded inside its own transaction (its answer is 2xx). */
  status: number | null;
  reason: string | null;
  request_id: string;
  pd: string | null;
  class: AuditClass;
  /** The authorization decision that gated the request, and the policies or role behind it (P4). */
  authz?: { allow: boolean; action: string; by: string[] };
  /** What background work reports (an automatic reminder: how many items are unreviewed). */
  detail?: AuditEventDetail;
}

/** The outcome of an HTTP status. */
export function outcomeOf(status: number): AuditOutcome {
  if (status >= 500) return 'error';
  return status >= 400 ? 'failure' : 'success';
}

/** Org-level things other than vaults and secrets that events name by id. */
export type EntityType =
  | 'agent'
  | 'policy'
  | 'member'
  | 'team'
  | 'role'
  | 'access_review'
  | 'approval'
  | 'authz'
  | 'user'
  | 'session'
  | 'invitation'
  | 'token';

/** Resource refs, spelled one way everywhere. */
export const resourceRef = {
  org: (orgId: string): AuditResource => ({ type: 'org', ref: `org:${orgId}` }),
  vault: (vaultId: string): AuditResource => ({ type: 'vault', ref: `vault:${vaultId}`, vault_id: vaultId }),
  secret: (vaultId: string, path: string, version?: number): AuditResource => ({
    type: 'secret',
    ref: `secret:${vaultId}${path}`,
    vault_id: vaultId,
    path,
    ...(version === undefined ? {} : { version }),
  }),
  audit: (what: string): AuditResource => ({ type: 'audit', ref: `audit:${what}` }),
  sink: (sinkId: string): AuditResource => ({ type: 'audit_sink', ref: `audit_sink:${sinkId}` }),
  entity: (type: EntityType, id: string): AuditResource => ({ type, ref: `${type}:${id}` }),
};
