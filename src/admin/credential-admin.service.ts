import { createHash, randomBytes } from 'node:crypto';
import type {
  CredentialKind,
  CredentialRepository,
  StoredCredential,
} from '../auth/credential.repository.js';
import { hashSecret } from '../auth/secret-hash.js';
import type { Clock } from '../clock.js';
import {
  type CreateCredentialInput,
  type PatchCredentialInput,
  RATE_LIMIT_RANGE,
  type RotateCredentialInput,
  TOKEN_TTL_RANGE,
} from '../contract/admin.contract.js';
import { isUniqueViolation } from '../db/store-errors.js';
import { AppError } from '../errors.js';
import { toOptionalInt } from './admin-input.js';

export const DEFAULT_TOKEN_TTL_SECONDS = 300;

/** The md5 hex digest that a till sends in place of its password (Capillary's Basic scheme). */
export function md5Hex(password: string): string {
  return createHash('md5').update(password).digest('hex');
}

export interface CredentialAdminDeps {
  credentials: CredentialRepository;
  orgExists(orgId: number): Promise<boolean>;
  clock: Clock;
  /** Told after any change, so that this process forgets what it cached of the old credential. */
  onChange?: () => void;
}

const WORDS = {
  till: { name: 'username', secret: 'password', label: 'till' },
  apiClient: { name: 'key', secret: 'secret', label: 'API client' },
} as const;

export function credentialView(kind: CredentialKind, c: StoredCredential): Record<string, unknown> {
  return {
    orgId: c.orgId,
    [WORDS[kind].name]: c.name,
    customerAccess: c.access,
    disabled: c.disabled,
    rateLimitPerMinute: c.rateLimitPerMinute,
    ...(kind === 'apiClient' ? { tokenTtlSeconds: c.tokenTtlSeconds } : {}),
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

/**
 * Tills and API clients of the management API: created, listed, changed, rotated, disabled. Secrets
 * are kept only as slow hashes and are never shown again after the call that set them.
 */
export function createCredentialAdminService({
  credentials,
  orgExists,
  clock,
  onChange,
}: CredentialAdminDeps) {
  async function requireOrg(orgId: number): Promise<void> {
    if (!(await orgExists(orgId))) throw new AppError('not_found', `org ${orgId} does not exist`);
  }

  // A till proves itself with md5hex(password), so that is the secret whose hash is kept.
  const hashFor = (kind: CredentialKind, secret: string) =>
    hashSecret(kind === 'till' ? md5Hex(secret) : secret);

  /** The body's login and secret under the kind's own words (username/password, key/secret). */
  function loginOf(kind: CredentialKind, body: CreateCredentialInput): { name: string; secret: string } {
    const fields = body as unknown as Record<string, string>;
    return { name: fields[WORDS[kind].name] as string, secret: fields[WORDS[kind].secret] as string };
  }

  async function create(kind: CredentialKind, orgId: number, body: CreateCredentialInput) {
    const w = WORDS[kind];
    const { name, secret } = loginOf(kind, body);
    const access = body.customerAccess;
    const tokenTtlSeconds =
      ('tokenTtlSeconds' in body
        ? toOptionalInt(body.tokenTtlSeconds, 'tokenTtlSeconds', TOKEN_TTL_RANGE)
        : undefined) ?? DEFAULT_TOKEN_TTL_SECONDS;
    const rateLimitPerMinute =
      toOptionalInt(body.rateLimitPerMinute, 'rateLimitPerMinute', RATE_LIMIT_RANGE) ?? null;
    await requireOrg(orgId);
    const exists = () => new AppError('conflict', `${w.label} ${name} exists`, w.name);
    if (await credentials.find(kind, name)) throw exists();
    // Hashed before the transaction: the slow hash must not hold the lock.
    const secretHash = await hashFor(kind, secret);
    const at = clock.now();
    try {
      await credentials.transaction(async (repo) => {
        // Logins are unique across orgs, which no org-led unique index can say: one creator at a time.
        await repo.lockNames(kind);
        if (await repo.find(kind, name)) throw exists();
        await repo.insert(kind, { orgId, name, secretHash, access, rateLimitPerMinute, tokenTtlSeconds, at });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw exists();
      throw err;
    }
    const stored = await credentials.find(kind, name);
    return credentialView(kind, stored as StoredCredential);
  }

  async function list(kind: CredentialKind, orgId: number) {
    await requireOrg(orgId);
    return {
      [kind === 'till' ? 'tills' : 'apiClients']: (await credentials.list(kind, orgId)).map((c) =>
        credentialView(kind, c),
      ),
    };
  }

  async function requireOwn(kind: CredentialKind, orgId: number, name: string): Promise<StoredCredential> {
    const found = await credentials.find(kind, name);
    // Another org's credential is as missing as one that never existed.
    if (!found || found.orgId !== orgId)
      throw new AppError('not_found', `${WORDS[kind].label} ${name} does not exist`);
    return found;
  }

  async function update(kind: CredentialKind, orgId: number, name: string, body: PatchCredentialInput) {
    const { customerAccess: access, disabled } = body;
    const tokenTtlSeconds = toOptionalInt(body.tokenTtlSeconds, 'tokenTtlSeconds', TOKEN_TTL_RANGE);
    const rateLimitPerMinute = toOptionalInt(body.rateLimitPerMinute, 'rateLimitPerMinute', RATE_LIMIT_RANGE);
    const current = await requireOwn(kind, orgId, name);
    const at = clock.now();
    const patch = {
      ...(access !== undefined ? { access } : {}),
      ...(disabled !== undefined && disabled !== current.disabled
        ? { disabledAt: disabled ? at : null }
        : {}),
      ...(tokenTtlSeconds !== undefined ? { tokenTtlSeconds } : {}),
      ...(rateLimitPerMinute !== undefined ? { rateLimitPerMinute } : {}),
      updatedAt: at,
    };
    // Announced in the change's own transaction: other processes hear of it only if it commits.
    await credentials.transaction(async (repo) => {
      await repo.update(kind, orgId, name, patch);
      await repo.announceChange(kind, name);
    });
    onChange?.();
    return credentialView(kind, (await credentials.find(kind, name)) as StoredCredential);
  }

  /** A new secret: the one given, or a generated one that this answer shows once. */
  async function rotate(kind: CredentialKind, orgId: number, name: string, body: RotateCredentialInput) {
    const w = WORDS[kind];
    const given = (body as Record<string, string | null | undefined> | null)?.[w.secret] ?? undefined;
    await requireOwn(kind, orgId, name);
    const secret = given ?? randomBytes(24).toString('base64url');
    const secretHash = await hashFor(kind, secret);
    await credentials.transaction(async (repo) => {
      await repo.update(kind, orgId, name, { secretHash, updatedAt: clock.now() });
      await repo.announceChange(kind, name);
    });
    onChange?.();
    const stored = credentialView(kind, (await credentials.find(kind, name)) as StoredCredential);
    return given === undefined ? { ...stored, [w.secret]: secret } : stored;
  }

  return { create, list, update, rotate };
}

export type CredentialAdminService = ReturnType<typeof createCredentialAdminService>;
