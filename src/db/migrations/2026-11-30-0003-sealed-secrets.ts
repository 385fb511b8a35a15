import type { Kysely, Migration } from 'kysely';
import { type SealedPurpose, type SecretBox, SecretKeyError } from '../../auth/secret-box.js';

// The secrets the server reads back, sealed with LOYALTY_SECRET_KEY (issue 15): whoever read a backup
// could otherwise mint tokens for any org, or sign webhooks. The columns are renamed as well as
// sealed, so that a process of an older version still running on the same store fails on them
// loudly instead of signing with a sealed text as its key.
//
// The key is not in the store, so this migration is built with it: a store holding secrets in the
// clear cannot be brought up without one (it says so, before changing anything); an empty store can.
// Down opens them again, with the same key.

const TABLES = [
  { table: 'oauth_keys', id: 'kid', purpose: 'oauth-signing-key' },
  { table: 'webhooks', id: 'id', purpose: 'webhook-secret' },
] as const satisfies readonly { table: string; id: string; purpose: SealedPurpose }[];

type Row = { org_id: number | string; key: string; value: string };

async function rows(db: Kysely<any>, table: string, id: string, column: string): Promise<Row[]> {
  return db
    .selectFrom(table)
    .select(['org_id', `${id} as key`, `${column} as value`])
    .execute() as Promise<Row[]>;
}

async function needKey(db: Kysely<any>, column: string, box: SecretBox | undefined, doing: string) {
  if (box) return box;
  let held = 0;
  for (const t of TABLES) held += (await rows(db, t.table, t.id, column)).length;
  if (held === 0) return undefined;
  throw new SecretKeyError(
    `LOYALTY_SECRET_KEY is not set, and this store holds ${held} secret(s) (OAuth signing keys, ` +
      `webhook secrets) that this migration must ${doing}: make a key with \`loyalty secret generate\`, ` +
      'set it, and run again (nothing was changed)',
  );
}

async function rewrite(
  db: Kysely<any>,
  column: string,
  change: (purpose: SealedPurpose, orgId: number, value: string) => string,
): Promise<void> {
  // Every new value first: a secret that does not open (a wrong key) stops it before any write,
  // which matters on SQLite, where a migration is not one transaction.
  const writes: { table: string; id: string; row: Row; value: string }[] = [];
  for (const t of TABLES) {
    for (const row of await rows(db, t.table, t.id, column)) {
      writes.push({ table: t.table, id: t.id, row, value: change(t.purpose, Number(row.org_id), row.value) });
    }
  }
  for (const { table, id, row, value } of writes) {
    await db
      .updateTable(table)
      .set({ [column]: value })
      .where('org_id', '=', row.org_id)
      .where(id, '=', row.key)
      .execute();
  }
}

async function rename(db: Kysely<any>, from: string, to: string): Promise<void> {
  for (const t of TABLES) await db.schema.alterTable(t.table).renameColumn(from, to).execute();
}

export function sealedSecrets(box: SecretBox | undefined): Migration {
  return {
    async up(db) {
      const key = await needKey(db, 'secret', box, 'seal');
      await rename(db, 'secret', 'sealed_secret');
      if (key) await rewrite(db, 'sealed_secret', (purpose, orgId, value) => key.seal(purpose, orgId, value));
    },
    async down(db) {
      const key = await needKey(db, 'sealed_secret', box, 'open');
      if (key) await rewrite(db, 'sealed_secret', (purpose, orgId, value) => key.open(purpose, orgId, value));
      await rename(db, 'sealed_secret', 'secret');
    },
  };
}
