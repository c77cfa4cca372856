import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { randomNonce, randomPKCECodeVerifier } from 'openid-client';
import {
  createOidcClient,
  isOidcError,
  OidcConfigError,
  OidcError,
  parseOidcProviders,
  type OidcClient,
  type OidcFailureReason,
  type OidcProviderConfig,
} from '../src/identity/oidc.js';
import { startOidcProvider, type TestOidcProvider } from './support/oidc-provider.js';

const REDIRECT_URI = 'http://127.0.0.1:9/v1/auth/oidc/test/callback';
const accounts = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Liddell' },
  bob: { email: 'bob@elsewhere.test', email_verified: true },
  carol: { email: 'carol@example.com', email_verified: false, name: 'Carol' },
};

let op: TestOidcProvider;

before(async () => {
  op = await startOidcProvider({ redirectUris: [REDIRECT_URI], accounts });
});
after(() => op.close());

function relyingParty(overrides: Partial<OidcProviderConfig> = {}, now?: () => Date): OidcClient {
  return createOidcClient(
    { id: 'test', name: 'Test IdP', issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret, ...overrides },
    { redirectUri: REDIRECT_URI, ...(now ? { now } : {}) },
  );
}

/** Resolves to the OidcError `promise` rejected with, failing the test if it did not reject so. */
async function failure(promise: Promise<unknown>, reason: OidcFailureReason): Promise<OidcError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return isOidcError(err, reason);
  });
  assert.ok(caught instanceof OidcError);
  return caught;
}

describe('sign-in round trip', () => {
  test('returns the verified identity from a real provider (e-mail from UserInfo)', async () => {
    const rp = relyingParty();
    const { url, flow } = await rp.start();
    const callback = await op.login(url, 'alice');
    assert.equal(callback.searchParams.get('state'), flow.state);
    assert.ok(callback.searchParams.get('code'));
    const identity = await rp.finish(callback, flow);
    assert.deepEqual(identity, {
      issuer: op.issuer,
      subject: 'alice',
      email: 'alice@example.com',
      emailVerified: true,
      name: 'Alice Liddell',
    });
  });

  test('takes the claims from the ID token when the provider puts them there', async () => {
    const idp = await startOidcProvider({ redirectUris: [REDIRECT_URI], accounts, claimsInIdToken: true });
    try {
      const rp = createOidcClient(
        { id: 'idtoken', name: 'ID token IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
        { redirectUri: REDIRECT_URI },
      );
      const { url, flow } = await rp.start();
      const identity = await rp.finish(await idp.login(url, 'carol'), flow);
      assert.deepEqual(identity, {
        issuer: idp.issuer,
        subject: 'carol',
        email: 'carol@example.com',
        emailVerified: false,
        name: 'Carol',
      });
    } finally {
      await idp.close();
    }
  });

  test('the authorization URL carries S256 PKCE, state and nonce, and never the verifier', async () => {
    const { url, flow } = await relyingParty().start();
    const params = new URL(url).searchParams;
    assert.ok(url.startsWith(`${op.issuer}/`));
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), op.clientId);
    assert.equal(params.get('redirect_uri'), REDIRECT_URI);
    assert.deepEqual(params.get('scope')?.split(' '), ['openid', 'email', 'profile']);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.equal(params.get('code_challenge'), createHash('sha256').update(flow.codeVerifier).digest('base64url'));
    assert.equal(params.get('state'), flow.state);
    assert.equal(params.get('nonce'), flow.nonce);
    assert.equal(params.has('code_verifier'), false);
    assert.equal(url.includes(flow.codeVerifier), false);
    assert.ok(flow.codeVerifier.length >= 43, 'RFC 7636 §4.1: at least 43 characters');
  });

  test('each start makes fresh state, nonce and verifier', async () => {
    const rp = relyingParty();
    const a = (await rp.start()).flow;
    const b = (await rp.start()).flow;
    assert.notEqual(a.state, b.state);
    assert.notEqual(a.nonce, b.nonce);
    assert.notEqual(a.codeVerifier, b.codeVerifier);
  });
});

