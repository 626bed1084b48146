/** The operator's changes to tenants (admin API), each one transaction (program apply: program-apply.ts). */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { issueCredentials, revokeCredential, rotateCredential } from '../modules/tenants/credentials.js';
import { createRetailer } from '../modules/tenants/service.js';

export const createTenant = (db: Db, name: string) => transact(db, (tx) => createRetailer(tx, { name }));

export const issueTenantCredentials = (db: Db, retailerId: string) => transact(db, (tx) => issueCredentials(tx, retailerId));

export const revokeTenantCredential = (db: Db, retailerId: string, credentialId: string) => transact(db, (tx) => revokeCredential(tx, retailerId, credentialId));

export const rotateTenantCredential = (db: Db, retailerId: string, credentialId: string, overlapSeconds: number) => transact(db, (tx) => rotateCredential(tx, retailerId, credentialId, overlapSeconds));
