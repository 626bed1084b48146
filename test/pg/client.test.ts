// The typed TypeScript client (clients/typescript) is generated from the
// OpenAPI document and kept in the repository: it is up to date with the
// routes, it compiles on its own, and it drives a real server over HTTP with
// answers the compiler types (the type assertions below fail `npm run
// typecheck` when a documented answer is typed `never` or `unknown`).
import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLoyalistClient, type LoyalistClient } from '../../clients/typescript/src/index.js';
import { applyProgram } from '../../src/flows/program-apply.js';
import { parseProgramText } from '../../src/modules/program/service.js';
import { committedContract, eventsSchema, generateContract } from '../../scripts/client.js';
import { createTenant, postgresApp, type TestApp, type TestTenant } from '../support/harness.js';

/** true only when A and B are the same type: `never` or `unknown` in place of a documented type fails the assignment. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typed = <A, B>(_value: A, same: Same<A, B>) => assert.equal(same, true);

const STORE = '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01';
const SPENDABLE = 'f4d91345-bbe8-4ca7-864d-771761be873e';

describe('the typed TypeScript client', () => {
  let t: TestApp;
  let tenant: TestTenant;
  let loyalist: LoyalistClient;
  before(async () => {
    t = await postgresApp();
    tenant = await createTenant(t.db);
    const program = parseProgramText(readFileSync(new URL('../../examples/brand-x/program.yaml', import.meta.url), 'utf8'));
    await transact(t.db, (tx) => applyProgram(tx, tenant.retailer_id, program));
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    loyalist = createLoyalistClient(address, {
      core: { appkey: tenant.appkey, secret: tenant.secret },
      connect: { appkey: tenant.appkey_connect, secret: tenant.secret_connect },
      pos: tenant.cloudpos_authorization,
    });
  });

  it('is generated from the current routes: `npm run client` leaves docs/openapi.json and clients/typescript/src/schema.ts unchanged', async () => {
    const fresh = await generateContract();
    const committed = committedContract();
    assert.ok(fresh.document === committed.document, 'docs/openapi.json is out of date: run `npm run client`');
    assert.ok(fresh.types === committed.types, 'clients/typescript/src/schema.ts is out of date: run `npm run client`');
    assert.ok(eventsSchema() === committed.events, 'docs/events.schema.json is out of date: run `npm run client`');
  });

  it('compiles on its own with the TypeScript compiler', () => {
    const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
    const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', fileURLToPath(new URL('../../clients/typescript/tsconfig.json', import.meta.url))], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it('creates a member, deposits points and finds the member at the till, with typed answers', async () => {
    const email = `typed.${Date.now()}@example.com`;
    const created = await loyalist.core.POST('/priv/v1/apps/{appkey}/users', {
      params: { path: { appkey: tenant.appkey } },
      body: { user: { external_id: `TYPED-${Date.now()}`, email, first_name: 'Ada', phone_numbers: [{ phone_number: '6175550199', phone_type: 'mobile' }] } },
    });
    assert.equal(created.response.status, 200);
    const user = created.data!.user;
    typed<typeof user.id, string>(user.id, true);
    typed<typeof user.opted_in, boolean>(user.opted_in, true);
    typed<typeof user.available_points, number>(user.available_points, true);
    assert.equal(user.email, email);

    const deposited = await loyalist.connect.POST('/incentives/api/2.0/user_points/deposit', {
      body: { retailer_id: tenant.retailer_id, user_id: user.id, deposit_details: [{ point_account_id: SPENDABLE, amount: 120 }] },
    });
    assert.equal(deposited.response.status, 200);
    const row = deposited.data!.payload.details[0];
    typed<typeof row.remaining_balance, number>(row.remaining_balance, true);
    assert.equal(row.remaining_balance, 120);

    const found = await loyalist.pos.POST('/api/2.0/lookup', {
      body: { store_id: STORE, client_id: tenant.retailer_id, request_id: 'typed-1', request_payload: { email } },
    });
    assert.equal(found.response.status, 200);
    const member = found.data!.payload[0];
    typed<typeof member.user_reference_id, string>(member.user_reference_id, true);
    assert.equal(member.user_reference_id, user.id);

    // an error answer is typed in its surface's envelope
    const missing = await loyalist.core.GET('/priv/v1/apps/{appkey}/users/{user_id}', { params: { path: { appkey: tenant.appkey, user_id: '00000000-0000-4000-8000-000000000000' } } });
    assert.equal(missing.response.status, 404);
    const code = missing.error!.errors.code;
    // the codes the operation documents, not any string
    typed<string extends typeof code ? true : false, false>(false, true);
    assert.equal(code, 'user_not_found');
  });
});
