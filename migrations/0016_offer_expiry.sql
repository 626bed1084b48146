-- The worker expires issued (or locked) user offers past their redemption end, soonest first.
CREATE INDEX user_offers_ending ON user_offers (redemption_end_date) WHERE status IN (1, 5) AND redemption_end_date IS NOT NULL;
