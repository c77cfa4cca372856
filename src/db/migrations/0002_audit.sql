-- Audit log (A1–A7): a per-org SHA-256 hash chain, written only through audit_append.
--
-- The runtime role may read these tables but has no INSERT, UPDATE, DELETE or TRUNCATE on any
-- of them; it may only EXECUTE the SECURITY DEFINER functions below, which run as
-- strongroom_owner — still subject to FORCE ROW LEVEL SECURITY, so they too see and write only
-- the transaction's tenant. No function here bypasses tenant isolation.

-- The chain head of each org. Its row lock is the per-org append lock.
CREATE TABLE audit_chain_heads (
  org_id  uuid PRIMARY KEY,
  seq     bigint NOT NULL CHECK (seq >= 0),
  hash    bytea NOT NULL CHECK (octet_length(hash) = 32)
);

-- One row per event. `canonical` is the exact text that was hashed:
--   hash = SHA-256(prev_hash || UTF-8(canonical))
-- Filter columns are generated from it, so they can never disagree with what is verified.
-- Retention blanks `canonical` (and the personal row) but keeps seq, prev_hash and hash, so the
-- chain and the Merkle tree over the hashes still verify (A6).
CREATE TABLE audit_events (
  org_id       uuid NOT NULL,
  seq          bigint NOT NULL CHECK (seq > 0),
  prev_hash    bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash         bytea NOT NULL CHECK (octet_length(hash) = 32),
  event_time   timestamptz NOT NULL,
  event_class  text NOT NULL CHECK (event_class IN ('security', 'operational')),
  canonical    text,
  pruned_at    timestamptz,
  action       text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'action') STORED,
  actor        text GENERATED ALWAYS AS (((canonical::jsonb) -> 'actor' ->> 'type') || ':' || ((canonical::jsonb) -> 'actor' ->> 'id')) STORED,
  resource     text GENERATED ALWAYS AS ((canonical::jsonb) -> 'resource' ->> 'ref') STORED,
  outcome      text GENERATED ALWAYS AS ((canonical::jsonb) ->> 'outcome') STORED,
  PRIMARY KEY (org_id, seq),
  CHECK ((canonical IS NULL) = (pruned_at IS NOT NULL))
);
CREATE INDEX audit_events_time ON audit_events (org_id, event_time);
CREATE INDEX audit_events_action ON audit_events (org_id, action, seq);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor, seq);

-- Personal data of an event (A2): kept beside the chain; the event carries only a salted
-- commitment `pd` = hex(SHA-256(salt || canonical JSON of these fields)), so erasing a person
-- deletes this row and leaves the chain verifiable.
CREATE TABLE audit_personal (
  org_id      uuid NOT NULL,
  seq         bigint NOT NULL,
  salt        bytea NOT NULL CHECK (octet_length(salt) = 32),
  ip          text,
  user_agent  text,
  email       text,
  PRIMARY KEY (org_id, seq),
  FOREIGN KEY (org_id, seq) REFERENCES audit_events (org_id, seq) ON DELETE CASCADE
);

-- Signed tree heads (A3): RFC 6962 Merkle root over the org's event hashes at `tree_size`,
-- signed with Ed25519. `frontier` holds the roots of the perfect subtrees that make up the tree
-- (left to right), so the next head extends it without rereading every leaf.
CREATE TABLE audit_heads (
  org_id      uuid NOT NULL,
  tree_size   bigint NOT NULL CHECK (tree_size > 0),
  root_hash   bytea NOT NULL CHECK (octet_length(root_hash) = 32),
  signed_at   timestamptz NOT NULL,
  key_id      text NOT NULL,
  signature   bytea NOT NULL CHECK (octet_length(signature) = 64),
  frontier    bytea NOT NULL,
  PRIMARY KEY (org_id, tree_size)
);

-- Ed25519 keys that sign tree heads, installation-wide; the private key is wrapped by the root
-- key provider. Public keys stay here after rotation so old heads still verify.
CREATE TABLE signing_keys (
  key_id               text PRIMARY KEY,
  purpose              text NOT NULL CHECK (purpose IN ('audit-heads')),
  algorithm            text NOT NULL CHECK (algorithm = 'Ed25519'),
  public_key           bytea NOT NULL CHECK (octet_length(public_key) = 32),
  provider             text NOT NULL,
  root_key_id          text NOT NULL,
  wrapped_private_key  bytea NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now()
);

-- Read-only for the runtime role: it writes only through the functions below.
SELECT make_tenant_table(t::regclass, 'SELECT')
  FROM unnest(ARRAY['audit_chain_heads', 'audit_events', 'audit_personal', 'audit_heads']) AS t;
GRANT SELECT, INSERT ON signing_keys TO strongroom_app;

