import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { WithInstallationTx } from '../../db/tenant.js';
import type { KeyProvider } from '../../kms/provider.js';
import { ed25519PublicKey, loadSigningKey, publicSigningKeys } from '../../kms/signing-keys.js';

/**
 * Agent access tokens (P5): short-lived JWTs, signed with the installation's Ed25519 key
 * (`EdDSA`), published at /.well-known/jwks.json.
 *
 * Header `typ: at+jwt` (RFC 9068). Claims: `iss`, `aud`, `sub: agent:<id>`, `org`, `jti`, `iat`,
 * `nbf`, `exp`, `token_use: agent` and `gen`, the agent's token generation when it was issued —
 * bumping the generation (policy change, key rotation, deactivation) kills every token at once.
 *
 * Verification accepts nothing but EdDSA (no `none`, no HMAC with the public key as secret), a
 * known key id, the right issuer, audience and type, and a current `nbf`/`exp` window.
 */
export interface AgentTokens {
  issue(agent: { orgId: string; agentId: string; generation: number; ttlSeconds: number }): Promise<string>;
  /**
   * A person's access token for a session (I4): `sub: user:<id>`, `token_use: user`, `sid`, and
   * `org` when the session is in one. The session row, read on every request, decides whether
   * it still counts (sign-out, sign-out everywhere, org switch).
   */
  issueUser(user: { userId: string; sessionId: string; orgId: string | null; ttlSeconds: number }): Promise<string>;
  /**
   * The claims of a valid token; otherwise `invalid`, with the org a token names when our key
   * did sign it (expired, wrong audience…), so the failure is recorded in that org's audit log.
   * The caller answers 401 alike.
   */
  verify(token: string): Promise<VerifiedAgentToken | VerifiedUserToken | InvalidAgentToken>;
  /** The JSON Web Key Set of every key that signs or signed agent tokens. */
  jwks(): Promise<{ keys: Record<string, string>[] }>;
}

/** What a valid agent token says. */
export interface VerifiedAgentToken {
  kind: 'agent';
  orgId: string;
  agentId: string;
  generation: number;
  jti: string;
}

/** What a valid person's access token says. */
export interface VerifiedUserToken {
  kind: 'user';
  userId: string;
  sessionId: string;
  orgId: string | null;
  jti: string;
}

/** Why a token was refused does not matter to the caller; which org it names (if signed by us) does. */
export interface InvalidAgentToken {
  invalid: true;
  orgId: string | null;
}

/** Where agent tokens come from and whom they are for (config). */
export interface AgentTokenOptions {
  issuer: string;
  audience: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JWT_SHAPE = /^[A-Za-z0-9_-]{2,2048}\.[A-Za-z0-9_-]{2,4096}\.[A-Za-z0-9_-]{0,512}$/;
/** Unknown key ids reload the key list at most this often, so random kids cannot flood the database. */
const RELOAD_EVERY_MS = 5_000;

/** True when `text` has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(text: string): boolean {
  return JWT_SHAPE.test(text);
}

/** Builds the issuer/verifier; loads or makes the signing key. */
export async function createAgentTokens(
  deps: { withInstallationTx: WithInstallationTx; keyProvider: KeyProvider; now?: () => Date },
  options: AgentTokenOptions,
): Promise<AgentTokens> {
  const key = await loadSigningKey(deps, 'agent-tokens');
  const now = deps.now ?? (() => new Date());
  const publicKeys = new Map<string, KeyObject>([[key.keyId, key.publicKey]]);
  let lastReload = 0;

  async function reload(): Promise<void> {
    lastReload = Date.now();
    for (const k of await publicSigningKeys(deps.withInstallationTx, 'agent-tokens')) {
      if (!publicKeys.has(k.keyId)) publicKeys.set(k.keyId, ed25519PublicKey(k.rawPublicKey));
    }
  }

  async function keyFor(header: JWTHeaderParameters): Promise<KeyObject> {
    const kid = header.kid;
    if (typeof kid !== 'string') throw new joseErrors.JWKSNoMatchingKey();
    if (!publicKeys.has(kid) && Date.now() - lastReload > RELOAD_EVERY_MS) await reload();
    const found = publicKeys.get(kid);
    if (!found) throw new joseErrors.JWKSNoMatchingKey();
    return found;
  }

  return {
    async issue(agent) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({ org: agent.orgId, gen: agent.generation, token_use: 'agent' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.keyId })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(`agent:${agent.agentId}`)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setNotBefore(issuedAt)
        .setExpirationTime(issuedAt + agent.ttlSeconds)
        .sign(key.privateKey);
    },

    async issueUser(user) {
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({ ...(user.orgId === null ? {} : { org: user.orgId }), sid: user.sessionId, token_use: 'user' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.keyId })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(`user:${user.userId}`)
        .setJti(randomUUID())
        .setIssuedAt(issuedAt)
        .setNotBefore(issuedAt)
        .setExpirationTime(issuedAt + user.ttlSeconds)
        .sign(key.privateKey);
    },

    async verify(token) {
      const invalid = (orgId: string | null = null): InvalidAgentToken => ({ invalid: true, orgId });
      if (!looksLikeJwt(token)) return invalid();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keyFor, {
          algorithms: ['EdDSA'],
          issuer: options.issuer,
          audience: options.audience,
          typ: 'at+jwt',
          requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'nbf', 'exp'],
          currentDate: now(),
          clockTolerance: 5,
        }));
      } catch (err) {
        // Claim failures are raised only after the signature checked out: the org is provable.
        const signed = err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired;
        const org = signed ? (err.payload as { org?: unknown }).org : undefined;
        return invalid(typeof org === 'string' && UUID.test(org) ? org : null);
      }
      const { sub, org, gen, sid, jti, token_use: use } = payload as JWTPayload & {
        org?: unknown;
        gen?: unknown;
        sid?: unknown;
        token_use?: unknown;
      };
      const orgId = typeof org === 'string' && UUID.test(org) ? org : null;
      if (use === 'user') {
        // A person's token: `sub: user:<id>`, a session id, and `org` only when it is a valid id.
        const userId = typeof sub === 'string' && sub.startsWith('user:') ? sub.slice('user:'.length) : '';
        if (!UUID.test(userId) || typeof sid !== 'string' || !UUID.test(sid) || typeof jti !== 'string') return invalid(orgId);
        if (org !== undefined && orgId === null) return invalid();
        return { kind: 'user', userId, sessionId: sid, orgId, jti };
      }
      if (use !== 'agent' || typeof sub !== 'string' || !sub.startsWith('agent:')) return invalid(orgId);
      const agentId = sub.slice('agent:'.length);
      if (!UUID.test(agentId) || orgId === null) return invalid(orgId);
      if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 1 || typeof jti !== 'string') return invalid(orgId);
      return { kind: 'agent', orgId, agentId, generation: gen, jti };
    },

    async jwks() {
      await reload();
      return {
        keys: [...publicKeys.entries()].map(([kid, publicKey]) => ({
          ...(publicKey.export({ format: 'jwk' }) as Record<string, string>),
          kid,
          alg: 'EdDSA',
          use: 'sig',
        })),
      };
    },
  };
}
