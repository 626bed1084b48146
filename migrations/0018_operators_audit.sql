-- Operators and the audit trail (issue 21): the people who run programs,
-- their role per retailer, their sessions and personal API tokens, and an
-- append-only record of every admin write.

-- An operator signs in with an email and a password (scrypt, see
-- modules/operators/passwords.ts); an invited operator has no password until
-- they accept the invitation. `superadmin`: every retailer, and creating them.
CREATE TABLE operators (
  id                   uuid PRIMARY KEY,
  email                text NOT NULL,
  name                 text NOT NULL,
  password_hash        text,
  superadmin           boolean NOT NULL DEFAULT false,
  created_at           timestamptz NOT NULL DEFAULT now(),
  password_changed_at  timestamptz
);
CREATE UNIQUE INDEX operators_email ON operators (lower(email));

-- One role per retailer an operator may act for.
CREATE TABLE operator_roles (
  operator_id  uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  retailer_id  uuid NOT NULL REFERENCES retailers (id),
  role         text NOT NULL CHECK (role IN ('owner', 'marketer', 'support', 'viewer')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (operator_id, retailer_id)
);
CREATE INDEX operator_roles_retailer ON operator_roles (retailer_id);

-- A signed-in browser: the cookie holds the token, the table its SHA-256.
-- It ends after `idle` without a request, or at `expires_at` at the latest.
CREATE TABLE operator_sessions (
  token_hash    bytea PRIMARY KEY,
  operator_id   uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  address       text,
  user_agent    text
);
CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);

-- Personal API tokens for scripts: `lop_<id>_<secret>`, the secret kept as
-- its SHA-256. A token for one retailer acts with at most `role` there.
CREATE TABLE operator_tokens (
  id            uuid PRIMARY KEY,
  operator_id   uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  name          text NOT NULL,
  secret_hash   bytea NOT NULL,
  retailer_id   uuid REFERENCES retailers (id),
  role          text CHECK (role IN ('owner', 'marketer', 'support', 'viewer')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX operator_tokens_operator ON operator_tokens (operator_id);

-- An invitation sets an invited operator's first password (its token's SHA-256).
CREATE TABLE operator_invitations (
  token_hash   bytea PRIMARY KEY,
  operator_id  uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz
);

-- Failed sign-ins, per account (`email:…`) and per address (`address:…`), for rate limiting.
CREATE TABLE login_failures (
  key  text NOT NULL,
  at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key ON login_failures (key, at);

-- Every admin write, recorded in the transaction that made it. Append-only:
-- no statement may change or remove a record.
CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  retailer_id  uuid,
  at           timestamptz NOT NULL DEFAULT now(),
  actor_type   text NOT NULL CHECK (actor_type IN ('operator', 'operator_token', 'admin_token')),
  actor_id     uuid,
  actor_email  text,
  address      text,
  user_agent   text,
  action       text NOT NULL,
  object_type  text NOT NULL,
  object_id    text,
  request_id   text,
  before       jsonb,
  after        jsonb
);
CREATE INDEX audit_log_retailer ON audit_log (retailer_id, id DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