-- Owner-only tables the functions below consult: the runtime role can read or change neither.
-- Actions recorded as `operational` (shorter retention); any other action is `security`, so a
-- new or unknown action errs on the side of keeping its record longer. test/audit-log.test.ts
-- checks this list against the catalogue in src/domains/audit/audit.events.ts.
CREATE TABLE audit_operational_actions (action text PRIMARY KEY);
INSERT INTO audit_operational_actions (action) VALUES
  ('vault.list'), ('vault.describe'), ('secret.list'), ('audit.heads.read'), ('audit.proof'), ('audit.sink.list');

-- The shortest retention the server may ask for, per class (A6); an operator who needs less
-- changes these rows as the owner.
CREATE TABLE audit_retention_floors (event_class text PRIMARY KEY, days integer NOT NULL CHECK (days > 0));
INSERT INTO audit_retention_floors (event_class, days) VALUES ('operational', 30), ('security', 365);

-- Appends events to the transaction's org chain, in order, and returns their seq and hash.
-- `p_events` is a JSON array of event bodies built by the server; this function sets `v`, `org`,
-- `seq`, `time` and `class` itself (they win over anything in the body), so neither order, time
-- nor retention class can be chosen by the caller. An event's `personal` member is stored in audit_personal, not chained.
-- Events for an org that does not exist are dropped (a forged token must not grow a chain).
CREATE FUNCTION audit_append(p_events jsonb)
  RETURNS TABLE (seq bigint, hash bytea)
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public, pg_temp
AS $$
DECLARE
  v_org uuid := current_org_id();
  v_time timestamptz := clock_timestamp();
  v_seq bigint;
  v_hash bytea;
  v_prev bytea;
  v_event jsonb;
  v_personal jsonb;
  v_canonical text;
  v_class text;
