// The admin API's program previews (issue 20): what applying a draft would
// change, one request evaluated against a draft, and simulations of a draft
// over a window of recorded events and transactions.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Value } from '@sinclair/typebox/value';
import { DomainError } from '../../errors.js';
import { diffProgram, evaluateRequest, type EvaluatedRequest } from '../../flows/program-preview.js';
import { planSimulation, runSimulation, startSimulation, type SimulationReport, type SimulationRequest } from '../../flows/simulate.js';
import { findSimulation, type SimulationRecord } from '../../modules/simulations/service.js';
import { validateProgram, type Program as ProgramDocument } from '../../modules/program/service.js';
import { findRetailer } from '../../modules/tenants/service.js';
import { fails } from '../contract.js';
import { parseTime } from '../connect/common.js';
import { SendTransaction, transactionInput } from '../pos/routes.js';
import { Evaluation, Program, ProgramDiff, Simulation } from './schemas.js';

const RetailerPath = Type.Object({ retailer_id: Type.String({ format: 'uuid' }) });
const tags = ['Admin: program previews'];
const PROGRAM_TYPES = ['application/json', 'application/yaml', 'text/yaml'];

/** Simulations this small answer at once; larger ones run as a job (GET …/simulations/:id). */
const AT_ONCE = 1000;

/** A draft inside a larger body: its problems named under `program.`. */
function draftOf(document: unknown): ProgramDocument {
  try {
    return validateProgram(document);
  } catch (err) {
    if (err instanceof DomainError) throw new DomainError(err.code, `program.${err.message}`, `program.${err.field ?? ''}`);
    throw err;
  }
}

/** The event ({event_lookup | name, context, qty, time_of_occurrence}) or POS send_transaction body to evaluate. */
function evaluatedRequest(body: unknown, retailerId: string): EvaluatedRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new DomainError('argument_error', 'request: an event or a POS transaction body', 'request');
  const b = body as Record<string, unknown>;
  if ('request_payload' in b) {
    const transaction = { client_id: retailerId, ...b };
    const problem = Value.Errors(SendTransaction, transaction).First();
    if (problem) throw new DomainError('argument_error', `request${problem.path.replace(/\//g, '.')}: ${problem.message}`, `request${problem.path.replace(/\//g, '.')}`);
    const { userRef: _ref, ...input } = transactionInput(transaction as never, 'evaluate');
    return { kind: 'transaction', input };
  }
  const name = b.event_lookup ?? b.name;
  if (typeof name !== 'string' || !name.trim()) throw new DomainError('missing_data', 'request.event_lookup: the event name (or request.request_payload for a POS transaction)', 'request.event_lookup');
  if (b.context !== undefined && (typeof b.context !== 'object' || b.context === null || Array.isArray(b.context))) throw new DomainError('argument_error', 'request.context: an object', 'request.context');
  if (b.qty !== undefined && !Number.isInteger(b.qty)) throw new DomainError('argument_error', 'request.qty: an integer', 'request.qty');
  if (b.time_of_occurrence !== undefined && typeof b.time_of_occurrence !== 'string') throw new DomainError('argument_error', 'request.time_of_occurrence: a time', 'request.time_of_occurrence');
  return {
    kind: 'event',
    input: {
      name,
      context: (b.context as Record<string, unknown> | undefined) ?? {},
      qty: b.qty as number | undefined,
      occurredAt: b.time_of_occurrence === undefined ? undefined : parseTime(b.time_of_occurrence as string, 'request.time_of_occurrence'),
    },
  };
}

const simulationAnswer = (s: SimulationRecord) => ({ simulation_id: s.id as string | null, status: s.status, percent_done: s.percent_done, result: s.result as SimulationReport | null, error: s.error, created_at: s.created_at, finished_at: s.finished_at });

