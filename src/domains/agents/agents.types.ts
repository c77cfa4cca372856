import { z } from 'zod';
import { name, text } from '../../schemas.js';

export const agentParams = z.object({ agentId: z.uuid().describe('A UUID') }).strict();

const ttl = z.number().int().min(60).max(86_400).describe('Lifetime of the agent\'s access tokens, in seconds (default 900)');

export const createAgentBody = z
  .object({
    name: name(100).describe('Unique (case-insensitively) within the org'),
    description: text(1000).default(''),
    token_ttl_seconds: ttl.default(900),
  })
  .strict();
export type CreateAgentInput = z.output<typeof createAgentBody>;

export const updateAgentBody = z
  .object({
    name: name(100).optional(),
    description: text(1000).optional(),
    token_ttl_seconds: ttl.optional(),
    active: z.boolean().optional().describe('false deactivates the agent: its tokens stop working at once'),
  })
  .strict();
export type UpdateAgentInput = z.output<typeof updateAgentBody>;

export const agentResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  key_prefix: z.string().describe('The start of the API key, to recognise it; the key itself is shown once'),
  active: z.boolean(),
  token_ttl_seconds: z.number().int(),
  created_by: z.string(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  key_rotated_at: z.iso.datetime(),
});
export type AgentView = z.output<typeof agentResponse>;

export const agentWithKeyResponse = z.object({
  agent: agentResponse,
  api_key: z.string().describe('Shown once: only a hash is stored'),
});

export const agentListResponse = z.object({ agents: z.array(agentResponse) });

export const agentTokenBody = z
  .object({
    agent_id: z.uuid(),
    api_key: z.string().min(1).max(200),
  })
  .strict();

export const agentTokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
});
