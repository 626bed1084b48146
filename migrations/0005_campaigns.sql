-- Campaigns (promotions), their behaviours and goals, and each member's
-- progress (SPEC §5.8, issue 5). Configuration comes from the program's
-- `campaigns` section; retired rows are kept, never deleted.

CREATE TABLE campaigns (
  retailer_id        uuid NOT NULL REFERENCES retailers (id),
  id                 integer NOT NULL,
  permalink          text NOT NULL,
  name               text NOT NULL,
  start_date         timestamptz NOT NULL,
  end_date           timestamptz,
  division_id        text,
  group_id           integer,
  creative_id        integer,
  -- the v2 answer's creative_ids (integers)
  creative_ids       jsonb NOT NULL DEFAULT '[]',
  template_type      text NOT NULL DEFAULT 'internal_behavior',
  -- {tags?: [], tier_level_ids?: [], attributes?: {name: value}}: every listed part must hold; {}: everyone
  audience           jsonb NOT NULL DEFAULT '{}',
  opt_in_required    boolean NOT NULL DEFAULT false,
  opt_in_start       timestamptz,
  opt_in_end         timestamptz,
  -- where behaviour and goal points go; null: the retailer's first default account
  point_account_id   uuid,
  position           integer NOT NULL DEFAULT 0,
  retired_at         timestamptz,
  PRIMARY KEY (retailer_id, id)
);
CREATE UNIQUE INDEX campaigns_permalink ON campaigns (retailer_id, lower(permalink)) WHERE retired_at IS NULL;

-- A behaviour (SessionM achievement). Repetition fields: null or -1 means unlimited / none.
CREATE TABLE campaign_behaviors (
  retailer_id                      uuid NOT NULL,
  id                               integer NOT NULL,
  campaign_id                      integer NOT NULL,
  position                         integer NOT NULL DEFAULT 0,
  name                             text NOT NULL,
  external_behavior_id             uuid NOT NULL,
  event_name                       text NOT NULL,
  type                             text NOT NULL CHECK (type IN ('composite', 'count', 'unique')),
  points                           integer NOT NULL DEFAULT 0,
  max_times_repeatable             integer,
  max_times_repeatable_per_period  integer,
  period                           integer,
  min_time_between_events          integer,
  consecutive                      boolean NOT NULL DEFAULT false,
  retired_at                       timestamptz,
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, campaign_id) REFERENCES campaigns (retailer_id, id)
);
CREATE INDEX campaign_behaviors_campaign ON campaign_behaviors (retailer_id, campaign_id);

-- A goal of a behaviour: counts occurrences of an event up to earn_count. A
-- count or unique behaviour has exactly one goal (named like the behaviour).
CREATE TABLE campaign_goals (
  retailer_id                      uuid NOT NULL,
  behavior_id                      integer NOT NULL,
  name                             text NOT NULL,
  position                         integer NOT NULL DEFAULT 0,
  group_id                         text NOT NULL DEFAULT '0',
  event_name                       text NOT NULL,
  earn_count                       integer NOT NULL DEFAULT 1,
  required                         boolean NOT NULL DEFAULT true,
  points                           integer NOT NULL DEFAULT 0,
  max_times_repeatable             integer,
  max_times_repeatable_per_period  integer,
  period                           integer,
  min_time_between_events          integer,
  consecutive                      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (retailer_id, behavior_id, name),
  FOREIGN KEY (retailer_id, behavior_id) REFERENCES campaign_behaviors (retailer_id, id)
);
CREATE INDEX campaign_goals_event ON campaign_goals (retailer_id, lower(event_name));

-- A member's standing in a campaign: opt-in and the last state written.
CREATE TABLE member_campaigns (
  retailer_id   uuid NOT NULL,
  member_id     uuid NOT NULL,
  campaign_id   integer NOT NULL,
  opted_in_at   timestamptz,
  state         text NOT NULL DEFAULT 'qualified',
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, campaign_id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);

-- A member's progress on a behaviour: completions, and the times the limits look at.
CREATE TABLE member_behaviors (
  retailer_id        uuid NOT NULL,
  member_id          uuid NOT NULL,
  behavior_id        integer NOT NULL,
  campaign_id        integer NOT NULL,
  achieved           integer NOT NULL DEFAULT 0,
  -- the latest completion times (newest last), for per-period limits
  achieved_at        timestamptz[] NOT NULL DEFAULT '{}',
  last_event_at      timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, behavior_id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);

-- A member's progress on a goal in the behaviour's current cycle.
CREATE TABLE member_goals (
  retailer_id        uuid NOT NULL,
  member_id          uuid NOT NULL,
  behavior_id        integer NOT NULL,
  goal_name          text NOT NULL,
  current_count      integer NOT NULL DEFAULT 0,
  completed          boolean NOT NULL DEFAULT false,
  achieved           integer NOT NULL DEFAULT 0,
  achieved_at        timestamptz[] NOT NULL DEFAULT '{}',
  last_event_at      timestamptz,
  -- unique behaviours: the distinct values (stores) counted in this cycle
  seen               text[] NOT NULL DEFAULT '{}',
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (retailer_id, member_id, behavior_id, goal_name),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
