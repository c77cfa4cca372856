-- Audit sinks (A5): destinations an org's audit events are streamed to, each with its own
-- delivery cursor. Delivery is at-least-once: `cursor_seq` (the last seq the sink confirmed)
-- moves only after a confirmed delivery, so a crash between sending and moving it re-sends
-- (receivers dedupe by seq).
--
-- `config` holds only non-secret settings: {url} for a webhook, {host, port, tls, app_name}
-- for syslog. A webhook's HMAC key is wrapped by the root-key provider with the AAD
-- `strongroom:audit-sink-secret:v1:<org>/<sink>`; it is never stored in plain text.
--
-- A node delivering to a sink holds a lease on it (`lease_owner`, `lease_until`), taken and
-- released in short transactions; no transaction stays open while a sink is being sent to.
CREATE TABLE audit_sinks (
  org_id           uuid NOT NULL REFERENCES orgs (org_id) ON DELETE CASCADE,
  sink_id          uuid NOT NULL,
  kind             text NOT NULL CHECK (kind IN ('webhook', 'syslog')),
  name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
  config           jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
  secret_wrapped   bytea,
  root_key_id      text,
  provider         text,
  cursor_seq       bigint NOT NULL DEFAULT 0 CHECK (cursor_seq >= 0),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  timestamptz,
  last_error       text CHECK (char_length(last_error) <= 500),
  lease_owner      text,
  lease_until      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  PRIMARY KEY (org_id, sink_id),
  -- A webhook has a wrapped secret naming its provider key; a syslog sink has none.
  CHECK ((kind = 'webhook') = (secret_wrapped IS NOT NULL)),
  CHECK ((secret_wrapped IS NULL) = (root_key_id IS NULL) AND (secret_wrapped IS NULL) = (provider IS NULL)),
  CHECK ((lease_owner IS NULL) = (lease_until IS NULL))
);
CREATE UNIQUE INDEX audit_sinks_name_key ON audit_sinks (org_id, lower(name));

SELECT make_tenant_table('audit_sinks', 'SELECT, INSERT, UPDATE, DELETE');
