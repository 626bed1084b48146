// The OpenAPI document's examples from SessionM's seed collection: for every
// collection request whose operation it finds, the request body and the
// recorded answers, kept when they validate against the operation's schemas
// (request bodies as the server reads them, with its type coercion; answers
// exactly). Writes src/http/examples.json, which registerSurface attaches to
// the operations.
// usage: node --import tsx scripts/examples.ts [--shared DIR]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import AjvModule from 'ajv';
import formatsModule from 'ajv-formats';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openEmbedded } from '../src/db/connection.js';
import { withoutJsonComments } from '../src/http/lenient.js';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = formatsModule.default ?? formatsModule;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { shared: { type: 'string', default: join(root, '..', 'shared') } } });

interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: string | { raw: string }; body?: { raw?: string } };
  response?: { code: number; body?: string }[];
}
interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}

const collection = JSON.parse(readFileSync(join(values.shared, 'seed', 'api-starter-pack.postman_collection.json'), 'utf8')) as { item: Item[] };
const database = await openEmbedded({});
const app = await buildApp({ config: loadConfig({}, { worker: false }), db: database.db });
await app.ready();
const document = app.swagger() as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, object> } };
await app.close();
await database.close();

// the document's components, referenced as `#/components/schemas/<id>`
const strict = new Ajv({ strict: false, allErrors: true });
const coercing = new Ajv({ strict: false, allErrors: true, coerceTypes: 'array' });
for (const ajv of [strict, coercing]) {
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', components: document.components });
}
const valid = (ajv: typeof strict, schema: object, value: unknown) => ajv.validate(JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/')), structuredClone(value));

// a collection URL against the document's paths: a {{variable}} or {param} matches one segment; the most literal path wins
const segments = (path: string) => path.split('?')[0].split('/').filter(Boolean);
function operationOf(method: string, url: string): Operation | undefined {
  const wanted = segments(url.replace(/^\{\{\w+\}\}/, '').replace(/^https?:\/\/[^/]+/, ''));
  let best: { op: Operation; literal: number } | undefined;
  for (const [path, item] of Object.entries(document.paths)) {
    const op = item[method.toLowerCase()];
    const parts = segments(path);
    if (!op || parts.length !== wanted.length) continue;
    let literal = 0;
    const matches = parts.every((part, i) => (part.startsWith('{') ? true : part === wanted[i] ? ++literal > 0 : false));
    if (matches && (!best || literal > best.literal)) best = { op, literal };
  }
  return best?.op;
}

const parse = (text: string | undefined) => {
  try {
    return text?.trim() ? JSON.parse(withoutJsonComments(text)) : undefined;
  } catch {
    return undefined;
  }
};

const examples: Record<string, { request?: unknown; responses?: Record<string, unknown> }> = {};
let kept = 0;
let dropped = 0;
const walk = (items: Item[]) => {
  for (const item of items) {
    if (item.item) walk(item.item);
    if (!item.request) continue;
    const url = typeof item.request.url === 'string' ? item.request.url : item.request.url.raw;
    const op = operationOf(item.request.method, url);
    if (!op) continue;
    const entry = (examples[op.operationId] ??= {});
    const body = parse(item.request.body?.raw);
    const bodySchema = op.requestBody?.content['application/json']?.schema;
    if (body !== undefined && bodySchema && entry.request === undefined) {
      if (valid(coercing, bodySchema, body)) (entry.request = body), kept++;
      else dropped++;
    }
    for (const response of item.response ?? []) {
      const answer = parse(response.body);
      const schema = op.responses[response.code]?.content?.['application/json']?.schema;
      if (answer === undefined || !schema || entry.responses?.[response.code] !== undefined) continue;
      if (valid(strict, schema, answer)) ((entry.responses ??= {})[response.code] = answer), kept++;
      else {
        dropped++;
        console.log(`${item.name}: the recorded ${response.code} does not validate: ${strict.errorsText(strict.errors)}`);
      }
    }
    if (!entry.request && !entry.responses) delete examples[op.operationId];
  }
};
walk(collection.item);
writeFileSync(join(root, 'src', 'http', 'examples.json'), `${JSON.stringify(examples, null, 2)}\n`);
console.log(`examples for ${Object.keys(examples).length} operations: ${kept} kept, ${dropped} that do not validate left out`);
