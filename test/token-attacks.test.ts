import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { createInstallationTx } from '../src/db/tenant.js';
import { createAgentTokens, type AgentTokens } from '../src/domains/agents/agent-tokens.js';
import { openLocalKeyProvider } from '../src/kms/local.js';
import type { KeyProvider } from '../src/kms/provider.js';
import { loadSigningKey, type SigningKey } from '../src/kms/signing-keys.js';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

/**
 * SPEC §3 "Token attacks": `alg: none`, wrong key, expired, revoked, wrong audience or issuer —
 * and their relatives — all answer the same 401 problem on a route where the genuine token
 * reads a secret.
 *
 * To forge tokens that are *validly signed* with the server's own key (expired, wrong issuer,
 * a user token…), the test opens the app's database and root key the way a second node would
 * and loads the installation's agent-token signing key: an attacker cannot do that, so each
 * such token differs from a genuine one in exactly the claim under test. A control token
 * minted the same way with the genuine claims must read the secret, or the negatives prove
 * nothing.
 */

const ISSUER = 'strongroom';
const AUDIENCE = 'strongroom-api';
const SECRET_VALUE = 'sk_live_token_attack_value';

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let vaultId: string;
let agentId: string;
let apiKey: string;
/** A genuine access token of the agent, and what it says. */
let genuine: string;
let genuineHeader: { alg: string; typ: string; kid: string };
let genuineClaims: JWTPayload & { org: string; gen: number; token_use: string };
/** Opened on the app's root key file, as another node would. */
let keyProvider: KeyProvider;
let signingKey: SigningKey;

const secretUrl = () => `/v1/vaults/${vaultId}/secrets/stripe/key`;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

function read(token: string, requestId?: string): Promise<LightMyRequestResponse> {
  return t.call(token, { method: 'GET', url: secretUrl(), headers: requestId === undefined ? {} : { 'x-request-id': requestId } });
}

/** The app's token issuer with other options or another clock: genuinely signed by the server's key. */
function mintWith(options: { issuer?: string; audience?: string; now?: () => Date }): Promise<AgentTokens> {
  return createAgentTokens(
    { withInstallationTx: createInstallationTx(t.database.db), keyProvider, ...(options.now ? { now: options.now } : {}) },
    { issuer: options.issuer ?? ISSUER, audience: options.audience ?? AUDIENCE },
  );
}

/** The genuine token's claims and header with changes (undefined removes one), signed by `key`. */
function signWith(
  changes: { header?: Record<string, unknown>; claims?: Record<string, unknown> },
  key: KeyObject = signingKey.privateKey,
): Promise<string> {
  const header = dropUndefined({ ...genuineHeader, ...changes.header });
  const claims = dropUndefined({ ...genuineClaims, ...changes.claims });
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);
}

function dropUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** HS256 by hand (jose would refuse some of these keys): the classic algorithm-confusion forgery. */
function hs256(secret: Buffer): string {
  const signingInput = `${b64({ ...genuineHeader, alg: 'HS256' })}.${b64(genuineClaims)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** The genuine token with its payload replaced and its signature kept. */
function tampered(claims: Record<string, unknown>): string {
  const [header, , signature] = genuine.split('.');
  return `${header}.${b64({ ...genuineClaims, ...claims })}.${signature}`;
}

/** The one answer every refused token gets; the body, without its request id, for comparison. */
function assertUnauthenticated(res: LightMyRequestResponse, what: string): string {
  assert.equal(res.statusCode, 401, `${what}: ${res.statusCode} ${res.body.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const { requestId, ...rest } = res.json() as { requestId?: unknown; code?: unknown; value?: unknown };
  assert.equal(rest.code, 'UNAUTHENTICATED', what);
  assert.equal(rest.value, undefined, what);
  assert.equal(typeof requestId, 'string', what);
  return JSON.stringify(rest);
}

async function createAgentWithPolicy(name: string): Promise<{ id: string; apiKey: string }> {
  const created = await t.call(org.token, { method: 'POST', url: '/v1/agents', payload: { name } });
  assert.equal(created.statusCode, 201, created.body);
  const body = created.json() as { agent: { id: string }; api_key: string };
  const policy = await t.call(org.token, {
    method: 'POST',
    url: `/v1/vaults/${vaultId}/policies`,
    payload: { principal_type: 'agent', principal_id: body.agent.id, secret_path_pattern: '/stripe/*', permissions: ['read'] },
  });
  assert.equal(policy.statusCode, 201, policy.body);
  return { id: body.agent.id, apiKey: body.api_key };
}

async function exchange(id: string, key: string): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url: '/v1/auth/agent-token', payload: { agent_id: id, api_key: key } });
}

