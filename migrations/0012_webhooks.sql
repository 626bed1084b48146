-- Webhook endpoints of a retailer and the deliveries of domain events to them.
-- The dispatcher copies each endpoint's matching events from the outbox
-- (after its cursor) into deliveries, then sends them: a delivery is claimed
-- with a lease (a process that dies mid-delivery loses it when the lease ends),
-- retried on a schedule, and kept with its attempts when it succeeds or fails.
CREATE TABLE webhook_endpoints (
  retailer_id   uuid NOT NULL REFERENCES retailers (id),
  id            uuid NOT NULL,
  url           text NOT NULL,
  description   text,
  event_types   text[] NOT NULL DEFAULT '{}',
  enabled       boolean NOT NULL DEFAULT true,
  disabled_reason text,
  -- signing secrets (whsec_…), newest first; a rotated one signs until expires_at
  secrets       jsonb NOT NULL,
  -- the (transaction, position) up to which events were copied into deliveries
  cursor_tx     xid8 NOT NULL,
  cursor        bigint NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, id)
);

CREATE TABLE webhook_deliveries (
  retailer_id     uuid NOT NULL,
  endpoint_id     uuid NOT NULL,
  position        bigint NOT NULL,
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  member_id       uuid,
  -- pending (waiting or due), delivering (leased), succeeded, failed (retries exhausted)
  status          text NOT NULL DEFAULT 'pending',
  attempts        jsonb NOT NULL DEFAULT '[]',
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_until     timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, endpoint_id, position),
  FOREIGN KEY (retailer_id, endpoint_id) REFERENCES webhook_endpoints (retailer_id, id) ON DELETE CASCADE
);
-- what is still to deliver, in position order (the dispatcher looks at the earliest of it)
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (retailer_id, endpoint_id, position) WHERE status IN ('pending', 'delivering');
