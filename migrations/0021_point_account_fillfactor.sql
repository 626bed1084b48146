-- Room for HOT updates in member_point_accounts (issue 23): every deposit,
-- spend and earning POS transaction updates the member's account rows
-- (balance, lifetime value, updated_at; no indexed column). A full page cannot
-- hold the new row version beside the old one, so the update moves it to
-- another page and inserts it into the table's two unique indexes: two more
-- random index pages dirtied and, after each checkpoint, written whole to the
-- WAL. With 1,000,000 members, whose rows are updated far apart in time, 45%
-- of the updates were of that kind; with 10% of each page kept free, none.
-- (Pages written before this keep their fill until rewritten: VACUUM FULL.)
ALTER TABLE member_point_accounts SET (fillfactor = 90);
