import { randomBytes } from 'node:crypto';

const encoder = new TextEncoder();

/**
 * A new webhook signing secret: `whsec_` + base64url of 32 random bytes. Returned as its UTF-8
 * bytes — the HMAC key itself — so the caller can wipe them; the string is made only to be
 * shown once.
 */
export function generateSinkSecret(): Uint8Array {
  const raw = randomBytes(32);
  try {
    return encoder.encode(`whsec_${raw.toString('base64url')}`);
  } finally {
    raw.fill(0);
  }
}

/**
 * AAD binding a wrapped sink secret to its org and sink,
 * `strongroom:audit-sink-secret:v1:<org>/<sink>`, so a wrapped secret copied to another sink
 * or tenant does not unwrap.
 */
export function sinkSecretAad(orgId: string, sinkId: string): Uint8Array {
  for (const id of [orgId, sinkId]) {
    if (id.length === 0 || id.includes('/')) throw new TypeError('org and sink ids must be non-empty and contain no "/"');
  }
  return encoder.encode(`strongroom:audit-sink-secret:v1:${orgId}/${sinkId}`);
}
