// The OpenAPI document is the API contract: every operation names a stable
// operationId, the credentials its surface takes, what it does, every answer it
// gives (success and errors, in its surface's envelope) and examples that are
// true to its schemas, so that generated clients and the interactive reference
// can call it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import AjvModule from 'ajv';
import formatsModule from 'ajv-formats';
import { call, postgresApp, type TestApp } from '../support/harness.js';
import { surfaceOf } from '../support/operations.js';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = formatsModule.default ?? formatsModule;

const SCHEME = { core: 'basic', connect: 'basic', pos: 'pos', admin: 'admin' } as const;
const OPS = ['/', '/healthz', '/readyz', '/metrics'];

interface Media {
  schema?: Record<string, any>;
  example?: unknown;
}
interface Op {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description?: string; content?: Record<string, Media> }>;
}
type Doc = { paths: Record<string, Record<string, Op>>; components: { securitySchemes: Record<string, unknown>; schemas: Record<string, object> } };

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Doc;
  let operations: { path: string; method: string; op: Op }[];
  const resolve = (schema: Record<string, any>): Record<string, any> => (schema.$ref ? doc.components.schemas[schema.$ref.split('/').pop()] : schema);
  before(async () => {
    t = await postgresApp();
    await t.app.ready();
    doc = t.app.swagger() as unknown as Doc;
    operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));
  });

  const PUBLIC_ADMIN = ['post /admin/session', 'post /admin/invitations/accept'];

  it('gives every operation a unique operationId of its surface and the security scheme of its surface', () => {
    const ids = new Set<string>();
    for (const { path, method, op } of operations) {
      const id = op.operationId ?? '';
      assert.ok(!ids.has(id), `${id} is unique`);
      ids.add(id);
      if (OPS.includes(path)) {
        assert.deepEqual(op.security, [], `${method} ${path} needs no credentials`);
        assert.equal(id, `ops.${path.slice(1) || 'index'}.get`);
        continue;
      }
      const surface = surfaceOf(path);
      assert.ok(id.startsWith(`${surface}.`) && id.endsWith(`.${method}`), `${method} ${path}: ${id}`);
      if (PUBLIC_ADMIN.includes(`${method} ${path}`)) {
        assert.deepEqual(op.security, [], `${method} ${path} is how an operator gets credentials`);
        continue;
      }
      // the admin API also takes an operator's session cookie
      assert.deepEqual(op.security, surface === 'admin' ? [{ admin: [] }, { adminSession: [] }] : [{ [SCHEME[surface]]: [] }], `${method} ${path}`);
      assert.ok(doc.components.securitySchemes[SCHEME[surface]], SCHEME[surface]);
    }
    assert.ok(operations.length >= 100, `${operations.length} operations`);
    assert.equal(doc.paths['/api/2.0/send_transaction'].post.operationId, 'pos.v2_0.sendTransaction.post');
    assert.equal(doc.paths['/priv/v1/apps/{appkey}/users/{user_id}/tags'].get.operationId, 'core.v1.users.byUserId.tags.get');
    assert.equal(doc.paths['/incentives/api/2.0/user_points/deposit'].post.operationId, 'connect.incentives.v2_0.userPoints.deposit.post');
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/docs')), 'the reference does not list itself');
  });

  it('describes every operation: a tag of its surface, a summary and a description', () => {
    const label = { core: 'Core', connect: 'Connect', pos: 'POS', admin: 'Admin' } as const;
    for (const { path, method, op } of operations) {
      assert.ok(op.summary && op.summary.length > 10, `${method} ${path}: summary`);
      assert.ok(op.description && op.description.length > 20, `${method} ${path}: description`);
      const tag = OPS.includes(path) ? 'Operations' : label[surfaceOf(path)];
      assert.ok(op.tags?.length && op.tags.every((t) => t.startsWith(tag)), `${method} ${path}: tags ${op.tags}`);
    }
  });

  it('documents every operation’s success answer with a schema, and its errors in its surface’s envelope', () => {
    for (const { path, method, op } of operations) {
      const statuses = Object.keys(op.responses);
      const success = statuses.filter((s) => s.startsWith('2'));
      assert.ok(success.length, `${method} ${path}: a 2xx answer`);
      for (const status of success) {
        const media = op.responses[status].content ?? {};
        const schema = (media['application/json'] ?? media['text/plain'])?.schema;
        assert.ok(schema && (schema.type || schema.$ref || schema.properties), `${method} ${path} ${status}: a schema`);
      }
      if (OPS.includes(path)) continue;
      for (const status of ['400', '401', '503']) assert.ok(statuses.includes(status), `${method} ${path}: ${status}`);
      for (const status of statuses.filter((s) => Number(s) >= 400)) {
        const schema = resolve(op.responses[status].content!['application/json'].schema!);
        assert.deepEqual(schema.properties!.status.enum, ['error'], `${method} ${path} ${status}`);
        const error = surfaceOf(path) === 'pos' ? schema.properties!.errors.items : schema.properties!.errors;
        assert.ok(error.properties.code.enum.length, `${method} ${path} ${status}: its codes`);
      }
    }
    // an operation's own errors are listed with their codes
    const codes = (path: string, method: string, status: string) => resolve(doc.paths[path][method].responses[status].content!['application/json'].schema!).properties!.errors.properties.code.enum;
    assert.ok(codes('/incentives/api/2.0/user_points/deposit', 'post', '422').includes('point_account_inactive'));
    assert.ok(codes('/priv/v1/apps/{appkey}/users/{user_id}', 'get', '404').includes('user_not_found'));
    // the errors every operation shares are components
    assert.equal(doc.paths['/priv/v1/apps/{appkey}/users/{user_id}'].get.responses['401'].content!['application/json'].schema!.$ref, '#/components/schemas/ErrorUnauthorizedOrAppkey');
  });

  it('defines shared answers once, as components the operations reference', () => {
    const text = JSON.stringify(doc.paths);
    const referenced = Object.keys(doc.components.schemas).filter((id) => text.includes(`"#/components/schemas/${id}"`));
    assert.ok(referenced.length >= 5, `components referenced: ${referenced.join(', ')}`);
  });

  it('gives examples that validate against the schemas they illustrate', () => {
    const strict = new Ajv({ strict: false, allErrors: true });
    const coercing = new Ajv({ strict: false, allErrors: true, coerceTypes: 'array' });
    for (const ajv of [strict, coercing]) addFormats(ajv).addSchema({ $id: 'doc', components: doc.components });
    const resolved = (schema: object) => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/'));
    let examples = 0;
    for (const { path, method, op } of operations) {
      const body = op.requestBody?.content['application/json'];
      if (body?.example !== undefined) {
        examples++;
        assert.ok(coercing.validate(resolved(body.schema!), structuredClone(body.example)), `${method} ${path} request example: ${coercing.errorsText(coercing.errors)}`);
      }
      for (const [status, response] of Object.entries(op.responses)) {
        const media = response.content?.['application/json'];
        if (media?.example === undefined) continue;
        examples++;
        assert.ok(strict.validate(resolved(media.schema!), media.example), `${method} ${path} ${status} example: ${strict.errorsText(strict.errors)}`);
      }
    }
    assert.ok(examples >= 40, `${examples} examples`);
  });

  it('lets the interactive reference keep credentials per surface and try operations out', async () => {
    const res = await call(t.app, { method: 'GET', url: '/docs/static/swagger-initializer.js' });
    assert.equal(res.status, 200);
    assert.match(res.body, /"persistAuthorization":\s*true/);
    assert.match(res.body, /"tryItOutEnabled":\s*true/);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['admin', 'adminSession', 'basic', 'pos']);
  });
});
