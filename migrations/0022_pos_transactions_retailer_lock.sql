-- No row lock on the retailer in every POS transaction (issue 23). The foreign
-- key from pos_transactions to retailers made each insert lock the retailer's
-- row (FOR KEY SHARE): the one row all of a retailer's transactions share, so
-- concurrent ones shared that lock through a new multixact each (5.5 multixact
-- page accesses and a WAL record per send_transaction in bench/flow.mjs).
-- A member's transaction still references its member, whose row the
-- transaction locks anyway; an anonymous one has no other tie to check: its
-- retailer_id is the authenticated credential's, and retailers are never
-- deleted.
ALTER TABLE pos_transactions DROP CONSTRAINT pos_transactions_retailer_id_fkey;
