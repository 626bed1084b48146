import type { Db } from '../../db/index.js';
import type { CampaignAudience } from '../../db/schema.js';
import { memberStatusAndProfile, type MemberRow } from '../members/service.js';
import { customProfileDefaults } from '../program/custom-attributes.js';
import { getTags } from '../tags/service.js';
import { memberTiers } from '../tiers/service.js';

/** What an audience looks at: the member's live tags, tier levels and custom profile. */
export interface AudienceFacts {
  restricted: boolean;
  /** Live tags, lower-cased. */
  tags: Set<string>;
  /** Current tier level ids, lower-cased. */
  tierLevelIds: Set<string>;
  /** Custom profile: the attribute defaults merged with the member's values. */
  profile: Record<string, unknown>;
}

export const isEmptyAudience = (a: CampaignAudience) => !a.tags?.length && !a.tier_level_ids?.length && !(a.attributes && Object.keys(a.attributes).length);

/** What an audience reads of the member's own row. */
export type AudienceRow = Pick<MemberRow, 'account_status' | 'user_profile'>;

/**
 * Loads the facts of one member; `full: false` reads only the account status (no campaign
 * has an audience). `known`: the member's row, when the caller has read it already.
 */
export async function audienceFacts(db: Db, retailerId: string, memberId: string, full = true, now = new Date(), known?: AudienceRow): Promise<AudienceFacts> {
  const row = known ?? (await memberStatusAndProfile(db, retailerId, memberId));
  const restricted = row?.account_status === 'restricted';
  if (!full || restricted || !row) return { restricted, tags: new Set(), tierLevelIds: new Set(), profile: row?.user_profile ?? {} };
  const [tags, tiers, defaults] = await Promise.all([getTags(db, retailerId, memberId, now), memberTiers(db, retailerId, memberId), customProfileDefaults(db, retailerId)]);
  return {
    restricted,
    tags: new Set(Object.keys(tags).map((t) => t.toLowerCase())),
    tierLevelIds: new Set(tiers.map((t) => t.tier_level_id.toLowerCase())),
    profile: { ...defaults, ...row.user_profile },
  };
}

/**
 * Whether a member belongs to an audience: every part given must hold —
 * any of `tags`, any of `tier_level_ids`, and each of `attributes` (a list
 * attribute contains the value; a list of values means any of them; strings
 * compare case-insensitively). An empty audience is everyone.
 */
export function inAudience(audience: CampaignAudience, facts: AudienceFacts): boolean {
  if (facts.restricted) return false;
  if (audience.tags?.length && !audience.tags.some((t) => facts.tags.has(t.toLowerCase()))) return false;
  if (audience.tier_level_ids?.length && !audience.tier_level_ids.some((l) => facts.tierLevelIds.has(l.toLowerCase()))) return false;
  for (const [name, expected] of Object.entries(audience.attributes ?? {})) {
    const actual = facts.profile[name];
    const wanted = Array.isArray(expected) ? expected : [expected];
    const values = Array.isArray(actual) ? actual : [actual];
    if (!wanted.some((w) => values.some((v) => sameValue(v, w)))) return false;
  }
  return true;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (a === undefined || b === undefined) return a === b;
  // numbers and booleans the profile may hold as strings ("1", "true")
  if ((typeof a === 'string') !== (typeof b === 'string') && a !== null && b !== null && typeof a !== 'object' && typeof b !== 'object') return String(a).toLowerCase() === String(b).toLowerCase();
  return JSON.stringify(a) === JSON.stringify(b);
}
