/**
 * The authorization decision (SPEC P1–P4), as one pure function over an org's {@link AuthzSnapshot}:
 * no I/O, no clock, no config. The order of the rules is the contract:
 *
 * 1. another org's resource → deny;
 * 2. an inactive or unknown member or agent → deny;
 * 3. separation of duties: a restricted role never administers policies or integrations,
 *    nor a vault's (or secret's) policies → deny, whatever else grants it;
 * 4. org areas: the role's grant, or default deny (policies never reach org areas);
 * 5. vaults and secrets: any covering deny policy wins; else any covering allow policy or the
 *    role's vault grant allows; else default deny, saying what the caller could supply when only
 *    an allow policy's MFA or reason condition was unmet.
 */

import { BlockList, isIP } from 'node:net';
import { normaliseSecretPath } from '../domains/secrets/secret-path.js';
import { WHOLE_VAULT, matchesPattern } from './glob.js';
import { BUILT_IN_ROLES } from './roles.js';
import { RESTRICTED_AREAS } from './types.js';
import type {
  Action,
  AuthzSnapshot,
  Decision,
  DecisionContext,
  Grant,
  Policy,
  Principal,
  Resource,
  RoleDef,
  TimeWindow,
} from './types.js';

type VaultResource = Exclude<Resource, { kind: 'org' }>;

/** Who the principal is, as the snapshot knows them. */
interface Subject {
  readonly principal: Principal;
  readonly roleId: string | null;
  readonly role: RoleDef | undefined;
  readonly teams: readonly string[];
}

/**
 * Decides whether `principal` may do `action` on `resource`, from the org's snapshot and the
 * request's context. Default deny; a deny policy or separation of duties beats every grant.
 *
 * @example
 * decide(snapshot, agent, 'read', { kind: 'secret', orgId, vaultId, path: '/stripe/key' }, ctx);
 * // { allow: true, decidedBy: [{ source: 'policy', id: 'p1', effect: 'allow' }],
 * //   reasons: ['policy p1 allows read on /stripe/* (agent)'] }
 */
export function decide(
  snapshot: AuthzSnapshot,
  principal: Principal,
  action: Action,
  resource: Resource,
  ctx: DecisionContext,
): Decision {
  if (resource.orgId !== principal.orgId || snapshot.orgId !== principal.orgId) {
    return deny([], 'resource belongs to another org');
  }
  const subject = resolveSubject(snapshot, principal);
  if (subject === undefined) {
    return deny([], `principal is not an active ${principal.kind === 'agent' ? 'agent' : 'member'}`);
  }
  const sod = separationOfDuties(subject, action, resource);
  if (sod !== undefined) return sod;
  if (resource.kind === 'org') {
    const role = subject.role;
    if (role !== undefined && role.org[resource.area]?.includes(action) === true) {
      return allow([{ source: 'role', id: role.id }], [`role ${role.id} grants ${action} on org ${resource.area}`]);
    }
    return deny([], 'no grant (default deny)');
  }
  if (resource.kind === 'secret') {
    const normalised = normaliseSecretPath(resource.path);
    // Globs assume the canonical spelling; a deny policy must never be dodged by another one.
    if (!normalised.ok || normalised.path !== resource.path) return deny([], 'the secret path is not canonical');
  }
  return decideInVault(snapshot, subject, action, resource, ctx);
}

function allow(decidedBy: readonly Grant[], reasons: readonly string[]): Decision {
  return { allow: true, decidedBy, reasons };
}

function deny(decidedBy: readonly Grant[], ...reasons: readonly string[]): Decision {
  return { allow: false, decidedBy, reasons };
}

/**
 * The principal's role and teams, read from the snapshot rather than the token (which may be
 * stale); undefined when a member or agent is unknown or inactive. Built-in role ids always mean
 * the built-in definitions.
 */
function resolveSubject(snapshot: AuthzSnapshot, principal: Principal): Subject | undefined {
  const roleOf = (id: string | null): RoleDef | undefined =>
    id === null ? undefined : (BUILT_IN_ROLES.get(id) ?? snapshot.roles.get(id));
  switch (principal.kind) {
    case 'root_token':
      return { principal, roleId: principal.role, role: roleOf(principal.role), teams: [] };
    case 'user': {
      const member = snapshot.members.get(principal.id);
      if (member === undefined || !member.active) return undefined;
      return { principal, roleId: member.role, role: roleOf(member.role), teams: member.teams };
    }
    case 'agent': {
      const agent = snapshot.agents.get(principal.id);
      if (agent === undefined || !agent.active) return undefined;
      return { principal, roleId: null, role: undefined, teams: [] };
    }
  }
}

