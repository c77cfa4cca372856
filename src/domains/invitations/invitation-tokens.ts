import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { WithInstallationTx } from '../../db/tenant.js';
import type { KeyProvider } from '../../kms/provider.js';
import { loadSigningKey, type SigningKey } from '../../kms/signing-keys.js';
import { looksLikeJwt } from '../agents/agent-tokens.js';

/**
 * Signed invitations (I5): an EdDSA JWT naming the org and the invitation, signed with the
 * installation's own `invitations` key (not the access-token key), header `typ: invite+jwt`.
 * Claims: `iss`, `aud` (as access tokens), `org`, `inv`, `jti` (= `inv`), `iat`, `exp`.
 *
 * The signature lets a server trust the org id before opening that org's transaction, and
 * makes a guessed or edited link worthless; the row decides the rest (pending, not expired,
 * the invitee's address), so revoking works at once. Verification accepts nothing but EdDSA
 * with this key, this type, issuer and audience, within `exp`.
 */
export interface InvitationTokens {
  sign(invitation: { orgId: string; invitationId: string; expiresAt: Date }): Promise<string>;
  /** The org and invitation a valid token names; undefined for anything else. */
  verify(token: string): Promise<{ orgId: string; invitationId: string } | undefined>;
}

const TYPE = 'invite+jwt';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Builds the signer and verifier. The key is loaded (made on first use) when first needed. */
export function createInvitationTokens(
  deps: { withInstallationTx: WithInstallationTx; keyProvider: KeyProvider; now?: () => Date },
  options: { issuer: string; audience: string },
): InvitationTokens {
  const now = deps.now ?? (() => new Date());
  let loading: Promise<SigningKey> | undefined;
  const signingKey = (): Promise<SigningKey> =>
    (loading ??= loadSigningKey(deps, 'invitations').catch((err: unknown) => {
      // A failed load (the key provider was down) is tried again by the next request.
      loading = undefined;
      throw err;
    }));

  return {
    async sign(invitation) {
      const key = await signingKey();
      const issuedAt = Math.floor(now().getTime() / 1000);
      return new SignJWT({ org: invitation.orgId, inv: invitation.invitationId })
        .setProtectedHeader({ alg: 'EdDSA', typ: TYPE, kid: key.keyId })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setJti(invitation.invitationId)
        .setIssuedAt(issuedAt)
        .setExpirationTime(Math.floor(invitation.expiresAt.getTime() / 1000))
        .sign(key.privateKey);
    },

    async verify(token) {
      if (!looksLikeJwt(token)) return undefined;
      // Loaded first, outside the try: a key provider failure is a 5xx, not a bad token.
      const key = await signingKey();
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(
          token,
          (header) => {
            if (header.kid !== key.keyId) throw new joseErrors.JWKSNoMatchingKey();
            return key.publicKey;
          },
          {
            algorithms: ['EdDSA'],
            issuer: options.issuer,
            audience: options.audience,
            typ: TYPE,
            requiredClaims: ['iss', 'aud', 'jti', 'iat', 'exp'],
            currentDate: now(),
            clockTolerance: 5,
          },
        ));
      } catch {
        return undefined;
      }
      const { org, inv, jti } = payload as JWTPayload & { org?: unknown; inv?: unknown };
      if (typeof org !== 'string' || !UUID.test(org) || typeof inv !== 'string' || !UUID.test(inv) || jti !== inv) return undefined;
      return { orgId: org, invitationId: inv };
    },
  };
}
