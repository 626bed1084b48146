// Operators' passwords: chosen by people, so a slow, memory-hard KDF (scrypt),
// unlike the long random API secrets, for which one SHA-256 is right.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { DomainError } from '../../errors.js';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCallback(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

/**
 * OWASP's scrypt parameters for 32 MiB per hash (N=2^15, r=8, p=3): about
 * 0.1–0.2 s per hash on one core, in libuv's thread pool (the event loop goes on).
 */
export const KDF = { N: 2 ** 15, r: 8, p: 3, keylen: 32, saltBytes: 16 } as const;
const MAXMEM = 64 * 1024 * 1024;

export const PASSWORD_LENGTH = { min: 12, max: 200 } as const;

/** Refuses a password too short or too long to be a good one (`field` names it in the error). */
export function checkPasswordStrength(password: string, field: string): void {
  const length = [...password].length;
  if (length < PASSWORD_LENGTH.min) throw new DomainError('argument_error', `${field}: at least ${PASSWORD_LENGTH.min} characters`, field);
  if (length > PASSWORD_LENGTH.max) throw new DomainError('argument_error', `${field}: at most ${PASSWORD_LENGTH.max} characters`, field);
}

/** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash, so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(KDF.saltBytes);
  const key = await scrypt(password.normalize('NFKC'), salt, KDF.keylen, { N: KDF.N, r: KDF.r, p: KDF.p, maxmem: MAXMEM });
  return ['scrypt', KDF.N, KDF.r, KDF.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether the password matches the stored hash, compared in constant time; a missing hash costs as long as a real one. */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parts = (stored ?? (await dummyHash())).split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const expected = Buffer.from(parts[5], 'base64');
  const key = await scrypt(password.normalize('NFKC'), Buffer.from(parts[4], 'base64'), expected.length, { N, r, p, maxmem: MAXMEM });
  return timingSafeEqual(key, expected) && stored != null;
}

let dummy: Promise<string> | undefined;
/** A hash no password matches for: an unknown email takes as long to refuse as a wrong password. */
const dummyHash = () => (dummy ??= hashPassword(randomBytes(32).toString('base64')));

/** A password to hand out once (the CLI's first password): 24 characters from 144 random bits. */
export const generatedPassword = () => randomBytes(18).toString('base64url');