/**
 * The separation-of-duties deny, if one applies: agents never administer anything (a human
 * decides who may do what, and an agent could otherwise grant a colluding agent); a restricted
 * role never administers policies or integrations.
 */
function separationOfDuties(subject: Subject, action: Action, resource: Resource): Decision | undefined {
  // (On org areas an agent has no role, so it is refused anyway, by default deny.)
  if (subject.principal.kind === 'agent' && action === 'admin' && resource.kind !== 'org') {
    return deny([{ source: 'sod', id: 'agent' }], 'agents never administer: a human manages vaults, policies and the org');
  }
  const role = subject.role;
  if (role === undefined || !role.restricted || action !== 'admin') return undefined;
  if (resource.kind === 'org' && !RESTRICTED_AREAS.includes(resource.area)) return undefined;
  const what = resource.kind === 'org' ? `org ${resource.area}` : 'the policies of a vault';
  return deny(
    [{ source: 'sod', id: role.id }],
    `role ${role.id} is restricted by separation of duties and may never administer ${what}`,
  );
}

function decideInVault(
  snapshot: AuthzSnapshot,
  subject: Subject,
  action: Action,
  resource: VaultResource,
  ctx: DecisionContext,
): Decision {
  const policies = applicablePolicies(snapshot, subject, resource.vaultId, ctx.now);
  const covering = policies.filter((policy) => covers(policy, action, resource));

  const denials = covering.filter((policy) => policy.effect === 'deny' && unmetConditions(policy, ctx).length === 0);
  if (denials.length > 0) {
    return deny(denials.map(policyGrant), ...denials.map((policy) => policyReason(policy, action)));
  }

  const grants: Grant[] = [];
  const reasons: string[] = [];
  const missing = new Set<Condition>();
  for (const policy of covering) {
    if (policy.effect !== 'allow') continue;
    const unmet = unmetConditions(policy, ctx);
    if (unmet.length === 0) {
      grants.push(policyGrant(policy));
      reasons.push(policyReason(policy, action));
    } else if (unmet.every((condition) => condition === 'mfa' || condition === 'reason')) {
      for (const condition of unmet) missing.add(condition);
    }
  }
  const role = subject.role;
  if (role !== undefined && roleCovers(snapshot, subject, role, action, resource.vaultId)) {
    grants.push({ source: 'role', id: role.id });
    const where = role.vaults?.scope === 'all' ? 'every vault' : 'the vaults of its teams';
    reasons.push(`role ${role.id} grants ${action} on ${where}`);
  }
  if (grants.length > 0) return allow(grants, reasons);

  // The caller already holds a grant it can unlock itself: say how (step-up MFA first).
  if (missing.has('mfa')) {
    return { ...deny([], 'no grant (default deny)', 'an allow policy requires MFA'), missing: 'mfa' };
  }
  if (missing.has('reason')) {
    return { ...deny([], 'no grant (default deny)', 'an allow policy requires a stated reason'), missing: 'reason' };
  }
  return deny([], 'no grant (default deny)');
}

/**
 * An org's policies by vault, sorted by id, built once per snapshot (snapshots are immutable and
 * cached per epoch), so a decision reads one vault's policies, not the org's.
 */
const policiesByVault = new WeakMap<AuthzSnapshot, ReadonlyMap<string, readonly Policy[]>>();

function vaultPolicies(snapshot: AuthzSnapshot, vaultId: string): readonly Policy[] {
  let index = policiesByVault.get(snapshot);
  if (index === undefined) {
    const built = new Map<string, Policy[]>();
    for (const policy of snapshot.policies) {
      const list = built.get(policy.vaultId);
      if (list) list.push(policy);
      else built.set(policy.vaultId, [policy]);
    }
    for (const list of built.values()) list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    index = built;
    policiesByVault.set(snapshot, index);
  }
  return index.get(vaultId) ?? [];
}

