import { randomUUID } from 'node:crypto';
import { IntegrityError } from '../../crypto/errors.js';
import { decryptSecretValue, encryptSecretValue, secretAad } from '../../crypto/envelope.js';
import { isForeignKeyViolation } from '../../db/errors.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import type { VaultKeyring } from '../../kms/keyring.js';
import type { Logger } from '../../log.js';
import { actorOf } from '../../policy/policy.js';
import { type Authorizer, type Caller, requireStepUp } from '../authz/authz.service.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { findCurrentVaultKey, findVault } from '../vaults/vaults.repo.js';
import { normalisePathPrefix, normaliseSecretPath } from './secret-path.js';
import {
  appendVersion,
  destroyVersion,
  findSecretVersion,
  listSecrets,
  lockOrCreateSecret,
  softDeleteSecret,
  type SecretRow,
} from './secrets.repo.js';
import type { PutSecretInput, SecretDescription, SecretValue } from './secrets.types.js';

/** Check-and-set conditions of a write (S3), from If-Match / If-None-Match. */
export type WritePrecondition =
  | { kind: 'none' }
  | { kind: 'version'; version: number }
  | { kind: 'present' }
  | { kind: 'absent' };

/** Dependencies of the secret service. */
export interface SecretServiceDeps {
  withTenantTx: WithTenantTx;
  /** The transaction that changes something: the request's audit event commits with it. */
  withRecordedTx: WithTenantTx;
  keyring: Pick<VaultKeyring, 'useVaultKey'>;
  authz: Pick<Authorizer, 'require' | 'check'>;
  logger: Logger;
  now?: () => Date;
}

/** Secrets: versioned, encrypted values at paths in a vault (S1, S3, S4). */
export interface SecretService {
  /** Writes a new version. */
  put(
    principal: Caller,
    vaultId: string,
    rawPath: string,
    input: PutSecretInput,
    precondition: WritePrecondition,
  ): Promise<SecretDescription>;
  /** Reads the current version, or `version`, with its value. */
  read(principal: Caller, vaultId: string, rawPath: string, version?: number): Promise<SecretValue>;
  /** Lists live secrets under a prefix: paths and descriptions, never values. */
  list(
    principal: Caller,
    vaultId: string,
    opts: { prefix: string; limit: number; cursor: string | undefined },
  ): Promise<{ secrets: SecretDescription[]; next_cursor: string | null }>;
  /** Deletes a secret (soft: its versions stay until destroyed). */
  remove(principal: Caller, vaultId: string, rawPath: string): Promise<void>;
  /** Erases one version's ciphertext for good. */
  destroyVersion(principal: Caller, vaultId: string, rawPath: string, version: number): Promise<void>;
}

function canonicalPath(raw: string): string {
  const result = normaliseSecretPath(raw);
  if (!result.ok) throw new AppError('INVALID_SECRET_PATH', `The secret path is not valid: ${result.reason}.`);
  return result.path;
}

