-- The append-only histories (timeline, point ledger, rule achievements) are
-- read by member in time order and never by id: their primary keys are now
-- that order (a backward scan serves newest first), so each row written
-- maintains one index instead of two.
ALTER TABLE timeline_events DROP CONSTRAINT timeline_events_pkey, ADD PRIMARY KEY (retailer_id, member_id, occurred_at, id);
DROP INDEX timeline_events_page;

ALTER TABLE point_ledger DROP CONSTRAINT point_ledger_pkey, ADD PRIMARY KEY (retailer_id, member_id, effective_at, id);
DROP INDEX point_ledger_member_time;

ALTER TABLE rule_achievements DROP CONSTRAINT rule_achievements_pkey, ADD PRIMARY KEY (retailer_id, member_id, rule_id, achieved_at, id);
DROP INDEX rule_achievements_time;
