import { transact } from './db/unit-of-work.js';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Db } from './db/index.js';
import { createMember, getMember, type MemberInput } from './modules/members/service.js';
import { parseAmount } from './modules/points/amount.js';
import { applyPointChanges } from './modules/points/ledger.js';
import { evaluateTiers } from './flows/points.js';
import { getOffer } from './modules/offers/catalog.js';
import { issueOffer, redeemUserOffer } from './modules/offers/user-offers.js';
import { seedDemoMerge } from './flows/merge-members.js';
import { applyProgram } from './flows/program-apply.js';
import { parseProgramText } from './modules/program/service.js';
import { issueCredentials } from './modules/tenants/credentials.js';
import { findRetailer } from './modules/tenants/service.js';

/** The fixed ids of the Brand X demo (SPEC §9) that the collection's requests name. */
export const DEMO = {
  retailerId: 'e59fdc7e-2413-442e-8e38-077a2d150a5e',
  storeId: '7c3c8b0e-4a3d-4a53-8f27-2a6f5d0b1e01',
  storeOfferId: 'a6f0b7a2-3c1d-4e8f-9b2a-5d4c3b2a1f00',
  offerId: '99da80b1-26eb-4f9d-bb81-c5d586d0c539',
  campaignId: '607',
  adCampaignId: '324',
  tierSystemId: '5b0f4d1e-7a2c-4c3e-9f1a-8e2d6c4b3a10',
  awardPointsId: 'f4d91345-bbe8-4ca7-864d-771761be873e',
  pointSourceId: '425836cd-58e6-41b9-9816-22b987ea392f',
  mergeAccountId: '3f9a7c21-5b8e-4d6f-a1c2-7e8d9f0a1b2c',
  survivorExternalId: 'BRANDX-SURVIVOR-001',
  victimExternalId: 'BRANDX-VICTIM-001',
  firstName: 'Marcus',
  lastName: 'Mastercardson',
} as const;

/** The base URL clients use to reach a server listening on host:port (any-address binds are reached on the loopback). */
export function endpointFor(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** A demo member and the points it starts with (deposited when it is created). */
type DemoMember = MemberInput & {
  points?: { point_account_id: string; amount: number; reference_type?: string }[];
  offers?: { id: string; offer_id: string; redeemed?: boolean }[];
};

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'brand-x');

/**
 * Loads the demo program and members (idempotent: existing members are kept)
 * and issues fresh credentials. Returns the Postman environment variables.
 */
export async function loadDemo(db: Db, endpoint: string): Promise<Record<string, string>> {
  const program = parseProgramText(await readFile(join(EXAMPLES, 'program.yaml'), 'utf8'));
  const members = parseYaml(await readFile(join(EXAMPLES, 'members.yaml'), 'utf8')) as DemoMember[];

  const credentials = await transact(db, async (tx) => {
    await applyProgram(tx, DEMO.retailerId, program);
    const retailer = (await findRetailer(tx, DEMO.retailerId))!;
    const actor = { retailerId: retailer.id, retailerNumber: retailer.number, requestId: 'demo' };
    for (const { points, offers, ...input } of members) {
      if (await getMember(tx, retailer.id, input.id!)) continue;
      const member = await createMember(tx, actor, input);
      if (points?.length) {
        const details = points.map((p) => ({ kind: 'deposit' as const, point_account_id: p.point_account_id, amount: parseAmount(p.amount), point_source_id: DEMO.pointSourceId, reference_id: 'demo', reference_type: p.reference_type }));
        await applyPointChanges(tx, actor, member, details, { allowPartialSuccess: false });
        await evaluateTiers(tx, actor, member, 'promote');
      }
      for (const o of offers ?? []) {
        const offer = await getOffer(tx, retailer.id, o.offer_id, { exactVersion: true });
        const userOffer = await issueOffer(tx, actor, member, offer, { id: o.id, source: 'demo' });
        if (o.redeemed) await redeemUserOffer(tx, actor, userOffer.id, { storeId: DEMO.storeId, manual: true });
      }
    }
    await seedDemoMerge(tx, actor);
    return issueCredentials(tx, retailer.id);
  });

  return {
    endpoint,
    endpoint_connect: endpoint,
    endpoint_cloudpos: endpoint,
    appkey: credentials.appkey,
    apikey: credentials.appkey,
    secret: credentials.secret,
    appkey_connect: credentials.appkey_connect,
    secret_connect: credentials.secret_connect,
    cloudpos_authorization: credentials.cloudpos_authorization,
    retailer_id: DEMO.retailerId,
    store_id: DEMO.storeId,
    reward_store_id: DEMO.storeId,
    store_offer_id: DEMO.storeOfferId,
    offer_id: DEMO.offerId,
    campaign_id: DEMO.campaignId,
    ad_campaign_id: DEMO.adCampaignId,
    survivor_external_id: DEMO.survivorExternalId,
    victim_external_id: DEMO.victimExternalId,
    merge_account_id: DEMO.mergeAccountId,
    firstname: DEMO.firstName,
    lastname: DEMO.lastName,
    tier_system_id: DEMO.tierSystemId,
    award_points_id: DEMO.awardPointsId,
  };
}

/** Writes the variables as a Postman environment file. */
export async function writeEnvFile(file: string, variables: Record<string, string>): Promise<void> {
  const environment = {
    id: randomUUID(),
    name: 'Loyalist demo (Brand X)',
    values: Object.entries(variables).map(([key, value]) => ({ key, value, type: key.startsWith('secret') ? 'secret' : 'default', enabled: true })),
    _postman_variable_scope: 'environment',
  };
  await writeFile(file, JSON.stringify(environment, null, 2) + '\n', { mode: 0o600 });
}
