import type { TenantTx } from '../../db/tenant.js';
import { deletePoliciesNaming } from '../policies/policies.repo.js';

/** An agent as stored (its key's hash, never the key). */
export interface AgentRow {
  agent_id: string;
  name: string;
  description: string;
  key_prefix: string;
  status: 'active' | 'deactivated';
  generation: number;
  token_ttl_seconds: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  key_rotated_at: Date;
}

const COLUMNS =
  'agent_id, name, description, key_prefix, status, generation, token_ttl_seconds, created_by, created_at, updated_at, key_rotated_at';

/** Stores a new agent with its key's hash. */
export async function insertAgent(
  tx: TenantTx,
  agent: { agentId: string; name: string; description: string; keyPrefix: string; keyHash: Uint8Array; ttlSeconds: number; createdBy: string },
): Promise<AgentRow> {
  const [row] = await tx.query<AgentRow>(
    `INSERT INTO agents (org_id, agent_id, name, description, key_prefix, key_hash, token_ttl_seconds, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [tx.orgId, agent.agentId, agent.name, agent.description, agent.keyPrefix, agent.keyHash, agent.ttlSeconds, agent.createdBy],
  );
  return row as AgentRow;
}

/** The org's agents, by name. */
export async function listAgents(tx: TenantTx): Promise<AgentRow[]> {
  return tx.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE org_id = $1 ORDER BY lower(name), agent_id`, [tx.orgId]);
}

/** One agent of the org. */
export async function findAgent(tx: TenantTx, agentId: string): Promise<AgentRow | undefined> {
  const [row] = await tx.query<AgentRow>(`SELECT ${COLUMNS} FROM agents WHERE org_id = $1 AND agent_id = $2`, [tx.orgId, agentId]);
  return row;
}

/** An agent's key hash and state, for exchanging its API key for a token. */
export async function findAgentKey(
  tx: TenantTx,
  agentId: string,
): Promise<{ key_hash: Uint8Array; status: string; generation: number; token_ttl_seconds: number } | undefined> {
  const [row] = await tx.query<{ key_hash: Uint8Array; status: string; generation: number; token_ttl_seconds: number }>(
    'SELECT key_hash, status, generation, token_ttl_seconds FROM agents WHERE org_id = $1 AND agent_id = $2',
    [tx.orgId, agentId],
  );
  return row;
}

/** What authenticating an agent token reads: the agent's state and the org's authz epoch, in one statement. */
export async function findAgentState(
  tx: TenantTx,
  agentId: string,
): Promise<{ status: string; generation: number; authz_epoch: string | number } | undefined> {
  const [row] = await tx.query<{ status: string; generation: number; authz_epoch: string | number }>(
    `SELECT a.status, a.generation, o.authz_epoch FROM agents a JOIN orgs o ON o.org_id = a.org_id
      WHERE a.org_id = $1 AND a.agent_id = $2`,
    [tx.orgId, agentId],
  );
  return row;
}

/** Changes an agent's settings; deactivating it bumps its generation (its tokens die). */
export async function updateAgent(
  tx: TenantTx,
  agentId: string,
  change: { name?: string; description?: string; ttlSeconds?: number; active?: boolean },
): Promise<AgentRow | undefined> {
  const [row] = await tx.query<AgentRow>(
    `UPDATE agents SET
        name = coalesce($3, name),
        description = coalesce($4, description),
        token_ttl_seconds = coalesce($5, token_ttl_seconds),
        status = CASE WHEN $6::boolean IS NULL THEN status WHEN $6 THEN 'active' ELSE 'deactivated' END,
        generation = CASE WHEN $6::boolean IS FALSE AND status = 'active' THEN generation + 1 ELSE generation END,
        updated_at = now()
      WHERE org_id = $1 AND agent_id = $2 RETURNING ${COLUMNS}`,
    [tx.orgId, agentId, change.name ?? null, change.description ?? null, change.ttlSeconds ?? null, change.active ?? null],
  );
  return row;
}

/** Replaces an agent's key; every token of the old key dies with the generation bump. */
export async function rotateAgentKey(tx: TenantTx, agentId: string, key: { keyPrefix: string; keyHash: Uint8Array }): Promise<AgentRow | undefined> {
  const [row] = await tx.query<AgentRow>(
    `UPDATE agents SET key_prefix = $3, key_hash = $4, generation = generation + 1, key_rotated_at = now(), updated_at = now()
      WHERE org_id = $1 AND agent_id = $2 RETURNING ${COLUMNS}`,
    [tx.orgId, agentId, key.keyPrefix, key.keyHash],
  );
  return row;
}

/**
 * Revokes every outstanding token of the given agents (P6): bumps their generation. Called in
 * the transaction of any policy change that applies to them.
 */
export async function bumpAgentGenerations(tx: TenantTx, agentIds: readonly string[]): Promise<void> {
  if (agentIds.length === 0) return;
  await tx.query('UPDATE agents SET generation = generation + 1, updated_at = now() WHERE org_id = $1 AND agent_id = ANY($2::uuid[])', [
    tx.orgId,
    agentIds,
  ]);
}

/** Deletes an agent and the policies that name it; false when there is none. */
export async function deleteAgent(tx: TenantTx, agentId: string): Promise<boolean> {
  const rows = await tx.query('DELETE FROM agents WHERE org_id = $1 AND agent_id = $2 RETURNING agent_id', [tx.orgId, agentId]);
  if (rows.length === 0) return false;
  await deletePoliciesNaming(tx, 'agent', agentId);
  return true;
}
