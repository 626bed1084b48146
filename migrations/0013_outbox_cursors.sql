-- How far a consumer of the whole outbox (the NATS publisher) has got: the
-- position of the last event it handed on. One row per consumer, locked while
-- it publishes, so one process publishes at a time, in position order.
CREATE TABLE outbox_cursors (
  consumer    text PRIMARY KEY,
  position    bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- whole-outbox readers scan by position alone: events arrive in position
-- order, so a BRIN index finds the recent ones at almost no cost to writers
CREATE INDEX domain_events_position ON domain_events USING brin (position);
