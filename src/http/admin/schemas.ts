import { DomainEventSchema } from '../../modules/outbox/catalog.js';
// The admin API's answers: retailers, their credentials (secrets only where
// they are issued) and program documents.
import { Type } from '@sinclair/typebox';
import { ProgramSchema } from '../../modules/program/service.js';
import { component, IsoTime, Nullable, Obj, OneOf, Uuid } from '../contract.js';

/** A retailer (a tenant) as the list names it. */
/** A domain event as the feed answers it (docs/events.md has the payload of each type). */
export const DomainEvent = component('DomainEvent', DomainEventSchema);

export const AdminTenant = component('AdminTenant', Obj({ retailer_id: Uuid, name: Type.String(), created_at: IsoTime }));

const CredentialFields = {
  credential_id: Uuid,
  retailer_id: Uuid,
  surface: OneOf(['core', 'connect', 'pos'], { description: 'the API the credential opens' }),
  key: Type.String({ description: 'Core appkey, Connect appkey_connect, or the part of the POS token before the dot' }),
  created_at: IsoTime,
  revoked_at: Nullable(IsoTime),
  expires_at: Nullable(Type.String({ description: 'ISO 8601 instant, set when the credential was rotated: its secret works until then' })),
};

/** A credential without its secret. */
export const AdminCredential = component('AdminCredential', Obj(CredentialFields));

/** A set of credentials for every surface, with their secrets: shown once, when issued. */
export const IssuedSecrets = {
  appkey: Type.String({ description: 'Core: the key (also the path segment :appkey)' }),
  secret: Type.String({ description: 'Core: the secret' }),
  appkey_connect: Type.String({ description: 'Connect: the key' }),
  secret_connect: Type.String({ description: 'Connect: the secret' }),
  cloudpos_authorization: Type.String({ description: 'Cloud POS: the whole Authorization header value (`key.secret`)' }),
};

/** A rotated credential: the new one with its secret under its surface's names, and the one it replaces. */
export const AdminRotatedCredential = Obj({
  ...CredentialFields,
  appkey: Type.Optional(IssuedSecrets.appkey),
  secret: Type.Optional(IssuedSecrets.secret),
  appkey_connect: Type.Optional(IssuedSecrets.appkey_connect),
  secret_connect: Type.Optional(IssuedSecrets.secret_connect),
  cloudpos_authorization: Type.Optional(IssuedSecrets.cloudpos_authorization),
  replaced: AdminCredential,
});

/** A retailer's configuration as a program document (SPEC §6): what PUT …/program takes and GET …/program answers. */
export const Program = component('Program', ProgramSchema);

const Thing = { key: Type.String({ description: "the thing's id (an offer's root_offer_id, an attribute's name)" }), name: Nullable(Type.String()) };
const SectionDiff = Obj({
  created: Type.Array(Obj({ ...Thing, value: Type.Unknown({ description: 'the thing as the program will hold it' }) })),
  changed: Type.Array(Obj({ ...Thing, fields: Type.Array(Obj({ path: Type.String({ description: 'the field inside the thing, e.g. levels[1].thresholds[0].points' }), old: Type.Unknown(), new: Type.Unknown() })) })),
  retired: Type.Array(Obj(Thing)),
});
/** What applying a program creates, changes (field by field, old → new) and retires, per section with any change. */
export const ProgramDiff = component(
  'ProgramDiff',
  Obj({
    changes: Type.Integer({ description: 'things created, changed and retired in all' }),
    sections: Type.Record(Type.String(), SectionDiff, { description: 'by section: retailer, stores, custom_attributes, point_accounts, point_sources, offers, reward_stores, campaigns, tier_systems, rules' }),
  }),
);

const Counts = Type.Record(Type.String(), Type.Integer());
const Tally = Obj({
  points_by_account: Type.Record(Type.String(), Type.String({ description: 'net points: deposits less what returns and voids took back' }), { description: 'by point account id' }),
  offers_issued: { ...Counts, description: 'by offer id' },
  tier_changes: Type.Integer(),
  campaign_completions: { ...Counts, description: 'by campaign id' },
  rule_achievements: { ...Counts, description: 'by rule id' },
});
/** What the live program and a draft gave over a window of recorded events and transactions. */
export const SimulationReport = Obj({
  window: Obj({ from: IsoTime, to: IsoTime }),
  replayed: Obj({ events: Type.Integer(), transactions: Type.Integer(), members: Type.Integer() }),
  refused: Obj({ current: Type.Integer(), draft: Type.Integer() }, { description: 'recorded requests each program refused on replay' }),
  current: Tally,
  draft: Tally,
  members_changed: Type.Integer({ description: 'members whose outcomes differ between the programs' }),
  top_members: Type.Array(Obj({ user_id: Uuid, current: Tally, draft: Tally }), { description: 'the members whose points differ most (up to 10)' }),
  names: Type.Record(Type.String(), Type.String(), { description: 'the names of the accounts, offers, campaigns, rules and tier levels named by id' }),
  approximations: Type.Array(Type.String(), { description: 'where the replay cannot reconstruct the past exactly' }),
});
export const Simulation = component(
  'Simulation',
  Obj({
    simulation_id: Nullable(Type.String({ format: 'uuid', description: 'null: answered at once, not kept' })),
    status: OneOf(['running', 'done', 'failed']),
    percent_done: Type.Number({ minimum: 0, maximum: 100 }),
    result: Nullable(SimulationReport),
    error: Nullable(Type.String()),
    created_at: IsoTime,
    finished_at: Nullable(IsoTime),
  }),
);

/** One request evaluated against a draft (or the live program) for a member. */
export const Evaluation = Obj({
  dry_run: Type.Literal(true),
  program: OneOf(['draft', 'live']),
  user_id: Uuid,
  outcomes: Type.Array(Obj({ type: Type.String(), user_id: Nullable(Uuid), payload: Type.Record(Type.String(), Type.Unknown()) }), { description: 'the domain events it would record' }),
  balances: Type.Array(Obj({ point_account_id: Uuid, name: Type.String(), before: Type.String(), after: Type.String() })),
});
