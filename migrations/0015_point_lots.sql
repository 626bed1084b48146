-- Points as lots. Each deposit that expires goes into a lot of its account:
-- an open one (available) shared by the deposits that expire at the same
-- instant (a bucket), or a pending one of its own until it becomes
-- available. Points that never expire are the balance beyond the open lots
-- (no row: an account without a policy writes no lot at all). Spends draw
-- from the open lots soonest-expiring first, the never-expiring rest last,
-- and record what they drew (point_ledger.lots), so that a return can put
-- points back where they came from. A lot is unavailable from its
-- expires_at instant; the worker then writes it off (an `expiry` entry).
-- The balance (available_balance, the ledger's sum) is the open lots and
-- the never-expiring rest, less any debt a forced spend left: while it is
-- negative, every lot is empty. Balances held before this migration never
-- expire: they are that rest.

-- the account's expiry policy ({policy, after, round_to, month, day, time_zone}; null: never),
-- how long deposits stay pending, and how long before expiry members are told
ALTER TABLE point_accounts ADD COLUMN expiry jsonb;
ALTER TABLE point_accounts ADD COLUMN pending_for text;
ALTER TABLE point_accounts ADD COLUMN expiry_notice text;

-- points deposited but pending, and the earliest instant a lot of the account
-- expires or becomes available (null: none will): reads count lots past it at
-- once, the worker settles the account from it
ALTER TABLE member_point_accounts ADD COLUMN pending_balance numeric(19, 4) NOT NULL DEFAULT 0;
ALTER TABLE member_point_accounts ADD COLUMN next_change_at timestamptz;
CREATE INDEX member_point_accounts_due ON member_point_accounts (next_change_at) WHERE next_change_at IS NOT NULL;

CREATE TABLE point_lots (
  retailer_id       uuid NOT NULL,
  member_id         uuid NOT NULL,
  point_account_id  uuid NOT NULL,
  id                bigint GENERATED ALWAYS AS IDENTITY,
  -- pending (not yet available), open (available), expired (written off), merged (a pending lot
  -- that became available into the open lot of its expiry: merged_into; a merged member's lot
  -- into the survivor's), cancelled (a pending lot taken back entirely)
  state             text NOT NULL,
  -- the open lot a deposit joins: its expiry instant (or 'never', or 'inactivity': one lot whose expiry
  -- moves with every earn and spend)
  bucket            text NOT NULL,
  amount            numeric(19, 4) NOT NULL,
  remaining         numeric(19, 4) NOT NULL,
  earned_at         timestamptz NOT NULL,
  expires_at        timestamptz,
  available_at      timestamptz,
  -- when the member is told these points expire (points.expiring, expiry_notice before); null once told
  notify_at         timestamptz,
  -- a pending lot's deposit: a take-back of that transaction cancels it first
  transaction_id    text,
  merged_into       bigint,
  PRIMARY KEY (retailer_id, member_id, id)
);
CREATE UNIQUE INDEX point_lots_bucket ON point_lots (retailer_id, member_id, point_account_id, bucket) WHERE state = 'open';
CREATE INDEX point_lots_pending ON point_lots (retailer_id, member_id, point_account_id) WHERE state = 'pending';

-- what a spend drew from, and a return put back: [[lot id, amount], …]
ALTER TABLE point_ledger ADD COLUMN lots jsonb;

