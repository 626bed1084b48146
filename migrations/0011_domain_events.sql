-- The outbox: every state change another system may care about records a
-- domain event here, in the transaction of the change. `position` orders
-- them (per member it is the commit order, since a member's changes are
-- serialised by its lock); `tx_id` lets a reader wait for transactions still
-- in flight, so a position it has passed is never filled in later.
CREATE TABLE domain_events (
  position     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id           uuid NOT NULL UNIQUE,
  retailer_id  uuid NOT NULL REFERENCES retailers (id),
  member_id    uuid,
  type         text NOT NULL,
  version      integer NOT NULL,
  occurred_at  timestamptz NOT NULL,
  payload      jsonb NOT NULL,
  tx_id        xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX domain_events_retailer ON domain_events (retailer_id, position);
CREATE INDEX domain_events_member ON domain_events (retailer_id, member_id, position);
CREATE INDEX domain_events_occurred ON domain_events (occurred_at);
