// The pieces the API contract is written with: answer objects that list their
// fields, nullable values, shared components referenced by id, and the error
// answers each operation can give. Route modules describe their answers with
// these; registerSurface completes every operation with its surface's errors.
import { Type, type ObjectOptions, type SchemaOptions, type Static, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { ERROR_STATUS, type ErrorCode } from '../errors.js';

/** An answer object: exactly these fields (the suite's contract check flags any other). */
export const Obj = <T extends TProperties>(properties: T, options: ObjectOptions = {}) => Type.Object(properties, { additionalProperties: false, ...options });

/** A free-form map (custom attributes, event payloads): any fields. */
export const FreeForm = (options: SchemaOptions = {}) => Type.Record(Type.String(), Type.Unknown(), options);

/** A value that may be null; for a primitive or an object schema (one `type`). */
export function Nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const type = (schema as { type?: string | string[] }).type;
  const values = (schema as { enum?: unknown[] }).enum;
  if (typeof type === 'string') return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'], ...(values ? { enum: [...values, null] } : {}) });
  return Type.Unsafe<Static<T> | null>({ anyOf: [schema, { type: 'null' }] });
}

/** A string with one of these values: an enum, not a union of literals (a compiled serialiser tests each branch of a union). */
export const OneOf = <T extends string>(values: readonly T[], options: SchemaOptions = {}) => Type.Unsafe<T>({ ...options, type: 'string', enum: values });

/** Core and Connect dates: `YYYY-MM-DD HH:MM:SS` in UTC. */
export const CoreTime = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$', description: 'UTC, `YYYY-MM-DD HH:MM:SS`', examples: ['2024-05-01 14:03:00'] });
/** An ISO 8601 instant with its offset, as POS and the admin API answer. */
export const IsoTime = Type.String({ description: 'ISO 8601 instant', examples: ['2024-05-01T14:03:00.000Z'] });
export const Uuid = Type.String({ format: 'uuid' });

/** The shared components: registered with the application (app.addSchema) and listed in the document. */
export const COMPONENTS: TSchema[] = [];

/** The shared component a `$ref` names. */
export const componentOf = ($ref: string): TSchema | undefined => COMPONENTS.find((schema) => `${schema.$id}#` === $ref);

/** A schema defined once and referenced by `$ref` wherever it is used. */
export function component<T extends TSchema>(id: string, schema: T): TUnsafe<Static<T>> {
  COMPONENTS.push({ ...schema, $id: id });
  return Type.Unsafe<Static<T>>({ $ref: `${id}#` });
}

/** The mark of an error status an operation answers: registerSurface turns it into the surface's envelope. */
export const ERROR_CODES = 'x-error-codes';

/**
 * The errors an operation gives beyond those of every operation (bad input,
 * credentials, an unavailable database: registerSurface adds them), grouped by
 * their status: `response: { 200: Answer, ...fails('user_not_found') }`.
 */
export function fails(...codes: ErrorCode[]): Record<number, TUnsafe<never>> {
  const byStatus: Record<number, TUnsafe<never>> = {};
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    const listed = ((byStatus[status] as unknown as Record<string, ErrorCode[]> | undefined)?.[ERROR_CODES] ?? []).concat(code);
    byStatus[status] = Type.Unsafe<never>({ [ERROR_CODES]: listed });
  }
  return byStatus;
}

const DESCRIPTION: Record<number, string> = {
  400: 'The request is malformed: the message names the field',
  401: 'Missing or invalid credentials',
  403: "The credentials' role does not allow this, or a cookie-authenticated write lacks its CSRF token",
  404: 'What the request names does not exist',
  409: 'The request conflicts with an earlier one or with the current state',
  415: 'The body is not JSON',
  429: 'Too many attempts: retry after Retry-After seconds',
  422: 'The request is well formed but the domain refuses it',
  500: 'The server failed: a fault of the server, never of the request',
  503: 'The database is unavailable or the server is shutting down: retry after Retry-After seconds',
};

export type Envelope = 'core' | 'pos';

/** The error answer of one status in a surface's envelope, its codes listed. */
function errorSchema(envelope: Envelope, status: number, codes: readonly ErrorCode[]): TSchema {
  // an enum: a serialiser never refuses a code, the contract check flags it
  const error = Obj({ code: OneOf(codes), message: Type.String() });
  const description = `${DESCRIPTION[status] ?? 'Error'} (${codes.join(', ')})`;
  return envelope === 'pos'
    ? Obj({ status: Type.Literal('error'), payload: Type.Null(), errors: Type.Array(error, { minItems: 1 }) }, { description })
    : Obj({ status: Type.Literal('error'), errors: error }, { description });
}

