import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseYaml } from 'yaml';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';
import { applyStores, findRetailer, listStores } from '../tenants/service.js';
import { applyCustomAttributes, listCustomAttributes, type CustomAttributeType } from './custom-attributes.js';

const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });

/**
 * A retailer's configuration as a document (SPEC §6). Applying it makes the
 * retailer's configuration match: listed things are created or changed, things
 * not listed are retired (never deleted). Later domains add their sections.
 */
export const ProgramSchema = Type.Object({
  retailer: Type.Optional(Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) })),
  stores: Type.Optional(
    Type.Array(
      Type.Object({
        id: Uuid,
        name: Type.String({ minLength: 1, maxLength: 200 }),
        external_id: Type.Optional(Type.String({ maxLength: 200 })),
        time_zone: Type.Optional(Type.String({ maxLength: 64 })),
      }),
    ),
  ),
  custom_attributes: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.String({ minLength: 1, maxLength: 100 }),
        type: Type.Union([Type.Literal('string'), Type.Literal('number'), Type.Literal('boolean'), Type.Literal('list'), Type.Literal('object')]),
        default: Type.Optional(Type.Unknown()),
      }),
    ),
  ),
});

export type Program = Static<typeof ProgramSchema>;

/** Checks a program document, naming the first field that is wrong. */
export function validateProgram(document: unknown): Program {
  const first = Value.Errors(ProgramSchema, document).First();
  if (first) {
    const field = first.path.replace(/^\//, '').replace(/\//g, '.') || 'program';
    throw new DomainError('validation', `${field}: ${first.message}`, field);
  }
  const program = document as Program;
  const duplicate = (names: string[]) => names.find((n, i) => names.indexOf(n) !== i);
  const store = duplicate((program.stores ?? []).map((s) => s.id.toLowerCase()));
  if (store) throw new DomainError('validation', `stores: store ${store} is listed twice`, 'stores');
  const attribute = duplicate((program.custom_attributes ?? []).map((a) => a.name));
  if (attribute) throw new DomainError('validation', `custom_attributes: ${attribute} is listed twice`, 'custom_attributes');
  (program.stores ?? []).forEach((s, i) => {
    if (s.time_zone !== undefined && !isTimeZone(s.time_zone)) {
      throw new DomainError('validation', `stores.${i}.time_zone: ${s.time_zone} is not an IANA time zone`, `stores.${i}.time_zone`);
    }
  });
  (program.custom_attributes ?? []).forEach((a, i) => {
    if (a.default !== undefined && !DEFAULT_FITS[a.type](a.default)) {
      throw new DomainError('validation', `custom_attributes.${i}.default: must be a ${a.type}, like the attribute`, `custom_attributes.${i}.default`);
    }
  });
  return program;
}

/** A default must be a value of the attribute's type. */
const DEFAULT_FITS: Record<CustomAttributeType, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  list: (v) => Array.isArray(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Reads a program file's text: YAML (a superset of JSON) or JSON. */
export function parseProgramText(text: string): Program {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (err) {
    throw new DomainError('validation', `program: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`, 'program');
  }
  return validateProgram(document);
}

/**
 * Makes the retailer's configuration match the program, in the caller's
 * transaction; creates the retailer when it does not exist yet. Applying the
 * same program again changes nothing.
 */
export async function applyProgram(tx: Db, retailerId: string, program: Program): Promise<{ createdRetailer: boolean }> {
  const existing = await findRetailer(tx, retailerId);
  const name = program.retailer?.name;
  if (!existing) {
    await tx.insertInto('retailers').values({ id: retailerId, name: name ?? 'Retailer' }).execute();
  } else if (name && name !== existing.name) {
    await tx.updateTable('retailers').set({ name }).where('id', '=', retailerId).execute();
  }
  if (program.stores) {
    await applyStores(tx, retailerId, program.stores.map((s) => ({ id: s.id, name: s.name, external_id: s.external_id ?? null, time_zone: s.time_zone ?? null })));
  }
  if (program.custom_attributes) await applyCustomAttributes(tx, retailerId, program.custom_attributes);
  await tx
    .insertInto('programs')
    .values({ retailer_id: retailerId, document: JSON.stringify(program), applied_at: new Date() })
    .onConflict((oc) => oc.column('retailer_id').doUpdateSet({ document: JSON.stringify(program), applied_at: new Date() }))
    .execute();
  return { createdRetailer: !existing };
}

/** The retailer's configuration as it is now, as a program document. */
export async function exportProgram(db: Db, retailerId: string): Promise<Program> {
  const retailer = await findRetailer(db, retailerId);
  if (!retailer) throw new DomainError('not_found', 'retailer not found');
  const stores = await listStores(db, retailerId);
  return {
    retailer: { name: retailer.name },
    stores: stores.map((s) => ({ id: s.id, name: s.name, ...(s.external_id ? { external_id: s.external_id } : {}), ...(s.time_zone ? { time_zone: s.time_zone } : {}) })),
    custom_attributes: await listCustomAttributes(db, retailerId),
  };
}