describe('refused callbacks', () => {
  test('a tampered or missing state is refused before the code is used', async () => {
    const rp = relyingParty();
    const { url, flow } = await rp.start();
    const callback = await op.login(url, 'alice');

    const tampered = new URL(callback);
    tampered.searchParams.set('state', `${flow.state.slice(0, -1)}${flow.state.endsWith('A') ? 'B' : 'A'}`);
    await failure(rp.finish(tampered, flow), 'state_mismatch');
    const missing = new URL(callback);
    missing.searchParams.delete('state');
    await failure(rp.finish(missing, flow), 'state_mismatch');
    const doubled = new URL(callback);
    doubled.searchParams.append('state', flow.state);
    await failure(rp.finish(doubled, flow), 'state_mismatch');
    // Another browser's flow (its state) does not match this callback either.
    const other = (await rp.start()).flow;
    await failure(rp.finish(callback, other), 'state_mismatch');

    // The refusals did not spend the code: the genuine callback still completes.
    assert.equal((await rp.finish(callback, flow)).subject, 'alice');
  });

  test('an ID token whose nonce is not the flow’s is refused', async () => {
    const rp = relyingParty();
    const { url, flow } = await rp.start();
    const callback = await op.login(url, 'alice');
    await failure(rp.finish(callback, { ...flow, nonce: randomNonce() }), 'nonce_mismatch');
  });

  test('the provider refuses the code for a wrong PKCE verifier, and nothing secret is in the error', async () => {
    const rp = relyingParty();
    const { url, flow } = await rp.start();
    const callback = await op.login(url, 'alice');
    const err = await failure(rp.finish(callback, { ...flow, codeVerifier: randomPKCECodeVerifier() }), 'pkce_failed');
    assert.equal(err.providerError, 'invalid_grant');
    assert.equal(err.status, 401);
    assert.equal(err.cause, undefined);
    const code = callback.searchParams.get('code') ?? '';
    assert.ok(code.length > 10);
    const everything = `${err.message} ${err.stack ?? ''} ${JSON.stringify(err)}`;
    for (const secret of [code, flow.codeVerifier, flow.nonce, op.clientSecret]) {
      assert.equal(everything.includes(secret), false);
    }
  });

  test('a code works once: the second exchange is refused', async () => {
    const rp = relyingParty();
    const { url, flow } = await rp.start();
    const callback = await op.login(url, 'alice');
    assert.equal((await rp.finish(callback, flow)).subject, 'alice');
    const err = await failure(rp.finish(callback, flow), 'pkce_failed');
    assert.equal(err.providerError, 'invalid_grant');
  });

  test('a user who denies at the provider gets provider_error (access_denied)', async () => {
    const rp = relyingParty();
    const { url, flow } = await rp.start();
    const callback = await op.login(url, 'alice', { deny: true });
    assert.equal(callback.searchParams.get('error'), 'access_denied');
    assert.equal(callback.searchParams.has('code'), false);
    const err = await failure(rp.finish(callback, flow), 'provider_error');
    assert.equal(err.providerError, 'access_denied');
    assert.equal(err.message.includes('End-User denied'), false, 'the provider’s free text stays out');
  });

  test('an ID token judged at a clock past its expiry is refused', async () => {
    const rp = relyingParty({}, () => new Date(Date.now() + 2 * 60 * 60 * 1000));
    const { url, flow } = await rp.start();
    await failure(rp.finish(await op.login(url, 'alice'), flow), 'invalid_response');
  });
});

describe('allowed e-mail domains', () => {
  const domains = { allowedEmailDomains: ['EXAMPLE.com'] };

  test('admits a verified address in an allowed domain', async () => {
    const rp = relyingParty(domains);
    const { url, flow } = await rp.start();
    assert.equal((await rp.finish(await op.login(url, 'alice'), flow)).email, 'alice@example.com');
  });

  test('refuses an address in another domain', async () => {
    const rp = relyingParty(domains);
    const { url, flow } = await rp.start();
    await failure(rp.finish(await op.login(url, 'bob'), flow), 'email_domain');
  });

  test('refuses an unverified address even in an allowed domain', async () => {
    const rp = relyingParty(domains);
    const { url, flow } = await rp.start();
    await failure(rp.finish(await op.login(url, 'carol'), flow), 'email_domain');
  });

  test('refuses a subdomain of an allowed domain', async () => {
    const idp = await startOidcProvider({
      redirectUris: [REDIRECT_URI],
      accounts: { dave: { email: 'dave@evil.example.com', email_verified: true } },
    });
    try {
      const rp = createOidcClient(
        { id: 'sub', name: 'Sub', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, ...domains },
        { redirectUri: REDIRECT_URI },
      );
      const { url, flow } = await rp.start();
      await failure(rp.finish(await idp.login(url, 'dave'), flow), 'email_domain');
    } finally {
      await idp.close();
    }
  });
});

