import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { errorCatalogue, type ErrorCode } from '../src/errors.js';
import { createTestApp, createVault, putSecret, type TestApp, type TestOrg } from './support/app.js';

/**
 * Acceptance: every malformed request in a table of bad inputs (bad JSON, huge body, bad path,
 * unknown fields, wrong types) gets a 4xx problem+json; none is a 5xx; and nothing stored is
 * damaged by them.
 */

let t: TestApp;
let org: TestOrg;
let vaultId: string;
/** Receives only writes that must be refused: if one is accepted, the damage shows here. */
let scratchVaultId: string;
/** Receives the generated writes. */
let fuzzVaultId: string;
let port: number;

const KEPT_PATH = 'keep/me';
const KEPT_VALUE = 'kept-value-\u00e9\u{1F511}';

before(async () => {
  t = await createTestApp();
  org = await t.createOrg();
  vaultId = await createVault(t, org, 'bad-input-vault');
  scratchVaultId = await createVault(t, org, 'bad-input-scratch');
  fuzzVaultId = await createVault(t, org, 'bad-input-fuzz');
  // Two versions, so "loses nothing" checks the version number as well as the value.
  await putSecret(t, org, vaultId, KEPT_PATH, { value: 'kept-value-v1', type: 'password', tier: 'P0' });
  await putSecret(t, org, vaultId, KEPT_PATH, { value: KEPT_VALUE, type: 'password', tier: 'P0', metadata: { owner: 'ops' } });
  // A real socket for the cases light-my-request would rewrite: it normalises `..` and `%2e%2e`
  // segments away (WHATWG URL parsing), as a browser would, but a raw client sends them as is.
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});
after(() => t.close());

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

/** One malformed request and the problem it must be answered with. */
interface BadInput {
  name: string;
  method: Method;
  /** `{vault}` is the test vault's id, `{scratch}` an empty vault's, `{missing}` a UUID that names no vault. */
  url: string;
  headers?: Record<string, string>;
  /** The raw body text. */
  body?: string;
  /** 'token' (default): the org's token; 'none': no Authorization; else the header's value. */
  auth?: string;
  /** Send over a real socket, byte for byte (inject would normalise dot segments away). */
  raw?: true;
  status: number;
  code: ErrorCode;
}

const JSON_TYPE = { 'content-type': 'application/json' };
/** A JSON body (serialised by JSON.stringify) with its content type. */
const json = (value: unknown): { headers: Record<string, string>; body: string } => ({
  headers: JSON_TYPE,
  body: JSON.stringify(value),
});
/** Raw JSON text (possibly broken) with a JSON content type. */
const jsonText = (body: string): { headers: Record<string, string>; body: string } => ({ headers: JSON_TYPE, body });

const VAULTS = '/v1/vaults';
const VAULT = '/v1/vaults/{vault}';
const SECRETS = '/v1/vaults/{vault}/secrets';
const KEPT = `${SECRETS}/${KEPT_PATH}`;
const OK_PUT = json({ value: 'would-overwrite' });

const OVER_BODY_LIMIT = JSON.stringify({ value: 'x'.repeat(520 * 1024) }); // > 512 KiB
const manyKeys = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]));
const routes: { method: Method; url: string }[] = [
  { method: 'POST', url: VAULTS },
  { method: 'GET', url: VAULTS },
  { method: 'GET', url: VAULT },
  { method: 'DELETE', url: VAULT },
  { method: 'GET', url: SECRETS },
  { method: 'PUT', url: KEPT },
  { method: 'GET', url: KEPT },
  { method: 'DELETE', url: KEPT },
];

