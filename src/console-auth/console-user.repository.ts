import type { Store } from '../db/database.js';
import { isUniqueViolation } from '../db/store-errors.js';

/** Console users and sessions are the deployment's: their rows carry org_id 0 (see the migration). */
const DEPLOYMENT = 0;

export interface StoredUser {
  username: string;
  passwordHash: string;
  role: string;
  orgIds: number[] | null;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface StoredSession {
  username: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
}

export type ConsoleUserRepository = ReturnType<typeof createConsoleUserRepository>;

type UserRow = {
  username: string;
  password_hash: string;
  role: string;
  org_ids: string | null;
  disabled: number;
  created_at: number;
  updated_at: number;
};

function toUser(r: UserRow): StoredUser {
  return {
    username: r.username,
    passwordHash: r.password_hash,
    role: r.role,
    orgIds: r.org_ids === null ? null : (JSON.parse(r.org_ids) as number[]),
    disabled: Number(r.disabled) !== 0,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

const USER_COLUMNS = [
  'username',
  'password_hash',
  'role',
  'org_ids',
  'disabled',
  'created_at',
  'updated_at',
] as const;

export function createConsoleUserRepository(store: Store) {
  const { db } = store;
  return {
    /** False when the username is taken. */
    async insert(user: StoredUser): Promise<boolean> {
      try {
        await db
          .insertInto('console_users')
          .values({
            org_id: DEPLOYMENT,
            username: user.username,
            password_hash: user.passwordHash,
            role: user.role,
            org_ids: user.orgIds === null ? null : JSON.stringify(user.orgIds),
            disabled: user.disabled ? 1 : 0,
            created_at: user.createdAt,
            updated_at: user.updatedAt,
          })
          .execute();
        return true;
      } catch (err) {
        if (isUniqueViolation(err)) return false;
        throw err;
      }
    },

    async find(username: string): Promise<StoredUser | undefined> {
      const row = await db
        .selectFrom('console_users')
        .select(USER_COLUMNS)
        .where('org_id', '=', DEPLOYMENT)
        .where('username', '=', username)
        .executeTakeFirst();
      return row ? toUser(row) : undefined;
    },

    /** Users after `after` by username, at most `limit`. */
    async page(after: string, limit: number): Promise<StoredUser[]> {
      const rows = await db
        .selectFrom('console_users')
        .select(USER_COLUMNS)
        .where('org_id', '=', DEPLOYMENT)
        .where('username', '>', after)
        .orderBy('username')
        .limit(limit)
        .execute();
      return rows.map(toUser);
    },

    /** False when there is no such user. */
    async update(
      username: string,
      change: { role?: string; orgIds?: number[] | null; disabled?: boolean; passwordHash?: string },
      at: number,
    ): Promise<boolean> {
      const result = await db
        .updateTable('console_users')
        .set({
          updated_at: at,
          ...(change.role !== undefined ? { role: change.role } : {}),
          ...(change.orgIds !== undefined
            ? { org_ids: change.orgIds === null ? null : JSON.stringify(change.orgIds) }
            : {}),
          ...(change.disabled !== undefined ? { disabled: change.disabled ? 1 : 0 } : {}),
          ...(change.passwordHash !== undefined ? { password_hash: change.passwordHash } : {}),
        })
        .where('org_id', '=', DEPLOYMENT)
        .where('username', '=', username)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async insertSession(idHash: string, session: StoredSession): Promise<void> {
      await db
        .insertInto('console_sessions')
        .values({
          org_id: DEPLOYMENT,
          id_hash: idHash,
          username: session.username,
          csrf_token: session.csrfToken,
          created_at: session.createdAt,
          last_seen_at: session.lastSeenAt,
        })
        .execute();
    },

    async findSession(idHash: string): Promise<StoredSession | undefined> {
      const row = await db
        .selectFrom('console_sessions')
        .select(['username', 'csrf_token', 'created_at', 'last_seen_at'])
        .where('org_id', '=', DEPLOYMENT)
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return row
        ? {
            username: row.username,
            csrfToken: row.csrf_token,
            createdAt: Number(row.created_at),
            lastSeenAt: Number(row.last_seen_at),
          }
        : undefined;
    },

    async touchSession(idHash: string, at: number): Promise<void> {
      await db
        .updateTable('console_sessions')
        .set({ last_seen_at: at })
        .where('org_id', '=', DEPLOYMENT)
        .where('id_hash', '=', idHash)
        .execute();
    },

    async deleteSession(idHash: string): Promise<void> {
      await db
        .deleteFrom('console_sessions')
        .where('org_id', '=', DEPLOYMENT)
        .where('id_hash', '=', idHash)
        .execute();
    },

    /** Signs a user out everywhere (disabled, or a new password). */
    async deleteSessionsOf(username: string): Promise<void> {
      await db
        .deleteFrom('console_sessions')
        .where('org_id', '=', DEPLOYMENT)
        .where('username', '=', username)
        .execute();
    },

    /** Sessions idle since before `idleBefore` or begun before `createdBefore`: they can no longer be used. */
    async deleteExpiredSessions(idleBefore: number, createdBefore: number): Promise<void> {
      await db
        .deleteFrom('console_sessions')
        .where('org_id', '=', DEPLOYMENT)
        .where((eb) => eb.or([eb('last_seen_at', '<', idleBefore), eb('created_at', '<', createdBefore)]))
        .execute();
    },

    /** The orgs by id, all of them or those listed. */
    async orgs(ids: number[] | null): Promise<{ id: number; name: string }[]> {
      let query = db.selectFrom('orgs').select(['org_id', 'name']).orderBy('org_id').limit(1000);
      if (ids !== null) query = query.where('org_id', 'in', ids.length > 0 ? ids : [-1]);
      const rows = await query.execute();
      return rows.map((r) => ({ id: Number(r.org_id), name: r.name }));
    },
  };
}
