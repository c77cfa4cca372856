-- Foundation: orgs, their root tokens, vaults with wrapped vault keys, secrets and versions.
--
-- Runs as strongroom_owner (the migration runner sets the role), so every object here is owned
-- by it and the runtime role strongroom_app owns nothing. Every tenant table:
--   * has org_id as the first column of its primary key (Citus can distribute it unchanged);
--   * has ENABLE + FORCE ROW LEVEL SECURITY and a policy on the transaction's tenant;
--   * grants strongroom_app only SELECT/INSERT/UPDATE/DELETE (never TRUNCATE, which RLS does
--     not cover).
-- make_tenant_table does all three; test/rls-coverage.test.ts fails when a table with an org_id
-- column misses any of it.

-- The tenant of the current transaction, set by withTenantTx with set_config(..., true).
-- NULLIF: once a transaction-local setting has been used, the connection reads it back as ''
-- (not NULL) after commit; ''::uuid would raise instead of matching nothing.
CREATE FUNCTION current_org_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $$;

-- The one way a migration makes a table a tenant table: ENABLE + FORCE row-level security, the
-- single tenant policy, and only the given privileges for the runtime role (never TRUNCATE).
-- Owner-only: the runtime role cannot execute it.
CREATE FUNCTION make_tenant_table(p_table regclass, p_privileges text) RETURNS void
  LANGUAGE plpgsql
AS $$
BEGIN
  IF p_privileges !~ '^(SELECT|INSERT|UPDATE|DELETE)(, (SELECT|INSERT|UPDATE|DELETE))*$' THEN
    RAISE EXCEPTION 'make_tenant_table grants only SELECT, INSERT, UPDATE, DELETE';
  END IF;
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
  EXECUTE format(
    'CREATE POLICY tenant_isolation ON %s USING (org_id = current_org_id()) WITH CHECK (org_id = current_org_id())',
    p_table);
  EXECUTE format('GRANT %s ON %s TO strongroom_app', p_privileges, p_table);
END
$$;
REVOKE ALL ON FUNCTION make_tenant_table(regclass, text) FROM PUBLIC;

CREATE TABLE orgs (
  org_id      uuid PRIMARY KEY,
  name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- Org names are unique across the installation, whatever their case.
CREATE UNIQUE INDEX orgs_name_key ON orgs (lower(name));

-- Bearer tokens issued by Strongroom itself. Only a hash of the token's secret part is kept.
CREATE TABLE api_tokens (
  org_id       uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  token_id     uuid NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('root')),
  role         text NOT NULL CHECK (role IN ('owner')),
  secret_hash  bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
  description  text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  PRIMARY KEY (org_id, token_id)
);

CREATE TABLE vaults (
  org_id       uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  vault_id     uuid NOT NULL,
  name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  description  text NOT NULL DEFAULT '',
  key_version  integer NOT NULL CHECK (key_version > 0),
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, vault_id)
);
CREATE UNIQUE INDEX vaults_name_key ON vaults (org_id, lower(name));

-- One row per vault key version, wrapped by the root key of `provider` (root_key_id names the
-- root key version, so root rotation rewraps these rows only: cost grows with vaults).
CREATE TABLE vault_keys (
  org_id       uuid NOT NULL,
  vault_id     uuid NOT NULL,
  version      integer NOT NULL CHECK (version > 0),
  provider     text NOT NULL,
  root_key_id  text NOT NULL,
  wrapped_key  bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, vault_id, version),
  FOREIGN KEY (org_id, vault_id) REFERENCES vaults (org_id, vault_id) ON DELETE CASCADE
);

CREATE TABLE secrets (
  org_id           uuid NOT NULL,
  secret_id        uuid NOT NULL,
  vault_id         uuid NOT NULL,
  -- "C": byte order, whatever the database's collation, so listing order and the cursor agree.
  path             text COLLATE "C" NOT NULL CHECK (octet_length(path) BETWEEN 2 AND 512),
  type             text NOT NULL,
  tier             text NOT NULL CHECK (tier IN ('P0', 'P1', 'P2')),
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  current_version  integer NOT NULL DEFAULT 0 CHECK (current_version >= 0),
  expires_at       timestamptz,
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_by       text NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  PRIMARY KEY (org_id, secret_id),
  UNIQUE (org_id, vault_id, path),
  FOREIGN KEY (org_id, vault_id) REFERENCES vaults (org_id, vault_id) ON DELETE CASCADE
);

-- Every write is a new version (S3). `envelope` is the versioned ciphertext envelope
-- (src/crypto/envelope.ts); destroying a version removes it for good.
CREATE TABLE secret_versions (
  org_id             uuid NOT NULL,
  secret_id          uuid NOT NULL,
  version            integer NOT NULL CHECK (version > 0),
  vault_key_version  integer NOT NULL,
  envelope           bytea,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  destroyed_at       timestamptz,
  PRIMARY KEY (org_id, secret_id, version),
  FOREIGN KEY (org_id, secret_id) REFERENCES secrets (org_id, secret_id) ON DELETE CASCADE,
  CHECK ((envelope IS NULL) = (destroyed_at IS NOT NULL))
);

SELECT make_tenant_table(t::regclass, 'SELECT, INSERT, UPDATE, DELETE')
  FROM unnest(ARRAY['orgs', 'api_tokens', 'vaults', 'vault_keys', 'secrets', 'secret_versions']) AS t;

GRANT EXECUTE ON FUNCTION current_org_id() TO strongroom_app;
