/**
 * Raised whenever a ciphertext does not authenticate or is malformed (wrong key, wrong AAD,
 * flipped bit, truncated, unknown format). The message is deliberately generic and the error
 * carries no data and no `cause`: nothing about the key, the plaintext or the ciphertext may
 * reach a log or a client (SPEC K2). Services map it to `SECRET_INTEGRITY_FAILED`.
 */
export class IntegrityError extends Error {
  constructor() {
    super('ciphertext failed authentication');
    this.name = 'IntegrityError';
  }
}
