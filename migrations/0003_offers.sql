-- Offers and reward stores: the versioned offer catalog, offers issued to
-- members (user offers) with their lock and redemptions, reward stores and
-- the offers they sell for points.

-- One row per offer version: `id` is the version, `root_offer_id` the first
-- version; changing an offer adds a version and leaves the old ones as they were.
CREATE TABLE offers (
  retailer_id             uuid NOT NULL REFERENCES retailers (id),
  id                      uuid NOT NULL,
  root_offer_id           uuid NOT NULL,
  version                 integer NOT NULL,
  is_current              boolean NOT NULL DEFAULT true,
  offer_type              text NOT NULL,
  check_level             boolean NOT NULL DEFAULT true,
  amount                  numeric(19, 4) NOT NULL DEFAULT 0,
  max_recurrence          integer NOT NULL DEFAULT 1,
  allow_overage           boolean NOT NULL DEFAULT false,
  buy_count               integer NOT NULL DEFAULT 0,
  get_count               integer NOT NULL DEFAULT 1,
  status                  smallint NOT NULL DEFAULT 1,
  internal_title          text NOT NULL,
  division_id             text NOT NULL DEFAULT 'root',
  acquisition_start_date  timestamptz,
  acquisition_end_date    timestamptz,
  redemption_start_date   timestamptz,
  redemption_end_date     timestamptz,
  -- redemption window relative to acquisition (days); null: the fixed dates
  redemption_days         integer,
  does_not_expire         boolean NOT NULL DEFAULT false,
  points                  numeric(19, 4) NOT NULL DEFAULT 0,
  monetary_value          numeric(19, 4) NOT NULL DEFAULT 0,
  pos_discount_id         text,
  requires_extended_data  boolean NOT NULL DEFAULT false,
  time_zone_settings      jsonb NOT NULL DEFAULT '{"AcquisitionTimeZone":"Etc/UTC","RedemptionTimeZone":"Etc/UTC"}',
  -- [{id, culture, title, description, terms}]
  texts                   jsonb NOT NULL DEFAULT '[]',
  default_culture         text NOT NULL DEFAULT 'en',
  -- [{id, uri, category_id, category_name, content_type, culture}]
  media                   jsonb NOT NULL DEFAULT '[]',
  -- {purchase: {...}, redemption: {...}, location: {store_ids}, catalog: {item_ids, category_ids, qualifying_item_ids, qualifying_category_ids}}
  restrictions            jsonb NOT NULL DEFAULT '{}',
  parent_offer_ids        uuid[] NOT NULL DEFAULT '{}',
  total_inventory         integer,
  created_at              timestamptz NOT NULL DEFAULT now(),
  retired_at              timestamptz,
  PRIMARY KEY (retailer_id, id)
);
CREATE UNIQUE INDEX offers_current ON offers (retailer_id, root_offer_id) WHERE is_current;
CREATE UNIQUE INDEX offers_version ON offers (retailer_id, root_offer_id, version);

-- Offers issued to members. status: 1 issued, 2 redeemed, 3 revoked, 4 expired, 5 locked.
CREATE TABLE user_offers (
  retailer_id            uuid NOT NULL,
  member_id              uuid NOT NULL,
  id                     uuid NOT NULL,
  offer_id               uuid NOT NULL,
  root_offer_id          uuid NOT NULL,
  status                 smallint NOT NULL DEFAULT 1,
  acquired_at            timestamptz NOT NULL DEFAULT now(),
  redemption_start_date  timestamptz,
  redemption_end_date    timestamptz,
  quantity               integer NOT NULL DEFAULT 1,
  remaining_uses         integer NOT NULL DEFAULT 1,
  custom_data            text,
  pending_extended_data  boolean NOT NULL DEFAULT false,
  -- a short case-insensitive code the POS can look the offer up by
  redemption_code        text NOT NULL,
  lock_key               text,
  locked_at              timestamptz,
  locked_store_id        uuid,
  redeemed_at            timestamptz,
  redeemed_store_id      uuid,
  revoked_at             timestamptz,
  revoke_reason          text,
  -- how it was acquired: issue, purchase, rule, demo
  source                 text NOT NULL DEFAULT 'issue',
  reward_store_offer_id  uuid,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id),
  FOREIGN KEY (retailer_id, offer_id) REFERENCES offers (retailer_id, id)
);
CREATE INDEX user_offers_member ON user_offers (retailer_id, member_id, acquired_at DESC);
CREATE INDEX user_offers_offer ON user_offers (retailer_id, root_offer_id, status);
CREATE UNIQUE INDEX user_offers_code ON user_offers (retailer_id, lower(redemption_code));

-- Each use of a user offer; reinstating reverts the latest one.
CREATE TABLE offer_redemptions (
  retailer_id      uuid NOT NULL,
  member_id        uuid NOT NULL,
  id               bigint GENERATED ALWAYS AS IDENTITY,
  user_offer_id    uuid NOT NULL,
  store_id         uuid,
  transaction_key  text,
  discount_amount  numeric(19, 4) NOT NULL DEFAULT 0,
  manual           boolean NOT NULL DEFAULT false,
  redeemed_at      timestamptz NOT NULL DEFAULT now(),
  reinstated_at    timestamptz,
  PRIMARY KEY (retailer_id, id)
);
CREATE INDEX offer_redemptions_user_offer ON offer_redemptions (retailer_id, user_offer_id, id DESC);

CREATE TABLE reward_stores (
  retailer_id       uuid NOT NULL REFERENCES retailers (id),
  id                uuid NOT NULL,
  internal_name     text NOT NULL,
  -- [{culture, name, description}]
  texts             jsonb NOT NULL DEFAULT '[]',
  point_account_id  uuid NOT NULL,
  start_date        timestamptz,
  end_date          timestamptz,
  -- {tier_level_ids: [], tags: []}: a member qualifies by any listed level or tag; empty: everyone
  eligibility       jsonb NOT NULL DEFAULT '{}',
  retired_at        timestamptz,
  PRIMARY KEY (retailer_id, id)
);

CREATE TABLE reward_store_offers (
  retailer_id         uuid NOT NULL,
  id                  uuid NOT NULL,
  reward_store_id     uuid NOT NULL,
  root_offer_id       uuid NOT NULL,
  price               numeric(19, 4) NOT NULL,
  start_date          timestamptz,
  end_date            timestamptz,
  -- purchases allowed in all and per member; null: no limit
  total_limit         integer,
  per_member_limit    integer,
  retired_at          timestamptz,
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, reward_store_id) REFERENCES reward_stores (retailer_id, id)
);
CREATE INDEX reward_store_offers_store ON reward_store_offers (retailer_id, reward_store_id);
CREATE INDEX user_offers_store_offer ON user_offers (retailer_id, reward_store_offer_id) WHERE reward_store_offer_id IS NOT NULL;
