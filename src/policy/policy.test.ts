import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, type Principal } from './policy.js';

const orgA = '00000000-0000-4000-8000-00000000000a';
const orgB = '00000000-0000-4000-8000-00000000000b';
const root: Principal = { orgId: orgA, kind: 'root_token', id: 't1', role: 'owner' };

test('an org root token may do anything inside its own org', () => {
  for (const action of ['describe', 'read', 'write', 'delete', 'admin'] as const) {
    const d = decide(root, action, { kind: 'secret', orgId: orgA, vaultId: 'v', path: '/a' });
    assert.equal(d.allow, true);
    assert.ok(d.reasons.length > 0);
  }
});

test("denies a root token anything on another org's resources", () => {
  for (const resource of [
    { kind: 'org', orgId: orgB },
    { kind: 'vault', orgId: orgB, vaultId: 'v' },
    { kind: 'secret', orgId: orgB, vaultId: 'v', path: '/a' },
  ] as const) {
    const d = decide(root, 'read', resource);
    assert.equal(d.allow, false);
    assert.match(d.reasons.join(), /another org/);
  }
});