describe('issuers and discovery', () => {
  const base = { id: 'x', name: 'X', clientId: 'c' };

  test('a plain http issuer is refused unless its host is loopback', () => {
    for (const issuer of ['http://idp.example.com', 'http://10.0.0.1:8080', 'http://127.0.0.1.nip.io', 'ftp://127.0.0.1']) {
      assert.throws(() => createOidcClient({ ...base, issuer }, { redirectUri: REDIRECT_URI }), /https/, issuer);
    }
    for (const issuer of ['https://idp.example.com', 'http://127.0.0.1:1', 'http://localhost:8080', 'http://[::1]:1']) {
      assert.doesNotThrow(() => createOidcClient({ ...base, issuer }, { redirectUri: REDIRECT_URI }), issuer);
    }
  });

  test('an issuer with a query or fragment, or a redirect URI with a query, is refused', () => {
    assert.throws(() => createOidcClient({ ...base, issuer: 'https://idp.example.com/?a=1' }, { redirectUri: REDIRECT_URI }));
    assert.throws(() => createOidcClient({ ...base, issuer: 'https://idp.example.com/#x' }, { redirectUri: REDIRECT_URI }));
    assert.throws(() => createOidcClient({ ...base, issuer: 'https://idp.example.com' }, { redirectUri: `${REDIRECT_URI}?x=1` }));
  });

  test('an unreachable provider is provider_unavailable, and discovery is retried once it is back', async () => {
    const gone = await startOidcProvider({ redirectUris: [REDIRECT_URI], accounts });
    const issuer = gone.issuer;
    await gone.close();
    const port = Number(new URL(issuer).port);
    const rp = createOidcClient(
      { id: 'flaky', name: 'Flaky', issuer, clientId: gone.clientId, clientSecret: gone.clientSecret },
      { redirectUri: REDIRECT_URI },
    );
    await failure(rp.start(), 'provider_unavailable');

    const back = await startOidcProvider({ redirectUris: [REDIRECT_URI], accounts, port });
    try {
      assert.equal(back.issuer, issuer);
      const fresh = createOidcClient(
        { id: 'flaky', name: 'Flaky', issuer, clientId: back.clientId, clientSecret: back.clientSecret },
        { redirectUri: REDIRECT_URI },
      );
      // The failed client rediscovers (no cached failure); the fresh one (new secret) signs in.
      const { url } = await rp.start();
      assert.ok(url.startsWith(`${issuer}/`));
      const started = await fresh.start();
      assert.equal((await fresh.finish(await back.login(started.url, 'alice'), started.flow)).subject, 'alice');
    } finally {
      await back.close();
    }
  });

  test('a wrong client secret is refused by the provider', async () => {
    const rp = relyingParty({ clientSecret: 'not-the-secret' });
    const { url, flow } = await rp.start();
    const err = await failure(rp.finish(await op.login(url, 'alice'), flow), 'provider_error');
    assert.equal(err.providerError, 'invalid_client');
    assert.equal(err.message.includes('not-the-secret'), false);
  });
});

describe('parseOidcProviders', () => {
  const okta = {
    id: 'okta',
    name: 'Okta',
    issuer: 'https://acme.okta.com',
    client_id: 'abc',
    client_secret: 'TOP-SECRET-VALUE',
  };

  function problems(json: string): string {
    try {
      parseOidcProviders(json);
    } catch (err) {
      assert.ok(err instanceof OidcConfigError, String(err));
      assert.equal(err.message.includes('TOP-SECRET-VALUE'), false, 'secrets are never echoed');
      return err.message;
    }
    assert.fail('expected an OidcConfigError');
  }

  test('maps snake_case settings to the provider config', () => {
    const parsed = parseOidcProviders(
      JSON.stringify([
        { ...okta, scopes: ['openid', 'email'], allowed_email_domains: ['Acme.COM'] },
        { id: 'local-dev', name: 'Local', issuer: 'http://127.0.0.1:8080/realms/x', client_id: 'pub' },
      ]),
    );
    assert.deepEqual(parsed, [
      {
        id: 'okta',
        name: 'Okta',
        issuer: 'https://acme.okta.com',
        clientId: 'abc',
        clientSecret: 'TOP-SECRET-VALUE',
        scopes: ['openid', 'email'],
        allowedEmailDomains: ['acme.com'],
      },
      { id: 'local-dev', name: 'Local', issuer: 'http://127.0.0.1:8080/realms/x', clientId: 'pub' },
    ]);
    assert.deepEqual(parseOidcProviders('[]'), []);
  });

  test('refuses input that is not JSON, without echoing it', () => {
    const message = problems('[{"id":"okta","client_secret":"TOP-SECRET-VALUE"');
    assert.match(message, /STRONGROOM_OIDC_PROVIDERS: must be valid JSON/);
  });

  test('refuses duplicate ids', () => {
    assert.match(problems(JSON.stringify([okta, { ...okta, name: 'Okta again' }])), /\[1\]\.id: duplicate provider id "okta"/);
  });

  test('refuses a bad issuer URL, an http issuer off loopback, and a bad id', () => {
    assert.match(problems(JSON.stringify([{ ...okta, issuer: 'not a url' }])), /\[0\]\.issuer: must be a valid URL/);
    assert.match(problems(JSON.stringify([{ ...okta, issuer: 'http://acme.okta.com' }])), /\[0\]\.issuer: must use https/);
    assert.match(problems(JSON.stringify([{ ...okta, id: 'Okta_1' }])), /\[0\]\.id: must be 1 to 32 characters/);
    assert.match(problems(JSON.stringify([{ ...okta, id: 'a'.repeat(33) }])), /\[0\]\.id/);
  });

  test('refuses scopes without openid, bad domains, unknown keys and a non-array', () => {
    assert.match(problems(JSON.stringify([{ ...okta, scopes: ['email'] }])), /\[0\]\.scopes: must include openid/);
    assert.match(problems(JSON.stringify([{ ...okta, allowed_email_domains: ['@acme.com'] }])), /allowed_email_domains\[0\]/);
    assert.match(problems(JSON.stringify([{ ...okta, clientId: 'camel' }])), /\[0\]/);
    assert.match(problems(JSON.stringify(okta)), /STRONGROOM_OIDC_PROVIDERS/);
    assert.match(problems(JSON.stringify([{ id: 'x' }])), /\[0\]\.issuer/);
  });
});
