import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import type { WithTenantTx } from '../../db/tenant.js';
import { AppError, notFound } from '../../errors.js';
import { actorOf } from '../../policy/policy.js';
import { noteAuditDetail } from '../audit/audit.context.js';
import { type Authorizer, type Caller, requireStepUp } from '../authz/authz.service.js';
import { DUMMY_SECRET_HASH, generateToken, parseToken, tokenSecretMatches } from '../tokens/tokens.fns.js';
import type { AgentTokens } from './agent-tokens.js';
import {
  deleteAgent,
  findAgent,
  findAgentKey,
  insertAgent,
  listAgents,
  rotateAgentKey,
  updateAgent,
  type AgentRow,
} from './agents.repo.js';
import type { AgentView, CreateAgentInput, UpdateAgentInput } from './agents.types.js';

/** Dependencies of the agent service. */
export interface AgentServiceDeps {
  withTenantTx: WithTenantTx;
  authz: Authorizer;
  tokens: Pick<AgentTokens, 'issue'>;
}

/** The outcome of exchanging an API key: a token, or the org to record the failure in. */
export type AgentTokenExchange =
  | { ok: true; orgId: string; agentId: string; access_token: string; expires_in: number }
  | { ok: false; orgId: string | null };

/** Agents: machine identities with an API key exchanged for short-lived tokens (P5, P6). */
export interface AgentService {
  create(caller: Caller, input: CreateAgentInput): Promise<{ agent: AgentView; api_key: string }>;
  list(caller: Caller): Promise<AgentView[]>;
  get(caller: Caller, agentId: string): Promise<AgentView>;
  update(caller: Caller, agentId: string, input: UpdateAgentInput): Promise<AgentView>;
  remove(caller: Caller, agentId: string): Promise<void>;
  rotateKey(caller: Caller, agentId: string): Promise<{ agent: AgentView; api_key: string }>;
  /** Exchanges an agent's API key for an access token (unauthenticated route). */
  exchange(agentId: string, apiKey: string): Promise<AgentTokenExchange>;
}

/** Characters of an API key kept to recognise it in lists (`sr_agent_` and 8 more). */
const PREFIX_CHARS = 17;

function toView(row: AgentRow): AgentView {
  return {
    id: row.agent_id,
    name: row.name,
    description: row.description,
    key_prefix: row.key_prefix,
    active: row.status === 'active',
    token_ttl_seconds: row.token_ttl_seconds,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    key_rotated_at: row.key_rotated_at.toISOString(),
  };
}

function conflictOnName(err: unknown): never {
  if (isUniqueViolation(err, 'agents_name_key')) {
    throw new AppError('CONFLICT', 'An agent with that name already exists in this org.', { cause: err });
  }
  throw err;
}

/** Builds the agent service. */
export function createAgentService(deps: AgentServiceDeps): AgentService {
  const { withTenantTx, authz } = deps;
  const area = (caller: Caller) => ({ kind: 'org' as const, orgId: caller.orgId, area: 'agents' as const });

  return {
    async create(caller, input) {
      await authz.require(caller, 'admin', area(caller));
      const agentId = randomUUID();
      const key = generateToken('agent', caller.orgId, agentId);
      noteAuditDetail({ createdId: agentId });
      const row = await authz
        .withChange(caller.orgId, (tx) =>
          insertAgent(tx, {
            agentId,
            name: input.name,
            description: input.description,
            keyPrefix: key.token.slice(0, PREFIX_CHARS),
            keyHash: key.secretHash,
            ttlSeconds: input.token_ttl_seconds,
            createdBy: actorOf(caller),
          }),
        )
        .catch(conflictOnName);
      return { agent: toView(row), api_key: key.token };
    },

    async list(caller) {
      await authz.require(caller, 'describe', area(caller));
      return (await withTenantTx(caller.orgId, listAgents)).map(toView);
    },

    async get(caller, agentId) {
      await authz.require(caller, 'describe', area(caller));
      const row = await withTenantTx(caller.orgId, (tx) => findAgent(tx, agentId));
      if (!row) throw notFound();
      return toView(row);
    },

    async update(caller, agentId, input) {
      await authz.require(caller, 'admin', area(caller));
      // A missing agent is refused inside the transaction: nothing commits, no epoch is bumped.
      const row = await authz
        .withChange(caller.orgId, async (tx) => {
          const updated = await updateAgent(tx, agentId, {
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.description === undefined ? {} : { description: input.description }),
            ...(input.token_ttl_seconds === undefined ? {} : { ttlSeconds: input.token_ttl_seconds }),
            ...(input.active === undefined ? {} : { active: input.active }),
          });
          if (!updated) throw notFound();
          return updated;
        })
        .catch(conflictOnName);
      return toView(row);
    },

    async remove(caller, agentId) {
      await authz.require(caller, 'admin', area(caller));
      await authz.withChange(caller.orgId, async (tx) => {
        if (!(await deleteAgent(tx, agentId))) throw notFound();
      });
    },

    async rotateKey(caller, agentId) {
      await authz.require(caller, 'admin', area(caller));
      requireStepUp(caller, 'key.rotate');
      const key = generateToken('agent', caller.orgId, agentId);
      const row = await authz.withChange(caller.orgId, async (tx) => {
        const rotated = await rotateAgentKey(tx, agentId, { keyPrefix: key.token.slice(0, PREFIX_CHARS), keyHash: key.secretHash });
        if (!rotated) throw notFound();
        return rotated;
      });
      return { agent: toView(row), api_key: key.token };
    },

    async exchange(agentId, apiKey) {
      const parsed = parseToken(apiKey);
      if (!parsed || parsed.kind !== 'agent') return { ok: false, orgId: null };
      const row = await withTenantTx(parsed.orgId, (tx) => findAgentKey(tx, parsed.tokenId));
      const matches = tokenSecretMatches(parsed.secret, row?.key_hash ?? DUMMY_SECRET_HASH);
      if (!row || !matches || parsed.tokenId !== agentId.toLowerCase() || row.status !== 'active') {
        return { ok: false, orgId: parsed.orgId };
      }
      const ttl = row.token_ttl_seconds;
      const token = await deps.tokens.issue({ orgId: parsed.orgId, agentId: parsed.tokenId, generation: row.generation, ttlSeconds: ttl });
      return { ok: true, orgId: parsed.orgId, agentId: parsed.tokenId, access_token: token, expires_in: ttl };
    },
  };
}
