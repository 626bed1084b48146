/** The operator's changes to tenants (admin API), each one transaction (program apply: program-apply.ts). */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { describeWrite } from '../db/write-context.js';
import { issueCredentials, revokeCredential, rotateCredential } from '../modules/tenants/credentials.js';
import { createRetailer } from '../modules/tenants/service.js';

export const createTenant = (db: Db, name: string) =>
  transact(db, async (tx) => {
    const tenant = await createRetailer(tx, { name });
    describeWrite(tx, { retailerId: tenant.retailer_id, objectId: tenant.retailer_id, after: { name } });
    return tenant;
  });

/** The keys issued go in the audit trail, never the secrets. */
export const issueTenantCredentials = (db: Db, retailerId: string) =>
  transact(db, async (tx) => {
    const issued = await issueCredentials(tx, retailerId);
    describeWrite(tx, { after: { appkey: issued.appkey, appkey_connect: issued.appkey_connect, cloudpos_key: issued.cloudpos_authorization.split('.')[0] } });
    return issued;
  });

export const revokeTenantCredential = (db: Db, retailerId: string, credentialId: string) =>
  transact(db, async (tx) => {
    const revoked = await revokeCredential(tx, retailerId, credentialId);
    describeWrite(tx, { after: revoked });
    return revoked;
  });

export const rotateTenantCredential = (db: Db, retailerId: string, credentialId: string, overlapSeconds: number) =>
  transact(db, async (tx) => {
    const rotated = await rotateCredential(tx, retailerId, credentialId, overlapSeconds);
    describeWrite(tx, { before: rotated.replaced, after: rotated.credential });
    return rotated;
  });
