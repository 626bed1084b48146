// The contract check the test suite and the conformance run switch on
// (LOYALIST_CONTRACT_CHECK=<dir>): every answer is validated against the
// schema its operation documents for its status, and the serialised body is
// compared with what the handler gave, so that a compiled serialiser can never
// drop or change a field unnoticed. A mismatch turns the answer into a 500 that
// names it (the test that received it fails) and is written to
// <dir>/violations.jsonl (the suite fails on any); the number of answers
// checked is written to <dir> when the process exits.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { randomBytes } from 'node:crypto';
import AjvModule, { type ValidateFunction } from 'ajv';
import formatsModule from 'ajv-formats';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { COMPONENTS } from './contract.js';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = formatsModule.default ?? formatsModule;

interface Documented {
  content?: Record<string, { schema: object }>;
}

export function checkAnswers(app: FastifyInstance, dir: string): void {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const schema of COMPONENTS) ajv.addSchema(schema);
  const compiled = new WeakMap<object, ValidateFunction>();
  const validator = (schema: object) => compiled.get(schema) ?? compiled.set(schema, ajv.compile(schema)).get(schema)!;
  const given = new WeakMap<FastifyRequest, string>();
  let checked = 0;
  process.on('exit', () => writeFileSync(join(dir, `checked-${process.pid}-${randomBytes(3).toString('hex')}.json`), JSON.stringify({ checked })));

  app.addHook('preSerialization', async (request, _reply, payload) => {
    given.set(request, JSON.stringify(payload));
    return payload;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions;
    const schema = route.schema as { hide?: boolean; operationId?: string; response?: Record<string, object & Documented> } | undefined;
    // unknown paths have no operation; /docs is the document itself
    if (!route.url || schema?.hide) return payload;
    const operation = schema?.operationId ?? `${request.method} ${route.url}`;
    const status = reply.statusCode;
    const documented = schema?.response?.[status] ?? schema?.response?.[`${String(status)[0]}xx`];
    const problem = (() => {
      if (!documented) return `status ${status} is not documented`;
      // documented for clients, but a server fault: never an answer the suite accepts
      if (status === 500) return 'the server failed';
      const type = String(reply.getHeader('content-type') ?? '').split(';')[0];
      const media = documented.content ? documented.content[type]?.schema : type === 'application/json' ? documented : undefined;
      if (!media) return documented.content ? `content type ${type} is not documented` : `content type ${type} is not JSON`;
      if (type !== 'application/json') return undefined;
      const body = JSON.parse(String(payload));
      const before = given.get(request);
      if (before !== undefined && !isDeepStrictEqual(JSON.parse(before), body)) return `the serialiser changed the answer: ${before.slice(0, 600)} became ${String(payload).slice(0, 600)}`;
      const validate = validator(media);
      if (!validate(body)) return ajv.errorsText(validate.errors, { dataVar: 'answer', separator: '; ' });
      return undefined;
    })();
    checked++;
    if (!problem) return payload;
    const violation = { operation, method: request.method, url: request.url, status, problem, body: String(payload).slice(0, 2000) };
    appendFileSync(join(dir, 'violations.jsonl'), `${JSON.stringify(violation)}\n`);
    reply.code(500).type('application/json');
    return JSON.stringify({ status: 'error', errors: { code: 'contract_violation', message: `${operation} answered ${status} against its contract: ${problem}` } });
  });
}
