import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { principalOf } from '../../plugins/authn.js';
import { auditResource } from '../audit/audit.hook.js';
import { noQuery } from '../../schemas.js';
import type { SecretService, WritePrecondition } from './secrets.service.js';
import {
  deleteSecretQuery,
  listSecretsQuery,
  putSecretBody,
  putSecretHeaders,
  readSecretQuery,
  secretDescription,
  secretListResponse,
  secretParams,
  secretValueResponse,
} from './secrets.types.js';

const tags = ['secrets'];
const security = [{ bearerAuth: [] }];
// RFC 9110 §13.1.1: If-Match compares strongly, so only a strong tag "N" can match.
const ETAG = /^"([1-9]\d{0,9})"$/;

/** Reads If-Match / If-None-Match into a write precondition (S3 optimistic concurrency). */
export function parsePrecondition(headers: { 'if-match'?: string; 'if-none-match'?: string }): WritePrecondition {
  const ifMatch = headers['if-match']?.trim();
  const ifNoneMatch = headers['if-none-match']?.trim();
  if (ifMatch !== undefined && ifNoneMatch !== undefined) {
    throw new AppError('INVALID_PRECONDITION', 'Send If-Match or If-None-Match, not both.');
  }
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*') throw new AppError('INVALID_PRECONDITION', 'If-None-Match takes only "*".');
    return { kind: 'absent' };
  }
  if (ifMatch === undefined) return { kind: 'none' };
  if (ifMatch === '*') return { kind: 'present' };
  const match = ETAG.exec(ifMatch);
  const version = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new AppError('INVALID_PRECONDITION', 'If-Match takes a quoted version number, e.g. "3", or *.');
  }
  return { kind: 'version', version };
}

const etag = (version: number) => `"${version}"`;

/** Routes of /v1/vaults/{vaultId}/secrets. */
export function registerSecretRoutes(app: FastifyInstance, secrets: SecretService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/v1/vaults/:vaultId/secrets', {
    config: { audit: { action: 'secret.list', resource: auditResource.vault } },
    schema: {
      tags,
      security,
      summary: 'List secrets (paths and descriptions, never values)',
      params: z.object({ vaultId: z.uuid() }).strict(),
      querystring: listSecretsQuery,
      response: { 200: secretListResponse },
    },
    handler: async (request) =>
      secrets.list(principalOf(request), request.params.vaultId, {
        prefix: request.query.prefix,
        limit: request.query.limit,
        cursor: request.query.cursor,
      }),
  });

  r.put('/v1/vaults/:vaultId/secrets/*', {
    config: { audit: { action: 'secret.write', resource: auditResource.secret } },
    schema: {
      tags,
      security,
      summary: 'Write a new version of a secret',
      description: 'Every write is a new version. If-Match: "N" writes only if N is the current version; If-None-Match: * only if the secret does not exist.',
      params: secretParams,
      querystring: noQuery,
      headers: putSecretHeaders,
      body: putSecretBody,
      response: { 200: secretDescription, 201: secretDescription },
    },
    handler: async (request, reply) => {
      const precondition = parsePrecondition(request.headers);
      const written = await secrets.put(principalOf(request), request.params.vaultId, request.params['*'], request.body, precondition);
      return reply
        .code(written.current_version === 1 ? 201 : 200)
        .header('etag', etag(written.current_version))
        .send(written);
    },
  });

  r.get('/v1/vaults/:vaultId/secrets/*', {
    config: { audit: { action: 'secret.read', resource: auditResource.secret } },
    schema: {
      tags,
      security,
      summary: 'Read a secret value (current version, or ?version=N)',
      params: secretParams,
      querystring: readSecretQuery,
      response: { 200: secretValueResponse },
    },
    handler: async (request, reply) => {
      const secret = await secrets.read(principalOf(request), request.params.vaultId, request.params['*'], request.query.version);
      return reply.header('etag', etag(secret.version)).send(secret);
    },
  });

  r.delete('/v1/vaults/:vaultId/secrets/*', {
    config: {
      audit: {
        // One route, two actions: ?version=N destroys a version.
        action: (request) =>
          (request.query as { version?: unknown } | undefined)?.version === undefined ? 'secret.delete' : 'secret.version.destroy',
        resource: auditResource.secret,
      },
    },
    schema: {
      tags,
      security,
      summary: 'Delete a secret, or destroy one version with ?version=N',
      description:
        'Without version: the secret is deleted (its versions are kept; writing the path again brings it back with a new version). ' +
        'With version=N: that version\'s ciphertext is removed from the database for good and reading it answers 410 ' +
        '(the bytes leave the disk as PostgreSQL vacuums and recycles its WAL, and backups keep them until they expire).',
      params: secretParams,
      querystring: deleteSecretQuery,
      response: { 204: z.null().describe('Done') },
    },
    handler: async (request, reply) => {
      const principal = principalOf(request);
      const { vaultId, '*': path } = request.params;
      if (request.query.version === undefined) await secrets.remove(principal, vaultId, path);
      else await secrets.destroyVersion(principal, vaultId, path, request.query.version);
      return reply.code(204).send(null);
    },
  });
}
