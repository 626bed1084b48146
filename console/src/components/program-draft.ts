// The program editor's pure parts: reading and writing a draft by a validation message's field path
// (`rules.2.outcomes.0.amount`), the YAML text of a draft, and the window of a simulation in the
// retailer's time zone.
import { parse, stringify } from 'yaml';
import type { Schemas } from '../api';

export type ProgramDoc = Schemas['Program'];

const segments = (path: string) => path.split('.').filter((s) => s !== '');

/** The value at a dotted path (`rules.2.outcomes.0.amount`), or undefined. */
export function getAt(doc: unknown, path: string): unknown {
  let at: unknown = doc;
  for (const s of segments(path)) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[s];
  }
  return at;
}

/** A copy of the draft with the value at `path` set (undefined or '' removes an optional field). */
export function setAt<T>(doc: T, path: string, value: unknown): T {
  const copy = structuredClone(doc) as unknown;
  const parts = segments(path);
  let at = copy as Record<string, unknown>;
  parts.slice(0, -1).forEach((s, i) => {
    if (at[s] === null || typeof at[s] !== 'object') at[s] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    at = at[s] as Record<string, unknown>;
  });
  const last = parts.at(-1)!;
  if (value === undefined || value === '') {
    if (Array.isArray(at)) at[Number(last)] = value;
    else delete at[last];
  } else at[last] = value;
  return copy as T;
}

/** An input's DOM id for a field path: where a validation message about that path is shown. */
export const fieldId = (path: string) => `program-field-${path.replace(/[^\w]+/g, '-')}`;

/** A typed number as the program takes it: a whole number stays a number, anything else is kept as typed (the server judges it). */
export function amountInput(text: string): string | number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^-?\d{1,15}$/.test(trimmed)) return Number(trimmed);
  return trimmed;
}

/** A condition's value as typed: numbers, true/false and JSON lists as such, anything else as text. */
export function conditionValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(trimmed) || trimmed === 'true' || trimmed === 'false' || /^[[{"]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return text;
    }
  }
  return text;
}

export const showValue = (value: unknown): string => (value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));

export function toYaml(doc: ProgramDoc): string {
  return stringify(doc, { lineWidth: 0 });
}

/** The YAML text as a program document, or why it is not one (with the line). */
export function fromYaml(text: string): { doc: ProgramDoc } | { error: string } {
  try {
    const doc = parse(text) as unknown;
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { error: 'The YAML must be a mapping of sections (retailer, stores, rules, …).' };
    return { doc: doc as ProgramDoc };
  } catch (e) {
    return { error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
  }
}

/** The instant a calendar day (`YYYY-MM-DD`) starts in a time zone. */
export function dayStart(day: string, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  const guess = Date.UTC(y, m - 1, d);
  const offsetAt = (instant: number) => {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
        .formatToParts(new Date(instant))
        .map((p) => [p.type, p.value]),
    );
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - instant;
  };
  const first = guess - offsetAt(guess);
  return new Date(guess - offsetAt(first));
}

/** Today (or `days` from today) as `YYYY-MM-DD` in a time zone. */
export function zonedDay(timeZone: string, days = 0, now = new Date()): string {
  const shifted = new Date(now.getTime() + days * 86_400_000);
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(shifted);
}

/** The day after `day` (`YYYY-MM-DD`). */
export function nextDay(day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** The simulation window [from's start, the day after to's start) in the zone, or why it is not one. */
export function simulationWindow(fromDay: string, toDay: string, timeZone: string): { from: string; to: string } | { error: string; field: 'from' | 'to' } {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(fromDay)) return { error: 'A day (YYYY-MM-DD)', field: 'from' };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(toDay)) return { error: 'A day (YYYY-MM-DD)', field: 'to' };
  if (toDay < fromDay) return { error: 'The last day is before the first', field: 'to' };
  return { from: dayStart(fromDay, timeZone).toISOString(), to: dayStart(nextDay(toDay), timeZone).toISOString() };
}

export type ProgramDiff = Schemas['ProgramDiff'];

export const SECTION_NAMES: Record<string, string> = {
  retailer: 'Retailer',
  stores: 'Stores',
  custom_attributes: 'Custom attributes',
  point_accounts: 'Point accounts',
  point_sources: 'Point sources',
  tier_systems: 'Tiers',
  offers: 'Offers',
  reward_stores: 'Reward stores',
  campaigns: 'Campaigns',
  rules: 'Rules',
};

/** One line per section that changes: `Rules: 1 changed (Premium subscription started)`. */
export function diffSummary(diff: ProgramDiff): string[] {
  const lines: string[] = [];
  for (const [section, s] of Object.entries(diff.sections)) {
    const parts: string[] = [];
    const named = (xs: { key: string; name: string | null }[]) => xs.map((x) => x.name ?? x.key).join(', ');
    if (s.created.length) parts.push(`${s.created.length} added (${named(s.created)})`);
    if (s.changed.length) parts.push(`${s.changed.length} changed (${named(s.changed)})`);
    if (s.retired.length) parts.push(`${s.retired.length} removed (${named(s.retired)})`);
    if (parts.length) lines.push(`${SECTION_NAMES[section] ?? section}: ${parts.join(', ')}`);
  }
  return lines;
}
