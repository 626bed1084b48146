import { transact } from '../../src/db/unit-of-work.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { connectPostgres, type DatabaseHandle } from '../../src/db/connection.js';
import { listPointAccounts } from '../../src/modules/points/accounts.js';
import { pointsProgram } from '../support/factories.js';
import { createTenant, postgresDatabase, type TestTenant } from '../support/harness.js';

// The server stopped answering under load: a till's lookup read the point accounts outside
// any transaction and waited for a pooled connection, while every connection was held by a
// send_transaction that waited for that same read to finish.
describe('configuration reads with every pooled connection held', () => {
  let small: DatabaseHandle;
  let tenant: TestTenant;
  before(async () => {
    const { url, db } = await postgresDatabase();
    tenant = await createTenant(db);
    small = connectPostgres(url, 2);
  });
  // a pool left stuck by a regression never closes: give up on it rather than hang the run
  after(() => Promise.race([small.close(), new Promise((resolve) => setTimeout(resolve, 2000))]));

  it('transactions holding the connections do not wait for a read that needs one', async () => {
    // a program change: nothing of this retailer's accounts is kept any more
    await pointsProgram(small.db, tenant.retailer_id);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let inside = 0;
    let allIn!: () => void;
    const bothIn = new Promise<void>((resolve) => (allIn = resolve));
    const transactions = [0, 1].map(() =>
      transact(small.db, async (tx) => {
        await sql`SELECT 1`.execute(tx);
        if (++inside === 2) allIn();
        await gate;
        return listPointAccounts(tx, tenant.retailer_id);
      }),
    );
    await bothIn;
    // outside any transaction: this read waits for one of the two connections
    const outside = listPointAccounts(small.db, tenant.retailer_id);
    open();
    const outcome = await Promise.race([
      Promise.all([...transactions, outside]).then((reads) => reads.map((accounts) => accounts.length)),
      new Promise<string>((resolve) => setTimeout(() => resolve('stopped'), 5000)),
    ]);
    assert.deepEqual(outcome, [5, 5, 5]);
  });
});
