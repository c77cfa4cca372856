import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';
import { PROBLEM_CONTENT_TYPE, problemOf } from '../../plugins/problem.js';
import { normaliseSecretPath } from '../secrets/secret-path.js';
import {
  auditActions,
  outcomeOf,
  resourceRef,
  type AuditAction,
  type AuditActor,
  type AuditEventBody,
  type AuditResource,
  type EntityType,
} from './audit.events.js';
import { personalCommitment } from './audit.format.js';
import { currentAuditScope, runInAuditScope, type AuditDetail, type AuditScope } from './audit.context.js';
import type { AuditEventInput, AuditLog } from './audit.log.js';

/** What a route records: its action, and what it acts on. */
export interface AuditRouteConfig {
  /** The action, or how to tell it from the request when one route does two things. */
  action: AuditAction | ((request: FastifyRequest) => AuditAction);
  resource: (request: FastifyRequest) => AuditResource;
  /**
   * A route anyone may call (sign-in): its events keep their action even without a principal,
   * naming the actor the route learnt (`auditActor`), or anonymous.
   */
  public?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every authenticated route declares what it records (test/audit-events.test.ts checks). */
    audit?: AuditRouteConfig;
  }
  interface FastifyRequest {
    /** Details a handler learns while it runs (the vault it created, the version it read). */
    auditDetail: AuditDetail;
    /**
     * The org to record the request in when it has no principal: the org a bearer token that
     * failed authentication names, or (identity routes) the session's org or the installation.
     */
    authFailureOrgId: string | null;
    /** Who acted, when not a principal: a person on an identity route (sign-in, session, MFA). */
    auditActor: AuditActor | null;
    /** An address the request concerns (sign-in), kept beside the chain as personal data (A2). */
    auditEmail: string | null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TEXT = 512;

function param(request: FastifyRequest, name: string): string | undefined {
  const value = (request.params as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Resource builders for route configs. They read raw parameters — a failed request may not
 * have passed validation — so anything malformed is recorded as such, never as given.
 */
export const auditResource = {
  org: (request: FastifyRequest): AuditResource => resourceRef.org(request.principal?.orgId ?? request.authFailureOrgId ?? '-'),
  vault: (request: FastifyRequest): AuditResource => {
    const id = param(request, 'vaultId') ?? request.auditDetail.vaultId;
    // No id: a vault being created that was not (yet) created.
    if (id === undefined) return { type: 'vault', ref: 'vault:(new)' };
    return UUID.test(id) ? resourceRef.vault(id.toLowerCase()) : { type: 'vault', ref: 'vault:(invalid)' };
  },
  secret: (request: FastifyRequest): AuditResource => {
    const vault = param(request, 'vaultId');
    const raw = param(request, '*');
    const path = raw === undefined ? undefined : normaliseSecretPath(raw);
    if (vault === undefined || !UUID.test(vault) || !path?.ok) return { type: 'secret', ref: 'secret:(invalid)' };
    return resourceRef.secret(vault.toLowerCase(), path.path, request.auditDetail.version);
  },
  audit: (what: string) => (): AuditResource => resourceRef.audit(what),
  /**
   * An org-level entity named by the route parameter `paramName` — or, on the route that
   * creates one, by the id the service noted (`createdId`); `(new)` when none was created.
   */
  entity:
    (type: EntityType, paramName: string) =>
    (request: FastifyRequest): AuditResource => {
      const id = param(request, paramName) ?? request.auditDetail.createdId;
      if (id === undefined) return { type, ref: `${type}:(new)` };
      return UUID.test(id) ? resourceRef.entity(type, id.toLowerCase()) : { type, ref: `${type}:(invalid)` };
    },
  sink: (request: FastifyRequest): AuditResource => {
    const id = param(request, 'sinkId') ?? request.auditDetail.sinkId;
    if (id === undefined) return resourceRef.audit('sinks');
    return UUID.test(id) ? resourceRef.sink(id.toLowerCase()) : { type: 'audit_sink', ref: 'audit_sink:(invalid)' };
  },
};

/**
 * Caller-supplied text for an event (user agent, reason): bounded, control characters and lone
 * surrogates replaced. Events are committed in groups, so one event that PostgreSQL could not
 * store as jsonb would fail every request of its group.
 */
function bounded(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value.join(', ') : value;
  if (text === undefined || text === '') return null;
  return text
    .slice(0, MAX_TEXT)
    .replace(/[\u0000-\u001f\u007f]/g, '\ufffd')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd');
}

/**
 * Records every request of the scope in its org's audit chain before its answer leaves (A1,
 * A7):
 * - a change is recorded inside its own transaction (`createRecordedTx`): both commit or neither;
 * - anything else (reads, refusals, failures) is recorded in `onSend`, after the handler and
 *   before any byte is sent, through the group-committing audit log: a read's event is durable
 *   before the value leaves the server.
 * If an event cannot be written the answer becomes a 503 problem and the payload (a secret
 * value, an export stream) is dropped.
 *
 * Failed authentication is recorded as `auth.failure` in the org the token names, if it exists.
 * Personal data (IP, user agent) is stored beside the chain under a salted commitment (A2).
 */
export function registerAuditHook(app: FastifyInstance, auditLog: AuditLog): void {
  app.decorateRequest('auditDetail', null as unknown as FastifyRequest['auditDetail']);
  app.decorateRequest('authFailureOrgId', null);
  app.decorateRequest('auditActor', null);
  app.decorateRequest('auditEmail', null);

  // Callback style, so the handler and later hooks run inside the scope.
  app.addHook('onRequest', (request, _reply, done) => {
    request.auditDetail = {};
    const scope: AuditScope = {
      orgId: () => request.principal?.orgId ?? request.authFailureOrgId,
      build: (status) => buildEvent(request, status),
      detail: request.auditDetail,
      recorded: false,
    };
    runInAuditScope(scope, done);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const config = request.routeOptions.config.audit;
    const orgId = request.principal?.orgId ?? request.authFailureOrgId;
    // A change recorded with its transaction needs nothing more — unless the request failed
    // after it (a later step threw): then the failure is recorded too.
    if (!config || !orgId || (currentAuditScope()?.recorded && reply.statusCode < 400)) return payload;
    try {
      await auditLog.append(orgId, [buildEvent(request, reply.statusCode)]);
      return payload;
    } catch (err) {
      request.log.error({ err }, 'the audit event could not be written: failing the request closed');
      if (payload !== null && typeof payload === 'object' && 'destroy' in payload) (payload as Readable).destroy();
      void reply.code(503);
      reply.removeHeader('etag');
      void reply.header('content-type', PROBLEM_CONTENT_TYPE);
      return JSON.stringify(
        problemOf(request, new AppError('UNAVAILABLE', 'The request could not be recorded in the audit log, so it was not carried out.')),
      );
    }
  });
}

/** The event of `request`; `status` null for a change recorded inside its transaction. */
function buildEvent(request: FastifyRequest, status: number | null): AuditEventInput {
  const config = request.routeOptions.config.audit as AuditRouteConfig;
  const principal = request.principal;
  const known = principal !== null || request.auditActor !== null || config.public === true;
  const action: AuditAction = !known ? 'auth.failure' : typeof config.action === 'function' ? config.action(request) : config.action;
  const personal = { ip: bounded(request.ip), user_agent: bounded(request.headers['user-agent']), email: bounded(request.auditEmail ?? undefined) };
  const salt = randomBytes(32);
  const body: AuditEventBody = {
    action,
    actor: principal ? { type: principal.kind, id: principal.id } : (request.auditActor ?? { type: 'anonymous', id: '-' }),
    resource: config.resource(request),
    outcome: status === null ? 'success' : outcomeOf(status),
    status,
    reason: bounded(request.headers['x-audit-reason']),
    request_id: request.id,
    pd: personalCommitment(salt, personal),
    class: auditActions[action],
    ...(request.auditDetail.authz ? { authz: request.auditDetail.authz } : {}),
    ...(request.auditDetail.event ? { detail: request.auditDetail.event } : {}),
  };
  return { body, personal: { ...personal, salt: salt.toString('hex') } };
}