export const programPreviewRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app.deps;
  const retailerOf = async (id: string) => {
    const retailer = await findRetailer(db, id.toLowerCase());
    if (!retailer) throw new DomainError('not_found', 'retailer not found');
    return { retailerId: retailer.id, retailerNumber: retailer.number, requestId: 'admin' };
  };

  app.post(
    '/tenants/:retailer_id/program/diff',
    {
      config: { allow: 'program', audit: false },
      schema: {
        summary: 'What applying a program document would create, change and retire (nothing is applied)',
        description:
          'The document is JSON or YAML, as PUT …/program takes it. It is applied in a transaction that is rolled back, and the configuration before and after compared: ' +
          'per section, the things created, the things changed (each field old → new) and the things retired.',
        tags,
        params: RetailerPath,
        consumes: PROGRAM_TYPES,
        body: Program,
        response: { 200: ProgramDiff, ...fails('validation') },
      },
    },
    async (request) => diffProgram(db, request.params.retailer_id.toLowerCase(), validateProgram(request.body)),
  );

  app.post(
    '/tenants/:retailer_id/program/evaluate',
    {
      config: { allow: 'program', audit: false },
      schema: {
        summary: 'One event or POS transaction for a member, evaluated against a draft program or the live one (nothing is written)',
        description:
          'With `program`, the draft is applied in a transaction that is rolled back; without it, the live program answers. The request runs through the real flow for the member ' +
          '(an id or external id): the answer lists the domain events it would record (points, offers, tags, tier moves, rule achievements, campaign completions) and the balances before and after.',
        tags,
        params: RetailerPath,
        body: Type.Object({
          program: Type.Optional(Type.Unknown({ description: 'a draft program document; absent: the live program' })),
          member: Type.String({ minLength: 1, maxLength: 255, description: 'a member id or external id' }),
          request: Type.Unknown({ description: 'an event {event_lookup, context, qty, time_of_occurrence} or a POS send_transaction body {store_id, request_payload}' }),
        }),
        response: { 200: Evaluation, ...fails('not_found', 'validation', 'user_not_found', 'multiple_matches', 'store_not_found', 'point_account_not_found', 'point_account_inactive', 'maximum_balance_exceeded') },
      },
    },
    async (request) => {
      const actor = await retailerOf(request.params.retailer_id);
      const b = request.body;
      const draft = b.program === undefined ? undefined : draftOf(b.program);
      const evaluation = await evaluateRequest(db, actor, draft, b.member, evaluatedRequest(b.request, actor.retailerId));
      return { dry_run: true as const, ...evaluation };
    },
  );

  app.post(
    '/tenants/:retailer_id/program/simulate',
    {
      config: { allow: 'program', audit: false },
      schema: {
        summary: "Replay a window of the retailer's recorded events and transactions against the live program and a draft",
        description:
          'Every event and POS transaction received in [from, to) is replayed, member by member in the order received and at its own time, once against the live program and once against the draft, ' +
          "from each member's state at `from`; nothing is written. A small window answers the report at once (200); a larger one answers 202 and runs as a job: GET …/simulations/:simulation_id. " +
          '`members`: a list of member ids or external ids, or a sample size.',
        tags,
        params: RetailerPath,
        body: Type.Object({
          program: Type.Unknown({ description: 'the draft program document' }),
          from: Type.String({ maxLength: 40 }),
          to: Type.String({ maxLength: 40 }),
          members: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1, maxItems: 10000 }), Type.Integer({ minimum: 1 })])),
          background: Type.Optional(Type.Boolean({ description: 'true: run as a job however small the window' })),
        }),
        response: { 200: Simulation, 202: Simulation, ...fails('not_found', 'validation', 'user_not_found') },
      },
    },
    async (request, reply) => {
      const actor = await retailerOf(request.params.retailer_id);
      const b = request.body;
      const simulation: SimulationRequest = {
        draft: draftOf(b.program),
        from: parseTime(b.from, 'from'),
        to: parseTime(b.to, 'to'),
        members: Array.isArray(b.members) ? b.members : undefined,
        sample: typeof b.members === 'number' ? b.members : undefined,
      };
      if (simulation.to <= simulation.from) throw new DomainError('argument_error', 'to: must be after from', 'to');
      const plan = await planSimulation(db, actor.retailerId, simulation);
      const asked = { from: simulation.from.toISOString(), to: simulation.to.toISOString(), members: b.members ?? null };
      if (!b.background && plan.events + plan.transactions <= AT_ONCE) {
        const result = await runSimulation(db, actor, simulation, plan);
        const now = new Date().toISOString();
        return { simulation_id: null, status: 'done' as const, percent_done: 100, result, error: null, created_at: now, finished_at: now };
      }
      const id = await startSimulation(db, actor, simulation, plan, asked, { concurrency: app.deps.config.simulationConcurrency, log: request.log });
      return reply.code(202).send(simulationAnswer((await findSimulation(db, actor.retailerId, id))!));
    },
  );

  app.get(
    '/tenants/:retailer_id/simulations/:simulation_id',
    {
      schema: {
        summary: 'A simulation: how far it has got, then its report',
        description: "A simulation job's status (running, done, failed), percent_done while it runs, then its report; a job whose server stopped answers failed.",
        tags,
        params: Type.Object({ retailer_id: Type.String({ format: 'uuid' }), simulation_id: Type.String({ format: 'uuid' }) }),
        response: { 200: Simulation, ...fails('not_found') },
      },
    },
    async (request) => {
      const found = await findSimulation(db, request.params.retailer_id.toLowerCase(), request.params.simulation_id.toLowerCase());
      if (!found) throw new DomainError('not_found', 'simulation not found');
      return simulationAnswer(found);
    },
  );
};
