import { DestinationRefusedError } from './destination.js';

/**
 * A failed delivery whose message is safe to store in `last_error` and show to the org's
 * admins: it names what went wrong (status, error code, timeout) and never a secret, a
 * credential, a URL or a response body.
 */
export class SinkDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SinkDeliveryError';
  }
}

const ERROR_CODE = /^[A-Z][A-Z0-9_]{1,47}$/;

/** A short, user-safe description of any delivery failure. */
export function describeDeliveryFailure(err: unknown): string {
  if (err instanceof SinkDeliveryError || err instanceof DestinationRefusedError) return err.message.slice(0, 300);
  // Node's network and TLS errors carry a stable code (ECONNREFUSED, CERT_HAS_EXPIRED, ...);
  // their messages may echo host names or addresses, so only the code is kept.
  const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return code !== undefined && ERROR_CODE.test(code) ? `Delivery failed (${code}).` : 'Delivery failed.';
}
