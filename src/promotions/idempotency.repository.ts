import type { Trx } from '../db/database.js';

/** A request's Idempotency-Key, scoped to the credential that sent it. */
export interface IdempotencyKey {
  orgId: number;
  credential: string;
  key: string;
  requestHash: string;
}

export interface StoredReplay {
  requestHash: string;
  response: unknown;
}

export const REPLAY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Another request with the same key committed first; the caller replays what that one stored. */
export class IdempotencyRace extends Error {
  constructor() {
    super('a request with the same Idempotency-Key committed first');
    this.name = 'IdempotencyRace';
  }
}

/** The answer stored for this key within the replay window, if any. */
export async function findReplay(
  db: Trx,
  id: IdempotencyKey,
  now: number,
): Promise<StoredReplay | undefined> {
  const row = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'response'])
    .where('org_id', '=', id.orgId)
    .where('credential', '=', id.credential)
    .where('key', '=', id.key)
    .where('created_at', '>=', now - REPLAY_WINDOW_MS)
    .executeTakeFirst();
  return row ? { requestHash: row.request_hash, response: JSON.parse(row.response) } : undefined;
}

/**
 * Stores the answer in the request's own transaction, so that it exists exactly when the writes do.
 * A row older than the window is taken over; a fresh one means a concurrent twin won.
 */
export async function saveReplay(db: Trx, id: IdempotencyKey, response: unknown, now: number): Promise<void> {
  const result = await db
    .insertInto('idempotency_keys')
    .values({
      org_id: id.orgId,
      credential: id.credential,
      key: id.key,
      request_hash: id.requestHash,
      response: JSON.stringify(response),
      created_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'credential', 'key'])
        .doUpdateSet({ request_hash: id.requestHash, response: JSON.stringify(response), created_at: now })
        .where('idempotency_keys.created_at', '<', now - REPLAY_WINDOW_MS),
    )
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new IdempotencyRace();
}
