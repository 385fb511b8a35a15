import type { Db } from '../db/database.js';
import type { Access } from '../db/schema.js';

export interface StoredCredential {
  orgId: number;
  secretHash: string;
  access: Access;
  disabled: boolean;
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>;

export function createCredentialRepository(db: Db) {
  return {
    async findTill(username: string): Promise<StoredCredential | undefined> {
      const row = await db
        .selectFrom('tills')
        .select(['org_id', 'secret_hash', 'customer_access', 'disabled_at'])
        .where('username', '=', username)
        .executeTakeFirst();
      return row
        ? {
            orgId: row.org_id,
            secretHash: row.secret_hash,
            access: row.customer_access,
            disabled: row.disabled_at !== null,
          }
        : undefined;
    },
  };
}
