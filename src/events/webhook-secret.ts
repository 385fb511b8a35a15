import { createHmac, randomBytes } from 'node:crypto';

/**
 * The one place that turns a webhook secret into what the store holds and back. Secrets must stay
 * readable by the server (it signs with them); encrypting them at rest will change only seal/open.
 */

const PREFIX = 'whsec_';

/** A new secret: `whsec_` and the base64 of 32 random bytes (the Standard Webhooks form). */
export function newSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** What the store keeps for a secret. */
export function sealSecret(secret: string): string {
  return secret;
}

/** The secret back from what the store keeps. */
export function openSecret(stored: string): string {
  return stored;
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
