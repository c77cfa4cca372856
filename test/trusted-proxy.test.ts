import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { agentAccessToken, createAgent, createPolicy, createTestApp, createVault, putSecret, type TestApp } from './support/app.js';

// Behind a load balancer (STRONGROOM_TRUST_PROXY), a policy's IP allowlist reads the client's
// address from X-Forwarded-For — and only the trusted proxy may say it.

let t: TestApp;
before(async () => {
  // app.inject() connects from 127.0.0.1: that is the trusted proxy here.
  t = await createTestApp({ trustProxy: ['127.0.0.1'] });
});
after(() => t.close());

test("an IP allowlist reads the client's address given by a trusted proxy", async () => {
  const org = await t.createOrg();
  const vault = await createVault(t, org);
  await putSecret(t, org, vault, 'stripe/key', { value: 'behind-the-proxy' });
  const agent = await createAgent(t, org);
  await createPolicy(t, org, vault, {
    principal_type: 'agent',
    principal_id: agent.id,
    secret_path_pattern: '/stripe/*',
    permissions: ['read'],
    conditions: { ip_allowlist: ['203.0.113.0/24'] },
  });
  const token = await agentAccessToken(t, agent);
  const read = (forwardedFor?: string) =>
    t.call(token, {
      method: 'GET',
      url: `/v1/vaults/${vault}/secrets/stripe/key`,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });

  const inside = await read('203.0.113.7');
  assert.equal(inside.statusCode, 200, inside.body);
  assert.equal(inside.json().value, 'behind-the-proxy');
  assert.equal((await read('198.51.100.7')).statusCode, 404, 'a client outside the allowlist');
  assert.equal((await read()).statusCode, 404, 'the proxy itself (127.0.0.1) is not in the allowlist');
  // A client cannot pass itself off as an allowed address by adding its own header in front:
  // only the hop the trusted proxy appended counts.
  assert.equal((await read('203.0.113.7, 198.51.100.7')).statusCode, 404, 'a spoofed first hop');
});
