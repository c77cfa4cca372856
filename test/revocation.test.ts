import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from 'redis';
import { createTestApp, type TestApp } from './support/app.js';
import { cleanEnv, describeResult, runCli } from './support/cli.js';
import { createEmptyServerDatabase, serverUrl } from './support/database.js';
import { describeServers, injectNode, startServerNodes, type Answer, type ApiNode, type ServerNode } from './support/nodes.js';

/**
 * SPEC P6: creating, updating or deleting a policy that applies to an agent, rotating its key
 * and deactivating it revoke all of its tokens at once, on every node — no cache window. The
 * old token's very next request fails, on a node other than the one that made the change,
 * with no sleep and no retry in between.
 *
 * The same scenarios run on one in-process app (PGlite or PostgreSQL, no Redis) and on three
 * `strongroom serve` processes sharing one PostgreSQL database and one root key, with and
 * without Redis (the broadcast only keeps caches fresh; correctness must not depend on it).
 */

const redisUrl: string | undefined = process.env.TEST_REDIS_URL || undefined;
const SECRET_PATH = '/stripe/key';
const SECRET_VALUE = 'sk_live_revocation_test_value';
const NEEDS_DATABASE = 'needs TEST_DATABASE_URL (PGlite is one process by design; the single-node variant covers it)';
const NEEDS_REDIS = 'needs TEST_REDIS_URL (the multi-node variant without Redis still runs)';

/** The org, vault and secret every scenario of one variant works on. */
interface Fixture {
  /** Node i of the scenarios is nodes[i % nodes.length]: three processes, or one app three times. */
  nodes: readonly ApiNode[];
  rootToken: string;
  vaultId: string;
  /** Text appended to assertion messages (the servers' stderr). */
  context(): string;
}

const node = (f: Fixture, i: number): ApiNode => f.nodes[i % f.nodes.length] as ApiNode;
const secretUrl = (f: Fixture) => `/v1/vaults/${f.vaultId}/secrets${SECRET_PATH}`;
const show = (a: Answer) => `${a.status} ${a.text.slice(0, 500)}`;

async function expectStatus(f: Fixture, answer: Answer, status: number, what: string): Promise<Answer> {
  assert.equal(answer.status, status, `${what}: ${show(answer)}\n${f.context()}`);
  return answer;
}

/** The 401 every refused token gets: a problem document with the stable code, nothing more. */
function assertUnauthenticated(f: Fixture, answer: Answer, what: string): void {
  assert.equal(answer.status, 401, `${what}: expected 401, got ${show(answer)}\n${f.context()}`);
  assert.match(answer.contentType, /^application\/problem\+json/, what);
  assert.equal(answer.body.code, 'UNAUTHENTICATED', what);
  assert.equal(answer.body.value, undefined, what);
}

async function setUpVault(nodes: readonly ApiNode[], rootToken: string, context: () => string): Promise<Fixture> {
  const first = nodes[0] as ApiNode;
  const vault = await first.request('POST', '/v1/vaults', { token: rootToken, body: { name: 'payments' } });
  assert.equal(vault.status, 201, `creating the vault: ${show(vault)}\n${context()}`);
  const vaultId = vault.body.id as string;
  const put = await first.request('PUT', `/v1/vaults/${vaultId}/secrets${SECRET_PATH}`, { token: rootToken, body: { value: SECRET_VALUE } });
  assert.equal(put.status, 201, `writing the secret: ${show(put)}\n${context()}`);
  return { nodes, rootToken, vaultId, context };
}

interface Agent {
  id: string;
  apiKey: string;
  policyId: string;
}

const policyBody = (agentId: string, permissions: string[]) => ({
  principal_type: 'agent',
  principal_id: agentId,
  secret_path_pattern: '/stripe/*',
  permissions,
});

/** An agent with a policy reading /stripe/*, made through node `via`. */
async function createAgentWithPolicy(f: Fixture, via: number, name: string): Promise<Agent> {
  const n = node(f, via);
  const created = await expectStatus(f, await n.request('POST', '/v1/agents', { token: f.rootToken, body: { name } }), 201, `creating agent ${name}`);
  const agent = created.body.agent as { id: string };
  const apiKey = created.body.api_key as string;
  const policy = await expectStatus(
    f,
    await n.request('POST', `/v1/vaults/${f.vaultId}/policies`, { token: f.rootToken, body: policyBody(agent.id, ['read']) }),
    201,
    `creating the policy of ${name}`,
  );
  return { id: agent.id, apiKey, policyId: policy.body.id as string };
}

async function exchange(f: Fixture, via: number, agentId: string, apiKey: string): Promise<Answer> {
  return node(f, via).request('POST', '/v1/auth/agent-token', { body: { agent_id: agentId, api_key: apiKey } });
}

