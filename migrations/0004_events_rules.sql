-- Member events and the rules engine: events members (or integrations) send,
-- the retailer's rules as declarative data, and each rule a member achieved
-- (what enforces the rule's limits, under the member's row lock).

-- Named events of members (custom events, and later purchases). `occurred_at`
-- is the event's own date (processing time when it came without one);
-- `received_at` when the server recorded it.
CREATE TABLE member_events (
  retailer_id  uuid NOT NULL,
  member_id    uuid NOT NULL,
  id           uuid NOT NULL,
  name         text NOT NULL,
  qty          integer NOT NULL DEFAULT 1,
  occurred_at  timestamptz NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  context      jsonb NOT NULL DEFAULT '{}',
  request_id   text,
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
-- counting a member's events of one name within a period: an index range scan
CREATE INDEX member_events_count ON member_events (retailer_id, member_id, lower(name), occurred_at);

-- Rules: a trigger (`trigger` is event, purchase, signup, profile_change, tag
-- or tier_change; `trigger_name` the event name, tag or tier level it
-- names, '' for any), conditions, limits and outcomes as JSON documents.
CREATE TABLE rules (
  retailer_id   uuid NOT NULL REFERENCES retailers (id),
  id            uuid NOT NULL,
  name          text NOT NULL,
  trigger       text NOT NULL,
  trigger_name  text NOT NULL DEFAULT '',
  conditions    jsonb,
  limits        jsonb NOT NULL DEFAULT '{}',
  outcomes      jsonb NOT NULL DEFAULT '[]',
  position      integer NOT NULL DEFAULT 0,
  active        boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  retired_at    timestamptz,
  PRIMARY KEY (retailer_id, id)
);
CREATE INDEX rules_trigger ON rules (retailer_id, trigger, lower(trigger_name)) WHERE retired_at IS NULL AND active;

-- One row per time a member achieved a rule; `achieved_at` is the time of the
-- event that achieved it (its own date when it had one).
CREATE TABLE rule_achievements (
  retailer_id  uuid NOT NULL,
  member_id    uuid NOT NULL,
  rule_id      uuid NOT NULL,
  id           bigint GENERATED ALWAYS AS IDENTITY,
  event_id     uuid,
  achieved_at  timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  outcomes     jsonb NOT NULL DEFAULT '[]',
  request_id   text,
  PRIMARY KEY (retailer_id, member_id, rule_id, id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE INDEX rule_achievements_time ON rule_achievements (retailer_id, member_id, rule_id, achieved_at);
