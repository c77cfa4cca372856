-- Identity (SPEC I1–I5): people who sign in, their second factors, sessions and invitations.
--
-- A person (a `user`) spans orgs, so users and what proves who they are live in installation
-- tables, like signing_keys: no tenant data, only what sign-in needs. What a person may do in an
-- org stays in that org's `members` row, under row-level security; `members.user_id` links the
-- two. `user_orgs` is a directory of a user's orgs (a hint for listing them: the member row is
-- the truth) and `sessions` name the org a session is in; both are installation tables listed in
-- test/rls-coverage.test.ts with the columns they may hold.
--
-- Identity events that belong to no org (a failed sign-in, a lockout) go to the installation's
-- own audit chain: the reserved org 00000000-0000-0000-0000-000000000000, chained and signed
-- like any org's.

-- orgs is a tenant table: the row is written as that tenant (transaction-local, like withTenantTx).
SELECT set_config('app.org_id', '00000000-0000-0000-0000-000000000000', true);
INSERT INTO orgs (org_id, name) VALUES ('00000000-0000-0000-0000-000000000000', '(installation)');
SELECT set_config('app.org_id', '', true);

ALTER TABLE orgs ADD COLUMN require_mfa boolean NOT NULL DEFAULT false;
ALTER TABLE orgs ADD COLUMN password_sign_in boolean NOT NULL DEFAULT false;

-- A person. `email` is the verified address (lower case); `session_generation` is bumped by
-- "sign out everywhere", which every session row is checked against.
CREATE TABLE users (
  user_id             uuid PRIMARY KEY,
  email               text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND email = lower(email)),
  display_name        text NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 100),
  password_hash       text CHECK (char_length(password_hash) <= 512),
  password_set_at     timestamptz,
  status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  last_sign_in_at     timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- External identities (OIDC issuer + subject) linked to a user.
CREATE TABLE user_identities (
  issuer      text NOT NULL CHECK (char_length(issuer) BETWEEN 1 AND 500),
  subject     text NOT NULL CHECK (char_length(subject) BETWEEN 1 AND 255),
  user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  provider    text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_idx ON user_identities (user_id);

-- The orgs a user belongs to (a hint; members under RLS decide).
CREATE TABLE user_orgs (
  user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  org_id     uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  member_id  uuid NOT NULL,
  PRIMARY KEY (user_id, org_id)
);

ALTER TABLE members ADD COLUMN user_id uuid REFERENCES users (user_id) ON DELETE SET NULL;
-- Sessions signed in before this time do not count in this org (an admin ended them): a session
-- switched in later from another org carries its sign-in time and is refused too.
ALTER TABLE members ADD COLUMN sessions_not_before timestamptz;
CREATE UNIQUE INDEX members_user_key ON members (org_id, user_id);

-- TOTP (RFC 6238). The shared secret is wrapped by the root key provider with AAD naming the
-- user; `last_step` is the last time step accepted, so a code (or an older one) is never
-- accepted twice. Unconfirmed until the first valid code.
CREATE TABLE mfa_totp (
  user_id         uuid PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
  root_key_id     text NOT NULL,
  wrapped_secret  bytea NOT NULL,
  confirmed_at    timestamptz,
  last_step       bigint,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Recovery codes: 80 random bits each, so SHA-256 of the code is kept (no slow hash needed).
CREATE TABLE recovery_codes (
  user_id    uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  code_hash  bytea NOT NULL CHECK (octet_length(code_hash) = 32),
  used_at    timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- E-mail sign-in codes: SHA-256 of address and code kept, never either in clear. Single use,
-- short-lived, a few guesses each.
CREATE TABLE email_codes (
  code_id     uuid PRIMARY KEY,
  email_hash  bytea NOT NULL CHECK (octet_length(email_hash) = 32),
  code_hash   bytea NOT NULL CHECK (octet_length(code_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  attempts    integer NOT NULL DEFAULT 0,
  used_at     timestamptz
);
CREATE INDEX email_codes_email_idx ON email_codes (email_hash, created_at);

-- OIDC sign-ins in flight: found by a hash of `state`, bound to the browser by a hash of a
-- cookie value; single use.
CREATE TABLE oidc_flows (
  state_hash     bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
  binding_hash   bytea NOT NULL CHECK (octet_length(binding_hash) = 32),
  provider       text NOT NULL,
  nonce          text NOT NULL,
  code_verifier  text NOT NULL,
  return_to      text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
);

-- Sessions. A session is one sign-in: its refresh tokens form one family (a reused one revokes
-- the session); `org_id` is the org it is in (null before the user has one); `mfa_at` the last
-- second-factor check (step-up reads it); `state` is `pending_mfa` between the first and the
-- second factor.
CREATE TABLE sessions (
  session_id        uuid PRIMARY KEY,
  user_id           uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
  org_id            uuid REFERENCES orgs (org_id) ON DELETE SET NULL,
  state             text NOT NULL CHECK (state IN ('pending_mfa', 'active')),
  methods           text[] NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  last_active_at    timestamptz NOT NULL DEFAULT now(),
  mfa_at            timestamptz,
  revoked_at        timestamptz,
  revoked_reason    text,
  pending_hash      bytea CHECK (octet_length(pending_hash) = 32),
  csrf_hash         bytea CHECK (octet_length(csrf_hash) = 32),
  user_agent        text CHECK (char_length(user_agent) <= 256)
);
CREATE INDEX sessions_user_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Refresh tokens (`sr_refresh_…`): SHA-256 of the random part; `used_at` set on rotation.
CREATE TABLE refresh_tokens (
  token_id    uuid PRIMARY KEY,
  session_id  uuid NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL CHECK (octet_length(token_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  used_at     timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON users, user_identities, user_orgs, mfa_totp, recovery_codes,
  email_codes, oidc_flows, sessions, refresh_tokens TO strongroom_app;

-- A personal token made by a person who had just passed a second factor (POST /v1/tokens with
-- step-up) may be used in an org that requires MFA; one handed out when a member was added may not.
ALTER TABLE api_tokens ADD COLUMN minted_with_mfa boolean NOT NULL DEFAULT false;

-- Invitations (I5): signed, expiring, single use; the invitee accepts while signed in with the
-- invited (verified) address.
CREATE TABLE invitations (
  org_id         uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  invitation_id  uuid NOT NULL,
  email          text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND email = lower(email)),
  role           text NOT NULL,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'revoked')),
  expires_at     timestamptz NOT NULL,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  accepted_by    uuid,
  accepted_at    timestamptz,
  PRIMARY KEY (org_id, invitation_id)
);
SELECT make_tenant_table('invitations'::regclass, 'SELECT, INSERT, UPDATE, DELETE');

ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_purpose_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_purpose_check
  CHECK (purpose IN ('audit-heads', 'agent-tokens', 'invitations'));

INSERT INTO audit_operational_actions (action) VALUES
  ('auth.refresh'), ('me.describe'), ('me.orgs'), ('session.list'), ('token.list'), ('org.describe'), ('invitation.list');