/**
 * The errors every operation can give, by status: bad input, credentials
 * (a Core appkey that is not the credentials'), a body of another type and a
 * conflicting Message-ID where the operation changes something, a server
 * fault (documented; the suite's contract check still fails on any) and an
 * unavailable database.
 */
export function commonErrors(options: { appkeyInPath: boolean; mutating: boolean; replayed: boolean; roles?: boolean; retailerInPath?: boolean }): Record<string, ErrorCode[]> {
  return {
    400: ['invalid_json', ...(options.mutating ? (['body_too_large'] as const) : []), 'missing_data', 'argument_error'],
    401: options.appkeyInPath ? ['access_denied', 'invalid_api_key'] : ['access_denied'],
    // the admin API: operators' roles, and cookie sessions' CSRF tokens
    ...(options.roles ? { 403: options.mutating ? (['forbidden', 'csrf_refused'] as ErrorCode[]) : (['forbidden'] as ErrorCode[]) } : {}),
    // a retailer the operator holds no role at is not found, as one that does not exist
    ...(options.retailerInPath ? { 404: ['not_found'] as ErrorCode[] } : {}),
    ...(options.mutating ? { 415: ['unsupported_media_type'] } : {}),
    ...(options.replayed ? { 409: ['message_id_conflict', 'request_in_progress'] } : {}),
    500: ['internal_server_error'],
    503: ['service_unavailable'],
  };
}

// the common errors are components (most operations share them), named by envelope, status and codes
const NAMES: Record<string, string> = { 400: 'BadRequest', 401: 'Unauthorized', 409: 'MessageIdConflict', 415: 'UnsupportedMediaType', 500: 'ServerFault', 503: 'Unavailable' };
const sharedErrors = new Map<string, TSchema>();
const errorKey = (envelope: Envelope, status: number, codes: readonly ErrorCode[]) => `${envelope}:${status}:${codes.join(',')}`;
for (const envelope of ['core', 'pos'] as const) {
  for (const appkeyInPath of [false, true]) {
    for (const mutating of [false, true]) {
      for (const [status, codes] of Object.entries(commonErrors({ appkeyInPath, mutating, replayed: mutating }))) {
        const key = errorKey(envelope, Number(status), codes);
        if (sharedErrors.has(key)) continue;
        const variant = (status === '400' && !mutating ? 'WithoutBody' : '') + (status === '401' && appkeyInPath ? 'OrAppkey' : '');
        const id = `${envelope === 'pos' ? 'PosError' : 'Error'}${NAMES[status]}${variant}`;
        sharedErrors.set(key, component(id, errorSchema(envelope, Number(status), codes)));
      }
    }
  }
}

/** The error answer of one status: a shared component where its codes are the common ones. */
export function errorAnswer(envelope: Envelope, status: number, codes: readonly ErrorCode[]): TSchema {
  return sharedErrors.get(errorKey(envelope, status, codes)) ?? errorSchema(envelope, status, codes);
}

/** What a dry run would have recorded: the domain events of the change it did not make (docs/events.md). */
export const DryRunOutcomes = Type.Array(
  Obj({ type: Type.String({ description: 'a domain event type: points.deposited, offer.issued, tier.changed, rule.achieved, campaign.completed …' }), user_id: Nullable(Uuid), payload: FreeForm() }),
  { description: 'dry runs only: the domain events the request would have recorded, in order' },
);
export const DRY_RUN_FIELD = Type.Boolean({ description: 'true: answer what the request would do, and change nothing (also the header Loyalist-Dry-Run: true)' });

/** An operation that takes dry runs: its body takes `dry_run`, its answer has `dry_run` and `outcomes` when it was one. */
export function withDryRun(schema: { body?: unknown; response?: Record<string, unknown> }): typeof schema {
  const addTo = (s: unknown, properties: TProperties) => {
    const given = s as { properties?: TProperties; $ref?: string } | undefined;
    // a shared answer is completed in place of its reference (its other uses stay as they are)
    const object = (given?.$ref ? componentOf(given.$ref) : given) as { properties?: TProperties; $id?: string } | undefined;
    if (!object?.properties) return s;
    const { $id: _id, ...rest } = object;
    return { ...rest, properties: { ...object.properties, ...properties } };
  };
  return {
    ...schema,
    body: addTo(schema.body, { dry_run: Type.Optional(DRY_RUN_FIELD) }),
    response: schema.response && { ...schema.response, 200: addTo(schema.response[200], { dry_run: Type.Optional(Type.Literal(true)), outcomes: Type.Optional(DryRunOutcomes) }) },
  };
}
