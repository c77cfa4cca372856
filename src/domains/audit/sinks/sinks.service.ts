import { randomUUID } from 'node:crypto';
import { noteAuditDetail } from '../audit.context.js';
import { wipe } from '../../../crypto/aead.js';
import { isUniqueViolation } from '../../../db/errors.js';
import type { WithTenantTx } from '../../../db/tenant.js';
import { AppError, notFound } from '../../../errors.js';
import type { KeyProvider } from '../../../kms/provider.js';
import type { Authorizer, Caller } from '../../authz/authz.service.js';
import { DestinationRefusedError, resolveDestination } from './destination.js';
import { SinkDeliveryError } from './errors.js';
import { generateSinkSecret, sinkSecretAad } from './secret.js';
import { deleteSink, insertSink, listSinks, type SinkRow, type StoredSinkSecret } from './sinks.repo.js';
import type { CreatedSinkView, CreateSinkInput, SinkConfig, SinkView } from './sinks.types.js';
import { parseWebhookUrl } from './webhook.js';

/** Dependencies of the audit sink service. */
export interface AuditSinkServiceDeps {
  withTenantTx: WithTenantTx;
  /** The transaction that changes something: the request's audit event commits with it. */
  withRecordedTx: WithTenantTx;
  keyProvider: Pick<KeyProvider, 'name' | 'wrap'>;
  /** Lets sinks reach loopback and private networks (STRONGROOM_AUDIT_SINKS_ALLOW_PRIVATE). */
  allowPrivateNetworks: boolean;
  /** Started after a sink is created, so it receives the org's history right away. */
  delivery: { kick(orgId: string): void };
  authz: Pick<Authorizer, 'require'>;
}

/** Audit sinks (A5): where an org's audit events are streamed. */
export interface AuditSinkService {
  /** Creates a sink that starts from the first event; a webhook's secret is in the answer, once. */
  create(principal: Caller, input: CreateSinkInput): Promise<CreatedSinkView>;
  /** The org's sinks with their delivery state; never a secret. */
  list(principal: Caller): Promise<SinkView[]>;
  /** Deletes a sink; NOT_FOUND when the org has no such sink. */
  remove(principal: Caller, sinkId: string): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function toView(row: SinkRow): SinkView {
  const c = row.config as unknown as Partial<Record<string, unknown>>;
  // Only the known settings leave the database, whatever else a future version may store.
  const config =
    row.kind === 'webhook'
      ? { url: String(c.url) }
      : { host: String(c.host), port: Number(c.port), tls: c.tls === true, app_name: String(c.app_name) };
  return {
    id: row.sink_id,
    kind: row.kind,
    name: row.name,
    config,
    created_at: row.created_at.toISOString(),
    cursor_seq: row.cursor_seq,
    attempts: row.attempts,
    last_error: row.last_error,
    next_attempt_at: iso(row.next_attempt_at),
    delivered_at: iso(row.delivered_at),
  };
}

/** Builds the audit sink service. */
export function createAuditSinkService(deps: AuditSinkServiceDeps): AuditSinkService {
  const { withTenantTx, withRecordedTx, keyProvider, allowPrivateNetworks, delivery } = deps;

  /** The stored config of a new sink, after the SSRF guard (which resolves the host). */
  async function checkedConfig(input: CreateSinkInput): Promise<SinkConfig> {
    try {
      if (input.kind === 'webhook') {
        const url = parseWebhookUrl(input.url, { allowPrivateNetworks });
        await resolveDestination(url.hostname, { allowPrivateNetworks });
        return { url: url.href };
      }
      await resolveDestination(input.host, { allowPrivateNetworks });
      return { host: input.host, port: input.port, tls: input.tls, app_name: input.app_name };
    } catch (err) {
      if (err instanceof SinkDeliveryError || err instanceof DestinationRefusedError) {
        throw new AppError('VALIDATION_FAILED', err.message, { cause: err });
      }
      throw err;
    }
  }

  return {
    async create(principal, input) {
      const orgId = principal.orgId;
      await deps.authz.require(principal, 'admin', { kind: 'org', orgId, area: 'integrations' });
      const config = await checkedConfig(input);
      const sinkId = randomUUID();
      const secret = input.kind === 'webhook' ? generateSinkSecret() : null;
      try {
        let stored: StoredSinkSecret | null = null;
        if (secret) {
          // The KMS call happens before the transaction opens (short transactions).
          const wrapped = await keyProvider.wrap(secret, sinkSecretAad(orgId, sinkId));
          stored = { provider: keyProvider.name, rootKeyId: wrapped.keyId, wrapped: wrapped.ciphertext };
        }
        let row: SinkRow;
        try {
          row = await withRecordedTx(orgId, async (tx) => {
            const inserted = await insertSink(tx, { sinkId, kind: input.kind, name: input.name, config }, stored);
            noteAuditDetail({ sinkId });
            return inserted;
          });
        } catch (err) {
          if (isUniqueViolation(err, 'audit_sinks_name_key')) {
            throw new AppError('CONFLICT', 'An audit sink with that name already exists in this org.', { cause: err });
          }
          throw err;
        }
        delivery.kick(orgId);
        const view = toView(row);
        return secret ? { ...view, secret: new TextDecoder().decode(secret) } : view;
      } finally {
        if (secret) wipe(secret);
      }
    },

    async list(principal) {
      await deps.authz.require(principal, 'describe', { kind: 'org', orgId: principal.orgId, area: 'integrations' });
      const rows = await withTenantTx(principal.orgId, (tx) => listSinks(tx));
      return rows.map(toView);
    },

    async remove(principal, sinkId) {
      await deps.authz.require(principal, 'admin', { kind: 'org', orgId: principal.orgId, area: 'integrations' });
      if (!UUID.test(sinkId)) throw notFound();
      await withRecordedTx(principal.orgId, async (tx) => {
        if (!(await deleteSink(tx, sinkId))) throw notFound();
      });
    },
  };
}