/** A fresh access token of the agent, exchanged on node `via`. */
async function tokenOf(f: Fixture, via: number, agent: Pick<Agent, 'id' | 'apiKey'>): Promise<string> {
  const answer = await expectStatus(f, await exchange(f, via, agent.id, agent.apiKey), 200, `exchanging the API key on ${node(f, via).name}`);
  assert.equal(answer.body.token_type, 'Bearer');
  return answer.body.access_token as string;
}

const read = (f: Fixture, via: number, token: string) => node(f, via).request('GET', secretUrl(f), { token });

/** Reads the secret with `token` on every given node: each must answer 200 with the value. */
async function assertReadsEverywhere(f: Fixture, token: string, vias: readonly number[], what: string): Promise<void> {
  for (const via of vias) {
    const answer = await read(f, via, token);
    assert.equal(answer.status, 200, `${what} on ${node(f, via).name}: ${show(answer)}\n${f.context()}`);
    assert.equal(answer.body.value, SECRET_VALUE);
  }
}

/**
 * The old token's next request on each node in `checked`, sent at once, right after the change
 * answered: every one must be 401. No sleep, no retry.
 */
async function assertRevokedAt(f: Fixture, token: string, checked: readonly number[], what: string): Promise<void> {
  const answers = await Promise.all(checked.map((via) => read(f, via, token)));
  answers.forEach((answer, i) => assertUnauthenticated(f, answer, `${what}: the old token on ${node(f, checked[i] as number).name}`));
}

const ALL = [0, 1, 2] as const;

/** The P6 scenarios, each revoking through one node and checking the other two. */
function defineScenarios(fixture: () => Fixture): void {
  test('creating a policy for an agent revokes the tokens it held before', async () => {
    const f = fixture();
    const created = await expectStatus(f, await node(f, 0).request('POST', '/v1/agents', { token: f.rootToken, body: { name: 'before-policy' } }), 201, 'creating the agent');
    const agent = { id: (created.body.agent as { id: string }).id, apiKey: created.body.api_key as string };
    const early = await tokenOf(f, 0, agent);
    // Valid but granted nothing yet: default deny answers 404, not 401 (the token itself is fine).
    await expectStatus(f, await read(f, 1, early), 404, 'a valid token without a policy');

    await expectStatus(
      f,
      await node(f, 0).request('POST', `/v1/vaults/${f.vaultId}/policies`, { token: f.rootToken, body: policyBody(agent.id, ['read']) }),
      201,
      'creating the policy on node 1',
    );
    await assertRevokedAt(f, early, [1, 2], 'after the policy was created');
    await assertReadsEverywhere(f, await tokenOf(f, 2, agent), [1], 'a token exchanged after the policy was created');
  });

  test('updating a policy revokes the agent’s tokens on every node at once; a fresh token works', async () => {
    const f = fixture();
    const agent = await createAgentWithPolicy(f, 0, 'updated');
    const bystander = await createAgentWithPolicy(f, 0, 'bystander');
    const token = await tokenOf(f, 0, agent);
    const bystanderToken = await tokenOf(f, 0, bystander);
    // Warms every node: the org's authz snapshot and anything else a node may cache.
    await assertReadsEverywhere(f, token, ALL, 'the genuine token');
    await assertReadsEverywhere(f, bystanderToken, ALL, 'the bystander’s token');

    await expectStatus(
      f,
      await node(f, 0).request('PUT', `/v1/vaults/${f.vaultId}/policies/${agent.policyId}`, {
        token: f.rootToken,
        body: policyBody(agent.id, ['read', 'describe']),
      }),
      200,
      'updating the policy on node 1',
    );
    await assertRevokedAt(f, token, [1, 2], 'after the policy update');

    await assertReadsEverywhere(f, await tokenOf(f, 2, agent), [1], 'a token exchanged on node 3 after the update');
    // Only the agents the policy applies to lose their tokens.
    await assertReadsEverywhere(f, bystanderToken, [1, 2], 'another agent’s token, its policy untouched');
  });

  test('deleting a policy revokes the agent’s tokens on every node at once; a fresh token reads nothing', async () => {
    const f = fixture();
    const agent = await createAgentWithPolicy(f, 1, 'deleted');
    const token = await tokenOf(f, 1, agent);
    await assertReadsEverywhere(f, token, ALL, 'the genuine token');

    await expectStatus(
      f,
      await node(f, 1).request('DELETE', `/v1/vaults/${f.vaultId}/policies/${agent.policyId}`, { token: f.rootToken }),
      204,
      'deleting the policy on node 2',
    );
    await assertRevokedAt(f, token, [0, 2], 'after the policy was deleted');

    // The agent is still active, so it gets a token — which is granted nothing: 404 (P1).
    const fresh = await tokenOf(f, 0, agent);
    for (const via of [0, 2]) {
      const answer = await read(f, via, fresh);
      assert.equal(answer.status, 404, `a fresh token after the delete on ${node(f, via).name}: ${show(answer)}\n${f.context()}`);
      assert.equal(answer.body.code, 'NOT_FOUND');
      assert.equal(answer.body.value, undefined);
    }
  });

  test('rotating an agent’s key revokes its tokens and its old key on every node at once', async () => {
    const f = fixture();
    const agent = await createAgentWithPolicy(f, 2, 'rotated');
    const token = await tokenOf(f, 2, agent);
    await assertReadsEverywhere(f, token, ALL, 'the genuine token');

    const rotated = await expectStatus(
      f,
      await node(f, 2).request('POST', `/v1/agents/${agent.id}/rotate-key`, { token: f.rootToken }),
      200,
      'rotating the key on node 3',
    );
    await assertRevokedAt(f, token, [0, 1], 'after the key rotation');

    const newKey = rotated.body.api_key as string;
    assert.notEqual(newKey, agent.apiKey);
    for (const via of [0, 1]) {
      assertUnauthenticated(f, await exchange(f, via, agent.id, agent.apiKey), `the old API key on ${node(f, via).name}`);
    }
    await assertReadsEverywhere(f, await tokenOf(f, 0, { id: agent.id, apiKey: newKey }), [1], 'a token from the new key');
  });

  test('deactivating an agent revokes its tokens on every node at once and it gets no new ones', async () => {
    const f = fixture();
    const agent = await createAgentWithPolicy(f, 1, 'deactivated');
    const token = await tokenOf(f, 1, agent);
    await assertReadsEverywhere(f, token, ALL, 'the genuine token');

    const patched = await expectStatus(
      f,
      await node(f, 1).request('PATCH', `/v1/agents/${agent.id}`, { token: f.rootToken, body: { active: false } }),
      200,
      'deactivating the agent on node 2',
    );
    assert.equal(patched.body.active, false);
    await assertRevokedAt(f, token, [0, 2], 'after the deactivation');

    for (const via of [0, 2]) {
      assertUnauthenticated(f, await exchange(f, via, agent.id, agent.apiKey), `exchanging the key of a deactivated agent on ${node(f, via).name}`);
    }
  });
}

