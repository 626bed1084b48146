/** The operator's changes to tenants (admin API), each one transaction. */
import { transact } from '../db/unit-of-work.js';
import type { Db } from '../db/index.js';
import { applyProgram, type Program } from '../modules/program/service.js';
import { issueCredentials, revokeCredential, rotateCredential } from '../modules/tenants/credentials.js';
import { createRetailer } from '../modules/tenants/service.js';

export const createTenant = (db: Db, name: string) => transact(db, (tx) => createRetailer(tx, { name }));

export const issueTenantCredentials = (db: Db, retailerId: string) => transact(db, (tx) => issueCredentials(tx, retailerId));

export const revokeTenantCredential = (db: Db, retailerId: string, credentialId: string) => transact(db, (tx) => revokeCredential(tx, retailerId, credentialId));

export const rotateTenantCredential = (db: Db, retailerId: string, credentialId: string, overlapSeconds: number) => transact(db, (tx) => rotateCredential(tx, retailerId, credentialId, overlapSeconds));

/** Makes the retailer's configuration match a program document (program apply). */
export const applyProgramDocument = (db: Db, retailerId: string, program: Program) => transact(db, (tx) => applyProgram(tx, retailerId, program));
