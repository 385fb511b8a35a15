import { describe, expect, it } from 'vitest';
import {
  messagesPerRound,
  pendingMessages,
  pendingOf,
  planRound,
  ROUND_EVENTS,
  roundChanges,
} from '../../src/events/delivery.round.js';
import { type EventRow, eventId } from '../../src/events/event.model.js';
import { pendingAt, pendingIn, type WebhookRow } from '../../src/events/webhook.repository.js';

const row = (id: number, type = 'promotion.enrolled'): EventRow =>
  ({ org_id: 1, xid: 0, id, type, at: 0, data: '{}' }) as unknown as EventRow;
const rows = (from: number, count: number) => Array.from({ length: count }, (_, i) => row(from + i));
let n = 0;
const newId = () => `msg_${++n}`;
const endpoint = (max: number, types: string[] | null = null) => ({
  max_batch_size: max,
  types: types ? JSON.stringify(types) : null,
});
const lease = { leaseUntil: 123, disabledReason: 'gone' };

describe('delivery rounds', () => {
  it('cuts the events after the cursor into messages of maxBatchSize, in feed order', () => {
    const round = planRound(endpoint(3), rows(1, 8), newId);
    if (!Array.isArray(round)) throw new Error('expected a round');
    expect(round.map((m) => m.events.map((e) => e.id))).toStrictEqual([
      [1, 2, 3],
      [4, 5, 6],
      [7, 8],
    ]);
    expect(round.map((m) => m.end.id)).toStrictEqual([3, 6, 8]);
    expect(new Set(round.map((m) => m.messageId)).size).toBe(3);
    // With a batch size of 1, each message's id is its event's.
    const single = planRound(endpoint(1), rows(1, 2), newId) as { messageId: string }[];
    expect(single.map((m) => m.messageId)).toStrictEqual([eventId(1), eventId(2)]);
  });

  it('takes at most a round of events, and passes events of other types', () => {
    expect(messagesPerRound(100) * 100).toBe(ROUND_EVENTS);
    expect(messagesPerRound(1)).toBe(100);
    const full = planRound(endpoint(1000), rows(1, ROUND_EVENTS + 10), newId) as { events: EventRow[] }[];
    expect(full.flatMap((m) => m.events)).toHaveLength(ROUND_EVENTS);
    const mixed = [row(1), row(2, 'promotion.earned'), row(3), row(4, 'promotion.earned'), row(5)];
    const earned = planRound(endpoint(5, ['promotion.earned']), mixed, newId);
    if (!Array.isArray(earned)) throw new Error('expected a round');
    expect(earned.map((m) => [m.events.map((e) => e.id), m.end.id])).toStrictEqual([[[2, 4], 5]]);
    expect(planRound(endpoint(5, ['promotion.earned']), [row(1), row(3)], newId)).toStrictEqual({
      skipTo: { xid: 0, id: 3 },
    });
  });

  it('keeps a round as fixed when it is read back, whatever the batch size has become', () => {
    const round = planRound(endpoint(2), rows(1, 5), newId) as ReturnType<typeof pendingMessages>;
    const stored = { ...endpoint(4), ...pendingAt(pendingOf(round)) } as unknown as WebhookRow;
    const again = pendingMessages(pendingIn(stored), rows(1, 5));
    expect(again).toStrictEqual(round);
  });

  it('after a refusal, moves past the messages delivered and keeps the rest pending with their ids', () => {
    const round = planRound(endpoint(2), rows(1, 6), newId) as ReturnType<typeof pendingMessages>;
    const changes = roundChanges(round, {
      done: 1,
      stop: { decision: { outcome: 'retrying', nextAttemptAt: 500 }, attempt: 1, firstAttemptAt: 100 },
      ...lease,
    });
    expect(changes).toMatchObject({
      cursor_id: 2,
      pending_message_id: round[1]?.messageId,
      attempts: 1,
      first_attempt_at: 100,
      next_attempt_at: 500,
      lease_owner: null,
    });
    const rest = pendingIn({ ...changes } as WebhookRow);
    expect(rest.messages.map((m) => m.id)).toStrictEqual([round[1]?.messageId, round[2]?.messageId]);
    expect(rest.end.id).toBe(6);
    // Done with every message: the cursor at the round's end, nothing pending, the lease renewed.
    expect(roundChanges(round, { done: 3, ...lease })).toMatchObject({
      cursor_id: 6,
      pending_message_id: null,
      lease_until: 123,
    });
  });

  it('reads a pending batch kept as a flat list of ids as one message', () => {
    const kept = {
      pending_message_id: 'msg_old',
      pending_event_ids: JSON.stringify([eventId(1), eventId(2)]),
      pending_end_xid: 0,
      pending_end_id: 2,
    } as unknown as WebhookRow;
    expect(pendingMessages(pendingIn(kept), rows(1, 2))).toStrictEqual([
      { messageId: 'msg_old', events: rows(1, 2), end: { xid: 0, id: 2 } },
    ]);
  });
});
