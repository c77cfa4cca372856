-- Access (SPEC P1–P8): members and their personal tokens, teams, custom roles, agents, vault
-- policies, access reviews and approvals.
--
-- Revocation without a window: orgs.authz_epoch is bumped in the same transaction as any change
-- to what decisions read (policies, roles, teams, members, agents, vaults' teams), and every
-- request reads the epoch in its authentication transaction, so no node decides on an older
-- snapshot than the last committed change. Agents carry a `generation` that every token they
-- hold names; bumping it (policy change, key rotation, deactivation) kills them all. Members'
-- personal tokens are revoked by row (api_tokens.revoked_at) and refused while the member is
-- deactivated; members.generation is there for the signed session tokens sign-in will issue.

ALTER TABLE orgs ADD COLUMN authz_epoch bigint NOT NULL DEFAULT 0;

-- Custom roles (built-in ones live in code: src/policy/roles.ts). `org_grants` maps org areas
-- to actions; `vault_scope`/`vault_actions` what the role may do on vaults.
CREATE TABLE roles (
  org_id         uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  role_id        uuid NOT NULL,
  name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  description    text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  org_grants     jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(org_grants) = 'object'),
  vault_scope    text CHECK (vault_scope IN ('all', 'team')),
  vault_actions  text[] NOT NULL DEFAULT '{}',
  restricted     boolean NOT NULL DEFAULT false,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, role_id)
);
CREATE UNIQUE INDEX roles_name_key ON roles (org_id, lower(name));

-- People of an org. `role` is a built-in role name or a custom role's id (as text).
CREATE TABLE members (
  org_id        uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  member_id     uuid NOT NULL,
  email         text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
  display_name  text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 100),
  role          text NOT NULL,
  status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
  generation    integer NOT NULL DEFAULT 1 CHECK (generation > 0),
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, member_id)
);
CREATE UNIQUE INDEX members_email_key ON members (org_id, lower(email));

-- Personal tokens of members (`sr_user_…`) live beside root tokens.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ALTER COLUMN role DROP NOT NULL;
ALTER TABLE api_tokens ADD COLUMN member_id uuid;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_member_fkey
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, member_id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (
  (kind = 'root' AND role = 'owner' AND member_id IS NULL)
  OR (kind = 'user' AND role IS NULL AND member_id IS NOT NULL));

-- Teams ("pods"): a manager's role reaches only the vaults of its teams.
CREATE TABLE teams (
  org_id       uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  team_id      uuid NOT NULL,
  name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  description  text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, team_id)
);
CREATE UNIQUE INDEX teams_name_key ON teams (org_id, lower(name));

CREATE TABLE team_members (
  org_id     uuid NOT NULL,
  team_id    uuid NOT NULL,
  member_id  uuid NOT NULL,
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, team_id, member_id),
  FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, team_id) ON DELETE CASCADE,
  FOREIGN KEY (org_id, member_id) REFERENCES members (org_id, member_id) ON DELETE CASCADE
);

-- A vault may belong to a team; deleting the team leaves the vault to org-wide roles.
ALTER TABLE vaults ADD COLUMN team_id uuid;
ALTER TABLE vaults ADD CONSTRAINT vaults_team_fkey
  FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, team_id) ON DELETE SET NULL (team_id);

-- Machine identities (P5). The API key (`sr_agent_…`) names org and agent, so it is found by
-- its own prefix under row-level security; only SHA-256 of its random part is kept.
CREATE TABLE agents (
  org_id             uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  agent_id           uuid NOT NULL,
  name               text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  description        text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  key_prefix         text NOT NULL,
  key_hash           bytea NOT NULL CHECK (octet_length(key_hash) = 32),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
  generation         integer NOT NULL DEFAULT 1 CHECK (generation > 0),
  token_ttl_seconds  integer NOT NULL DEFAULT 900 CHECK (token_ttl_seconds BETWEEN 60 AND 86400),
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  key_rotated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, agent_id)
);
CREATE UNIQUE INDEX agents_name_key ON agents (org_id, lower(name));