async function tokenOf(agent: { id: string; apiKey: string }): Promise<string> {
  const res = await exchange(agent.id, agent.apiKey);
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { access_token: string }).access_token;
}

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
  other = await t.createOrg();
  vaultId = await createVault(t, org);
  await putSecret(t, org, vaultId, 'stripe/key', { value: SECRET_VALUE });
  ({ id: agentId, apiKey } = await createAgentWithPolicy('attacked'));
  genuine = await tokenOf({ id: agentId, apiKey });
  genuineHeader = decodeProtectedHeader(genuine) as typeof genuineHeader;
  genuineClaims = decodeJwt(genuine) as typeof genuineClaims;
  keyProvider = await openLocalKeyProvider({ keyFile: join(t.keyDir, 'root-key.json'), create: false, onWarning: () => {} });
  signingKey = await loadSigningKey({ withInstallationTx: createInstallationTx(t.database.db), keyProvider }, 'agent-tokens');
});

after(async () => {
  await keyProvider?.close();
  await t?.close();
});

describe('the genuine token and the forging tools (controls)', () => {
  test('the genuine token reads the secret, and says what P5 says it does', async () => {
    const res = await read(genuine);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { value: string }).value, SECRET_VALUE);
    assert.deepEqual(genuineHeader, { alg: 'EdDSA', typ: 'at+jwt', kid: signingKey.keyId });
    assert.equal(genuineClaims.iss, ISSUER);
    assert.equal(genuineClaims.aud, AUDIENCE);
    assert.equal(genuineClaims.sub, `agent:${agentId}`);
    assert.equal(genuineClaims.org, org.orgId);
    assert.equal(genuineClaims.token_use, 'agent');
    assert.equal(typeof genuineClaims.jti, 'string');
    assert.equal(typeof genuineClaims.gen, 'number');
    assert.equal(genuineClaims.nbf, genuineClaims.iat);
    assert.ok((genuineClaims.exp ?? 0) > nowSeconds(), 'not expired');
  });

  test('tokens minted with the server key and the genuine claims are accepted, so the forgeries below differ only in what they test', async () => {
    const issuer = await mintWith({});
    const minted = await issuer.issue({ orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 300 });
    assert.equal((await read(minted)).statusCode, 200, 'createAgentTokens with the app options');
    assert.equal((await read(await signWith({}))).statusCode, 200, 'the genuine claims re-signed with the loaded key');
  });
});

