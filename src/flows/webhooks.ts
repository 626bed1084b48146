/** An operator's changes to a retailer's webhook endpoints (admin API), each one transaction. */
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { retryDelivery } from '../modules/webhooks/deliveries.js';
import { createEndpoint, deleteEndpoint, rotateSecret, updateEndpoint, type UrlPolicy } from '../modules/webhooks/endpoints.js';

export const addWebhook = (db: Db, retailerId: string, input: Parameters<typeof createEndpoint>[2], policy: UrlPolicy) => transact(db, (tx) => createEndpoint(tx, retailerId, input, policy));

export const changeWebhook = (db: Db, retailerId: string, id: string, changes: Parameters<typeof updateEndpoint>[3], policy: UrlPolicy) => transact(db, (tx) => updateEndpoint(tx, retailerId, id, changes, policy));

export const removeWebhook = (db: Db, retailerId: string, id: string) => transact(db, (tx) => deleteEndpoint(tx, retailerId, id));

export const rotateWebhookSecret = (db: Db, retailerId: string, id: string, overlapSeconds: number) => transact(db, (tx) => rotateSecret(tx, retailerId, id, overlapSeconds));

export const redeliver = (db: Db, retailerId: string, id: string, eventId: string) => transact(db, (tx) => retryDelivery(tx, retailerId, id, eventId));
