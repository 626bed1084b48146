// The OpenAPI document names, for every operation, a stable operationId and the
// credentials its surface takes, so that generated clients and the interactive
// reference can call it.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { postgresApp, type TestApp } from '../support/harness.js';
import { surfaceOf } from '../support/operations.js';

const SCHEME = { core: 'basic', connect: 'basic', pos: 'pos', admin: 'admin' } as const;

describe('the OpenAPI document', () => {
  let doc: { paths: Record<string, Record<string, { operationId?: string; security?: Record<string, string[]>[] }>>; components: { securitySchemes: Record<string, unknown> } };
  before(async () => {
    const t: TestApp = await postgresApp();
    await t.app.ready();
    doc = t.app.swagger() as typeof doc;
  });

  it('gives every operation a unique operationId of its surface and the security scheme of its surface', () => {
    const ids = new Set<string>();
    let operations = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        operations++;
        const surface = surfaceOf(path);
        const id = op.operationId ?? '';
        assert.ok(id.startsWith(`${surface}.`) && id.endsWith(`.${method}`), `${method} ${path}: ${id}`);
        assert.ok(!ids.has(id), `${id} is unique`);
        ids.add(id);
        assert.deepEqual(op.security, [{ [SCHEME[surface]]: [] }], `${method} ${path}`);
        assert.ok(doc.components.securitySchemes[SCHEME[surface]], SCHEME[surface]);
      }
    }
    assert.ok(operations >= 100, `${operations} operations`);
    assert.equal(doc.paths['/api/2.0/send_transaction'].post.operationId, 'pos.v2_0.sendTransaction.post');
    assert.equal(doc.paths['/priv/v1/apps/{appkey}/users/{user_id}/tags'].get.operationId, 'core.v1.users.byUserId.tags.get');
    assert.equal(doc.paths['/incentives/api/2.0/user_points/deposit'].post.operationId, 'connect.incentives.v2_0.userPoints.deposit.post');
    assert.ok(!doc.paths['/healthz'] && !doc.paths['/readyz'] && !doc.paths['/metrics'], 'operations endpoints are not API operations');
  });
});