describe('forged and mangled tokens all get the same 401 problem', () => {
  const answers = new Set<string>();
  after(() => {
    assert.equal(answers.size, 1, `the answer must not say which check failed:\n${[...answers].join('\n')}`);
  });

  async function refused(token: string, what: string): Promise<void> {
    answers.add(assertUnauthenticated(await read(token), what));
  }

  test('rejects a token with alg none and the genuine claims', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const header = { ...genuineHeader, alg };
      await refused(`${b64(header)}.${b64(genuineClaims)}.`, `alg ${alg}, no signature`);
      // The genuine signature kept under an `alg: none` header.
      await refused(`${b64(header)}.${b64(genuineClaims)}.${genuine.split('.')[2]}`, `alg ${alg}, genuine signature`);
    }
  });

  test('rejects HS256 tokens whose HMAC secret is the public key (algorithm confusion)', async () => {
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: { kid: string; x: string }[] };
    const jwk = jwks.keys.find((k) => k.kid === genuineHeader.kid);
    assert.ok(jwk, 'the JWKS names the token key');
    const pem = signingKey.publicKey.export({ format: 'pem', type: 'spki' });
    const secrets: [string, Buffer][] = [
      ['the raw public key bytes', Buffer.from(jwk.x, 'base64url')],
      ['the base64url text of x', Buffer.from(jwk.x, 'utf8')],
      ['the SPKI PEM text', Buffer.from(pem)],
      ['the JWK JSON', Buffer.from(JSON.stringify(jwk))],
    ];
    for (const [name, secret] of secrets) await refused(hs256(secret), `HS256 with ${name}`);
  });

  test('rejects a token signed by another Ed25519 key under the genuine kid and claims', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    await refused(await signWith({}, privateKey), 'another key, same kid');
  });

  test('rejects a validly signed token with an unknown or missing kid', async () => {
    await refused(await signWith({ header: { kid: 'ed25519:0000000000000000' } }), 'unknown kid');
    await refused(await signWith({ header: { kid: undefined } }), 'no kid');
    await refused(await signWith({ header: { kid: 42 } }), 'a kid that is not a string');
  });

  test('rejects an expired token, signed by the server key', async () => {
    const hourAgo = await mintWith({ now: () => new Date(Date.now() - 3_600_000) });
    await refused(await hourAgo.issue({ orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 60 }), 'expired an hour ago');
    // Past the 5 s clock tolerance by 25 s.
    const justNow = await mintWith({ now: () => new Date(Date.now() - 90_000) });
    await refused(await justNow.issue({ orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 60 }), 'expired 30 s ago');
  });

  test('rejects a token that is not yet valid, signed by the server key', async () => {
    const later = await mintWith({ now: () => new Date(Date.now() + 3_600_000) });
    await refused(await later.issue({ orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 900 }), 'valid from in an hour');
    const soon = await mintWith({ now: () => new Date(Date.now() + 60_000) });
    await refused(await soon.issue({ orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 900 }), 'valid from in a minute');
  });

  test('rejects a token for another audience or from another issuer, signed by the server key', async () => {
    const claims = { orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 300 };
    await refused(await (await mintWith({ audience: 'other' })).issue(claims), 'audience "other"');
    await refused(await (await mintWith({ issuer: 'evil' })).issue(claims), 'issuer "evil"');
    await refused(await signWith({ claims: { aud: [AUDIENCE.toUpperCase()] } }), 'audience in another case');
    await refused(await signWith({ claims: { iss: undefined } }), 'no issuer');
    await refused(await signWith({ claims: { aud: undefined } }), 'no audience');
  });

  test('rejects a validly signed token missing a required claim', async () => {
    for (const claim of ['exp', 'nbf', 'iat', 'jti', 'sub', 'org', 'gen', 'token_use']) {
      await refused(await signWith({ claims: { [claim]: undefined } }), `no ${claim}`);
    }
    await refused(await signWith({ claims: { gen: String(genuineClaims.gen) } }), 'gen as a string');
    await refused(await signWith({ claims: { gen: genuineClaims.gen + 0.5 } }), 'gen not an integer');
    await refused(await signWith({ claims: { sub: agentId } }), 'sub without the agent: prefix');
    await refused(await signWith({ claims: { sub: `users:${agentId}` } }), 'sub with another prefix of the same length');
  });

  test('rejects a validly signed token with the wrong typ header', async () => {
    await refused(await signWith({ header: { typ: 'JWT' } }), 'typ JWT');
    await refused(await signWith({ header: { typ: undefined } }), 'no typ');
    await refused(await signWith({ header: { typ: 'id_token+jwt' } }), 'typ id_token+jwt');
  });

  test('rejects a user token, or a user subject, where an agent token is expected', async () => {
    const memberId = randomUUID();
    await refused(await signWith({ claims: { token_use: 'user', sub: `user:${memberId}` } }), 'token_use user, sub user:<id>');
    await refused(await signWith({ claims: { token_use: 'user' } }), 'token_use user, sub agent:<id>');
    await refused(await signWith({ claims: { sub: `user:${memberId}` } }), 'token_use agent, sub user:<id>');
    await refused(await signWith({ claims: { token_use: 'refresh' } }), 'token_use refresh');
  });

  test('rejects an agent API key used directly as a bearer token', async () => {
    assert.match(apiKey, /^sr_agent_/);
    await refused(apiKey, 'the sr_agent_ key itself');
  });

  test('rejects a token whose generation is stale after a key rotation, or ahead of the agent', async () => {
    const agent = await createAgentWithPolicy('rotated');
    const token = await tokenOf(agent);
    assert.equal((await read(token)).statusCode, 200, 'works before the rotation');
    const rotated = await t.call(org.token, { method: 'POST', url: `/v1/agents/${agent.id}/rotate-key` });
    assert.equal(rotated.statusCode, 200, rotated.body);
    await refused(token, 'issued before the rotation');

    const gen = (decodeJwt(await tokenOf({ id: agent.id, apiKey: (rotated.json() as { api_key: string }).api_key })) as { gen: number }).gen;
    assert.equal(gen, (decodeJwt(token) as { gen: number }).gen + 1, 'the rotation bumped the generation by one');
    const issuer = await mintWith({});
    await refused(await issuer.issue({ orgId: org.orgId, agentId: agent.id, generation: gen + 1, ttlSeconds: 300 }), 'a generation not reached yet');
  });

  test('rejects the genuine token with its payload changed and its signature kept', async () => {
    const changes: Record<string, unknown>[] = [
      { gen: genuineClaims.gen + 1 },
      { exp: (genuineClaims.exp ?? 0) + 86_400 },
      { sub: `agent:${randomUUID()}` },
      { org: other.orgId },
      { token_use: 'admin' },
      { extra: true },
    ];
    for (const change of changes) await refused(tampered(change), `payload changed: ${JSON.stringify(change)}`);
    // Another header under the original signature.
    const [, payload, signature] = genuine.split('.');
    await refused(`${b64({ ...genuineHeader, typ: 'JWT' })}.${payload}.${signature}`, 'header changed');
  });

  test('rejects garbage, truncated and mangled tokens', async () => {
    const [header, payload, signature = ''] = genuine.split('.');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const garbage = [
      'x',
      'null',
      'a.b.c',
      '..',
      '...',
      'Bearer',
      'eyJhbGciOiJub25lIn0..',
      `${header}.${payload}`,
      `${header}.${payload}.`,
      `${header}..${signature}`,
      `.${payload}.${signature}`,
      `${genuine}.`,
      `${genuine}A`,
      genuine.slice(0, -4),
      `${header}.${payload}.${flip(signature, 10)}`,
      `${header}.${payload}.${signature.split('').reverse().join('')}`,
      `${b64([1])}.${payload}.${signature}`,
      `${header}.${Buffer.from('not json').toString('base64url')}.${signature}`,
      `${b64('null')}.${b64(null)}.${signature}`,
      // The signature in standard base64 with padding (always differs: 64 bytes need "==").
      `${header}.${payload}.${Buffer.from(signature, 'base64url').toString('base64')}`,
      `"${genuine}"`,
      'sr_root_AAAA',
      '%00%00%00',
    ];
    for (const token of garbage) await refused(token, `garbage ${JSON.stringify(token.slice(0, 80))}`);
    await refused('', 'an empty bearer');
  });

  test('rejects overlong tokens, even validly signed ones', async () => {
    await refused(await signWith({ claims: { padding: 'p'.repeat(6_000) } }), 'a validly signed 8 kB token');
    await refused(`${'A'.repeat(5_000)}.${'A'.repeat(5_000)}.${'A'.repeat(5_000)}`, 'three 5,000-character parts');
    await refused('a'.repeat(100_000), 'a 100 kB string');
  });

  test('rejects the genuine claims with the org changed to another org (the signature breaks)', async () => {
    await refused(tampered({ org: other.orgId }), 'org claim changed');
    // And another org's root token cannot read this org's secret either: 404, not 401 (it is valid).
    const res = await read(other.token);
    assert.equal(res.statusCode, 404, res.body);
  });

  test('the genuine token still reads the secret after all of that', async () => {
    const res = await read(genuine);
    assert.equal(res.statusCode, 200, res.body);
  });
});

