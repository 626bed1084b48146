-- Credential rotation: a rotated secret stays valid until expires_at (the
-- overlap) beside the new one, which is a new row with the same key. So a key
-- may have several rows, of which at most one is current (neither revoked nor
-- expiring).
ALTER TABLE credentials ADD COLUMN expires_at timestamptz;
DROP INDEX credentials_surface_key;
CREATE INDEX credentials_surface_key ON credentials (surface, key);
CREATE UNIQUE INDEX credentials_current_key ON credentials (surface, key) WHERE revoked_at IS NULL AND expires_at IS NULL;
CREATE INDEX credentials_retailer ON credentials (retailer_id, created_at);
