-- Point of sale returns, modifications and voids (issue 6): the campaign goals
-- a purchase advanced, each with the completion counts of its goal and
-- behaviour right after ([{behavior_id, goal, achieved, behavior_achieved}]),
-- so that a void takes back that progress while it is still in the same cycle.
ALTER TABLE pos_transactions ADD COLUMN campaign_goals jsonb NOT NULL DEFAULT '[]';