/** The principal's unexpired policies in one vault, by id. */
function applicablePolicies(snapshot: AuthzSnapshot, subject: Subject, vaultId: string, now: Date): Policy[] {
  return vaultPolicies(snapshot, vaultId)
    .filter((policy) => appliesTo(policy, subject))
    .filter((policy) => policy.expiresAt === null || policy.expiresAt.getTime() > now.getTime());
}

function policyGrant(policy: Policy): Grant {
  return { source: 'policy', id: policy.id, effect: policy.effect };
}

function policyReason(policy: Policy, action: Action): string {
  const verb = policy.effect === 'allow' ? 'allows' : 'denies';
  return `policy ${policy.id} ${verb} ${action} on ${policy.pattern} (${policy.principalType})`;
}

/** Whether a policy names this principal: directly, or through one of its teams or its role. */
function appliesTo(policy: Policy, subject: Subject): boolean {
  const { principal } = subject;
  switch (policy.principalType) {
    case 'user':
      return principal.kind === 'user' && policy.principalId === principal.id;
    case 'agent':
      return principal.kind === 'agent' && policy.principalId === principal.id;
    case 'team':
      return principal.kind === 'user' && subject.teams.includes(policy.principalId);
    case 'role':
      return principal.kind !== 'agent' && subject.roleId !== null && policy.principalId === subject.roleId;
  }
}

/**
 * Whether a policy speaks to `action` on the resource, conditions aside. On a secret: its pattern
 * matches the path, and on the allow side `read` implies `describe`, on the deny side denying
 * `describe` denies `read`. On a vault: any allow policy lets its holder see the vault; every
 * other vault-level action, and every deny, needs the whole-vault pattern.
 */
function covers(policy: Policy, action: Action, resource: VaultResource): boolean {
  const has = (a: Action): boolean => policy.permissions.includes(a);
  if (resource.kind === 'secret') {
    if (!matchesPattern(policy.pattern, resource.path)) return false;
    if (has(action)) return true;
    return policy.effect === 'allow' ? action === 'describe' && has('read') : action === 'read' && has('describe');
  }
  if (policy.effect === 'allow') {
    if (action === 'describe') return policy.permissions.length > 0;
    return policy.pattern === WHOLE_VAULT && has(action);
  }
  // Whoever is denied deleting or administering anything in a vault may not administer the
  // vault (delete it with all its secrets, or change its policies — the deny among them).
  if (action === 'admin' && (has('delete') || has('admin'))) return true;
  // Not being allowed to see a vault means not being allowed anything on it.
  return policy.pattern === WHOLE_VAULT && (has(action) || has('describe'));
}

/** Whether the role's vault grant reaches this vault and covers the action (`read` implies `describe`). */
function roleCovers(
  snapshot: AuthzSnapshot,
  subject: Subject,
  role: RoleDef,
  action: Action,
  vaultId: string,
): boolean {
  const grant = role.vaults;
  if (grant === null) return false;
  if (grant.scope === 'team') {
    const teamId = snapshot.vaults.get(vaultId)?.teamId ?? null;
    if (teamId === null || !subject.teams.includes(teamId)) return false;
  }
  return grant.actions.includes(action) || (action === 'describe' && grant.actions.includes('read'));
}

type Condition = 'ip' | 'time' | 'mfa' | 'reason';

/** The conditions of a policy this request does not meet; empty when the policy applies. */
function unmetConditions({ conditions }: Policy, ctx: DecisionContext): Condition[] {
  const unmet: Condition[] = [];
  if (conditions.ip_allowlist !== undefined && !ipAllowed(conditions.ip_allowlist, ctx.ip)) unmet.push('ip');
  if (conditions.time_window !== undefined && !inTimeWindow(conditions.time_window, ctx.now)) unmet.push('time');
  if (conditions.mfa_required === true && !ctx.mfa) unmet.push('mfa');
  if (conditions.reason_required === true && (ctx.reason ?? '').trim() === '') unmet.push('reason');
  return unmet;
}

const CACHE_LIMIT = 1000;

/** Adds to a bounded cache, dropping its oldest entry when full. */
function remember<V>(cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, value);
  return value;
}

const allowlists = new Map<string, BlockList>();

/**
 * Whether `ip` is in one of the CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`, or one address).
 * An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) is its IPv4 address; an unknown or malformed
 * caller address is in no list, and a malformed entry matches nothing.
 */
