import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Db } from '../../db/index.js';
import { DomainError } from '../../errors.js';

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
  return db
    .insertInto('credentials')
    .values({ id: randomUUID(), retailer_id: retailerId, surface, key, secret_salt: salt, secret_hash: hashSecret(salt, secret) })
    .returning(INFO_COLUMNS)
    .executeTakeFirstOrThrow();
}

const token = () => randomBytes(20).toString('hex');

/** Issues a fresh set of credentials for the three surfaces; the secrets are shown only here. */
export async function issueCredentials(db: Db, retailerId: string): Promise<IssuedCredentials> {
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

/** A credential as the admin API lists it: never its secret or hash. */
export interface CredentialInfo {
  credential_id: string;
  retailer_id: string;
  surface: Surface;
  key: string;
  created_at: string;
  revoked_at: string | null;
  expires_at: string | null;
}

const INFO_COLUMNS = ['id', 'retailer_id', 'surface', 'key', 'created_at', 'revoked_at', 'expires_at'] as const;

function infoOf(row: { id: string; retailer_id: string; surface: Surface; key: string; created_at: Date; revoked_at: Date | null; expires_at: Date | null }): CredentialInfo {
  return {
    credential_id: row.id,
    retailer_id: row.retailer_id,
    surface: row.surface,
    key: row.key,
    created_at: row.created_at.toISOString(),
    revoked_at: row.revoked_at?.toISOString() ?? null,
    expires_at: row.expires_at?.toISOString() ?? null,
  };
}

/** The retailer's credentials, oldest first, revoked and expired ones included. */
export async function listCredentials(db: Db, retailerId: string): Promise<CredentialInfo[]> {
  const rows = await db.selectFrom('credentials').select(INFO_COLUMNS).where('retailer_id', '=', retailerId).orderBy('created_at').orderBy('id').execute();
  return rows.map(infoOf);
}

async function lockCredential(tx: Db, retailerId: string, credentialId: string) {
  const row = await tx.selectFrom('credentials').select(INFO_COLUMNS).where('retailer_id', '=', retailerId).where('id', '=', credentialId).forUpdate().executeTakeFirst();
  if (!row) throw new DomainError('not_found', 'credential not found');
  return row;
}

/** Revokes a credential at once (idempotent: a revoked one keeps its first revocation time). */
export async function revokeCredential(tx: Db, retailerId: string, credentialId: string): Promise<CredentialInfo> {
  const row = await lockCredential(tx, retailerId, credentialId);
  if (row.revoked_at) return infoOf(row);
  const revoked = await tx.updateTable('credentials').set({ revoked_at: new Date() }).where('id', '=', row.id).returning(INFO_COLUMNS).executeTakeFirstOrThrow();
  return infoOf(revoked);
}

export interface RotatedCredential {
  credential: CredentialInfo;
  /** The new secret, shown only here. */
  secret: string;
  /** The credential replaced, valid until its expires_at. */
  replaced: CredentialInfo;
}

/**
 * Issues a new secret for a credential's key and surface (a new credential
 * row); the old secret keeps working for `overlapSeconds` (0: it stops at once).
 */
export async function rotateCredential(tx: Db, retailerId: string, credentialId: string, overlapSeconds: number): Promise<RotatedCredential> {
  const row = await lockCredential(tx, retailerId, credentialId);
  if (row.revoked_at) throw new DomainError('validation', 'credential_id: the credential is revoked', 'credential_id');
  if (row.expires_at) throw new DomainError('validation', 'credential_id: the credential was already rotated; rotate its successor', 'credential_id');
  const replaced = await tx
    .updateTable('credentials')
    .set({ expires_at: new Date(Date.now() + overlapSeconds * 1000) })
    .where('id', '=', row.id)
    .returning(INFO_COLUMNS)
    .executeTakeFirstOrThrow();
  const secret = token();
  const created = await insertCredential(tx, retailerId, row.surface, row.key, secret);
  return { credential: infoOf(created), secret, replaced: infoOf(replaced) };
}

/** The retailer a request acts for. */
export interface Tenant {
  retailerId: string;
  /** SessionM's numeric rewards_system_id. */
  retailerNumber: number;
}

interface CachedCredential {
  tenant: Tenant;
  /** The key's secrets: the current one, and a rotated one during its overlap. */
  secrets: { salt: Buffer; hash: Buffer; expiresAt: number | null }[];
}

/** How long a process keeps a key's credential rows: a revocation or rotation made through another process takes effect here within this. */
export const CREDENTIAL_CACHE_MS = 5_000;
const DUMMY = { salt: Buffer.alloc(16), hash: Buffer.alloc(32), expiresAt: null };

/**
 * Checks credentials against the stored hashes in constant time. A key's rows
 * are cached for a short while so a request costs no extra query; revoking or
 * rotating through this process's admin API takes effect here at once
 * (`forget`), and other processes read the rows again within CREDENTIAL_CACHE_MS. A
 * rotated secret's expiry is checked on every request.
 */
export class CredentialVerifier {
  private readonly cache = new Map<string, { value: Promise<CachedCredential | null>; loadedAt: number }>();

  constructor(private readonly db: Db) {}

  /** The retailer the credential belongs to, or undefined when it is unknown or wrong. */
  async verify(surface: Surface, key: string, secret: string): Promise<Tenant | undefined> {
    const row = await this.load(surface, key.toLowerCase());
    const now = Date.now();
    let ok = false;
    // every candidate is hashed and compared: the time taken does not depend on which one matches
    for (const candidate of row?.secrets.length ? row.secrets : [DUMMY]) {
      const live = candidate.expiresAt === null || candidate.expiresAt > now;
      if (timingSafeEqual(hashSecret(candidate.salt, secret), candidate.hash) && live) ok = true;
    }
    return ok && row ? row.tenant : undefined;
  }

  /** Splits a POS token `key.secret` and verifies it. */
  verifyPosToken(token: string): Promise<Tenant | undefined> {
    const value = token.replace(/^(bearer|token)\s+/i, '').trim();
    const dot = value.indexOf('.');
    if (dot <= 0) return this.verify('pos', '', '');
    return this.verify('pos', value.slice(0, dot), value.slice(dot + 1));
  }

  /** Drops a key's cached rows: its next request reads them again (after a revocation or rotation). */
  forget(surface: Surface, key: string): void {
    this.cache.delete(`${surface}:${key.toLowerCase()}`);
  }

  private load(surface: Surface, key: string): Promise<CachedCredential | null> {
    const cacheKey = `${surface}:${key}`;
    const now = Date.now();
    const cached = this.cache.get(cacheKey);
    if (cached && now - cached.loadedAt < CREDENTIAL_CACHE_MS) return cached.value;
    // one read per key in flight: the requests arriving meanwhile wait for it
    const value = this.read(surface, key);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, { value, loadedAt: now });
    value.catch(() => {
      if (this.cache.get(cacheKey)?.value === value) this.cache.delete(cacheKey);
    });
    return value;
  }

  private async read(surface: Surface, key: string): Promise<CachedCredential | null> {
    if (!key) return null;
    const rows = await this.db
      .selectFrom('credentials')
      .innerJoin('retailers', 'retailers.id', 'credentials.retailer_id')
      .select(['credentials.retailer_id', 'retailers.number', 'credentials.secret_salt', 'credentials.secret_hash', 'credentials.expires_at'])
      .where('credentials.surface', '=', surface)
      .where('credentials.key', '=', key)
      .where('credentials.revoked_at', 'is', null)
      .where((eb) => eb.or([eb('credentials.expires_at', 'is', null), eb('credentials.expires_at', '>', new Date())]))
      .execute();
    if (!rows.length) return null;
    return {
      tenant: { retailerId: rows[0].retailer_id, retailerNumber: rows[0].number },
      secrets: rows.map((r) => ({ salt: r.secret_salt, hash: r.secret_hash, expiresAt: r.expires_at?.getTime() ?? null })),
    };
  }
}
