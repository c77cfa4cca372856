import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from './support/app.js';
import { cleanEnv, describeResult, runCli } from './support/cli.js';
import { createEmptyServerDatabase, serverUrl, withServerDatabase } from './support/database.js';
import { describeServers, injectNode, startServerNodes, type Answer, type ApiNode, type ServerNode } from './support/nodes.js';
import { linkMember, refresh, show, signInWithEmail, uniqueEmail, type SuperuserSql, type TokenSession } from './support/signin.js';
import { startSmtpServer, type TestSmtp } from './support/smtp.js';

/**
 * SPEC I4 acceptance: "sign out everywhere" ends every session of the person at once, on every
 * node. Each request reads the session row in its authentication transaction, so the very next
 * request with any of the person's tokens fails on a node other than the one that signed out —
 * no sleep, no retry in between.
 *
 * The scenarios run on one in-process app (PGlite or PostgreSQL) and on three `strongroom serve`
 * processes sharing one PostgreSQL database and one root key, with and without Redis. People
 * sign in with e-mail codes the nodes send to a real SMTP server in this process.
 */

const redisUrl: string | undefined = process.env.TEST_REDIS_URL || undefined;
const NEEDS_DATABASE = 'needs a server database: set TEST_DATABASE_URL (PGlite is one process by design; the single-node variant covers it)';
const NEEDS_REDIS = 'needs TEST_REDIS_URL (the multi-node variant without Redis still runs)';

/** What every scenario of one variant works on. */
interface Fixture {
  /** Node i of the scenarios is nodes[i % nodes.length]: three processes, or one app three times. */
  nodes: readonly ApiNode[];
  smtp: TestSmtp;
  rootToken: string;
  orgId: string;
  sql: SuperuserSql;
  /** Text appended to assertion messages (the servers' stderr). */
  context(): string;
}

const node = (f: Fixture, i: number): ApiNode => f.nodes[i % f.nodes.length] as ApiNode;

function assertUnauthenticated(f: Fixture, answer: Answer, what: string): void {
  assert.equal(answer.status, 401, `${what}: expected 401, got ${show(answer)}\n${f.context()}`);
  assert.match(answer.contentType, /^application\/problem\+json/, what);
  assert.equal(answer.body.code, 'UNAUTHENTICATED', what);
}

/** A person who is a member of the fixture's org, signed in once (outside the org) to exist. */
async function createPerson(f: Fixture, label: string): Promise<{ email: string; userId: string; first: TokenSession }> {
  const email = uniqueEmail(label);
  const member = await node(f, 0).request('POST', '/v1/members', { token: f.rootToken, body: { email, role: 'admin' } });
  assert.equal(member.status, 201, `adding the member: ${show(member)}\n${f.context()}`);
  const first = await signInWithEmail(node(f, 0), f.smtp, email);
  const me = await node(f, 0).request('GET', '/v1/me', { token: first.accessToken });
  assert.equal(me.status, 200, show(me));
  const userId = me.body.user_id as string;
  await linkMember(f.sql, f.orgId, (member.body.member as { id: string }).id, userId);
  return { email, userId, first };
}

/** Every request a token makes in the scenarios: one about the person, one in the org. */
function probes(f: Fixture, via: number, s: TokenSession): Promise<Answer>[] {
  const n = node(f, via);
  const requests = [n.request('GET', '/v1/me', { token: s.accessToken })];
  if (s.orgId !== null) requests.push(n.request('GET', '/v1/vaults', { token: s.accessToken }));
  return requests;
}

async function assertWorksOn(f: Fixture, s: TokenSession, vias: readonly number[], what: string): Promise<void> {
  for (const via of vias) {
    for (const answer of await Promise.all(probes(f, via, s))) {
      assert.equal(answer.status, 200, `${what} on ${node(f, via).name}: ${show(answer)}\n${f.context()}`);
    }
  }
}

/** The very next requests with `s` on each node in `vias`, sent at once: every one must be 401. */
async function assertEndedOn(f: Fixture, s: TokenSession, vias: readonly number[], what: string): Promise<void> {
  const answers = await Promise.all(vias.flatMap((via) => probes(f, via, s).map(async (p) => ({ via, answer: await p }))));
  for (const { via, answer } of answers) assertUnauthenticated(f, answer, `${what} on ${node(f, via).name}`);
}

const ALL = [0, 1, 2] as const;