function describe(row: SecretRow): SecretDescription {
  return {
    path: row.path,
    type: row.type as SecretDescription['type'],
    tier: row.tier,
    metadata: row.metadata,
    current_version: row.current_version,
    expires_at: row.expires_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

const cursorOf = (path: string) => Buffer.from(path, 'utf8').toString('base64url');
function pathOfCursor(cursor: string): string {
  const path = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!normaliseSecretPath(path).ok) throw new AppError('VALIDATION_FAILED', 'The cursor is not valid.');
  return path;
}

/** Builds the secret service. */
export function createSecretService(deps: SecretServiceDeps): SecretService {
  const { withTenantTx, withRecordedTx, keyring, logger } = deps;
  const now = deps.now ?? (() => new Date());

  async function authorize(caller: Caller, action: 'read' | 'write' | 'delete', vaultId: string, path: string): Promise<void> {
    await deps.authz.require(caller, action, { kind: 'secret', orgId: caller.orgId, vaultId, path });
  }

  return {
    async put(principal, vaultId, rawPath, input, precondition) {
      const path = canonicalPath(rawPath);
      await authorize(principal, 'write', vaultId, path);
      const { orgId } = principal;
      const actor = actorOf(principal);
      const plaintext = Buffer.from(input.value, 'utf8');
      try {
        // 1. The vault's current key, wrapped (short transaction, no KMS inside).
        const key = await withTenantTx(orgId, (tx) => findCurrentVaultKey(tx, vaultId));
        if (!key) throw notFound();
        const keyRef = { orgId, vaultId, version: key.version };
        // 2. Unwrap it (cache, or KMS before the transaction opens), then write the version. The
        //    secret row is locked, so the version number is ours; AES-GCM of at most 64 KiB is
        //    the only work done while the lock is held.
        const secretId = randomUUID();
        const row = await keyring.useVaultKey(keyRef, key, (vaultKey) =>
          withRecordedTx(orgId, async (tx) => {
          const secret = await lockOrCreateSecret(tx, { secretId, vaultId, path, type: input.type, tier: input.tier ?? 'P1', actor });
          checkPrecondition(secret, precondition);
          // A write that leaves the tier out keeps it. Taking a P0 secret down a tier would let
          // its earlier versions be read without step-up: that is itself a step-up operation.
          const tier = input.tier ?? secret.tier;
          if (secret.tier === 'P0' && tier !== 'P0') requireStepUp(principal, 'secret.tier.lower');
          const version = secret.current_version + 1;
          noteAuditDetail({ version });
          const aad = secretAad({ orgId, vaultId, secretId: secret.secret_id, version });
          const envelope = encryptSecretValue({ version: key.version, key: vaultKey }, plaintext, aad);
          return appendVersion(tx, {
            secretId: secret.secret_id,
            version,
            vaultKeyVersion: key.version,
            envelope,
            actor,
            type: input.type,
            tier,
            metadata: input.metadata,
            expiresAt: input.expires_at ?? null,
          });
          }),
        );
        return describe(row);
      } catch (err) {
        // The vault was deleted between the two transactions.
        if (isForeignKeyViolation(err)) throw notFound();
        throw err;
      } finally {
        plaintext.fill(0);
      }
    },

    async read(principal, vaultId, rawPath, version) {
      const path = canonicalPath(rawPath);
      await authorize(principal, 'read', vaultId, path);
      const { orgId } = principal;
      const row = await withTenantTx(orgId, (tx) => findSecretVersion(tx, vaultId, path, version));
      if (!row) throw notFound();
      noteAuditDetail({ version: row.version });
      if (row.expires_at !== null && row.expires_at.getTime() <= now().getTime()) throw new AppError('SECRET_EXPIRED');
      if (row.envelope === null) throw new AppError('SECRET_VERSION_DESTROYED');
      // Revealing a highly sensitive value is a step-up operation for people (I3).
      if (row.tier === 'P0') requireStepUp(principal, 'secret.reveal.p0');
      const envelope = row.envelope;
      const aad = secretAad({ orgId, vaultId, secretId: row.secret_id, version: row.version });
      let plaintext: Uint8Array;
      try {
        plaintext = await keyring.useVaultKey(
          { orgId, vaultId, version: row.vault_key_version },
          { provider: row.key_provider, rootKeyId: row.root_key_id, wrappedKey: row.wrapped_key },
          (vaultKey) => decryptSecretValue(vaultKey, envelope, aad),
        );
      } catch (err) {
        if (err instanceof IntegrityError) {
          // A ciphertext that does not belong to this row (moved, altered, or its key is
          // wrong): refuse, loudly, and never return what a wrong key would produce.
          logger.error(
            { orgId, vaultId, secretId: row.secret_id, version: row.version },
            'secret version failed its integrity check (ciphertext altered or moved between rows)',
          );
          throw new AppError('SECRET_INTEGRITY_FAILED', undefined, { cause: err });
        }
        throw err;
      }
      // A view, not a copy: the only plaintext buffer is the one wiped here.
      const value = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).toString('utf8');
      plaintext.fill(0);
      return { ...describe(row), version: row.version, value, version_created_at: row.version_created_at.toISOString() };
    },

    async list(principal, vaultId, opts) {
      const prefix = normalisePathPrefix(opts.prefix);
      if (prefix === undefined) throw new AppError('INVALID_SECRET_PATH', 'The prefix is not a valid secret path.');
      await deps.authz.require(principal, 'describe', { kind: 'vault', orgId: principal.orgId, vaultId });
      const afterPath = opts.cursor === undefined ? undefined : pathOfCursor(opts.cursor);
      const rows = await withTenantTx(principal.orgId, async (tx) => {
        if (!(await findVault(tx, vaultId))) throw notFound();
        return listSecrets(tx, vaultId, { prefix, afterPath, limit: opts.limit + 1 });
      });
      const page = rows.slice(0, opts.limit);
      const last = page.at(-1);
      // Only the paths the caller may describe; the cursor still moves past the others.
      const visible: SecretRow[] = [];
      for (const row of page) {
        const decision = await deps.authz.check(principal, 'describe', { kind: 'secret', orgId: principal.orgId, vaultId, path: row.path });
        if (decision.allow) visible.push(row);
      }
      return {
        secrets: visible.map(describe),
        next_cursor: rows.length > opts.limit && last ? cursorOf(last.path) : null,
      };
    },

    async remove(principal, vaultId, rawPath) {
      const path = canonicalPath(rawPath);
      await authorize(principal, 'delete', vaultId, path);
      await withRecordedTx(principal.orgId, async (tx) => {
        if (!(await softDeleteSecret(tx, vaultId, path, actorOf(principal)))) throw notFound();
      });
    },

    async destroyVersion(principal, vaultId, rawPath, version) {
      const path = canonicalPath(rawPath);
      await authorize(principal, 'delete', vaultId, path);
      noteAuditDetail({ version });
      await withRecordedTx(principal.orgId, async (tx) => {
        // Nothing to destroy is a refusal, recorded on its way out, not a change.
        if ((await destroyVersion(tx, vaultId, path, version)) === 'missing') throw notFound();
      });
    },
  };
}

function checkPrecondition(secret: SecretRow, precondition: WritePrecondition): void {
  const exists = secret.current_version > 0 && secret.deleted_at === null;
  if (precondition.kind === 'absent' && exists) {
    throw new AppError('VERSION_MISMATCH', 'The secret already exists (If-None-Match: *).');
  }
  if (precondition.kind === 'present' && !exists) {
    throw new AppError('VERSION_MISMATCH', 'The secret does not exist (If-Match: *).');
  }
  if (precondition.kind === 'version' && (!exists || secret.current_version !== precondition.version)) {
    throw new AppError('VERSION_MISMATCH', 'The secret is not at the version named in If-Match.');
  }
}
