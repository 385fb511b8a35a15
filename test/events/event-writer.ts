/**
 * A writer process of the feed's concurrency test (run with `node --import tsx`): commits
 * transactions of one to four events, a few at once, each held open a random while after its insert
 * so that transactions commit in another order than the one in which they took their ids. Prints a
 * line for every transaction after its commit.
 */
import type { StoreConfig } from '../../src/config.js';
import { createStore, writeTransaction } from '../../src/db/database.js';
import { createOutbox } from '../../src/events/outbox.repository.js';
import { someEvent } from './helpers.js';

const store = createStore(JSON.parse(process.env.EVENT_WRITER_STORE as string) as StoreConfig);
const orgId = Number(process.env.EVENT_WRITER_ORG);
const name = process.env.EVENT_WRITER_NAME as string;
const transactions = Number(process.env.EVENT_WRITER_TRANSACTIONS);
const parallel = store.dialect.name === 'postgres' ? 4 : 1;
const outbox = createOutbox(store.dialect);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let next = 0;
async function lane(): Promise<void> {
  for (let i = next++; i < transactions; i = next++) {
    const count = 1 + (i % 4);
    const requestId = `${name}-${i}`;
    await writeTransaction(store, async (trx) => {
      await outbox.append(
        trx,
        orgId,
        Date.now(),
        Array.from({ length: count }, (_, k) => someEvent('promotion.enrolled', k, requestId)),
      );
      await sleep(Math.random() * (store.dialect.name === 'postgres' ? 30 : 3));
    });
    process.stdout.write(`${JSON.stringify({ requestId, count })}\n`);
  }
}

await Promise.all(Array.from({ length: parallel }, lane));
await store.destroy();