function defineScenarios(fixture: () => Fixture): void {
  test('sign-out everywhere on one node ends every session of the person on every node at once', async () => {
    const f = fixture();
    const person = await createPerson(f, 'everywhere');
    // One session in the org opened on each node, and the first sign-in (outside any org).
    const sessions = [person.first];
    for (const via of ALL) sessions.push(await signInWithEmail(node(f, via), f.smtp, person.email, { orgId: f.orgId }));
    for (const s of sessions.slice(1)) assert.equal(s.orgId, f.orgId, 'the session is in the org');
    const bystander = await createPerson(f, 'bystander');
    const bystanderSession = await signInWithEmail(node(f, 2), f.smtp, bystander.email, { orgId: f.orgId });
    // Warms every node with every token.
    for (const [i, s] of sessions.entries()) await assertWorksOn(f, s, ALL, `session ${i} before`);
    await assertWorksOn(f, bystanderSession, ALL, 'the bystander before');

    const ended = await node(f, 0).request('POST', '/v1/auth/sign-out-everywhere', { token: (sessions[1] as TokenSession).accessToken });
    assert.equal(ended.status, 200, `signing out everywhere on ${node(f, 0).name}: ${show(ended)}\n${f.context()}`);
    assert.deepEqual(ended.body, { sessions_ended: sessions.length });

    await Promise.all(sessions.map((s, i) => assertEndedOn(f, s, [1, 2], `session ${i}’s access token after sign-out everywhere`)));
    const refreshed = await Promise.all(sessions.map((s, i) => refresh(node(f, 1 + (i % 2)), s.refreshToken)));
    refreshed.forEach((answer, i) => assertUnauthenticated(f, answer, `session ${i}’s refresh token after sign-out everywhere`));
    await assertWorksOn(f, bystanderSession, [1, 2], 'another person’s session after sign-out everywhere');
  });

  test('a session ended on one node — signed out, ended from another session, or its refresh token reused — is refused on the others', async () => {
    const f = fixture();
    const person = await createPerson(f, 'one-session');
    const signedOut = await signInWithEmail(node(f, 1), f.smtp, person.email, { orgId: f.orgId });
    const endedByOther = await signInWithEmail(node(f, 2), f.smtp, person.email, { orgId: f.orgId });
    const stolen = await signInWithEmail(node(f, 0), f.smtp, person.email, { orgId: f.orgId });
    const kept = await signInWithEmail(node(f, 0), f.smtp, person.email, { orgId: f.orgId });
    for (const s of [signedOut, endedByOther, stolen, kept]) await assertWorksOn(f, s, ALL, 'before');

    const out = await node(f, 0).request('POST', '/v1/auth/sign-out', { token: signedOut.accessToken });
    assert.equal(out.status, 204, show(out));
    await assertEndedOn(f, signedOut, [1, 2], 'a session signed out on node 1');

    const del = await node(f, 1).request('DELETE', `/v1/me/sessions/${endedByOther.sessionId}`, { token: kept.accessToken });
    assert.equal(del.status, 204, show(del));
    await assertEndedOn(f, endedByOther, [0, 2], 'a session ended from another session on node 2');

    const rotated = await refresh(node(f, 2), stolen.refreshToken);
    assert.equal(rotated.status, 200, show(rotated));
    assertUnauthenticated(f, await refresh(node(f, 0), stolen.refreshToken), 'the used refresh token again, on node 1');
    const newest = { ...stolen, accessToken: rotated.body.access_token as string };
    await assertEndedOn(f, newest, [1, 2], 'the newest access token of a session whose refresh token was reused');

    await assertWorksOn(f, kept, ALL, 'the person’s session that was not ended');
  });
}

describe('session revocation on one node, in process', () => {
  let t: TestApp;
  let smtp: TestSmtp;
  let fixture: Fixture;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({ identity: { smtp: { url: smtp.url, from: 'Strongroom <no-reply@example.com>' } } });
    const org = await t.createOrg();
    fixture = {
      nodes: [injectNode('the app', t.app)],
      smtp,
      rootToken: org.token,
      orgId: org.orgId,
      sql: (text, params) => t.database.superuser((c) => c.query(text, params)),
      context: () => `(in-process app on ${t.database.kind})`,
    };
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });
  defineScenarios(() => fixture);
});

/**
 * Three `serve` processes on one fresh PostgreSQL database, one root key file, one SMTP server
 * and, when given, one Redis. The org is made with `strongroom bootstrap`.
 */
function describeCluster(name: string, redis: string | undefined): void {
  describe(name, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sr-session-revocation-'));
    const servers: ServerNode[] = [];
    let smtp: TestSmtp | undefined;
    let database: { url: string; drop(): Promise<void> } | undefined;
    let fixture: Fixture;

    before(async () => {
      smtp = await startSmtpServer();
      database = await createEmptyServerDatabase();
      const env = cleanEnv({
        DATABASE_URL: database.url,
        STRONGROOM_DATA_DIR: join(dir, 'data'),
        STRONGROOM_ROOT_KEY_FILE: join(dir, 'root-key.json'),
        LOG_LEVEL: 'warn',
        SMTP_URL: smtp.url,
        SMTP_FROM: 'Strongroom <no-reply@example.com>',
        ...(redis === undefined ? {} : { REDIS_URL: redis }),
      });
      if (redis === undefined) delete env.REDIS_URL;
      const boot = await runCli(['bootstrap', '--org', 'Session Revocation Org', '--json'], env, dir);
      assert.equal(boot.code, 0, describeResult(boot));
      const org = JSON.parse(boot.stdout) as { orgId: string; token: string };
      // Node 1 first makes the root key file and the token signing key; the others load them.
      await startServerNodes(servers, [{ name: 'node 1', env, cwd: dir }]);
      await startServerNodes(servers, [
        { name: 'node 2', env, cwd: dir },
        { name: 'node 3', env, cwd: dir },
      ]);
      const url = database.url;
      fixture = {
        nodes: servers,
        smtp,
        rootToken: org.token,
        orgId: org.orgId,
        sql: (text, params) => withServerDatabase(url, async (c) => (await c.query(text, params)).rows as Record<string, unknown>[]),
        context: () => describeServers(servers),
      };
    });

    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await database?.drop();
      await smtp?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    defineScenarios(() => fixture);
  });
}

if (serverUrl === undefined) {
  test('session revocation across three server processes with Redis', { skip: NEEDS_DATABASE }, () => {});
  test('session revocation across three server processes without Redis', { skip: NEEDS_DATABASE }, () => {});
} else {
  if (redisUrl === undefined) test('session revocation across three server processes with Redis', { skip: NEEDS_REDIS }, () => {});
  else describeCluster('session revocation across three server processes with Redis', redisUrl);
  describeCluster('session revocation across three server processes without Redis', undefined);
}
