import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../../plugins/authn.js';
import { auditResource } from '../audit/audit.hook.js';
import { noQuery } from '../../schemas.js';
import type { VaultService } from './vaults.service.js';
import { createVaultBody, deleteVaultQuery, vaultListResponse, vaultParams, vaultResponse } from './vaults.types.js';

const tags = ['vaults'];
const security = [{ bearerAuth: [] }];

/** Routes of /v1/vaults. */
export function registerVaultRoutes(app: FastifyInstance, vaults: VaultService): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/v1/vaults', {
    config: { audit: { action: 'vault.create', resource: auditResource.vault } },
    schema: { tags, security, summary: 'Create a vault', querystring: noQuery, body: createVaultBody, response: { 201: vaultResponse } },
    handler: async (request, reply) => reply.code(201).send(await vaults.create(principalOf(request), request.body)),
  });

  r.get('/v1/vaults', {
    config: { audit: { action: 'vault.list', resource: auditResource.org } },
    schema: { tags, security, summary: 'List the vaults of the org', querystring: noQuery, response: { 200: vaultListResponse } },
    handler: async (request) => ({ vaults: await vaults.list(principalOf(request)) }),
  });

  r.get('/v1/vaults/:vaultId', {
    config: { audit: { action: 'vault.describe', resource: auditResource.vault } },
    schema: { tags, security, summary: 'Describe a vault', params: vaultParams, querystring: noQuery, response: { 200: vaultResponse } },
    handler: async (request) => vaults.get(principalOf(request), request.params.vaultId),
  });

  r.delete('/v1/vaults/:vaultId', {
    config: { audit: { action: 'vault.delete', resource: auditResource.vault } },
    schema: {
      tags,
      security,
      summary: 'Delete a vault',
      description: 'Refuses (409 VAULT_NOT_EMPTY) while the vault holds secrets, unless force=true.',
      params: vaultParams,
      querystring: deleteVaultQuery,
      response: { 204: z.null().describe('Deleted') },
    },
    handler: async (request, reply) => {
      await vaults.remove(principalOf(request), request.params.vaultId, { force: request.query.force });
      return reply.code(204).send(null);
    },
  });
}
