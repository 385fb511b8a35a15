import type { Store } from '../../src/db/database.js';
import { writeTransaction } from '../../src/db/database.js';
import { type EventType, type NewEvent, newEvent } from '../../src/events/event.model.js';
import { createOutbox } from '../../src/events/outbox.repository.js';
import type { TestApp } from '../helpers/test-app.js';

/** Test-only writer: events committed in one transaction, as a request's would be. */
export async function writeEvents(
  store: Store,
  orgId: number,
  events: NewEvent[],
  at = Date.now(),
): Promise<void> {
  const outbox = createOutbox(store.dialect);
  await writeTransaction(store, (trx) => outbox.append(trx, orgId, at, events));
}

export function someEvent(type: EventType, n: number, requestId = `req-${n}`): NewEvent {
  const revoke = type.endsWith('revoked');
  return newEvent(type, {
    programId: 1,
    promotionId: 2,
    customerId: 1000 + n,
    issualId: String(5000 + n),
    ...(type.includes('earn') && !type.includes('enrol') ? { earnedId: String(9000 + n) } : {}),
    source: revoke ? 'WEBSITE' : 'INSTORE',
    requestId,
    credential: 'till:test',
  });
}

export async function newOrg(t: TestApp): Promise<number> {
  const res = await t.admin('POST', '/admin/v1/orgs', { name: `Events ${Math.random()}` });
  if (res.status !== 201) throw new Error(`org: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as number;
}

/** Reads the whole feed of an org from `after`, page by page. */
export async function readAll(
  t: TestApp,
  orgId: number,
  limit = 3,
  query = '',
): Promise<{ events: any[]; cursor: string }> {
  const events: any[] = [];
  let cursor = '';
  for (;;) {
    const res = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=${limit}&after=${cursor}${query}`);
    if (res.status !== 200) throw new Error(`feed: ${res.status} ${JSON.stringify(res.body)}`);
    events.push(...res.body.events);
    if (res.body.events.length === 0) return { events, cursor: res.body.nextCursor };
    cursor = res.body.nextCursor;
  }
}

/**
 * Waits until an org's feed shows `count` events. On PostgreSQL the feed holds an event back while
 * any transaction of the cluster that began before it still runs (other test files share the
 * server), so a test reads after the feed has caught up.
 */
export async function feedShows(t: TestApp, orgId: number, count: number, query = ''): Promise<void> {
  for (let i = 0; ; i++) {
    const res = await t.admin('GET', `/admin/v1/orgs/${orgId}/events?limit=1000${query}`);
    if (res.body.events?.length >= count) return;
    if (i > 500)
      throw new Error(`the feed of org ${orgId} shows ${res.body.events?.length} events, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
