import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from './engine.js';
import { WHOLE_VAULT } from './glob.js';
import { BUILT_IN_ROLES, isBuiltInRole } from './roles.js';
import { ACTIONS, ORG_AREAS } from './types.js';
import type { Action, AuthzSnapshot, DecisionContext, OrgArea, Policy, Principal, Resource, RoleDef } from './types.js';

const ORG = 'org-1';
const NOW = new Date('2024-01-15T12:00:00Z'); // a Monday

// A custom role that tries to grant what separation of duties forbids it.
const integrator: RoleDef = {
  id: 'r-integrator',
  name: 'Integrator',
  builtIn: false,
  org: { integrations: ['describe', 'admin'], policies: ['admin'] },
  vaults: null,
  restricted: true,
};

function policy(id: string, fields: Partial<Policy> & Pick<Policy, 'vaultId' | 'principalType' | 'principalId'>): Policy {
  return { id, pattern: WHOLE_VAULT, permissions: ['read'], effect: 'allow', conditions: {}, expiresAt: null, ...fields };
}

const policies: readonly Policy[] = [
  policy('p01', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-stripe', pattern: '/stripe/*' }),
  policy('p02', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-gone' }),
  policy('p03', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-stripe', pattern: '/old/*', expiresAt: NOW }),
  policy('p04', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-stripe',
    pattern: '/fresh/*',
    expiresAt: new Date(NOW.getTime() + 1000),
  }),
  policy('p05', { vaultId: 'v-a', principalType: 'user', principalId: 'm-mgr', pattern: '/locked/**', effect: 'deny' }),
  policy('p06', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-stripe', pattern: '/stripe/blocked', effect: 'deny' }),
  policy('p07', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-ip',
    pattern: '/net/*',
    conditions: { ip_allowlist: ['10.0.0.0/8', '2001:db8::/32', 'not-a-cidr', '192.0.2.7'] },
  }),
  policy('p08', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-time',
    pattern: '/night/*',
    conditions: { time_window: { days: [1, 2, 3, 4, 5], start: '22:00', end: '06:00', timezone: 'America/New_York' } },
  }),
  policy('p09', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-time',
    pattern: '/office/*',
    conditions: { time_window: { start: '09:00', end: '17:00' } },
  }),
  policy('p10', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-time',
    pattern: '/mars/*',
    conditions: { time_window: { start: '00:00', end: '24:00', timezone: 'Mars/Olympus_Mons' } },
  }),
  policy('p11', { vaultId: 'v-none', principalType: 'user', principalId: 'm-plain', pattern: '/mfa/*', conditions: { mfa_required: true } }),
  policy('p12', {
    vaultId: 'v-none',
    principalType: 'user',
    principalId: 'm-plain',
    pattern: '/why/*',
    conditions: { reason_required: true },
  }),
  policy('p13', {
    vaultId: 'v-none',
    principalType: 'user',
    principalId: 'm-plain',
    pattern: '/both/*',
    conditions: { mfa_required: true, reason_required: true },
  }),
  policy('p14', {
    vaultId: 'v-none',
    principalType: 'team',
    principalId: 'team-ops',
    pattern: '/ops/**',
    permissions: ['read', 'write'],
  }),
  policy('p15', { vaultId: 'v-none', principalType: 'role', principalId: 'employee', pattern: '/handbook/*' }),
  policy('p16', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-del', permissions: ['delete'] }),
  policy('p17', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-del2', pattern: '/stuff/**', permissions: ['delete'] }),
  policy('p18', { vaultId: 'v-a', principalType: 'user', principalId: 'm-office', permissions: ['admin'] }),
  policy('p19', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-stripe',
    pattern: '/stripe/hidden',
    permissions: ['describe'],
    effect: 'deny',
  }),
  policy('p20', { vaultId: 'v-b', principalType: 'user', principalId: 'm-admin', permissions: ['describe'], effect: 'deny' }),
  policy('p21', { vaultId: 'v-none', principalType: 'role', principalId: 'owner', pattern: '/root-free/**', effect: 'deny' }),
  policy('p22', { vaultId: 'v-a', principalType: 'user', principalId: 'm-mgr', pattern: '/shared/*' }),
  policy('p23', {
    vaultId: 'v-none',
    principalType: 'user',
    principalId: 'm-plain',
    pattern: '/ipmfa/*',
    conditions: { ip_allowlist: ['10.0.0.0/8'], mfa_required: true },
  }),
  policy('p24', { vaultId: 'v-none', principalType: 'agent', principalId: 'a-stripe', pattern: '/stripe/blocked', effect: 'allow' }),
  policy('p25', { vaultId: 'v-b', principalType: 'agent', principalId: 'a-vault', permissions: ['admin', 'describe'] }),
  policy('p26', { vaultId: 'v-b', principalType: 'agent', principalId: 'a-vault2', pattern: '/x/*', permissions: ['admin'] }),
  policy('p27', {
    vaultId: 'v-b',
    principalType: 'agent',
    principalId: 'a-vault',
    pattern: '/x/**',
    permissions: ['admin'],
    effect: 'deny',
  }),
  policy('p29', { vaultId: 'v-b', principalType: 'user', principalId: 'm-plain', permissions: ['admin', 'describe'] }),
  policy('p30', { vaultId: 'v-b', principalType: 'user', principalId: 'm-plain', pattern: '/x/**', permissions: ['read'], effect: 'deny' }),
  policy('p31', { vaultId: 'v-c', principalType: 'user', principalId: 'm-plain', permissions: ['admin', 'describe'] }),
  policy('p32', { vaultId: 'v-c', principalType: 'user', principalId: 'm-plain', pattern: '/prod/**', permissions: ['delete'], effect: 'deny' }),
  policy('p28', {
    vaultId: 'v-none',
    principalType: 'agent',
    principalId: 'a-ip2',
    pattern: '/net/*',
    conditions: { ip_allowlist: ['::ffff:192.0.2.0/120', 'fe80::/10'] },
  }),
];

const member = (role: string, teams: readonly string[] = [], active = true) => ({ role, teams, active });

const snapshot: AuthzSnapshot = {
  orgId: ORG,
  epoch: 7,
  policies,
  roles: new Map<string, RoleDef>([...BUILT_IN_ROLES, [integrator.id, integrator]]),
  members: new Map([
    ['m-owner', member('owner')],
    ['m-admin', member('admin')],
    ['m-mgr', member('manager', ['team-a'])],
    ['m-office', member('office', ['team-a'])],
    ['m-emp', member('employee', ['team-a'])],
    ['m-gone', member('employee', ['team-a'], false)],
    ['m-integrator', member('r-integrator', ['team-a'])],
    ['m-plain', member('r-unknown', ['team-ops'])],
  ]),
  agents: new Map([
    ['a-stripe', { active: true }],
    ['a-gone', { active: false }],
    ['a-none', { active: true }],
    ['a-ip', { active: true }],
    ['a-ip2', { active: true }],
    ['a-time', { active: true }],
    ['a-del', { active: true }],
    ['a-del2', { active: true }],
    ['a-vault', { active: true }],
    ['a-vault2', { active: true }],
  ]),
  vaults: new Map([
    ['v-a', { teamId: 'team-a' }],
    ['v-b', { teamId: 'team-b' }],
    ['v-c', { teamId: null }],
    ['v-none', { teamId: null }],
  ]),
};

const user = (id: string, role = 'employee', orgId = ORG): Principal => ({ orgId, kind: 'user', id, role });
const agent = (id: string): Principal => ({ orgId: ORG, kind: 'agent', id, role: null });
const root = (orgId = ORG): Principal => ({ orgId, kind: 'root_token', id: 'tok-1', role: 'owner' });
const org = (area: OrgArea, orgId = ORG): Resource => ({ kind: 'org', orgId, area });
const vault = (vaultId: string, orgId = ORG): Resource => ({ kind: 'vault', orgId, vaultId });
const secret = (vaultId: string, path: string, orgId = ORG): Resource => ({ kind: 'secret', orgId, vaultId, path });
/** A Date from a UTC ISO string, named for the local time it stands for in the test name. */
const at = (iso: string): Partial<DecisionContext> => ({ now: new Date(iso) });

interface Case {
  readonly name: string;
  readonly principal: Principal;
  readonly action: Action;
  readonly resource: Resource;
  readonly ctx?: Partial<DecisionContext>;
  readonly snapshot?: AuthzSnapshot;
  readonly expect: { readonly allow: boolean; readonly decidedBy?: readonly string[]; readonly missing?: 'reason' | 'mfa' };
}

const cases: readonly Case[] = [
  // Tenancy and principal state.
  {
    name: 'denies a resource of another org',
    principal: root(),
    action: 'read',
    resource: secret('v-none', '/stripe/key', 'org-2'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies when the snapshot is of another org than the principal',
    principal: root('org-2'),
    action: 'describe',
    resource: org('vaults', 'org-2'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a deactivated member',
    principal: user('m-gone'),
    action: 'describe',
    resource: org('vaults'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a member the snapshot does not know',
    principal: user('m-nobody', 'owner'),
    action: 'describe',
    resource: org('vaults'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a deactivated agent despite its policy',
    principal: agent('a-gone'),
    action: 'read',
    resource: secret('v-none', '/any'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: "reads the member's role from the snapshot, not the (stale) token",
    principal: user('m-emp', 'owner'),
    action: 'admin',
    resource: org('members'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'grants a member with an unknown role nothing from the role',
    principal: user('m-plain', 'r-unknown'),
    action: 'describe',
    resource: org('vaults'),
    expect: { allow: false, decidedBy: [] },
  },

  // Root token.
  {
    name: 'allows a root token to administer policies',
    principal: root(),
    action: 'admin',
    resource: org('policies'),
    expect: { allow: true, decidedBy: ['role:owner'] },
  },
  {
    name: 'allows a root token vault admin on any vault',
    principal: root(),
    action: 'admin',
    resource: vault('v-b'),
    expect: { allow: true, decidedBy: ['role:owner'] },
  },
  {
    name: 'allows a root token to detokenize in a vault with no team',
    principal: root(),
    action: 'detokenize',
    resource: secret('v-none', '/stripe/key'),
    expect: { allow: true, decidedBy: ['role:owner'] },
  },
  {
    name: 'applies role:owner deny policies to a root token',
    principal: root(),
    action: 'read',
    resource: secret('v-none', '/root-free/x'),
    expect: { allow: false, decidedBy: ['policy:p21'] },
  },

  // Agents and path globs.
  {
    name: 'allows an agent what its policy grants',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/stripe/key'),
    expect: { allow: true, decidedBy: ['policy:p01'] },
  },
  {
    name: 'lets read imply describe on a secret',
    principal: agent('a-stripe'),
    action: 'describe',
    resource: secret('v-none', '/stripe/key'),
    expect: { allow: true, decidedBy: ['policy:p01'] },
  },
  {
    name: 'does not let read imply write',
    principal: agent('a-stripe'),
    action: 'write',
    resource: secret('v-none', '/stripe/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies /stripe/* on /stripe/x/y',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/stripe/x/y'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies /stripe/* on /github/key',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/github/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies the same path in another vault',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-b', '/stripe/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a path not in canonical form',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', 'stripe/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies an agent with no policy (default deny)',
    principal: agent('a-none'),
    action: 'read',
    resource: secret('v-none', '/stripe/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies an agent every org area',
    principal: agent('a-stripe'),
    action: 'describe',
    resource: org('vaults'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies under a policy that expired at exactly now',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/old/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'allows under a policy that has not expired yet',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/fresh/key'),
    expect: { allow: true, decidedBy: ['policy:p04'] },
  },

  // Deny wins.
  {
    name: 'lets a deny policy beat an allow policy on the same path',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/stripe/blocked'),
    expect: { allow: false, decidedBy: ['policy:p06'] },
  },
  {
    name: 'lets a deny policy beat a role grant',
    principal: user('m-mgr', 'manager'),
    action: 'read',
    resource: secret('v-a', '/locked/deep/key'),
    expect: { allow: false, decidedBy: ['policy:p05'] },
  },
  {
    name: 'lets a deny of describe deny read',
    principal: agent('a-stripe'),
    action: 'read',
    resource: secret('v-none', '/stripe/hidden'),
    expect: { allow: false, decidedBy: ['policy:p19'] },
  },
  {
    name: 'lets a whole-vault deny of describe deny deleting the vault',
    principal: user('m-admin', 'admin'),
    action: 'delete',
    resource: vault('v-b'),
    expect: { allow: false, decidedBy: ['policy:p20'] },
  },
  {
    name: 'lets a whole-vault deny of describe deny reading its secrets',
    principal: user('m-admin', 'admin'),
    action: 'read',
    resource: secret('v-b', '/x'),
    expect: { allow: false, decidedBy: ['policy:p20'] },
  },
  {
    name: 'never lets an agent administer a vault, whatever policy grants it (SoD)',
    principal: agent('a-vault'),
    action: 'admin',
    resource: vault('v-b'),
    expect: { allow: false, decidedBy: ['sod:agent'] },
  },
  {
    name: 'never lets an agent administer a secret either (SoD)',
    principal: agent('a-vault'),
    action: 'admin',
    resource: secret('v-b', '/x/y'),
    expect: { allow: false, decidedBy: ['sod:agent'] },
  },
  {
    name: 'lets an agent use the other actions its policy grants',
    principal: agent('a-vault'),
    action: 'describe',
    resource: vault('v-b'),
    expect: { allow: true, decidedBy: ['policy:p25'] },
  },
  {
    name: 'does not let a path-scoped read deny take away administering the vault',
    principal: user('m-plain'),
    action: 'admin',
    resource: vault('v-b'),
    expect: { allow: true, decidedBy: ['policy:p29'] },
  },
  {
    name: 'lets a path-scoped deny deny the secrets under it',
    principal: user('m-plain'),
    action: 'read',
    resource: secret('v-b', '/x/y'),
    expect: { allow: false, decidedBy: ['policy:p30'] },
  },
  {
    name: 'takes vault admin from whoever is denied deleting anything in the vault (no delete-the-vault bypass)',
    principal: user('m-plain'),
    action: 'admin',
    resource: vault('v-c'),
    expect: { allow: false, decidedBy: ['policy:p32'] },
  },
  {
    name: 'lists both the covering policy and the role of an allow',
    principal: user('m-mgr', 'manager'),
    action: 'read',
    resource: secret('v-a', '/shared/key'),
    expect: { allow: true, decidedBy: ['policy:p22', 'role:manager'] },
  },

  // IP allowlist.
  {
    name: 'allows from an IPv4 address in the allowlist',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '10.1.2.3' },
    expect: { allow: true, decidedBy: ['policy:p07'] },
  },
  {
    name: 'allows from a single allowlisted address',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '192.0.2.7' },
    expect: { allow: true, decidedBy: ['policy:p07'] },
  },
  {
    name: 'denies from an IPv4 address outside the allowlist',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '192.168.0.1' },
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'allows from an IPv6 address in the allowlist',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '2001:db8:0:1::5' },
    expect: { allow: true, decidedBy: ['policy:p07'] },
  },
  {
    name: 'denies from an IPv6 address outside the allowlist',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '2001:db9::5' },
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'reads an IPv4-mapped IPv6 address as its IPv4 address (inside)',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '::ffff:10.9.8.7' },
    expect: { allow: true, decidedBy: ['policy:p07'] },
  },
  {
    name: 'reads an IPv4-mapped IPv6 address in hex as its IPv4 address (inside)',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '0:0:0:0:0:ffff:a09:807' },
    expect: { allow: true, decidedBy: ['policy:p07'] },
  },
  {
    name: 'denies an IPv4-mapped IPv6 address outside the allowlist',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '::ffff:192.168.0.1' },
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies when the caller address is unknown',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: null },
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies when the caller address is malformed',
    principal: agent('a-ip'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '10.1.2.3.4' },
    expect: { allow: false, decidedBy: [] },
  },

  {
    name: 'reads an IPv4-mapped block in the allowlist as its IPv4 block',
    principal: agent('a-ip2'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: '192.0.2.200' },
    expect: { allow: true, decidedBy: ['policy:p28'] },
  },
  {
    name: 'matches a link-local address with a zone id by its address',
    principal: agent('a-ip2'),
    action: 'read',
    resource: secret('v-none', '/net/key'),
    ctx: { ip: 'fe80::1%eth0' },
    expect: { allow: true, decidedBy: ['policy:p28'] },
  },

  // Time windows: 22:00–06:00 Monday to Friday in New York (EST = UTC−5, EDT = UTC−4).
  {
    name: 'allows Monday 23:30 New York in a window wrapping midnight',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-16T04:30:00Z'),
    expect: { allow: true, decidedBy: ['policy:p08'] },
  },
  {
    name: 'allows Monday 22:00 New York (start inclusive)',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-16T03:00:00Z'),
    expect: { allow: true, decidedBy: ['policy:p08'] },
  },
  {
    name: 'allows Tuesday 02:00 New York, after midnight of a Monday window',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-16T07:00:00Z'),
    expect: { allow: true, decidedBy: ['policy:p08'] },
  },
  {
    name: 'denies Tuesday 06:00 New York (end exclusive)',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-16T11:00:00Z'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies Monday noon New York',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-15T17:00:00Z'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies Monday 21:30 New York although it is 02:30 Tuesday in UTC',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-16T02:30:00Z'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'allows Saturday 02:00 New York, in the window that started on Friday',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-20T07:00:00Z'),
    expect: { allow: true, decidedBy: ['policy:p08'] },
  },
  {
    name: 'denies Sunday 23:00 New York (Sunday is not a window day)',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-01-22T04:00:00Z'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'allows Monday 22:30 New York in summer time (EDT)',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/night/key'),
    ctx: at('2024-07-16T02:30:00Z'),
    expect: { allow: true, decidedBy: ['policy:p08'] },
  },
  {
    name: 'allows 09:00 UTC in a 09:00–17:00 window with no zone',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/office/key'),
    ctx: at('2024-01-15T09:00:00Z'),
    expect: { allow: true, decidedBy: ['policy:p09'] },
  },
  {
    name: 'denies 17:00 UTC in a 09:00–17:00 window',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/office/key'),
    ctx: at('2024-01-15T17:00:00Z'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies under a window in an unknown time zone',
    principal: agent('a-time'),
    action: 'read',
    resource: secret('v-none', '/mars/key'),
    expect: { allow: false, decidedBy: [] },
  },

  // Step-up: MFA and a stated reason.
  {
    name: 'denies without MFA and says MFA is missing',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/mfa/key'),
    expect: { allow: false, decidedBy: [], missing: 'mfa' },
  },
  {
    name: 'allows with MFA',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/mfa/key'),
    ctx: { mfa: true },
    expect: { allow: true, decidedBy: ['policy:p11'] },
  },
  {
    name: 'denies without a reason and says a reason is missing',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/why/key'),
    expect: { allow: false, decidedBy: [], missing: 'reason' },
  },
  {
    name: 'counts a blank reason as none',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/why/key'),
    ctx: { reason: '   ' },
    expect: { allow: false, decidedBy: [], missing: 'reason' },
  },
  {
    name: 'allows with a reason',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/why/key'),
    ctx: { reason: 'incident 42' },
    expect: { allow: true, decidedBy: ['policy:p12'] },
  },
  {
    name: 'asks for MFA first when both MFA and a reason are missing',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/both/key'),
    expect: { allow: false, decidedBy: [], missing: 'mfa' },
  },
  {
    name: 'asks for the reason once MFA is done',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/both/key'),
    ctx: { mfa: true },
    expect: { allow: false, decidedBy: [], missing: 'reason' },
  },
  {
    name: 'says nothing is missing when another condition (IP) also fails',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/ipmfa/key'),
    ctx: { ip: '192.168.1.1' },
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'says MFA is missing when only MFA fails beside an IP that is met',
    principal: user('m-plain', 'r-unknown'),
    action: 'read',
    resource: secret('v-none', '/ipmfa/key'),
    expect: { allow: false, decidedBy: [], missing: 'mfa' },
  },
  {
    name: 'says nothing is missing when the policy would not cover the action anyway',
    principal: user('m-plain', 'r-unknown'),
    action: 'write',
    resource: secret('v-none', '/mfa/key'),
    expect: { allow: false, decidedBy: [] },
  },

  // Team- and role-principal policies.
  {
    name: 'applies a team policy to a member of the team',
    principal: user('m-plain', 'r-unknown'),
    action: 'write',
    resource: secret('v-none', '/ops/deploy/key'),
    expect: { allow: true, decidedBy: ['policy:p14'] },
  },
  {
    name: 'does not apply a team policy to others',
    principal: user('m-emp'),
    action: 'read',
    resource: secret('v-none', '/ops/deploy/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'applies a role policy to a member with the role',
    principal: user('m-emp'),
    action: 'read',
    resource: secret('v-none', '/handbook/wifi'),
    expect: { allow: true, decidedBy: ['policy:p15'] },
  },

  // Vault-level actions.
  {
    name: 'lets any allow policy in a vault grant describing the vault',
    principal: agent('a-stripe'),
    action: 'describe',
    resource: vault('v-none'),
    expect: { allow: true, decidedBy: ['policy:p01', 'policy:p04', 'policy:p24'] },
  },
  {
    name: 'does not let a policy in another vault grant describing this one',
    principal: agent('a-stripe'),
    action: 'describe',
    resource: vault('v-a'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'lets a whole-vault delete policy delete the vault',
    principal: agent('a-del'),
    action: 'delete',
    resource: vault('v-none'),
    expect: { allow: true, decidedBy: ['policy:p16'] },
  },
  {
    name: 'does not let a path-scoped delete policy delete the vault',
    principal: agent('a-del2'),
    action: 'delete',
    resource: vault('v-none'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'lets a path-scoped delete policy delete a secret under it',
    principal: agent('a-del2'),
    action: 'delete',
    resource: secret('v-none', '/stuff/old'),
    expect: { allow: true, decidedBy: ['policy:p17'] },
  },
  {
    name: 'does not let an agent administer the vault through a path-scoped admin policy',
    principal: agent('a-vault2'),
    action: 'admin',
    resource: vault('v-b'),
    expect: { allow: false, decidedBy: ['sod:agent'] },
  },
  {
    name: 'lets a path-scoped admin policy describe the vault',
    principal: agent('a-vault2'),
    action: 'describe',
    resource: vault('v-b'),
    expect: { allow: true, decidedBy: ['policy:p26'] },
  },

  // Manager: team scope.
  {
    name: 'allows a manager to read in a vault of its team',
    principal: user('m-mgr', 'manager'),
    action: 'read',
    resource: secret('v-a', '/db/password'),
    expect: { allow: true, decidedBy: ['role:manager'] },
  },
  {
    name: 'denies a manager reading in another team’s vault',
    principal: user('m-mgr', 'manager'),
    action: 'read',
    resource: secret('v-b', '/db/password'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a manager reading in a vault with no team',
    principal: user('m-mgr', 'manager'),
    action: 'read',
    resource: secret('v-none', '/db/password'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'allows a manager to describe a vault of its team (its own policy there counts too)',
    principal: user('m-mgr', 'manager'),
    action: 'describe',
    resource: vault('v-a'),
    expect: { allow: true, decidedBy: ['policy:p22', 'role:manager'] },
  },
  {
    name: 'denies a manager describing another team’s vault',
    principal: user('m-mgr', 'manager'),
    action: 'describe',
    resource: vault('v-b'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a manager describing a vault with no team',
    principal: user('m-mgr', 'manager'),
    action: 'describe',
    resource: vault('v-none'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'allows a manager to administer a vault of its team',
    principal: user('m-mgr', 'manager'),
    action: 'admin',
    resource: vault('v-a'),
    expect: { allow: true, decidedBy: ['role:manager'] },
  },
  {
    name: 'allows a manager to list vaults',
    principal: user('m-mgr', 'manager'),
    action: 'describe',
    resource: org('vaults'),
    expect: { allow: true, decidedBy: ['role:manager'] },
  },
  {
    name: 'allows a manager to create vaults',
    principal: user('m-mgr', 'manager'),
    action: 'write',
    resource: org('vaults'),
    expect: { allow: true, decidedBy: ['role:manager'] },
  },
  {
    name: 'allows a manager to decide approvals',
    principal: user('m-mgr', 'manager'),
    action: 'admin',
    resource: org('approvals'),
    expect: { allow: true, decidedBy: ['role:manager'] },
  },
  {
    name: 'denies a manager the audit log',
    principal: user('m-mgr', 'manager'),
    action: 'describe',
    resource: org('audit'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies a manager administering policies org-wide',
    principal: user('m-mgr', 'manager'),
    action: 'admin',
    resource: org('policies'),
    expect: { allow: false, decidedBy: [] },
  },

  // Employee: describe only.
  {
    name: 'allows an employee to describe a secret of its team',
    principal: user('m-emp'),
    action: 'describe',
    resource: secret('v-a', '/db/password'),
    expect: { allow: true, decidedBy: ['role:employee'] },
  },
  {
    name: 'allows an employee to describe a vault of its team',
    principal: user('m-emp'),
    action: 'describe',
    resource: vault('v-a'),
    expect: { allow: true, decidedBy: ['role:employee'] },
  },
  {
    name: 'denies an employee reading a secret of its team',
    principal: user('m-emp'),
    action: 'read',
    resource: secret('v-a', '/db/password'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies an employee listing members',
    principal: user('m-emp'),
    action: 'describe',
    resource: org('members'),
    expect: { allow: false, decidedBy: [] },
  },

  // Office: separation of duties.
  {
    name: 'allows office to write in a vault of its team',
    principal: user('m-office', 'office'),
    action: 'write',
    resource: secret('v-a', '/invoices/key'),
    expect: { allow: true, decidedBy: ['role:office'] },
  },
  {
    name: 'denies office deleting in a vault of its team',
    principal: user('m-office', 'office'),
    action: 'delete',
    resource: secret('v-a', '/invoices/key'),
    expect: { allow: false, decidedBy: [] },
  },
  {
    name: 'denies office administering policies, by separation of duties',
    principal: user('m-office', 'office'),
    action: 'admin',
    resource: org('policies'),
    expect: { allow: false, decidedBy: ['sod:office'] },
  },
  {
    name: 'denies office administering integrations, by separation of duties',
    principal: user('m-office', 'office'),
    action: 'admin',
    resource: org('integrations'),
    expect: { allow: false, decidedBy: ['sod:office'] },
  },
  {
    name: 'denies office vault admin on its team vault even with a /** admin policy',
    principal: user('m-office', 'office'),
    action: 'admin',
    resource: vault('v-a'),
    expect: { allow: false, decidedBy: ['sod:office'] },
  },
  {
    name: 'still lets office describe the vault its admin policy is in',
    principal: user('m-office', 'office'),
    action: 'describe',
    resource: vault('v-a'),
    expect: { allow: true, decidedBy: ['policy:p18', 'role:office'] },
  },
  {
    name: 'denies a restricted custom role integrations admin although it grants it',
    principal: user('m-integrator', 'r-integrator'),
    action: 'admin',
    resource: org('integrations'),
    expect: { allow: false, decidedBy: ['sod:r-integrator'] },
  },
  {
    name: 'denies a restricted custom role policies admin although it grants it',
    principal: user('m-integrator', 'r-integrator'),
    action: 'admin',
    resource: org('policies'),
    expect: { allow: false, decidedBy: ['sod:r-integrator'] },
  },
  {
    name: 'allows a restricted custom role what separation of duties does not touch',
    principal: user('m-integrator', 'r-integrator'),
    action: 'describe',
    resource: org('integrations'),
    expect: { allow: true, decidedBy: ['role:r-integrator'] },
  },
];

const baseCtx: DecisionContext = { now: NOW, ip: '10.1.2.3', mfa: false, reason: null };

for (const c of cases) {
  test(c.name, () => {
    const decision = decide(c.snapshot ?? snapshot, c.principal, c.action, c.resource, { ...baseCtx, ...c.ctx });
    const decidedBy = decision.decidedBy.map((grant) => `${grant.source}:${grant.id}`);
    assert.equal(decision.allow, c.expect.allow, `allow (${decision.reasons.join('; ')})`);
    if (c.expect.decidedBy !== undefined) assert.deepEqual(decidedBy, c.expect.decidedBy);
    assert.equal(decision.missing, c.expect.missing);
    assert.ok(decision.reasons.length > 0, 'a decision always says why');
    for (const grant of decision.decidedBy) {
      if (grant.source === 'policy') assert.equal(grant.effect, decision.allow ? 'allow' : 'deny');
    }
  });
}

test('lets owner and admin do every action everywhere in their org', () => {
  for (const [id, role] of [['m-owner', 'owner'], ['m-admin', 'admin']] as const) {
    for (const action of ACTIONS) {
      for (const area of ORG_AREAS) {
        assert.equal(decide(snapshot, user(id, role), action, org(area), baseCtx).allow, true, `${role} ${action} ${area}`);
      }
      for (const resource of [vault('v-a'), vault('v-none'), secret('v-a', '/a/b')]) {
        const decision = decide(snapshot, user(id, role), action, resource, baseCtx);
        assert.deepEqual(decision.decidedBy, [{ source: 'role', id: role }], `${role} ${action} ${resource.kind}`);
      }
    }
  }
});

test('reads built-in roles from code even when the snapshot lacks them', () => {
  const bare: AuthzSnapshot = { ...snapshot, roles: new Map() };
  assert.equal(decide(bare, root(), 'admin', org('members'), baseCtx).allow, true);
  assert.equal(decide(bare, user('m-mgr', 'manager'), 'read', secret('v-a', '/k'), baseCtx).allow, true);
});

test('names exactly the five built-in roles, with office the only restricted one', () => {
  assert.deepEqual([...BUILT_IN_ROLES.keys()], ['owner', 'admin', 'manager', 'office', 'employee']);
  assert.deepEqual(
    [...BUILT_IN_ROLES.values()].filter((role) => role.restricted).map((role) => role.id),
    ['office'],
  );
  assert.equal([...BUILT_IN_ROLES.values()].every((role) => role.builtIn), true);
  assert.equal(isBuiltInRole('manager'), true);
  assert.equal(isBuiltInRole('r-integrator'), false);
  assert.equal(Object.isFrozen(BUILT_IN_ROLES.get('manager')?.vaults?.actions), true);
});
