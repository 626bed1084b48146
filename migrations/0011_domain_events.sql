-- The outbox: every state change another system may care about records a
-- domain event here, in the transaction of the change. `position` orders
-- them (per member it is the commit order, since a member's changes are
-- serialised by its lock); `tx_id` lets a reader wait for transactions still
-- in flight, so a position it has passed is never filled in later.
-- Written on every hot path, so it carries no foreign key (checking one locks
-- the retailer's row in every writing transaction) and few indexes: the feed
-- reads by retailer and position, pruning by
-- time (a BRIN index: events arrive in time order).
CREATE TABLE domain_events (
  retailer_id  uuid NOT NULL,
  position     bigint GENERATED ALWAYS AS IDENTITY,
  id           uuid NOT NULL,
  member_id    uuid,
  type         text NOT NULL,
  version      integer NOT NULL,
  occurred_at  timestamptz NOT NULL,
  payload      jsonb NOT NULL,
  tx_id        xid8 NOT NULL DEFAULT pg_current_xact_id(),
  PRIMARY KEY (retailer_id, position)
);
CREATE INDEX domain_events_occurred ON domain_events USING brin (occurred_at);