-- Vault policies (P3), in 1claw's shape. `principal_id` is a member, agent, team id, or a role
-- (built-in name or custom role id).
CREATE TABLE policies (
  org_id               uuid NOT NULL,
  policy_id            uuid NOT NULL,
  vault_id             uuid NOT NULL,
  principal_type       text NOT NULL CHECK (principal_type IN ('user', 'agent', 'team', 'role')),
  principal_id         text NOT NULL CHECK (char_length(principal_id) BETWEEN 1 AND 100),
  secret_path_pattern  text COLLATE "C" NOT NULL CHECK (octet_length(secret_path_pattern) BETWEEN 2 AND 512),
  permissions          text[] NOT NULL CHECK (cardinality(permissions) BETWEEN 1 AND 7),
  effect               text NOT NULL DEFAULT 'allow' CHECK (effect IN ('allow', 'deny')),
  conditions           jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(conditions) = 'object'),
  expires_at           timestamptz,
  description          text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  created_by           text NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_by           text NOT NULL,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, policy_id),
  FOREIGN KEY (org_id, vault_id) REFERENCES vaults (org_id, vault_id) ON DELETE CASCADE
);
CREATE INDEX policies_principal_idx ON policies (org_id, principal_type, principal_id);

-- Access review campaigns (P7): one item per grant as it stood when the campaign opened.
CREATE TABLE access_reviews (
  org_id            uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  review_id         uuid NOT NULL,
  name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  reviewer          text NOT NULL,
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  due_at            timestamptz NOT NULL,
  created_by        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  closed_at         timestamptz,
  last_reminded_at  timestamptz,
  reminders_sent    integer NOT NULL DEFAULT 0,
  PRIMARY KEY (org_id, review_id)
);

CREATE TABLE access_review_items (
  org_id      uuid NOT NULL,
  review_id   uuid NOT NULL,
  item_id     uuid NOT NULL,
  policy_id   uuid NOT NULL,
  grant_data  jsonb NOT NULL CHECK (jsonb_typeof(grant_data) = 'object'),
  decision    text CHECK (decision IN ('keep', 'revoke')),
  decided_by  text,
  decided_at  timestamptz,
  decision_note text CHECK (char_length(decision_note) <= 1000),
  PRIMARY KEY (org_id, review_id, item_id),
  FOREIGN KEY (org_id, review_id) REFERENCES access_reviews (org_id, review_id) ON DELETE CASCADE
);

-- Access requests (P8): a principal asks for a grant it lacks; a human decides.
CREATE TABLE approvals (
  org_id               uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  approval_id          uuid NOT NULL,
  requester_type       text NOT NULL CHECK (requester_type IN ('user', 'agent')),
  requester_id         uuid NOT NULL,
  vault_id             uuid NOT NULL,
  secret_path_pattern  text COLLATE "C" NOT NULL CHECK (octet_length(secret_path_pattern) BETWEEN 2 AND 512),
  permissions          text[] NOT NULL CHECK (cardinality(permissions) BETWEEN 1 AND 7),
  reason               text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
  duration_seconds     integer CHECK (duration_seconds BETWEEN 60 AND 31536000),
  status               text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'cancelled')),
  decided_by           text,
  decided_at           timestamptz,
  decision_note        text CHECK (char_length(decision_note) <= 1000),
  policy_id            uuid,
  grant_expires_at     timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, approval_id),
  FOREIGN KEY (org_id, vault_id) REFERENCES vaults (org_id, vault_id) ON DELETE CASCADE
);

SELECT make_tenant_table(t::regclass, 'SELECT, INSERT, UPDATE, DELETE')
  FROM unnest(ARRAY['roles', 'members', 'teams', 'team_members', 'agents', 'policies',
                    'access_reviews', 'access_review_items', 'approvals']) AS t;

-- Agent access tokens are signed with their own installation key (JWKS), beside the audit key.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_purpose_check CHECK (purpose IN ('audit-heads', 'agent-tokens'));

-- New audit actions recorded as operational (shorter retention); every other one is security.
INSERT INTO audit_operational_actions (action) VALUES
  ('member.list'), ('member.describe'), ('team.list'), ('team.describe'), ('role.list'), ('role.describe'),
  ('agent.list'), ('agent.describe'), ('policy.list'), ('policy.describe'), ('approval.list'), ('approval.describe'),
  ('access.review.list'), ('access.review.describe');
