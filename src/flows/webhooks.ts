/** An operator's changes to a retailer's webhook endpoints (admin API), each one transaction; the audit trail gets the endpoint before and after, never a secret. */
import type { Db } from '../db/index.js';
import { transact } from '../db/unit-of-work.js';
import { describeWrite } from '../db/write-context.js';
import { retryDelivery } from '../modules/webhooks/deliveries.js';
import { createEndpoint, deleteEndpoint, endpointView, findEndpoint, rotateSecret, updateEndpoint, type UrlPolicy } from '../modules/webhooks/endpoints.js';

export const addWebhook = (db: Db, retailerId: string, input: Parameters<typeof createEndpoint>[2], policy: UrlPolicy) =>
  transact(db, async (tx) => {
    const created = await createEndpoint(tx, retailerId, input, policy);
    const { secret: _secret, ...after } = created;
    describeWrite(tx, { objectId: created.id, after });
    return created;
  });

export const changeWebhook = (db: Db, retailerId: string, id: string, changes: Parameters<typeof updateEndpoint>[3], policy: UrlPolicy) =>
  transact(db, async (tx) => {
    const before = endpointView(await findEndpoint(tx, retailerId, id));
    const after = await updateEndpoint(tx, retailerId, id, changes, policy);
    describeWrite(tx, { before, after });
    return after;
  });

export const removeWebhook = (db: Db, retailerId: string, id: string) =>
  transact(db, async (tx) => {
    describeWrite(tx, { before: endpointView(await findEndpoint(tx, retailerId, id)) });
    await deleteEndpoint(tx, retailerId, id);
  });

export const rotateWebhookSecret = (db: Db, retailerId: string, id: string, overlapSeconds: number) => transact(db, (tx) => rotateSecret(tx, retailerId, id, overlapSeconds));

export const redeliver = (db: Db, retailerId: string, id: string, eventId: string) => transact(db, (tx) => retryDelivery(tx, retailerId, id, eventId));