describe('the API key exchange refuses other credentials', () => {
  test('a root token given as an API key gets 401', async () => {
    assertUnauthenticated(await exchange(agentId, org.token), 'the org root token');
  });

  test('a member’s personal token given as an API key gets 401, though it is valid as a bearer token', async () => {
    const created = await t.call(org.token, { method: 'POST', url: '/v1/members', payload: { email: 'mallory@example.com', role: 'admin' } });
    assert.equal(created.statusCode, 201, created.body);
    const memberToken = (created.json() as { token: string }).token;
    assert.match(memberToken, /^sr_user_/);
    assert.equal((await t.call(memberToken, { method: 'GET', url: '/v1/vaults' })).statusCode, 200, 'the member token itself works');
    assertUnauthenticated(await exchange(agentId, memberToken), 'the member token as an API key');
  });

  test('another agent’s API key, or a well-formed key never issued, gets 401', async () => {
    const second = await createAgentWithPolicy('second');
    assertUnauthenticated(await exchange(agentId, second.apiKey), 'the key of another agent');
    const forged = `sr_agent_${Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2), Buffer.alloc(32, 3)]).toString('base64url')}`;
    assertUnauthenticated(await exchange(agentId, forged), 'a key that was never issued');
    assertUnauthenticated(await exchange(agentId, genuine.slice(0, 200)), 'an access token as an API key');
  });
});

