-- Points and tiers: point accounts and sources, each member's point accounts
-- (balance and lifetime value), the append-only ledger, idempotency of point
-- operations, tier systems with levels, and members' tier levels.

CREATE TABLE point_accounts (
  retailer_id          uuid NOT NULL REFERENCES retailers (id),
  id                   uuid NOT NULL,
  name                 text NOT NULL,
  grouping_label       text NOT NULL DEFAULT '',
  is_default           boolean NOT NULL DEFAULT false,
  allow_negative       boolean NOT NULL DEFAULT false,
  maximum_balance      numeric(19, 4),
  counts_toward_tiers  boolean NOT NULL DEFAULT false,
  active               boolean NOT NULL DEFAULT true,
  -- the order of the program file: "oldest first" when spending from defaults
  position             integer NOT NULL,
  retired_at           timestamptz,
  PRIMARY KEY (retailer_id, id)
);

CREATE TABLE point_sources (
  retailer_id  uuid NOT NULL REFERENCES retailers (id),
  id           uuid NOT NULL,
  name         text NOT NULL,
  -- accounts this source may deposit into; empty: any
  account_ids  uuid[] NOT NULL DEFAULT '{}',
  retired_at   timestamptz,
  PRIMARY KEY (retailer_id, id)
);

-- A member's user point account: created on first use.
CREATE TABLE member_point_accounts (
  retailer_id        uuid NOT NULL,
  member_id          uuid NOT NULL,
  point_account_id   uuid NOT NULL,
  id                 uuid NOT NULL UNIQUE,
  available_balance  numeric(19, 4) NOT NULL DEFAULT 0,
  life_time_value    numeric(19, 4) NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, point_account_id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);

-- Append-only: every change of a balance is one entry, written in the same
-- transaction as the balance. Reversals and returns are new entries.
CREATE TABLE point_ledger (
  retailer_id        uuid NOT NULL,
  member_id          uuid NOT NULL,
  id                 bigint GENERATED ALWAYS AS IDENTITY,
  point_account_id   uuid NOT NULL,
  amount             numeric(19, 4) NOT NULL,
  balance_after      numeric(19, 4) NOT NULL,
  modification_type  text NOT NULL,
  point_source_id    uuid,
  reference_id       text,
  reference_type     text,
  transaction_id     text,
  idempotency_id     text,
  request_id         text,
  effective_at       timestamptz NOT NULL,
  inserted_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, id)
);
CREATE INDEX point_ledger_member_time ON point_ledger (retailer_id, member_id, effective_at DESC, id DESC);

-- One row per idempotency_id: the answer of the detail it applied.
CREATE TABLE point_idempotency (
  retailer_id     uuid NOT NULL,
  idempotency_id  text NOT NULL,
  member_id       uuid NOT NULL,
  result          jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, idempotency_id)
);

CREATE TABLE tier_systems (
  retailer_id     uuid NOT NULL REFERENCES retailers (id),
  id              uuid NOT NULL,
  name            text NOT NULL,
  -- points count within this many days (qualifying and maintenance); null: lifetime
  period_days     integer,
  retired_at      timestamptz,
  PRIMARY KEY (retailer_id, id)
);

CREATE TABLE tier_levels (
  retailer_id     uuid NOT NULL,
  tier_system_id  uuid NOT NULL,
  id              uuid NOT NULL,
  name            text NOT NULL,
  rank            integer NOT NULL,
  -- [{point_account_id, points}]: all must be met to qualify
  thresholds      jsonb NOT NULL DEFAULT '[]',
  retired_at      timestamptz,
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, tier_system_id) REFERENCES tier_systems (retailer_id, id)
);

CREATE TABLE member_tiers (
  retailer_id                 uuid NOT NULL,
  member_id                   uuid NOT NULL,
  tier_system_id              uuid NOT NULL,
  id                          uuid NOT NULL UNIQUE,
  tier_level_id               uuid NOT NULL,
  join_date                   timestamptz NOT NULL DEFAULT now(),
  next_maintenance_eval_date  timestamptz,
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, tier_system_id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE INDEX member_tiers_maintenance ON member_tiers (next_maintenance_eval_date) WHERE next_maintenance_eval_date IS NOT NULL;
