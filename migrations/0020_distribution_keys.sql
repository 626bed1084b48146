-- Distribution keys (issue 23): on a distributed PostgreSQL (Citus, or an
-- engine speaking its dialect) the member-owned and retailer-owned tables are
-- distributed by retailer_id, and such an engine enforces a primary key or a
-- unique constraint only when it includes the distribution column. Four did
-- not; each now includes retailer_id (src/db/distribution.ts classifies every
-- table, docs/scaling.md says how to distribute them). No uniqueness is lost:
-- the identity columns and random UUIDs these keys hold never repeat a value,
-- and every statement that finds a row by one of them names its retailer too.

-- the SessionM player id: an identity, read only within its retailer (sorting a retailer's members)
DROP INDEX members_player_id;
CREATE UNIQUE INDEX members_player_id ON members (retailer_id, player_id);

-- the ids of a member's point account and tier placement (random UUIDs, answered to clients)
ALTER TABLE member_point_accounts DROP CONSTRAINT member_point_accounts_id_key, ADD CONSTRAINT member_point_accounts_id_key UNIQUE (retailer_id, id);
ALTER TABLE member_tiers DROP CONSTRAINT member_tiers_id_key, ADD CONSTRAINT member_tiers_id_key UNIQUE (retailer_id, id);

-- privacy request ids stay numbers unique over all requests (the identity), found by retailer and id
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_pkey, ADD PRIMARY KEY (retailer_id, id);
