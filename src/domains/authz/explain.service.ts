import type { WithTenantTx } from '../../db/tenant.js';
import { notFound } from '../../errors.js';
import { decide } from '../../policy/engine.js';
import { ORG_AREAS } from '../../policy/types.js';
import type { Action, Decision, DecisionContext, OrgArea, Principal, PrincipalKind, Resource } from '../../policy/types.js';
import { normaliseSecretPath } from '../secrets/secret-path.js';
import { findToken } from '../tokens/tokens.repo.js';
import { grantLabel, type Authorizer, type Caller } from './authz.service.js';

/**
 * Explain (SPEC P4): "why can X do Y on Z?" — the engine's decision for any principal of the
 * org, with the policies, roles or separation-of-duties rule behind it.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A principal named in a query: `user:<member id>`, `agent:<agent id>`, `root_token:<token id>`. */
export interface PrincipalRef {
  readonly kind: PrincipalKind;
  readonly id: string;
}

/** A resource named in a query, without its org (always the caller's). */
export type ResourceRef =
  | { readonly kind: 'org'; readonly area: OrgArea }
  | { readonly kind: 'vault'; readonly vaultId: string }
  | { readonly kind: 'secret'; readonly vaultId: string; readonly path: string };

/** Parses `user:<uuid>`, `agent:<uuid>` or `root_token:<uuid>`; a reason safe to show when it is not one. */
export function parsePrincipalRef(text: string): { ok: true; value: PrincipalRef } | { ok: false; reason: string } {
  const match = /^(user|agent|root_token):(.+)$/.exec(text);
  if (!match?.[1] || !match[2]) return { ok: false, reason: 'must be user:<member id>, agent:<agent id> or root_token:<token id>' };
  const id = match[2].toLowerCase();
  if (!UUID.test(id)) return { ok: false, reason: 'the id after the colon must be a UUID' };
  return { ok: true, value: { kind: match[1] as PrincipalKind, id } };
}

/**
 * Parses `org:<area>`, `vault:<vault id>` or `vault:<vault id>/<secret path>`; the path is
 * normalised as secrets' paths are, so the answer is about the secret a request would name.
 */
export function parseResourceRef(text: string): { ok: true; value: ResourceRef } | { ok: false; reason: string } {
  if (text.startsWith('org:')) {
    const area = text.slice('org:'.length);
    if (!(ORG_AREAS as readonly string[]).includes(area)) return { ok: false, reason: `the org area must be one of ${ORG_AREAS.join(', ')}` };
    return { ok: true, value: { kind: 'org', area: area as OrgArea } };
  }
  if (!text.startsWith('vault:')) return { ok: false, reason: 'must be org:<area>, vault:<vault id> or vault:<vault id>/<secret path>' };
  const rest = text.slice('vault:'.length);
  const slash = rest.indexOf('/');
  const vaultId = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  if (!UUID.test(vaultId)) return { ok: false, reason: 'the vault id must be a UUID' };
  if (slash < 0) return { ok: true, value: { kind: 'vault', vaultId } };
  const path = normaliseSecretPath(rest.slice(slash));
  if (!path.ok) return { ok: false, reason: `the secret path is not valid: ${path.reason}` };
  return { ok: true, value: { kind: 'secret', vaultId, path: path.path } };
}

/** The canonical spelling of a resource reference, as the answer echoes it. */
export function formatResourceRef(resource: ResourceRef): string {
  switch (resource.kind) {
    case 'org':
      return `org:${resource.area}`;
    case 'vault':
      return `vault:${resource.vaultId}`;
    case 'secret':
      return `vault:${resource.vaultId}${resource.path}`;
  }
}

/** What to explain, and the request facts to assume (none unless given: no IP, reason or MFA). */
export interface ExplainQuery {
  principal: PrincipalRef;
  action: Action;
  resource: ResourceRef;
  ip: string | null;
  reason: boolean;
  mfa: boolean;
}

/** The answer of explain, in the API's spelling. */
export interface Explanation {
  principal: string;
  action: Action;
  resource: string;
  allow: boolean;
  /** `policy:<id>`, `role:<id>` or `sod:<rule>` (a restricted role's id, or `agent`): the grants behind an allow, the deny behind a deny. */
  decided_by: string[];
  reasons: string[];
  missing?: 'reason' | 'mfa';
}

/** Dependencies of explain. */
export interface ExplainServiceDeps {
  withTenantTx: WithTenantTx;
  authz: Pick<Authorizer, 'require' | 'snapshot' | 'contextOf'>;
}

/** Explains authorization decisions (P4). */
export interface ExplainService {
  explain(caller: Caller, query: ExplainQuery): Promise<Explanation>;
}

/** Builds the explain service. */
export function createExplainService(deps: ExplainServiceDeps): ExplainService {
  const { withTenantTx, authz } = deps;

  /** A root token's role: owner while it is a live root token of the org, none otherwise. */
  async function rootTokenRole(orgId: string, tokenId: string, now: Date): Promise<string | null> {
    const row = await withTenantTx(orgId, (tx) => findToken(tx, tokenId));
    if (!row || row.kind !== 'root' || row.revoked_at !== null) return null;
    if (row.expires_at !== null && row.expires_at.getTime() <= now.getTime()) return null;
    return row.role;
  }

  return {
    async explain(caller, query) {
      const { orgId } = caller;
      const target = query.resource;
      // A vault the caller may not see stays unseen (P1): a manager explains its teams' vaults.
      if (target.kind !== 'org') await authz.require(caller, 'describe', { kind: 'vault', orgId, vaultId: target.vaultId });
      // Required last, so the event records the grant that lets the caller explain.
      await authz.require(caller, 'describe', { kind: 'org', orgId, area: 'access' });
      const snapshot = await authz.snapshot(orgId, caller.epoch);
      if (target.kind !== 'org' && !snapshot.vaults.has(target.vaultId)) throw notFound();

      const base = authz.contextOf(caller);
      const ctx: DecisionContext = { now: base.now, ip: query.ip, reason: query.reason ? 'stated (explain)' : null, mfa: query.mfa };
      const resource: Resource = { ...target, orgId };
      const { kind, id } = query.principal;
      let decision: Decision;
      if (kind === 'root_token') {
        const role = await rootTokenRole(orgId, id, ctx.now);
        decision =
          role === null
            ? { allow: false, decidedBy: [], reasons: ['principal is not an active root token'] }
            : decide(snapshot, { orgId, kind, id, role }, query.action, resource, ctx);
      } else {
        // The engine reads a member's role and teams from the snapshot; an unknown member or
        // agent is its deny, not a 404.
        const role = kind === 'user' ? (snapshot.members.get(id)?.role ?? null) : null;
        const principal: Principal = { orgId, kind, id, role };
        decision = decide(snapshot, principal, query.action, resource, ctx);
      }
      return {
        principal: `${kind}:${id}`,
        action: query.action,
        resource: formatResourceRef(target),
        allow: decision.allow,
        decided_by: decision.decidedBy.map(grantLabel),
        reasons: [...decision.reasons],
        ...(decision.missing === undefined ? {} : { missing: decision.missing }),
      };
    },
  };
}
