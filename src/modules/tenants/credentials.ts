import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/index.js';

export type Surface = 'core' | 'connect' | 'pos';

/** Long random server-generated secrets: a salted SHA-256 is the right hash (no KDF per request). */
function hashSecret(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret, 'utf8').digest();
}

export interface IssuedCredentials {
  appkey: string;
  secret: string;
  appkey_connect: string;
  secret_connect: string;
  cloudpos_authorization: string;
}

async function insertCredential(db: Db, retailerId: string, surface: Surface, key: string, secret: string) {
  const salt = randomBytes(16);
  await db
    .insertInto('credentials')
    .values({ id: randomUUID(), retailer_id: retailerId, surface, key, secret_salt: salt, secret_hash: hashSecret(salt, secret) })
    .execute();
}

/** Issues a fresh set of credentials for the three surfaces; the secrets are shown only here. */
export async function issueCredentials(db: Db, retailerId: string): Promise<IssuedCredentials> {
  const token = () => randomBytes(20).toString('hex');
  const issued = {
    appkey: token(),
    secret: token(),
    appkey_connect: token(),
    secret_connect: token(),
    posKey: token(),
    posSecret: token(),
  };
  await insertCredential(db, retailerId, 'core', issued.appkey, issued.secret);
  await insertCredential(db, retailerId, 'connect', issued.appkey_connect, issued.secret_connect);
  await insertCredential(db, retailerId, 'pos', issued.posKey, issued.posSecret);
  return {
    appkey: issued.appkey,
    secret: issued.secret,
    appkey_connect: issued.appkey_connect,
    secret_connect: issued.secret_connect,
    cloudpos_authorization: `${issued.posKey}.${issued.posSecret}`,
  };
}

/** The retailer a request acts for. */
export interface Tenant {
  retailerId: string;
  /** SessionM's numeric rewards_system_id. */
  retailerNumber: number;
}

interface CachedCredential {
  tenant: Tenant;
  salt: Buffer;
  hash: Buffer;
}

const CACHE_MS = 30_000;
const DUMMY = { salt: Buffer.alloc(16), hash: Buffer.alloc(32) };

/**
 * Checks credentials against the stored hashes in constant time. Credential
 * rows are cached for a short while so a request costs no extra query; a
 * revoked credential stops working within CACHE_MS.
 */
export class CredentialVerifier {
  private readonly cache = new Map<string, { value: CachedCredential | null; loadedAt: number }>();

  constructor(private readonly db: Db) {}

  /** The retailer the credential belongs to, or undefined when it is unknown or wrong. */
  async verify(surface: Surface, key: string, secret: string): Promise<Tenant | undefined> {
    const row = await this.load(surface, key.toLowerCase());
    const { salt, hash } = row ?? DUMMY;
    const ok = timingSafeEqual(hashSecret(salt, secret), hash) && row !== null;
    return ok ? row!.tenant : undefined;
  }

  /** Splits a POS token `key.secret` and verifies it. */
  verifyPosToken(token: string): Promise<Tenant | undefined> {
    const value = token.replace(/^(bearer|token)\s+/i, '').trim();
    const dot = value.indexOf('.');
    if (dot <= 0) return this.verify('pos', '', '');
    return this.verify('pos', value.slice(0, dot), value.slice(dot + 1));
  }

  private async load(surface: Surface, key: string): Promise<CachedCredential | null> {
    const cacheKey = `${surface}:${key}`;
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && now - cached.loadedAt < CACHE_MS) return cached.value;
    const row = key
      ? await this.db
          .selectFrom('credentials')
          .innerJoin('retailers', 'retailers.id', 'credentials.retailer_id')
          .select(['credentials.retailer_id', 'retailers.number', 'credentials.secret_salt', 'credentials.secret_hash'])
          .where('credentials.surface', '=', surface)
          .where('credentials.key', '=', key)
          .where('credentials.revoked_at', 'is', null)
          .executeTakeFirst()
      : undefined;
    const value = row ? { tenant: { retailerId: row.retailer_id, retailerNumber: row.number }, salt: row.secret_salt, hash: row.secret_hash } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { value, loadedAt: now });
    return value;
  }
}
