-- A relay (the NATS publisher, the webhook fan-out) starts with the snapshot
-- of the moment it was opened: it hands on the events of every transaction
-- not visible in that snapshot (those still running then commit later, and
-- are its to send), none of those committed before. The same holds for a
-- webhook endpoint: it receives the events not visible in the snapshot
-- taken when it was added. Webhook fan-out becomes one relay of the whole
-- outbox (consumer 'webhooks'), one scan for all endpoints, instead of a
-- cursor per endpoint that each scanned its retailer's events.
ALTER TABLE outbox_cursors ADD COLUMN since pg_snapshot;
-- relays opened before this migration hand on everything after their cursor
UPDATE outbox_cursors SET since = '1:1:';
ALTER TABLE outbox_cursors ALTER COLUMN since SET NOT NULL, ALTER COLUMN since SET DEFAULT pg_current_snapshot();

ALTER TABLE webhook_endpoints ADD COLUMN since pg_snapshot;
UPDATE webhook_endpoints SET since = '1:1:';
ALTER TABLE webhook_endpoints ALTER COLUMN since SET NOT NULL, ALTER COLUMN since SET DEFAULT pg_current_snapshot();
-- the fan-out goes on from the endpoint furthest behind (deliveries already made are not made again)
INSERT INTO outbox_cursors (consumer, tx_id, position, since)
  SELECT 'webhooks', cursor_tx, cursor, '1:1:' FROM webhook_endpoints WHERE enabled ORDER BY cursor_tx, cursor LIMIT 1;
ALTER TABLE webhook_endpoints DROP COLUMN cursor_tx, DROP COLUMN cursor;
