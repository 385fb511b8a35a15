import { lockKind, type Store, type Trx, writeTransaction } from '../db/database.js';
import type { Access } from '../db/schema.js';
import { CREDENTIAL_CHANNEL, encodeCredentialChange } from './credential-events.js';

export type CredentialKind = 'till' | 'apiClient';

export interface StoredCredential {
  orgId: number;
  name: string;
  secretHash: string;
  access: Access;
  disabled: boolean;
  rateLimitPerMinute: number | null;
  /** API clients only: the lifetime of the tokens they are given. */
  tokenTtlSeconds: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface CredentialPatch {
  secretHash?: string;
  access?: Access;
  disabledAt?: number | null;
  rateLimitPerMinute?: number | null;
  tokenTtlSeconds?: number;
  updatedAt: number;
}

/** Each kind's table and the column that names a credential in its org. */
export const CREDENTIAL_TABLES = {
  till: { table: 'tills', name: 'username' },
  apiClient: { table: 'api_clients', name: 'client_key' },
} as const;

/** What a credential is read with besides its name (never its secret), for every read of one. */
export const CREDENTIAL_COLUMNS = [
  'customer_access',
  'disabled_at',
  'rate_limit_per_minute',
  'created_at',
  'updated_at',
] as const;

/** A credential row as read (its secret's hash only where the read took it). */
export function toCredential(row: Record<string, unknown>): StoredCredential {
  return {
    orgId: row.org_id as number,
    name: row.name as string,
    secretHash: row.secret_hash as string,
    access: row.customer_access as Access,
    disabled: row.disabled_at !== null,
    rateLimitPerMinute: (row.rate_limit_per_minute as number | null) ?? null,
    tokenTtlSeconds: (row.token_ttl_seconds as number | undefined) ?? null,
    createdAt: row.created_at as number,
    updatedAt: row.updated_at as number,
  };
}

export type CredentialQueries = ReturnType<typeof queries>;
export type CredentialRepository = ReturnType<typeof createCredentialRepository>;

/** Tills, API clients and OAuth signing keys. */
export function createCredentialRepository(store: Store) {
  return {
    ...queries(store, store.db),
    transaction<T>(fn: (repo: CredentialQueries) => Promise<T>): Promise<T> {
      return writeTransaction(store, (trx) => fn(queries(store, trx)));
    },
  };
}

function queries(store: Store, db: Trx) {
  function select(kind: CredentialKind) {
    const { table, name } = CREDENTIAL_TABLES[kind];
    return db
      .selectFrom(table)
      .select(['org_id', `${name} as name`, 'secret_hash', ...CREDENTIAL_COLUMNS] as never[])
      .$if(kind === 'apiClient', (qb) => qb.select('token_ttl_seconds' as never));
  }

  return {
    /** Serialises the creation of logins, which must be unique across orgs. */
    lockNames(kind: CredentialKind): Promise<void> {
      return lockKind(db, store.dialect, `credential:${kind}`);
    },

    /** A credential by its login name, whatever its org (login names are unique in the deployment). */
    async find(kind: CredentialKind, name: string): Promise<StoredCredential | undefined> {
      const row = await select(kind)
        .where(CREDENTIAL_TABLES[kind].name as never, '=', name as never)
        .executeTakeFirst();
      return row ? toCredential(row as Record<string, unknown>) : undefined;
    },

    async list(kind: CredentialKind, orgId: number): Promise<StoredCredential[]> {
      const rows = await select(kind)
        .where('org_id' as never, '=', orgId as never)
        .orderBy(CREDENTIAL_TABLES[kind].name as never)
        .execute();
      return rows.map((r) => toCredential(r as Record<string, unknown>));
    },

    async insert(
      kind: CredentialKind,
      row: {
        orgId: number;
        name: string;
        secretHash: string;
        access: Access;
        rateLimitPerMinute: number | null;
        tokenTtlSeconds: number;
        at: number;
      },
    ): Promise<void> {
      const common = {
        org_id: row.orgId,
        secret_hash: row.secretHash,
        customer_access: row.access,
        rate_limit_per_minute: row.rateLimitPerMinute,
        created_at: row.at,
        updated_at: row.at,
      };
      if (kind === 'till')
        await db
          .insertInto('tills')
          .values({ ...common, username: row.name })
          .execute();
      else {
        await db
          .insertInto('api_clients')
          .values({ ...common, client_key: row.name, token_ttl_seconds: row.tokenTtlSeconds })
          .execute();
      }
    },

    /** Applies a patch to a credential of the org; false when there is no such credential. */
    async update(
      kind: CredentialKind,
      orgId: number,
      name: string,
      patch: CredentialPatch,
    ): Promise<boolean> {
      const { table, name: column } = CREDENTIAL_TABLES[kind];
      const result = await db
        .updateTable(table)
        .set({
          ...(patch.secretHash !== undefined ? { secret_hash: patch.secretHash } : {}),
          ...(patch.access !== undefined ? { customer_access: patch.access } : {}),
          ...(patch.disabledAt !== undefined ? { disabled_at: patch.disabledAt } : {}),
          ...(patch.rateLimitPerMinute !== undefined
            ? { rate_limit_per_minute: patch.rateLimitPerMinute }
            : {}),
          ...(patch.tokenTtlSeconds !== undefined && kind === 'apiClient'
            ? { token_ttl_seconds: patch.tokenTtlSeconds }
            : {}),
          updated_at: patch.updatedAt,
        } as never)
        .where('org_id', '=', orgId)
        .where(column as never, '=', name as never)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** Inside a transaction: every process forgets the credential once the transaction commits. */
    announceChange(kind: CredentialKind, name: string): Promise<void> {
      return store.dialect.notify(db, CREDENTIAL_CHANNEL, encodeCredentialChange({ kind, name }));
    },

    /** The org's signing key as the store keeps it (sealed). */
    async findSigningKey(orgId: number, kid: string): Promise<string | undefined> {
      const row = await db
        .selectFrom('oauth_keys')
        .select('sealed_secret')
        .where('org_id', '=', orgId)
        .where('kid', '=', kid)
        .executeTakeFirst();
      return row?.sealed_secret;
    },

    /** Stores the key unless another process stored one first; answers the key that is kept. */
    async ensureSigningKey(orgId: number, kid: string, sealed: string, at: number): Promise<string> {
      await db
        .insertInto('oauth_keys')
        .values({ org_id: orgId, kid, sealed_secret: sealed, created_at: at })
        .onConflict((oc) => oc.columns(['org_id', 'kid']).doNothing())
        .execute();
      return (await this.findSigningKey(orgId, kid)) ?? sealed;
    },
  };
}