const cases: BadInput[] = [
  // --- authentication: every route, before anything else is looked at --------------------
  ...routes.map((r): BadInput => ({
    name: `${r.method} ${r.url} without Authorization`,
    ...r,
    ...(r.method === 'POST' || r.method === 'PUT' ? OK_PUT : {}),
    auth: 'none',
    status: 401,
    code: 'UNAUTHENTICATED',
  })),
  ...routes.map((r): BadInput => ({
    name: `${r.method} ${r.url} with an unknown bearer token`,
    ...r,
    ...(r.method === 'POST' || r.method === 'PUT' ? OK_PUT : {}),
    auth: 'Bearer sr_root_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    status: 401,
    code: 'UNAUTHENTICATED',
  })),
  { name: 'Basic credentials instead of a bearer token', method: 'GET', url: VAULTS, auth: 'Basic dXNlcjpwYXNz', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'an empty bearer token', method: 'GET', url: VAULTS, auth: 'Bearer ', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'a bearer token with spaces and quotes', method: 'GET', url: VAULTS, auth: 'Bearer a b "c"', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'a 600-character bearer token', method: 'GET', url: VAULTS, auth: `Bearer ${'A'.repeat(600)}`, status: 401, code: 'UNAUTHENTICATED' },
  { name: 'a garbage Authorization header', method: 'GET', url: VAULT, auth: '\u00ff\u00fe garbage', status: 401, code: 'UNAUTHENTICATED' },
  { name: 'an unauthenticated request with invalid JSON is refused as unauthenticated first', method: 'PUT', url: KEPT, ...jsonText('{"value":'), auth: 'none', status: 401, code: 'UNAUTHENTICATED' },

  // --- routes that do not exist --------------------------------------------------------------
  { name: 'an unknown endpoint', method: 'GET', url: '/v1/nope', status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'an unknown API version', method: 'GET', url: '/v2/vaults', status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'an unknown endpoint, unauthenticated', method: 'GET', url: '/v1/nope', auth: 'none', status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'a method the collection does not have', method: 'PATCH', url: VAULTS, ...OK_PUT, status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'a vault URL with a trailing slash', method: 'GET', url: `${VAULT}/`, status: 404, code: 'ROUTE_NOT_FOUND' },
  { name: 'PUT on the secrets collection without a path', method: 'PUT', url: SECRETS, ...OK_PUT, status: 404, code: 'ROUTE_NOT_FOUND' },
  // Fastify refuses a malformed %-escape, or a parameter over the router's maxParamLength,
  // before routing; app.ts answers both through frameworkErrors.
  { name: 'a malformed %-escape (%ff) in a secret path', method: 'PUT', url: `${SECRETS}/a%ffb`, ...OK_PUT, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'an invalid %-escape (%zz) in a secret path', method: 'GET', url: `${SECRETS}/a%zzb`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'a 3000-character vault id', method: 'GET', url: `${VAULTS}/${'a'.repeat(3000)}`, status: 400, code: 'VALIDATION_FAILED' },

  // --- POST /v1/vaults: the body ------------------------------------------------------------
  { name: 'create vault: invalid JSON text', method: 'POST', url: VAULTS, ...jsonText('{name: vault}'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: truncated JSON', method: 'POST', url: VAULTS, ...jsonText('{"name":"ab'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: JSON followed by garbage', method: 'POST', url: VAULTS, ...jsonText('{"name":"a"} x'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: an empty body with a JSON content type', method: 'POST', url: VAULTS, ...jsonText(''), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: a JSON array', method: 'POST', url: VAULTS, ...jsonText('[{"name":"a"}]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a JSON number', method: 'POST', url: VAULTS, ...jsonText('42'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a JSON string', method: 'POST', url: VAULTS, ...jsonText('"a-vault"'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: JSON null', method: 'POST', url: VAULTS, ...jsonText('null'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a text/plain body', method: 'POST', url: VAULTS, headers: { 'content-type': 'text/plain' }, body: '{"name":"a"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create vault: a form-urlencoded body', method: 'POST', url: VAULTS, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=a', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create vault: a body without a content type', method: 'POST', url: VAULTS, body: '{"name":"a"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'create vault: a body over 512 KiB', method: 'POST', url: VAULTS, ...jsonText(OVER_BODY_LIMIT), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'create vault: an unknown field', method: 'POST', url: VAULTS, ...json({ name: 'a', owner: 'me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: no name', method: 'POST', url: VAULTS, ...json({ description: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a numeric name', method: 'POST', url: VAULTS, ...json({ name: 7 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a blank name', method: 'POST', url: VAULTS, ...json({ name: '   ' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a name with a control character', method: 'POST', url: VAULTS, ...json({ name: 'a\u0007b' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a 101-character name', method: 'POST', url: VAULTS, ...json({ name: 'n'.repeat(101) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a description that is an object', method: 'POST', url: VAULTS, ...json({ name: 'a', description: { x: 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a 1001-character description', method: 'POST', url: VAULTS, ...json({ name: 'a', description: 'd'.repeat(1001) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a description with a NUL character', method: 'POST', url: VAULTS, ...json({ name: 'nul-vault', description: 'a\u0000b' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'create vault: a __proto__ key', method: 'POST', url: VAULTS, ...jsonText('{"name":"a","__proto__":{"admin":true}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'create vault: a constructor.prototype key', method: 'POST', url: VAULTS, ...jsonText('{"name":"a","constructor":{"prototype":{"admin":true}}}'), status: 400, code: 'INVALID_JSON' },

  // --- GET/DELETE /v1/vaults/{id} -------------------------------------------------------------
  { name: 'describe vault: an id that is not a UUID', method: 'GET', url: `${VAULTS}/not-a-uuid`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe vault: an id with SQL in it', method: 'GET', url: `${VAULTS}/${encodeURIComponent("' OR 1=1 --")}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe vault: a UUID with non-hex characters', method: 'GET', url: `${VAULTS}/zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'describe vault: a vault that does not exist', method: 'GET', url: `${VAULTS}/{missing}`, status: 404, code: 'NOT_FOUND' },
  { name: 'delete vault: an id that is not a UUID', method: 'DELETE', url: `${VAULTS}/123`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: force=maybe', method: 'DELETE', url: `${VAULT}?force=maybe`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: force=TRUE (case matters)', method: 'DELETE', url: `${VAULT}?force=TRUE`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: force given twice', method: 'DELETE', url: `${VAULT}?force=true&force=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: an unknown query parameter', method: 'DELETE', url: `${VAULT}?cascade=1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete vault: invalid JSON in the body', method: 'DELETE', url: VAULT, ...jsonText('{oops'), status: 400, code: 'INVALID_JSON' },
  { name: 'delete vault: an empty body with a JSON content type', method: 'DELETE', url: VAULT, ...jsonText(''), status: 400, code: 'INVALID_JSON' },
  { name: 'delete vault: a vault that holds secrets, without force', method: 'DELETE', url: VAULT, status: 409, code: 'VAULT_NOT_EMPTY' },

  // --- GET /v1/vaults/{id}/secrets ------------------------------------------------------------
  { name: 'list secrets: a vault id that is not a UUID', method: 'GET', url: `${VAULTS}/nope/secrets`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=0', method: 'GET', url: `${SECRETS}?limit=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=100000', method: 'GET', url: `${SECRETS}?limit=100000`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=-1', method: 'GET', url: `${SECRETS}?limit=-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=abc', method: 'GET', url: `${SECRETS}?limit=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit=1.5', method: 'GET', url: `${SECRETS}?limit=1.5`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: limit given twice', method: 'GET', url: `${SECRETS}?limit=1&limit=2`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: an unknown query parameter', method: 'GET', url: `${SECRETS}?sort=value`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a cursor that decodes to no path', method: 'GET', url: `${SECRETS}?cursor=AAAA`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a cursor that is not base64url', method: 'GET', url: `${SECRETS}?cursor=${encodeURIComponent('!!not base64!!')}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a 1001-character cursor', method: 'GET', url: `${SECRETS}?cursor=${'A'.repeat(1001)}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'list secrets: a prefix with an empty segment', method: 'GET', url: `${SECRETS}?prefix=a//b`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'list secrets: a prefix of ..', method: 'GET', url: `${SECRETS}?prefix=..`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'list secrets: a prefix with a glob', method: 'GET', url: `${SECRETS}?prefix=a/*`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'list secrets: a 601-character prefix', method: 'GET', url: `${SECRETS}?prefix=${'p'.repeat(601)}`, status: 400, code: 'VALIDATION_FAILED' },

  // --- PUT /v1/vaults/{id}/secrets/{path}: the body -------------------------------------------
  { name: 'write secret: invalid JSON text', method: 'PUT', url: KEPT, ...jsonText("{'value': 'x'}"), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: truncated JSON', method: 'PUT', url: KEPT, ...jsonText('{"value":"abc'), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: an empty body with a JSON content type', method: 'PUT', url: KEPT, ...jsonText(''), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: a JSON array', method: 'PUT', url: KEPT, ...jsonText('[{"value":"x"}]'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a JSON number', method: 'PUT', url: KEPT, ...jsonText('1e400'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a JSON string', method: 'PUT', url: KEPT, ...jsonText('"the value"'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: JSON null', method: 'PUT', url: KEPT, ...jsonText('null'), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a text/plain body', method: 'PUT', url: KEPT, headers: { 'content-type': 'text/plain' }, body: 'the value', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'write secret: a form-urlencoded body', method: 'PUT', url: KEPT, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'value=x', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'write secret: a body without a content type', method: 'PUT', url: KEPT, body: '{"value":"x"}', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'write secret: a body over 512 KiB', method: 'PUT', url: KEPT, ...jsonText(OVER_BODY_LIMIT), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'write secret: a value of 64 KiB + 1 characters', method: 'PUT', url: KEPT, ...json({ value: 'v'.repeat(64 * 1024 + 1) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a value under 64 Ki characters but over 64 KiB of UTF-8', method: 'PUT', url: KEPT, ...json({ value: '\u00e9'.repeat(40_000) }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: no value', method: 'PUT', url: KEPT, ...json({ type: 'note' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a numeric value', method: 'PUT', url: KEPT, ...json({ value: 12345 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a null value', method: 'PUT', url: KEPT, ...json({ value: null }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an object value', method: 'PUT', url: KEPT, ...json({ value: { nested: 'x' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an array value', method: 'PUT', url: KEPT, ...json({ value: ['x'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an unknown field', method: 'PUT', url: KEPT, ...json({ value: 'x', owner: 'me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a field that differs only in case', method: 'PUT', url: KEPT, ...json({ Value: 'x' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: tier 'P9'", method: 'PUT', url: KEPT, ...json({ value: 'x', tier: 'P9' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: tier 'p0' (case matters)", method: 'PUT', url: KEPT, ...json({ value: 'x', tier: 'p0' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a numeric tier', method: 'PUT', url: KEPT, ...json({ value: 'x', tier: 0 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: type 'nope'", method: 'PUT', url: KEPT, ...json({ value: 'x', type: 'nope' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata that is an array', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: ['a', 'b'] }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata that is a string', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: 'owner=me' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata with a nested object', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { owner: { name: 'me' } } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata with an array value', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { tags: ['a'] } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: metadata with 33 keys', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: manyKeys }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a 65-character metadata key', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { ['k'.repeat(65)]: 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: an empty metadata key', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { '': 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a metadata key with a space', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { 'two words': 1 } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a 1025-character metadata value', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { note: 'm'.repeat(1025) } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a metadata value with a NUL character', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { note: 'a\u0000b' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a metadata value with a lone surrogate', method: 'PUT', url: KEPT, ...json({ value: 'x', metadata: { note: 'a\ud800b' } }), status: 400, code: 'VALIDATION_FAILED' },
  { name: "write secret: expires_at 'tomorrow'", method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: 'tomorrow' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a numeric expires_at', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: 1_900_000_000 }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at on 30 February', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '2030-02-30T00:00:00Z' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at without a time zone', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '2030-01-01T00:00:00' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at in year 0000', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '0000-01-01T00:00:00Z' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: expires_at with a +23:59 offset', method: 'PUT', url: KEPT, ...json({ value: 'x', expires_at: '2030-01-01T00:00:00+23:59' }), status: 400, code: 'VALIDATION_FAILED' },
  // Valid ISO text, but year 0 (1 BC) in UTC: on PGlite the row is written and then cannot be
  // read back (Invalid Date), on PostgreSQL it is stored as an expiry in 1 BC.
  { name: 'write secret: expires_at that falls before year 1 in UTC', method: 'PUT', url: '/v1/vaults/{scratch}/secrets/poison/expiry', ...json({ value: 'x', expires_at: '0001-01-01T00:00:00+01:00' }), status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a __proto__ key', method: 'PUT', url: KEPT, ...jsonText('{"value":"x","__proto__":{"tier":"P2"}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: a __proto__ key inside metadata', method: 'PUT', url: KEPT, ...jsonText('{"value":"x","metadata":{"__proto__":{"polluted":true}}}'), status: 400, code: 'INVALID_JSON' },
  { name: 'write secret: a constructor.prototype key', method: 'PUT', url: KEPT, ...jsonText('{"value":"x","constructor":{"prototype":{"polluted":true}}}'), status: 400, code: 'INVALID_JSON' },

  // --- PUT: preconditions ---------------------------------------------------------------------
  { name: "write secret: If-Match 'yesterday'", method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': 'yesterday' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match "0"', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '"0"' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match -1', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '-1' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match with 11 digits', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '99999999999' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-Match with two etags', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '"1", "2"' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: If-None-Match with a version', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-none-match': '"2"' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: both If-Match and If-None-Match', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '"2"', 'if-none-match': '*' }, body: OK_PUT.body, status: 400, code: 'INVALID_PRECONDITION' },
  { name: 'write secret: a 40-character If-Match', method: 'PUT', url: KEPT, headers: { ...JSON_TYPE, 'if-match': '1'.repeat(40) }, body: OK_PUT.body, status: 400, code: 'VALIDATION_FAILED' },

  // --- PUT: the path ---------------------------------------------------------------------------
  { name: 'write secret: a vault id that is not a UUID', method: 'PUT', url: `${VAULTS}/xyz/secrets/a`, ...OK_PUT, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'write secret: a path of ..', method: 'PUT', url: `${SECRETS}/..`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path through ..', method: 'PUT', url: `${SECRETS}/keep/../me`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path through an encoded %2e%2e', method: 'PUT', url: `${SECRETS}/keep/%2e%2e/keep/me`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a . segment', method: 'PUT', url: `${SECRETS}/./keep/me`, ...OK_PUT, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with an empty segment (a//b)', method: 'PUT', url: `${SECRETS}/a//b`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with an encoded empty segment (a%2F%2Fb)', method: 'PUT', url: `${SECRETS}/a%2F%2Fb`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a trailing slash', method: 'PUT', url: `${KEPT}/`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: an empty path', method: 'PUT', url: `${SECRETS}/`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with %00', method: 'PUT', url: `${SECRETS}/keep%00/me`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with *', method: 'PUT', url: `${SECRETS}/keep/*`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a space', method: 'PUT', url: `${SECRETS}/keep%20me`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a backslash', method: 'PUT', url: `${SECRETS}/keep%5Cme`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with %', method: 'PUT', url: `${SECRETS}/keep%25me`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a zero-width space', method: 'PUT', url: `${SECRETS}/${encodeURIComponent('keep\u200bme')}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path with a right-to-left override', method: 'PUT', url: `${SECRETS}/${encodeURIComponent('em\u202epeek')}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a 600-character path segment', method: 'PUT', url: `${SECRETS}/${'s'.repeat(600)}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a 600-character path of short segments', method: 'PUT', url: `${SECRETS}/${`${'s'.repeat(29)}/`.repeat(19)}${'s'.repeat(30)}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a path of 33 segments', method: 'PUT', url: `${SECRETS}/${Array.from({ length: 33 }, () => 'd').join('/')}`, ...OK_PUT, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'write secret: a 3000-character path', method: 'PUT', url: `${SECRETS}/${'s'.repeat(3000)}`, ...OK_PUT, status: 400, code: 'VALIDATION_FAILED' },

  // --- GET /v1/vaults/{id}/secrets/{path} -------------------------------------------------------
  { name: 'read secret: version=0', method: 'GET', url: `${KEPT}?version=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version=abc', method: 'GET', url: `${KEPT}?version=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version=-1', method: 'GET', url: `${KEPT}?version=-1`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version=1.5', method: 'GET', url: `${KEPT}?version=1.5`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version beyond a 32-bit integer', method: 'GET', url: `${KEPT}?version=2147483648`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: an empty version', method: 'GET', url: `${KEPT}?version=`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: version given twice', method: 'GET', url: `${KEPT}?version=1&version=2`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: an unknown query parameter', method: 'GET', url: `${KEPT}?reveal=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: a vault id that is not a UUID', method: 'GET', url: `${VAULTS}/1/secrets/${KEPT_PATH}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'read secret: a path through ..', method: 'GET', url: `${SECRETS}/other/../${KEPT_PATH}`, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with an empty segment', method: 'GET', url: `${SECRETS}/keep//me`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with a trailing slash', method: 'GET', url: `${KEPT}/`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with %00', method: 'GET', url: `${KEPT}%00`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a path with *', method: 'GET', url: `${SECRETS}/keep/*`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'read secret: a secret that does not exist', method: 'GET', url: `${SECRETS}/no/such/secret`, status: 404, code: 'NOT_FOUND' },
  { name: 'read secret: a version that does not exist', method: 'GET', url: `${KEPT}?version=99`, status: 404, code: 'NOT_FOUND' },

  // --- DELETE /v1/vaults/{id}/secrets/{path} ----------------------------------------------------
  { name: 'delete secret: version=0', method: 'DELETE', url: `${KEPT}?version=0`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: version=abc', method: 'DELETE', url: `${KEPT}?version=abc`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: an unknown query parameter', method: 'DELETE', url: `${KEPT}?force=true`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: a vault id that is not a UUID', method: 'DELETE', url: `${VAULTS}/vault/secrets/${KEPT_PATH}`, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'delete secret: a path through ..', method: 'DELETE', url: `${SECRETS}/x/../${KEPT_PATH}`, raw: true, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: a path with an empty segment', method: 'DELETE', url: `${SECRETS}/keep//me`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: a path with *', method: 'DELETE', url: `${SECRETS}/*`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: a path with a trailing slash', method: 'DELETE', url: `${KEPT}/`, status: 400, code: 'INVALID_SECRET_PATH' },
  { name: 'delete secret: invalid JSON in the body', method: 'DELETE', url: KEPT, ...jsonText('{"version":'), status: 400, code: 'INVALID_JSON' },
];

/** A response, whichever way the request was sent. */
interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

const missingVault = randomUUID();
const expand = (url: string) =>
  url.replaceAll('{vault}', vaultId).replaceAll('{scratch}', scratchVaultId).replaceAll('{missing}', missingVault);

function authorizationOf(auth: string | undefined): Record<string, string> {
  if (auth === 'none') return {};
  return { authorization: auth === undefined || auth === 'token' ? `Bearer ${org.token}` : auth };
}

/** Sends `c` over a real socket, the path byte for byte. */
function sendRaw(method: Method, path: string, headers: Record<string, string>, body: string | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function send(c: BadInput): Promise<Answer> {
  const headers = { ...authorizationOf(c.auth), ...c.headers };
  const url = expand(c.url);
  if (c.raw) return sendRaw(c.method, url, headers, c.body);
  const res = await t.app.inject({ method: c.method, url, headers, ...(c.body === undefined ? {} : { payload: c.body }) });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

// Stack frames, SQL and internals that must never reach a client.
const INTERNALS = [/\n\s+at /, /\bat (?:file:\/\/|\/|node:)/, /node_modules/, /\bSELECT\b/, /\bINSERT INTO\b/, /\bDELETE FROM\b/, /\bUPDATE \w+ SET\b/, /"stack"/, /pglite/i, /\bFST_ERR_/];

/** Asserts `res` is an RFC 9457 problem document with a 4xx status (and `code` if given). */
function assertClientProblem(res: Answer, label: string, expected?: { status: number; code: ErrorCode }): void {
  const where = `${label}: ${res.status} ${res.body.slice(0, 300)}`;
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${where}`);
  if (expected) assert.equal(res.status, expected.status, where);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, where);
  let problem: Record<string, unknown>;
  try {
    problem = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    assert.fail(`the body is not JSON: ${where}`);
  }
  if (expected) assert.equal(problem.code, expected.code, where);
  assert.equal(typeof problem.code, 'string', where);
  const code = problem.code as ErrorCode;
  assert.ok(code in errorCatalogue, `unknown code: ${where}`);
  assert.equal(problem.status, res.status, where);
  assert.equal(problem.type, `urn:strongroom:problem:${code.toLowerCase().replaceAll('_', '-')}`, where);
  assert.equal(problem.title, errorCatalogue[code].title, where);
  assert.equal(typeof problem.detail, 'string', where);
  assert.equal(typeof problem.requestId, 'string', where);
  assert.ok((problem.requestId as string).length > 0, where);
  // The header (set by an onSend hook) names the same request when it is there.
  if (res.headers['x-request-id'] !== undefined) assert.equal(res.headers['x-request-id'], problem.requestId, where);
  for (const pattern of INTERNALS) assert.doesNotMatch(res.body, pattern, where);
  if (code === 'UNAUTHENTICATED') assert.match(String(res.headers['www-authenticate']), /^Bearer /, where);
}

describe('a table of malformed requests', () => {
  test('the table covers every route', () => {
    const routeOf = (c: BadInput) => {
      const path = c.url.split('?')[0] ?? '';
      if (path === VAULTS) return `${c.method} /v1/vaults`;
      if (/^\/v1\/vaults\/[^/]+$/.test(path)) return `${c.method} /v1/vaults/{id}`;
      if (/^\/v1\/vaults\/[^/]+\/secrets$/.test(path)) return `${c.method} /v1/vaults/{id}/secrets`;
      if (/^\/v1\/vaults\/[^/]+\/secrets\/.+/.test(path)) return `${c.method} /v1/vaults/{id}/secrets/{path}`;
      return 'other';
    };
    const covered = new Set(cases.filter((c) => c.status !== 401).map(routeOf));
    for (const route of [
      'POST /v1/vaults',
      'GET /v1/vaults/{id}',
      'DELETE /v1/vaults/{id}',
      'GET /v1/vaults/{id}/secrets',
      'PUT /v1/vaults/{id}/secrets/{path}',
      'GET /v1/vaults/{id}/secrets/{path}',
      'DELETE /v1/vaults/{id}/secrets/{path}',
    ]) {
      assert.ok(covered.has(route), `no bad-input case (besides authentication) for ${route}`);
    }
    // GET /v1/vaults takes no input but its token: the 401 cases cover it.
    assert.ok(cases.some((c) => c.method === 'GET' && c.url === VAULTS && c.status === 401));
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  });

  for (const c of cases) {
    test(`${c.name} answers ${c.status} ${c.code} as problem+json`, async () => {
      const res = await send(c);
      assertClientProblem(res, c.name, { status: c.status, code: c.code });
    });
  }
});

// --- generated inputs ------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so every run sends the same inputs. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function createFuzzer(seed: number) {
  const random = mulberry32(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chance = (p: number) => random() < p;

  // Code point ranges worth mixing: ASCII, controls, Latin and CJK, combining marks, lone
  // surrogates, zero-width and bidi controls, astral emoji, noncharacters.
  const ranges: readonly [number, number][] = [
    [0x20, 0x7e],
    [0x00, 0x1f],
    [0x7f, 0x9f],
    [0xa0, 0x2fff],
    [0x300, 0x36f],
    [0x4e00, 0x9fff],
    [0xd800, 0xdfff],
    [0x200b, 0x200f],
    [0x202a, 0x202e],
    [0xfdd0, 0xfdef],
    [0xfff0, 0xffff],
    [0x1f300, 0x1faff],
    [0xe0000, 0xe007f],
  ];
  const specials = ['"', '\\', '/', '\u0000', '%00', '..', '${', '{{', "'", '\r\n', '<script>'];

  function unicode(maxLength: number): string {
    let out = '';
    const length = int(maxLength + 1);
    while (out.length < length) {
      if (chance(0.05)) {
        out += pick(specials);
        continue;
      }
      const [lo, hi] = pick(ranges);
      const cp = lo + int(hi - lo + 1);
      // Lone surrogates on purpose: String.fromCharCode makes them, fromCodePoint would pair them.
      out += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
    }
    return out;
  }

  const oddKeys = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'value ', 'VALUE', 'tier', '$where', '\u0000', 'a.b', '0'];
  function key(): string {
    return chance(0.4) ? pick(oddKeys) : unicode(20);
  }

  /** Sets an own, enumerable property, so that JSON.stringify writes even `__proto__`. */
  function set(target: Record<string, unknown>, k: string, v: unknown): void {
    Object.defineProperty(target, k, { value: v, enumerable: true, writable: true, configurable: true });
  }

  function scalar(): unknown {
    switch (int(9)) {
      case 0:
        return unicode(40);
      case 1:
        return int(2 ** 31) - 2 ** 30;
      case 2:
        return pick([0, -0, 1e308, -1e308, 2 ** 53 + 1, 0.1, Number.MAX_SAFE_INTEGER, -1]);
      case 3:
        return chance(0.5);
      case 4:
        return null;
      case 5:
        return pick(['P0', 'P1', 'P2', 'api_key', 'other', 'true', '1', '2030-01-01T00:00:00Z', '']);
      case 6:
        return 'x'.repeat(pick([1024, 1025, 65_536, 65_537]));
      case 7:
        return datetime();
      default:
        return unicode(8);
    }
  }

  function nested(depth: number): unknown {
    let v: unknown = scalar();
    for (let i = 0; i < depth; i++) {
      if (chance(0.5)) v = [v];
      else {
        const o: Record<string, unknown> = {};
        set(o, key(), v);
        v = o;
      }
    }
    return v;
  }

  function anyValue(depth = 0): unknown {
    const roll = int(10);
    if (roll === 0) return nested(1 + int(300));
    if (depth < 3 && roll === 1) return Array.from({ length: int(5) }, () => anyValue(depth + 1));
    if (depth < 3 && roll === 2) {
      const o: Record<string, unknown> = {};
      for (let i = int(5); i > 0; i--) set(o, key(), anyValue(depth + 1));
      return o;
    }
    return scalar();
  }

  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  /** ISO-8601-shaped text with fields anywhere in (and a little past) their ranges. */
  function datetime(): string {
    const date = `${pad(int(10_000), 4)}-${pad(int(14), 2)}-${pad(int(33), 2)}`;
    const time = `${pad(int(25), 2)}:${pad(int(61), 2)}:${pad(int(61), 2)}${chance(0.3) ? `.${pad(int(1000), 3)}` : ''}`;
    const zone = pick(['Z', '', `${pick(['+', '-'])}${pad(int(24), 2)}:${pad(int(60), 2)}`]);
    return `${date}T${time}${zone}`;
  }

  const fields = ['value', 'type', 'tier', 'metadata', 'expires_at'] as const;
  const metadataKeyChars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-';
  const metadataKey = () => Array.from({ length: 1 + int(20) }, () => pick([...metadataKeyChars])).join('');

  /** A valid PUT body with 1–3 random mutations; sometimes not an object at all. */
  function putBody(): unknown {
    const body: Record<string, unknown> = {
      value: 'fuzz-value',
      type: 'api_key',
      tier: 'P1',
      metadata: { owner: 'fuzz' },
      expires_at: '2099-01-01T00:00:00Z',
    };
    for (let n = 1 + int(3); n > 0; n--) {
      switch (int(10)) {
        case 0:
          set(body, pick(fields), anyValue());
          break;
        case 1:
          delete body[pick(fields)];
          break;
        case 2:
          set(body, key(), anyValue());
          break;
        case 3: {
          const metadata = (typeof body.metadata === 'object' && body.metadata !== null ? body.metadata : {}) as Record<string, unknown>;
          set(metadata, metadataKey(), chance(0.7) ? unicode(60) : scalar());
          set(body, 'metadata', metadata);
          break;
        }
        case 4: {
          const metadata: Record<string, unknown> = {};
          for (let i = int(40); i > 0; i--) set(metadata, chance(0.8) ? metadataKey() : key(), chance(0.8) ? scalar() : anyValue());
          set(body, 'metadata', metadata);
          break;
        }
        case 5:
          set(body, 'expires_at', chance(0.8) ? datetime() : anyValue());
          break;
        case 6:
          set(body, 'value', chance(0.9) ? unicode(200) : unicode(70_000));
          break;
        case 7:
          set(body, pick(['type', 'tier']), pick(['api_key', 'P0', 'P9', 'nope', 'API_KEY', '', 'other\u0000', unicode(10)]));
          break;
        case 8:
          set(body, 'value', nested(1 + int(50)));
          break;
        default:
          return anyValue();
      }
    }
    return body;
  }

  return { putBody };
}

/** What the server logged about a failed request (its error's code and message), to name the bug. */
function serverReason(requestId: unknown): string {
  for (const line of t.logs) {
    if (typeof requestId !== 'string' || !line.includes(requestId)) continue;
    const record = JSON.parse(line) as { err?: { code?: string; message?: string } };
    if (record.err) return `[logged: ${record.err.code ?? '-'} ${record.err.message ?? ''}]`;
  }
  return '[nothing logged]';
}

describe('generated malformed writes', () => {
  const accepted: string[] = [];

  test('a few hundred random mutations of a valid write never answer 5xx, and every refusal is a 4xx problem', async () => {
    const fuzzer = createFuzzer(0x5eed_1e55);
    const failures: string[] = [];
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const payload = JSON.stringify(fuzzer.putBody());
      const res = await t.app.inject({
        method: 'PUT',
        url: `/v1/vaults/${fuzzVaultId}/secrets/fuzz/case-${i}`,
        headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
        payload,
      });
      const answer: Answer = { status: res.statusCode, headers: res.headers, body: res.body };
      if (res.statusCode === 200 || res.statusCode === 201) {
        accepted.push(`fuzz/case-${i}`);
        continue;
      }
      try {
        assertClientProblem(answer, `case ${i}`);
        refused++;
      } catch {
        failures.push(`#${i} ${res.statusCode} ${serverReason(res.headers['x-request-id'])}\n    sent: ${JSON.stringify(payload.slice(0, 400))}`);
      }
    }
    assert.equal(failures.length, 0, `${failures.length} generated requests were not answered with 2xx or a 4xx problem:\n${failures.slice(0, 15).join('\n')}`);
    // The generator must exercise both outcomes, or it tests nothing.
    assert.ok(accepted.length > 0, 'no generated write was accepted');
    assert.ok(refused > 100, `only ${refused} generated writes were refused`);
  });

  test('every generated write that was accepted reads back (or is expired), and the vault still lists', async () => {
    assert.ok(accepted.length > 0);
    const broken: string[] = [];
    for (const path of accepted) {
      const res = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${fuzzVaultId}/secrets/${path}` });
      if (res.statusCode !== 200 && !(res.statusCode === 410 && res.json().code === 'SECRET_EXPIRED')) {
        broken.push(`${path}: ${res.statusCode} ${serverReason(res.headers['x-request-id'])}`);
      }
    }
    assert.deepEqual(broken, []);
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${fuzzVaultId}/secrets?limit=1000` });
    assert.equal(list.statusCode, 200, `${list.body.slice(0, 200)} ${serverReason(list.headers['x-request-id'])}`);
    assert.equal(list.json().secrets.length, accepted.length);
  });
});

describe('after every malformed request', () => {
  test('the data loses nothing: the vault and the secret written before still read back unchanged', async () => {
    const read = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/${KEPT_PATH}` });
    assert.equal(read.statusCode, 200, read.body);
    const secret = read.json();
    assert.equal(secret.value, KEPT_VALUE);
    assert.equal(secret.version, 2);
    assert.equal(secret.current_version, 2);
    assert.equal(secret.type, 'password');
    assert.equal(secret.tier, 'P0');
    assert.deepEqual(secret.metadata, { owner: 'ops' });
    const first = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets/${KEPT_PATH}?version=1` });
    assert.equal(first.json().value, 'kept-value-v1');

    const vault = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}` });
    assert.equal(vault.statusCode, 200);
    assert.equal(vault.json().name, 'bad-input-vault');
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${vaultId}/secrets?prefix=keep` });
    assert.deepEqual(list.json().secrets.map((s: { path: string }) => s.path), ['/keep/me']);
    // No vault was created by a refused request.
    const vaults = await t.call(org.token, { method: 'GET', url: '/v1/vaults' });
    assert.deepEqual(vaults.json().vaults.map((v: { name: string }) => v.name), ['bad-input-fuzz', 'bad-input-scratch', 'bad-input-vault']);
  });

  test('a vault that received only refused writes still lists, and holds no secret', async () => {
    const list = await t.call(org.token, { method: 'GET', url: `/v1/vaults/${scratchVaultId}/secrets` });
    assert.equal(list.statusCode, 200, `${list.body.slice(0, 200)} ${serverReason(list.headers['x-request-id'])}`);
    assert.deepEqual(list.json().secrets, []);
  });
});