BEGIN
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'audit_append needs a tenant transaction' USING ERRCODE = '42501';
  END IF;
  IF jsonb_typeof(p_events) <> 'array' THEN
    RAISE EXCEPTION 'audit_append takes a JSON array of events' USING ERRCODE = '22023';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM orgs o WHERE o.org_id = v_org) THEN
    RETURN;
  END IF;
  INSERT INTO audit_chain_heads AS h (org_id, seq, hash)
    VALUES (v_org, 0, decode(repeat('00', 32), 'hex'))
    ON CONFLICT (org_id) DO NOTHING;
  SELECT h.seq, h.hash INTO v_seq, v_hash FROM audit_chain_heads h WHERE h.org_id = v_org FOR UPDATE;

  FOR v_event IN SELECT e.value FROM jsonb_array_elements(p_events) AS e LOOP
    v_seq := v_seq + 1;
    v_prev := v_hash;
    v_personal := v_event -> 'personal';
    v_class := CASE WHEN EXISTS (SELECT 1 FROM audit_operational_actions a WHERE a.action = v_event ->> 'action')
                    THEN 'operational' ELSE 'security' END;
    v_canonical := ((v_event - 'personal') || jsonb_build_object(
      'v', 1,
      'org', v_org,
      'seq', v_seq,
      'time', to_char(v_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      'class', v_class))::text;
    v_hash := sha256(v_prev || convert_to(v_canonical, 'UTF8'));
    INSERT INTO audit_events (org_id, seq, prev_hash, hash, event_time, event_class, canonical)
      VALUES (v_org, v_seq, v_prev, v_hash, v_time, v_class, v_canonical);
    IF v_personal IS NOT NULL AND jsonb_typeof(v_personal) = 'object' THEN
      INSERT INTO audit_personal (org_id, seq, salt, ip, user_agent, email)
        VALUES (v_org, v_seq, decode(v_personal ->> 'salt', 'hex'),
                v_personal ->> 'ip', v_personal ->> 'user_agent', v_personal ->> 'email');
    END IF;
    seq := v_seq;
    hash := v_hash;
    RETURN NEXT;
  END LOOP;

  UPDATE audit_chain_heads h SET seq = v_seq, hash = v_hash WHERE h.org_id = v_org;
END
$$;

-- Records a signed head of the transaction's org. The function rebuilds the RFC 6962 root
-- itself from the stored event hashes (extending the frontier of the largest earlier head, which
-- it also computed), refuses a root that does not match, and stores the frontier it computed:
-- the caller supplies only the size, the root it signed, and the signature. A head of the same
-- size recorded twice (two nodes signing at once) keeps the first.
CREATE FUNCTION audit_record_head(
  p_tree_size bigint, p_root_hash bytea, p_signed_at timestamptz, p_key_id text, p_signature bytea)
  RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public, pg_temp
AS $$
DECLARE
  v_org uuid := current_org_id();
  v_size bigint := 0;
  v_frontier bytea;
  v_stack bytea[] := '{}';
  v_hash bytea;
  v_carry bigint;
  v_root bytea;
  n integer;
  i integer;
BEGIN
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'audit_record_head needs a tenant transaction' USING ERRCODE = '42501';
  END IF;
  IF p_tree_size < 1 OR p_tree_size > COALESCE((SELECT h.seq FROM audit_chain_heads h WHERE h.org_id = v_org), 0) THEN
    RAISE EXCEPTION 'a head must cover 1 to all of the chain''s events' USING ERRCODE = '22023';
  END IF;
  SELECT h.tree_size, h.frontier INTO v_size, v_frontier
    FROM audit_heads h WHERE h.org_id = v_org AND h.tree_size <= p_tree_size
    ORDER BY h.tree_size DESC LIMIT 1;
  IF NOT FOUND THEN
    v_size := 0;
  ELSE
    FOR i IN 0 .. octet_length(v_frontier) / 32 - 1 LOOP
      v_stack := v_stack || substring(v_frontier FROM i * 32 + 1 FOR 32);
    END LOOP;
  END IF;
  -- RFC 6962 §2.1 as a compact range: push leaf hashes, merging equal-height subtrees.
  FOR v_hash IN
    SELECT e.hash FROM audit_events e WHERE e.org_id = v_org AND e.seq > v_size AND e.seq <= p_tree_size ORDER BY e.seq
  LOOP
    v_stack := v_stack || sha256('\x00'::bytea || v_hash);
    v_size := v_size + 1;
    v_carry := v_size;
    WHILE v_carry % 2 = 0 LOOP
      n := array_length(v_stack, 1);
      v_stack := v_stack[1:n - 2] || sha256('\x01'::bytea || v_stack[n - 1] || v_stack[n]);
      v_carry := v_carry / 2;
    END LOOP;
  END LOOP;
  IF v_size <> p_tree_size THEN
    RAISE EXCEPTION 'the chain has gaps below the head' USING ERRCODE = '22023';
  END IF;
  n := array_length(v_stack, 1);
  v_root := v_stack[n];
  FOR i IN REVERSE n - 1 .. 1 LOOP
    v_root := sha256('\x01'::bytea || v_stack[i] || v_root);
  END LOOP;
  IF v_root IS DISTINCT FROM p_root_hash THEN
    RAISE EXCEPTION 'the head''s root does not match the log' USING ERRCODE = '22023';
  END IF;
  INSERT INTO audit_heads (org_id, tree_size, root_hash, signed_at, key_id, signature, frontier)
    VALUES (v_org, p_tree_size, v_root, p_signed_at, p_key_id, p_signature,
            (SELECT string_agg(x, ''::bytea ORDER BY o) FROM unnest(v_stack) WITH ORDINALITY AS u(x, o)))
    ON CONFLICT (org_id, tree_size) DO NOTHING;
END
$$;

-- Retention (A6): blanks the content of the org's events of `p_class` recorded before
-- `p_before` — never later than the class's floor in audit_retention_floors allows — and deletes
-- their personal data, but only events covered by a head (whose root this database rebuilt), so
-- a pruned event's hash stays pinned. Returns how many events were pruned.
CREATE FUNCTION audit_prune(p_class text, p_before timestamptz)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = public, pg_temp
AS $$
DECLARE
  v_org uuid := current_org_id();
  v_signed bigint;
  v_count bigint;
BEGIN
  IF v_org IS NULL THEN
    RAISE EXCEPTION 'audit_prune needs a tenant transaction' USING ERRCODE = '42501';
  END IF;
  SELECT LEAST(p_before, now() - make_interval(days => f.days)) INTO p_before
    FROM audit_retention_floors f WHERE f.event_class = p_class;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown event class' USING ERRCODE = '22023';
  END IF;
  SELECT COALESCE(max(h.tree_size), 0) INTO v_signed FROM audit_heads h WHERE h.org_id = v_org;
  DELETE FROM audit_personal p
   USING audit_events e
   WHERE p.org_id = v_org AND e.org_id = p.org_id AND e.seq = p.seq
     AND e.event_class = p_class AND e.event_time < p_before AND e.seq <= v_signed AND e.canonical IS NOT NULL;
  UPDATE audit_events e SET canonical = NULL, pruned_at = now()
   WHERE e.org_id = v_org AND e.event_class = p_class AND e.event_time < p_before
     AND e.seq <= v_signed AND e.canonical IS NOT NULL;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;

REVOKE ALL ON FUNCTION audit_append(jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_record_head(bigint, bytea, timestamptz, text, bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_prune(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append(jsonb) TO strongroom_app;
GRANT EXECUTE ON FUNCTION audit_record_head(bigint, bytea, timestamptz, text, bytea) TO strongroom_app;
GRANT EXECUTE ON FUNCTION audit_prune(text, timestamptz) TO strongroom_app;
