-- Foundation: tenants and credentials, stores, members with identifiers and
-- phone numbers, tags, the timeline, the job queue and Message-ID replays.
-- Every member-owned row carries retailer_id and member_id, so the data can be
-- distributed by member.

CREATE TABLE retailers (
  id          uuid PRIMARY KEY,
  -- the numeric id SessionM calls rewards_system_id in timeline payloads
  number      integer GENERATED ALWAYS AS IDENTITY UNIQUE,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Credentials of the three surfaces. `key` is the public half (appkey, or the
-- id part of a POS token); the secret is kept only as a salted SHA-256.
CREATE TABLE credentials (
  id           uuid PRIMARY KEY,
  retailer_id  uuid NOT NULL REFERENCES retailers (id),
  surface      text NOT NULL CHECK (surface IN ('core', 'connect', 'pos')),
  key          text NOT NULL,
  secret_salt  bytea NOT NULL,
  secret_hash  bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz
);
CREATE UNIQUE INDEX credentials_surface_key ON credentials (surface, key);

CREATE TABLE stores (
  retailer_id  uuid NOT NULL REFERENCES retailers (id),
  id           uuid NOT NULL,
  name         text NOT NULL,
  external_id  text,
  time_zone    text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz,
  PRIMARY KEY (retailer_id, id)
);

-- The retailer's configured custom profile attributes and their defaults.
CREATE TABLE custom_attributes (
  retailer_id    uuid NOT NULL REFERENCES retailers (id),
  name           text NOT NULL,
  type           text NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'list', 'object')),
  default_value  jsonb,
  retired_at     timestamptz,
  PRIMARY KEY (retailer_id, name)
);

CREATE TABLE members (
  retailer_id        uuid NOT NULL REFERENCES retailers (id),
  id                 uuid NOT NULL,
  player_id          bigint GENERATED ALWAYS AS IDENTITY,
  lifecycle          text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('active', 'deleted', 'merged', 'forgotten')),
  email              text,
  first_name         text,
  last_name          text,
  gender             text,
  dob                date,
  address            text,
  address2           text,
  city               text,
  state              text,
  zip                text,
  country            text,
  dma                text,
  locale             text,
  opted_in           boolean NOT NULL DEFAULT false,
  activated          boolean NOT NULL DEFAULT false,
  suspended          boolean NOT NULL DEFAULT false,
  test_account       boolean NOT NULL DEFAULT false,
  account_status     text NOT NULL DEFAULT 'good',
  referrer_code      text NOT NULL,
  referred_by        uuid,
  profile_photo_url  text,
  user_profile       jsonb NOT NULL DEFAULT '{}',
  profile_version    integer NOT NULL DEFAULT 1,
  registered_at      timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, id)
);
CREATE UNIQUE INDEX members_player_id ON members (player_id);
CREATE UNIQUE INDEX members_email ON members (retailer_id, lower(email)) WHERE lifecycle = 'active' AND email IS NOT NULL;
CREATE UNIQUE INDEX members_referrer_code ON members (retailer_id, referrer_code);
CREATE INDEX members_name ON members (retailer_id, lower(last_name), lower(first_name)) WHERE lifecycle = 'active';

-- External ids, unique per retailer and type, compared case-insensitively.
CREATE TABLE member_identifiers (
  retailer_id       uuid NOT NULL,
  member_id         uuid NOT NULL,
  external_id       text NOT NULL,
  external_id_type  text NOT NULL DEFAULT '',
  position          integer NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE UNIQUE INDEX member_identifiers_unique ON member_identifiers (retailer_id, external_id_type, lower(external_id));
CREATE INDEX member_identifiers_lookup ON member_identifiers (retailer_id, lower(external_id));
CREATE INDEX member_identifiers_member ON member_identifiers (retailer_id, member_id);

CREATE TABLE member_phone_numbers (
  retailer_id         uuid NOT NULL,
  member_id           uuid NOT NULL,
  position            integer NOT NULL,
  phone_number        text NOT NULL,
  digits              text NOT NULL,
  phone_type          text NOT NULL DEFAULT 'mobile',
  preference_flags    jsonb NOT NULL DEFAULT '[]',
  verified_ownership  boolean NOT NULL DEFAULT false,
  PRIMARY KEY (retailer_id, member_id, position),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE INDEX member_phone_numbers_digits ON member_phone_numbers (retailer_id, digits);

-- Counter tags (expires_at null) and expiring tags (expires_at set).
CREATE TABLE member_tags (
  retailer_id  uuid NOT NULL,
  member_id    uuid NOT NULL,
  tag          text NOT NULL,
  count        integer NOT NULL,
  expires_at   timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, tag),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE INDEX member_tags_expiry ON member_tags (expires_at) WHERE expires_at IS NOT NULL;

-- Append-only stream of member events.
CREATE TABLE timeline_events (
  retailer_id    uuid NOT NULL,
  member_id      uuid NOT NULL,
  id             bigint GENERATED ALWAYS AS IDENTITY,
  stream_id      uuid NOT NULL,
  event_type_id  integer NOT NULL,
  occurred_at    timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  request_id     text,
  payload        jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (retailer_id, member_id, id)
);
CREATE INDEX timeline_events_page ON timeline_events (retailer_id, member_id, occurred_at DESC, id DESC);

-- Table-backed job queue, claimed with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue         text NOT NULL,
  payload       jsonb NOT NULL DEFAULT '{}',
  dedupe_key    text,
  run_at        timestamptz NOT NULL DEFAULT now(),
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL DEFAULT 10,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_ready ON jobs (run_at);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (queue, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- Answers to requests that carried a Message-ID (or Idempotency-Key) header.
CREATE TABLE message_replays (
  retailer_id    uuid NOT NULL,
  message_id     text NOT NULL,
  body_hash      text NOT NULL,
  status_code    integer,
  response_body  text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, message_id)
);
CREATE INDEX message_replays_age ON message_replays (created_at);
