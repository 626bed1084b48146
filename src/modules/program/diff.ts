/**
 * What separates two program documents, section by section: the things one
 * creates, those it changes (field by field, old → new) and those it retires.
 * Things are matched by their key (an id, an offer's root id, an attribute's
 * name); the retailer's own fields are one thing.
 */
import type { Program } from './service.js';

export const SECTIONS = ['retailer', 'stores', 'custom_attributes', 'point_accounts', 'point_sources', 'offers', 'reward_stores', 'campaigns', 'tier_systems', 'rules'] as const;
export type Section = (typeof SECTIONS)[number];

/** One field that changes; `path` names it inside the thing (`levels[1].thresholds[0].points`), absent values are null. */
export interface FieldChange {
  path: string;
  old: unknown;
  new: unknown;
}

export interface Named {
  key: string;
  name: string | null;
}

export interface SectionDiff {
  created: (Named & { value: unknown })[];
  changed: (Named & { fields: FieldChange[] })[];
  retired: Named[];
}

export interface ProgramDiff {
  /** How many things are created, changed or retired in all. */
  changes: number;
  sections: Partial<Record<Section, SectionDiff>>;
}

type Thing = Record<string, unknown>;

const keyOf = (section: Section, thing: Thing): string =>
  String(section === 'retailer' ? 'retailer' : section === 'custom_attributes' ? thing.name : section === 'offers' ? thing.root_offer_id : thing.id);
const nameOf = (thing: Thing): string | null => (typeof thing.name === 'string' ? thing.name : typeof thing.internal_title === 'string' ? thing.internal_title : null);

function thingsOf(program: Program, section: Section): Thing[] {
  const value = (program as Record<string, unknown>)[section];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as Thing[];
}

/** The fields of `after` that differ from `before`, deepest first named. */
export function fieldChanges(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => fieldChanges(before[k] ?? null, after[k] ?? null, path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) return before.flatMap((v, i) => fieldChanges(v, after[i], `${path}[${i}]`));
  return [{ path, old: before ?? null, new: after ?? null }];
}

/** What turning the configuration `before` into `after` creates, changes and retires, for the sections where anything does. */
export function diffPrograms(before: Program, after: Program): ProgramDiff {
  const sections: ProgramDiff['sections'] = {};
  let changes = 0;
  for (const section of SECTIONS) {
    const old = new Map(thingsOf(before, section).map((t) => [keyOf(section, t), t]));
    const now = new Map(thingsOf(after, section).map((t) => [keyOf(section, t), t]));
    const diff: SectionDiff = { created: [], changed: [], retired: [] };
    for (const [key, thing] of now) {
      const was = old.get(key);
      if (!was) diff.created.push({ key, name: nameOf(thing), value: thing });
      else {
        const fields = fieldChanges(was, thing);
        if (fields.length) diff.changed.push({ key, name: nameOf(thing), fields });
      }
    }
    for (const [key, thing] of old) if (!now.has(key)) diff.retired.push({ key, name: nameOf(thing) });
    const n = diff.created.length + diff.changed.length + diff.retired.length;
    if (n) sections[section] = diff;
    changes += n;
  }
  return { changes, sections };
}

/** The diff as lines for a terminal: `+` created, `~` changed (with its fields), `-` retired. */
export function diffText(diff: ProgramDiff): string {
  if (!diff.changes) return 'no changes';
  const lines: string[] = [];
  const label = (t: Named) => (t.name ? `${t.name} (${t.key})` : t.key);
  for (const [section, d] of Object.entries(diff.sections)) {
    lines.push(`${section}:`);
    for (const t of d.created) lines.push(`  + ${label(t)}`);
    for (const t of d.changed) {
      lines.push(`  ~ ${label(t)}`);
      for (const f of t.fields) lines.push(`      ${f.path}: ${JSON.stringify(f.old)} → ${JSON.stringify(f.new)}`);
    }
    for (const t of d.retired) lines.push(`  - ${label(t)}`);
  }
  lines.push(`${diff.changes} change${diff.changes === 1 ? '' : 's'}`);
  return lines.join('\n');
}
