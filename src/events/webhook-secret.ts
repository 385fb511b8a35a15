import { createHmac, randomBytes } from 'node:crypto';
import type { SecretBox } from '../auth/secret-box.js';

/**
 * The one place that turns a webhook secret into what the store holds and back: sealed with
 * LOYALTY_SECRET_KEY (the server must read it back to sign, so it cannot be a hash).
 */

const PREFIX = 'whsec_';

/** A new secret: `whsec_` and the base64 of 32 random bytes (the Standard Webhooks form). */
export function newSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** What the store keeps for a secret of an org's endpoint. */
export function sealSecret(box: SecretBox, orgId: number, secret: string): string {
  return box.seal('webhook-secret', orgId, secret);
}

/** The secret back from what the store keeps. */
export function openSecret(box: SecretBox, orgId: number, stored: string): string {
  return box.open('webhook-secret', orgId, stored);
}

/**
 * The webhook-signature header of a message: `v1,` and the base64 HMAC-SHA256 of
 * "id.timestamp.body", keyed with the bytes of the secret's base64 part.
 */
export function signature(secret: string, messageId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${messageId}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}
