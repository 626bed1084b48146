-- Privacy requests (forget, export, restrict, reinstate) with one part per
-- domain that acts, and account merges (victim into survivor). Both carry
-- retailer_id and member_id like every member-owned table.

CREATE TABLE privacy_requests (
  retailer_id   uuid NOT NULL,
  member_id     uuid NOT NULL,
  -- SessionM answers integer ids (1.5.2)
  id            bigint GENERATED ALWAYS AS IDENTITY,
  type          text NOT NULL CHECK (type IN ('forget', 'export', 'restrict', 'reinstate')),
  status        text NOT NULL CHECK (status IN ('pending', 'processing', 'completed', 'cancelled', 'failed')),
  -- [{id, name, status}]: one part per domain that must act
  parts         jsonb NOT NULL DEFAULT '[]',
  request_id    text,
  due_at        timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  cancelled_at  timestamptz,
  completed_at  timestamptz,
  -- export: the machine-readable copy of the member's data
  document      jsonb,
  PRIMARY KEY (id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id)
);
CREATE INDEX privacy_requests_member ON privacy_requests (retailer_id, member_id, id DESC);

-- Part ids are numbers too, unique over all requests.
CREATE SEQUENCE privacy_request_part_ids;

CREATE TABLE member_merges (
  retailer_id   uuid NOT NULL,
  -- the survivor
  member_id     uuid NOT NULL,
  id            uuid NOT NULL,
  victim_id     uuid NOT NULL,
  status        text NOT NULL CHECK (status IN ('pending', 'finished', 'failed')),
  -- {point_accounts: [...], user_offer_ids: [...], external_ids: [...], tags: [...], campaigns: n, ...}
  moved         jsonb NOT NULL DEFAULT '{}',
  request_id    text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  PRIMARY KEY (retailer_id, id),
  FOREIGN KEY (retailer_id, member_id) REFERENCES members (retailer_id, id),
  FOREIGN KEY (retailer_id, victim_id) REFERENCES members (retailer_id, id)
);
-- a member is merged away once
CREATE UNIQUE INDEX member_merges_victim ON member_merges (retailer_id, victim_id);
CREATE INDEX member_merges_survivor ON member_merges (retailer_id, member_id);

-- Forget: replaces every occurrence of the needles (case-insensitive) in a text.
CREATE FUNCTION loyalist_scrub_text(t text, needles text[]) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n text;
BEGIN
  IF t IS NULL THEN RETURN NULL; END IF;
  FOREACH n IN ARRAY needles LOOP
    IF n IS NOT NULL AND n <> '' THEN
      t := regexp_replace(t, regexp_replace(n, '([.*+?^$(){}|\[\]\\])', '\\\1', 'g'), '[forgotten]', 'gi');
    END IF;
  END LOOP;
  RETURN t;
END $$;

-- Forget: the same inside a JSON document, on keys and string values, keeping its structure.
CREATE FUNCTION loyalist_scrub_jsonb(j jsonb, needles text[]) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF j IS NULL THEN RETURN NULL; END IF;
  CASE jsonb_typeof(j)
    WHEN 'string' THEN RETURN to_jsonb(loyalist_scrub_text(j #>> '{}', needles));
    WHEN 'object' THEN
      RETURN coalesce((SELECT jsonb_object_agg(loyalist_scrub_text(e.key, needles), loyalist_scrub_jsonb(e.value, needles)) FROM jsonb_each(j) AS e), '{}'::jsonb);
    WHEN 'array' THEN
      RETURN coalesce((SELECT jsonb_agg(loyalist_scrub_jsonb(e.value, needles) ORDER BY e.n) FROM jsonb_array_elements(j) WITH ORDINALITY AS e(value, n)), '[]'::jsonb);
    ELSE RETURN j;
  END CASE;
END $$;