function ipAllowed(cidrs: readonly string[], ip: string | null): boolean {
  if (ip === null) return false;
  const address = unmapIPv4(ip.trim());
  const family = isIP(address);
  if (family === 0) return false;
  const key = JSON.stringify(cidrs);
  const list = allowlists.get(key) ?? remember(allowlists, key, buildBlockList(cidrs));
  try {
    return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false; // an address the block list refuses is in no list
  }
}

function buildBlockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const block = parseCidr(cidr);
    if (block !== undefined) list.addSubnet(block.network, block.prefix, block.family);
  }
  return list;
}

/** `a.b.c.d/nn`, `x::y/nn` or a bare address; undefined when malformed. Policy validation uses it too. */
export function parseCidr(cidr: string): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [rawNetwork = '', rawPrefix, ...rest] = cidr.trim().split('/');
  if (rest.length > 0) return undefined;
  const network = unmapIPv4(rawNetwork);
  const family = isIP(network);
  if (family === 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  if (rawPrefix !== undefined && !/^\d{1,3}$/.test(rawPrefix)) return undefined;
  // `::ffff:10.0.0.0/104` is the IPv4 block 10.0.0.0/8.
  const offset = network === rawNetwork ? 0 : 96;
  const prefix = rawPrefix === undefined ? bits : Number(rawPrefix) - offset;
  if (prefix < 0 || prefix > bits) return undefined;
  return { network, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

// The WHATWG URL parser prints every IPv4-mapped spelling as `[::ffff:hhhh:hhhh]`.
const MAPPED = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/;

/** `::ffff:1.2.3.4`, `0:0:0:0:0:ffff:102:304`, … → `1.2.3.4`; anything else unchanged. */
function unmapIPv4(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  let host: string;
  try {
    host = new URL(`http://[${ip}]/`).hostname;
  } catch {
    return ip; // zone ids (`fe80::1%eth0`) are no URL host
  }
  const mapped = MAPPED.exec(host);
  if (mapped?.[1] === undefined || mapped[2] === undefined) return ip;
  const high = Number.parseInt(mapped[1], 16);
  const low = Number.parseInt(mapped[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

const clocks = new Map<string, Intl.DateTimeFormat | null>();

/** A formatter reading weekday, hour and minute in `timeZone`; null for an unknown zone. */
function clockFor(timeZone: string): Intl.DateTimeFormat | null {
  const cached = clocks.get(timeZone);
  if (cached !== undefined) return cached;
  let clock: Intl.DateTimeFormat | null;
  try {
    clock = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
  } catch {
    clock = null; // RangeError: not an IANA zone
  }
  return remember(clocks, timeZone, clock);
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** "HH:MM" → minutes since midnight; "24:00" is allowed as an end. */
function parseClockTime(text: string, isEnd: boolean): number | undefined {
  const match = /^(\d{2}):(\d{2})$/.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes > 59) return undefined;
  if (hours < 24 || (isEnd && hours === 24 && minutes === 0)) return hours * 60 + minutes;
  return undefined;
}

/**
 * Whether `now` falls in the window, read in its time zone (UTC by default). Start is inclusive,
 * end exclusive; a window whose start is after its end runs past midnight, and its `days` name
 * the day it starts on (a Friday 22:00–06:00 window covers Saturday 02:00). A malformed window or
 * an unknown zone is never met.
 */
function inTimeWindow(window: TimeWindow, now: Date): boolean {
  const clock = clockFor(window.timezone ?? 'UTC');
  const start = parseClockTime(window.start, false);
  const end = parseClockTime(window.end, true);
  if (clock === null || start === undefined || end === undefined) return false;
  const parts = clock.formatToParts(now);
  const weekday = WEEKDAYS.indexOf(parts.find((part) => part.type === 'weekday')?.value ?? '');
  const hour = Number(parts.find((part) => part.type === 'hour')?.value);
  const minute = Number(parts.find((part) => part.type === 'minute')?.value);
  if (weekday < 0 || !Number.isInteger(hour) || !Number.isInteger(minute)) return false;
  const minutes = hour * 60 + minute;
  const onDay = (day: number): boolean => window.days === undefined || window.days.includes(day);
  if (start <= end) return minutes >= start && minutes < end && onDay(weekday);
  if (minutes >= start) return onDay(weekday);
  return minutes < end && onDay((weekday + 6) % 7);
}
