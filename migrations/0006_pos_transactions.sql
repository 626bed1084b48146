-- Point of sale transactions (SPEC §5.9, issue 6): what a till sent with
-- send_transaction, unique per (retailer, store, transaction_id), and the
-- loyalty effects it had, so that a void can reverse them exactly once.

CREATE TABLE pos_transactions (
  retailer_id      uuid NOT NULL REFERENCES retailers (id),
  id               uuid NOT NULL,
  store_id         uuid NOT NULL,
  -- the till's own transaction id
  transaction_id   text NOT NULL,
  -- null: an anonymous transaction (claimable with its receipt_code)
  member_id        uuid,
  channel          text,
  employee_id      text,
  table_id         text,
  guest_count      integer,
  subtotal         numeric(20, 4) NOT NULL DEFAULT 0,
  tax_total        numeric(20, 4) NOT NULL DEFAULT 0,
  open_time        timestamptz,
  modified_time    timestamptz,
  items            jsonb NOT NULL DEFAULT '[]',
  payments         jsonb NOT NULL DEFAULT '[]',
  discounts        jsonb NOT NULL DEFAULT '[]',
  receipt_code     text,
  -- what the transaction earned: [{point_account_id, amount}] (amounts as decimal strings)
  earned           jsonb NOT NULL DEFAULT '[]',
  -- the user offers it redeemed
  redeemed_user_offer_ids jsonb NOT NULL DEFAULT '[]',
  is_voided        boolean NOT NULL DEFAULT false,
  voided_at        timestamptz,
  claimed_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  request_id       text,
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE UNIQUE INDEX pos_transactions_key ON pos_transactions (retailer_id, store_id, transaction_id);
CREATE INDEX pos_transactions_member ON pos_transactions (retailer_id, member_id, created_at DESC) WHERE member_id IS NOT NULL;
CREATE INDEX pos_transactions_receipt ON pos_transactions (retailer_id, lower(receipt_code)) WHERE receipt_code IS NOT NULL;

-- the offers locked to a transaction, found when the transaction is sent
CREATE INDEX user_offers_lock_key ON user_offers (retailer_id, lock_key) WHERE lock_key IS NOT NULL;
-- the redemptions a transaction made, found when it is voided
CREATE INDEX offer_redemptions_transaction ON offer_redemptions (retailer_id, transaction_key) WHERE transaction_key IS NOT NULL;
