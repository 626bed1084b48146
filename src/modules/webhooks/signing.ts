import { createHmac, randomBytes } from 'node:crypto';

/** A new signing secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks). */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/**
 * The webhook-signature header of Standard Webhooks 1.0: `v1,<base64 HMAC-SHA256>`
 * over `<id>.<timestamp>.<body>` with each secret's decoded bytes, space-separated
 * (one per secret that signs, during a rotation).
 */
export function signatureHeader(id: string, timestamp: number, body: string, secrets: string[]): string {
  return secrets.map((s) => `v1,${createHmac('sha256', Buffer.from(s.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.${body}`).digest('base64')}`).join(' ');
}
