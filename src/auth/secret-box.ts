import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The secrets the server must read back (the keys that sign OAuth tokens, the webhook secrets) are
 * kept in the store sealed with AES-256-GCM under LOYALTY_SECRET_KEY, which lives only in the
 * environment: a copy of the store (a backup, a dump) is then no key to mint tokens or sign webhooks.
 *
 * A sealed value names the key that sealed it (a short fingerprint), so that a wrong or missing key
 * is found at start-up and a rotation can tell old from new. What a value is for and which org owns
 * it are bound into it (GCM's additional data): a value copied to another org or use does not open.
 */

export type SealedPurpose = 'oauth-signing-key' | 'webhook-secret';

export const SEALED_PREFIX = 'sealed:v1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that this process's keys cannot open: a wrong key, or one rotated away. */
export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** The 32 bytes of a key given as base64 or base64url (43 characters, or 44 with its `=`); else undefined. */
export function decodeSecretKey(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return undefined;
  const key = Buffer.from(text, 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}

/** A new key, as `loyalty secret generate` prints it. */
export function generateSecretKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

/** A key's fingerprint: names the key in sealed values and messages, and tells nothing of it. */
export function keyIdOf(text: string): string {
  const key = decodeSecretKey(text);
  if (!key) throw new SecretKeyError('not a secret key');
  return createHash('sha256').update('loyalty-promotions key id\u0000').update(key).digest('hex').slice(0, 8);
}

/** The key id a stored value was sealed with; undefined for a value kept in the clear (before sealing). */
export function sealedKeyId(stored: string): string | undefined {
  if (!stored.startsWith(SEALED_PREFIX)) return undefined;
  return stored.slice(SEALED_PREFIX.length).split(':', 1)[0];
}

interface Key {
  id: string;
  aes: Buffer;
}

function keyOf(text: string): Key {
  const raw = decodeSecretKey(text);
  if (!raw) throw new SecretKeyError('not a secret key');
  // The AES key is derived, so that the fingerprint and the cipher never use the same bytes.
  const aes = Buffer.from(hkdfSync('sha256', raw, '', 'loyalty-promotions sealed secrets v1', KEY_BYTES));
  return { id: keyIdOf(text), aes };
}

const additionalData = (purpose: SealedPurpose, orgId: number) => Buffer.from(`${purpose}\u0000${orgId}`);

export type SecretBox = ReturnType<typeof createSecretBox>;

/**
 * Seals with `current`; opens what `current` or `previous` sealed (`previous` is the key being
 * rotated away: see `loyalty secret rotate`). `name` says where `current` came from, in messages.
 */
export function createSecretBox(current: string, previous?: string, name = 'LOYALTY_SECRET_KEY') {
  const sealer = keyOf(current);
  const keys = new Map<string, Key>([[sealer.id, sealer]]);
  if (previous !== undefined) {
    const old = keyOf(previous);
    if (!keys.has(old.id)) keys.set(old.id, old);
  }

  return {
    /** Where the sealing key came from, for messages: LOYALTY_SECRET_KEY, or the key file. */
    name,
    /** The fingerprint of the key that seals. */
    keyId: sealer.id,
    /** The fingerprint of the previous key, if one is given and differs. */
    previousKeyId: [...keys.keys()].find((id) => id !== sealer.id),

    seal(purpose: SealedPurpose, orgId: number, secret: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealer.aes, iv);
      cipher.setAAD(additionalData(purpose, orgId));
      const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${SEALED_PREFIX}${sealer.id}:${iv.toString('base64url')}:${body.toString('base64url')}`;
    },

    /** The secret a stored value holds; SecretKeyError when no key of this process opens it. */
    open(purpose: SealedPurpose, orgId: number, stored: string): string {
      const id = sealedKeyId(stored);
      if (id === undefined) throw new SecretKeyError(`a ${purpose} of org ${orgId} is not sealed`);
      const key = keys.get(id);
      if (!key) {
        throw new SecretKeyError(
          `a ${purpose} of org ${orgId} is sealed with key ${id}, which is neither ${name} ` +
            `(${sealer.id}) nor LOYALTY_SECRET_KEY_PREVIOUS`,
        );
      }
      const [, ivText, bodyText] = stored.slice(SEALED_PREFIX.length).split(':');
      const iv = Buffer.from(ivText ?? '', 'base64url');
      const body = Buffer.from(bodyText ?? '', 'base64url');
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) {
        throw new SecretKeyError(`a ${purpose} of org ${orgId} is damaged`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key.aes, iv);
        decipher.setAAD(additionalData(purpose, orgId));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        const plain = Buffer.concat([
          decipher.update(body.subarray(0, body.length - TAG_BYTES)),
          decipher.final(),
        ]);
        return plain.toString('utf8');
      } catch {
        throw new SecretKeyError(
          `a ${purpose} of org ${orgId} does not open with key ${id}: it was altered or moved`,
        );
      }
    },
  };
}