describe('revocation on one node, in process, without Redis', () => {
  let t: TestApp;
  let fixture: Fixture;
  before(async () => {
    t = await createTestApp();
    const org = await t.createOrg();
    const context = () => `(in-process app on ${t.database.kind})`;
    fixture = await setUpVault([injectNode('the app', t.app)], org.token, context);
  });
  after(() => t?.close());
  defineScenarios(() => fixture);
});

/**
 * Three `serve` processes on one fresh PostgreSQL database, one root key file and, when given,
 * one Redis. The org is made with `strongroom bootstrap` (which migrates the database).
 */
function describeCluster(name: string, redis: string | undefined): void {
  describe(name, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-revocation-'));
    const servers: ServerNode[] = [];
    let database: { url: string; drop(): Promise<void> } | undefined;
    let fixture: Fixture;

    before(async () => {
      database = await createEmptyServerDatabase();
      const env = cleanEnv({
        DATABASE_URL: database.url,
        STRONGROOM_DATA_DIR: join(dir, 'data'),
        STRONGROOM_ROOT_KEY_FILE: join(dir, 'root-key.json'),
        LOG_LEVEL: 'warn',
        ...(redis === undefined ? {} : { REDIS_URL: redis }),
      });
      const boot = await runCli(['bootstrap', '--org', 'Revocation Org', '--json'], env, dir);
      assert.equal(boot.code, 0, describeResult(boot));
      const org = JSON.parse(boot.stdout) as { orgId: string; token: string };
      // Node 1 first makes the root key file and the token signing key; the others load them.
      await startServerNodes(servers, [{ name: 'node 1', env, cwd: dir }]);
      await startServerNodes(servers, [
        { name: 'node 2', env, cwd: dir },
        { name: 'node 3', env, cwd: dir },
      ]);
      const context = () => describeServers(servers);
      fixture = await setUpVault(servers, org.token, context);
    });

    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    if (redis !== undefined) {
      test('every node listens on the Redis broadcast channel', async () => {
        const client = createClient({ url: redis });
        await client.connect();
        try {
          // Nodes subscribe in the background (Redis never holds up start): allow them a moment.
          let counts: Record<string, number> = {};
          for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
            counts = await client.pubSubNumSub('strongroom:authz:v1');
            if ((counts['strongroom:authz:v1'] ?? 0) >= servers.length) break;
          }
          assert.ok((counts['strongroom:authz:v1'] ?? 0) >= servers.length, `subscribers: ${JSON.stringify(counts)}\n${describeServers(servers)}`);
        } finally {
          await client.quit();
        }
      });
    }

    defineScenarios(() => fixture);
  });
}

if (serverUrl === undefined) {
  test('revocation across three server processes with Redis', { skip: NEEDS_DATABASE }, () => {});
  test('revocation across three server processes without Redis', { skip: NEEDS_DATABASE }, () => {});
} else {
  if (redisUrl === undefined) test('revocation across three server processes with Redis', { skip: NEEDS_REDIS }, () => {});
  else describeCluster('revocation across three server processes with Redis', redisUrl);
  describeCluster('revocation across three server processes without Redis', undefined);
}
