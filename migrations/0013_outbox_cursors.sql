-- How far a consumer of the whole outbox (the NATS publisher) has got: the
-- position of the last event it handed on. One row per consumer, locked while
-- it publishes, so one process publishes at a time, in position order.
CREATE TABLE outbox_cursors (
  consumer    text PRIMARY KEY,
  tx_id       xid8 NOT NULL,
  position    bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- whole-outbox readers scan by transaction, across retailers
CREATE INDEX domain_events_tx_all ON domain_events (tx_id, position);
