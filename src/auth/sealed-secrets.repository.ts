import { type Store, type Trx, writeTransaction } from '../db/database.js';
import type { SealedPurpose } from './secret-box.js';

/** One secret the store keeps sealed: where it is, what it is for, and its sealed text. */
export interface SealedRow {
  purpose: SealedPurpose;
  orgId: number;
  /** The row's key within its org: an OAuth key's kid, a webhook's id. */
  id: string;
  sealed: string;
}

export type SealedSecretsQueries = ReturnType<typeof queries>;

/** Every sealed secret of the store, whatever its table: for the start-up check and for a rotation. */
export function createSealedSecretsRepository(store: Store) {
  return {
    ...queries(store.db),
    transaction<T>(fn: (repo: SealedSecretsQueries) => Promise<T>): Promise<T> {
      return writeTransaction(store, (trx) => fn(queries(trx)));
    },
  };
}

function queries(db: Trx) {
  return {
    async all(): Promise<SealedRow[]> {
      const keys = await db.selectFrom('oauth_keys').select(['org_id', 'kid', 'sealed_secret']).execute();
      const hooks = await db.selectFrom('webhooks').select(['org_id', 'id', 'sealed_secret']).execute();
      return [
        ...keys.map((r) => ({
          purpose: 'oauth-signing-key' as const,
          orgId: Number(r.org_id),
          id: r.kid,
          sealed: r.sealed_secret,
        })),
        ...hooks.map((r) => ({
          purpose: 'webhook-secret' as const,
          orgId: Number(r.org_id),
          id: r.id,
          sealed: r.sealed_secret,
        })),
      ];
    },

    /** Replaces a row's sealed text, unless it changed since it was read (then a later check sees it). */
    async replace(row: SealedRow, sealed: string): Promise<void> {
      const table = row.purpose === 'oauth-signing-key' ? 'oauth_keys' : 'webhooks';
      await db
        .updateTable(table)
        .set({ sealed_secret: sealed })
        .where('org_id', '=', row.orgId)
        .where(row.purpose === 'oauth-signing-key' ? 'kid' : 'id', '=', row.id)
        .where('sealed_secret', '=', row.sealed)
        .execute();
    },
  };
}