describe('JWKS', () => {
  test('publishes the token key as an Ed25519 public JWK with alg EdDSA and no private part', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const { keys } = res.json() as { keys: Record<string, unknown>[] };
    const key = keys.find((k) => k.kid === genuineHeader.kid);
    assert.ok(key, `a key with kid ${genuineHeader.kid}: ${res.body}`);
    assert.equal(key.kty, 'OKP');
    assert.equal(key.crv, 'Ed25519');
    assert.equal(key.alg, 'EdDSA');
    assert.equal(Buffer.from(key.x as string, 'base64url').length, 32);
    for (const k of keys) {
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(k[member], undefined, `JWK ${String(k.kid)} has no "${member}"`);
    }
  });

  test('a genuine token verifies against the published JWKS with an independent verifier, and a forgery does not', async () => {
    const jwks = createLocalJWKSet((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json());
    const options = { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['EdDSA'] };
    const { payload, protectedHeader } = await jwtVerify(genuine, jwks, options);
    assert.equal(payload.sub, `agent:${agentId}`);
    assert.equal(payload.org, org.orgId);
    assert.equal(protectedHeader.kid, signingKey.keyId);
    const { privateKey } = generateKeyPairSync('ed25519');
    await assert.rejects(jwtVerify(await signWith({}, privateKey), jwks, options), /signature verification failed/);
  });
});

describe('auth.failure audit events', () => {
  /** The orgs whose audit log holds an event of this request id (superuser: every org). */
  async function orgsRecording(requestId: string): Promise<string[]> {
    const rows = await t.database.superuser((c) =>
      c.query<{ org_id: string }>(`SELECT org_id FROM audit_events WHERE (canonical::jsonb) ->> 'request_id' = $1`, [requestId]),
    );
    return rows.map((r) => r.org_id);
  }

  test('a validly signed but revoked token is recorded as auth.failure in its org', async () => {
    const agent = await createAgentWithPolicy('audited');
    const token = await tokenOf(agent);
    // Rotation leaves the agent active: only the token's generation is stale.
    const rotated = await t.call(org.token, { method: 'POST', url: `/v1/agents/${agent.id}/rotate-key` });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const requestId = `stale-${randomUUID()}`;
    assertUnauthenticated(await read(token, requestId), 'the revoked token');

    assert.deepEqual(await orgsRecording(requestId), [org.orgId], 'one event, in the token’s org only');
    const res = await t.call(org.token, { method: 'GET', url: '/v1/audit/events?action=auth.failure&limit=1000' });
    assert.equal(res.statusCode, 200, res.body);
    const events = (res.json() as { events: { event: Record<string, unknown> | null }[] }).events.map((e) => e.event);
    const event = events.find((e) => e?.request_id === requestId);
    assert.ok(event, `an auth.failure event with request id ${requestId}`);
    assert.equal(event.action, 'auth.failure');
    assert.equal(event.outcome, 'failure');
    assert.equal(event.status, 401);
  });

  test('an expired token signed by the server key is recorded as auth.failure in the org it names', async () => {
    const hourAgo = await mintWith({ now: () => new Date(Date.now() - 3_600_000) });
    const expired = await hourAgo.issue({ orgId: org.orgId, agentId, generation: genuineClaims.gen, ttlSeconds: 60 });
    const requestId = `expired-${randomUUID()}`;
    assertUnauthenticated(await read(expired, requestId), 'the expired token');
    assert.deepEqual(await orgsRecording(requestId), [org.orgId], 'replays of expired tokens are visible to their org');
  });

  test('an agent API key used as a bearer token is recorded in the org it names', async () => {
    const requestId = `apikey-${randomUUID()}`;
    assertUnauthenticated(await read(apiKey, requestId), 'the API key as a bearer');
    assert.deepEqual(await orgsRecording(requestId), [org.orgId]);
  });

  test('tokens whose signature does not verify are recorded in no org, whatever org they name', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const forgeries: [string, string][] = [
      ['another key', await signWith({}, privateKey)],
      ['another key, naming the other org', await signWith({ claims: { org: other.orgId } }, privateKey)],
      ['alg none', `${b64({ ...genuineHeader, alg: 'none' })}.${b64(genuineClaims)}.`],
      ['org changed, signature kept', tampered({ org: other.orgId })],
      ['HS256 with the public key', hs256(Buffer.from(signingKey.rawPublicKey))],
    ];
    for (const [name, token] of forgeries) {
      const requestId = `forged-${randomUUID()}`;
      assertUnauthenticated(await read(token, requestId), name);
      assert.deepEqual(await orgsRecording(requestId), [], `${name}: no org records a forgery`);
    }
    // Control: the same lookup finds the genuine token's successful read.
    const requestId = `genuine-${randomUUID()}`;
    assert.equal((await read(genuine, requestId)).statusCode, 200);
    assert.deepEqual(await orgsRecording(requestId), [org.orgId]);
  });
});
