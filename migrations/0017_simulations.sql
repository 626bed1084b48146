-- Simulations (issue 20): a draft program replayed against a window of the
-- retailer's recorded events and POS transactions, beside the live program.
-- A simulation runs in the server that was asked; `progress` (0–1) and
-- `heartbeat_at` move while it runs, `result` holds the report once done.
CREATE TABLE simulations (
  retailer_id   uuid NOT NULL REFERENCES retailers (id),
  id            uuid NOT NULL,
  status        text NOT NULL DEFAULT 'running',
  request       jsonb NOT NULL,
  progress      numeric(5, 4) NOT NULL DEFAULT 0,
  result        jsonb,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  PRIMARY KEY (retailer_id, id)
);
