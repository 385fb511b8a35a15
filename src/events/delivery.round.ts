import type { Decision } from './delivery.plan.js';
import { type EventRow, type EventType, eventId, type FeedPosition, positionOf } from './event.model.js';
import { cursorAt, type PendingBatch, pendingAt, type WebhookRow } from './webhook.repository.js';

/**
 * A round: the messages one endpoint is sent between two writes to the store. Each write waits for
 * the requests' (group) commit, so under load the worker gets about one write through per turn of the
 * event loop; sending several messages per write is what lets delivery keep up with the writers.
 * Pure, so that the rules are tested without a receiver or a store.
 */

/** Events one round takes at most (and looks at, with a type filter). */
export const ROUND_EVENTS = 4000;
/** Messages one round sends at most, whatever the batch size. */
export const ROUND_MESSAGES = 100;

/** One signed message: its webhook-id, its events, and where the endpoint's cursor goes once it is done. */
export interface Message {
  messageId: string;
  events: EventRow[];
  end: FeedPosition;
}

export const typesOf = (w: Pick<WebhookRow, 'types'>): readonly EventType[] | null =>
  w.types ? (JSON.parse(w.types) as EventType[]) : null;

/** Messages a round may send to an endpoint of this batch size. */
export const messagesPerRound = (maxBatchSize: number): number =>
  Math.max(1, Math.min(ROUND_MESSAGES, Math.floor(ROUND_EVENTS / maxBatchSize)));

/** Events read after the cursor to plan a round: its events, or a window to filter with a type filter. */
export const scanOf = (w: Pick<WebhookRow, 'types' | 'max_batch_size'>): number =>
  typesOf(w) ? ROUND_EVENTS : messagesPerRound(w.max_batch_size) * w.max_batch_size;

/**
 * The messages of a round from its events in feed order: batches of maxBatchSize, each but the last
 * ending at its last event, the last at `end` (which may pass events the endpoint does not take).
 * With a batch size of 1 a message's webhook-id is its event's id, else a new `msg_…` id.
 */
export function messagesOf(
  maxBatchSize: number,
  events: readonly EventRow[],
  end: FeedPosition,
  newId: () => string,
): Message[] {
  const messages: Message[] = [];
  for (let i = 0; i < events.length; i += maxBatchSize) {
    const chunk = events.slice(i, i + maxBatchSize);
    const last = i + maxBatchSize >= events.length;
    messages.push({
      messageId: maxBatchSize === 1 ? eventId(Number(chunk[0]?.id)) : newId(),
      events: chunk,
      end: last ? end : positionOf(chunk[chunk.length - 1] as EventRow),
    });
  }
  return messages;
}

/**
 * A pending round's messages as fixed, from the events between the cursor and its end: each keeps
 * its webhook-id and its events, whatever the endpoint's batch size has become since.
 */
export function pendingMessages(pending: PendingBatch, rows: readonly EventRow[]): Message[] {
  const byId = new Map(rows.map((r) => [eventId(Number(r.id)), r]));
  return pending.messages.map((m, i) => {
    const events = m.eventIds.flatMap((id) => byId.get(id) ?? []);
    const last = i === pending.messages.length - 1;
    return {
      messageId: m.id,
      events,
      end: last || events.length === 0 ? pending.end : positionOf(events[events.length - 1] as EventRow),
    };
  });
}

/**
 * The round that starts at the endpoint's cursor, from the events after it (`rows`, at most
 * scanOf(w)): null when there are none, a position to skip to when none is of a type it takes.
 */
export function planRound(
  w: Pick<WebhookRow, 'types' | 'max_batch_size'>,
  rows: readonly EventRow[],
  newId: () => string,
): Message[] | null | { skipTo: FeedPosition } {
  const last = rows[rows.length - 1];
  if (!last) return null;
  const types = typesOf(w);
  const room = messagesPerRound(w.max_batch_size) * w.max_batch_size;
  const taken = (types ? rows.filter((r) => types.includes(r.type as EventType)) : rows).slice(0, room);
  if (taken.length === 0) return { skipTo: positionOf(last) };
  // A round that is not full ends at the last event looked at, so skipped events are passed too.
  const end = positionOf(taken.length < room ? last : (taken[taken.length - 1] as EventRow));
  return messagesOf(w.max_batch_size, taken, end, newId);
}

/** What the store keeps of messages not yet done with: each one's webhook-id and events, and the end. */
export function pendingOf(messages: readonly Message[]): PendingBatch {
  return {
    messages: messages.map((m) => ({
      id: m.messageId,
      eventIds: m.events.map((r) => eventId(Number(r.id))),
    })),
    end: (messages[messages.length - 1] as Message).end,
  };
}

/** How a round ended, as the endpoint's row must record it. */
export interface RoundEnd {
  /** Messages done with (delivered, or failed and not retried), from the first. */
  done: number;
  /** Why the round stopped before its end: the decision on message `done` (retrying or disabled). */
  stop?: { decision: Decision; attempt: number; firstAttemptAt: number };
  /** The endpoint's lease, renewed (when it is kept). */
  leaseUntil: number;
  disabledReason: string;
}

/**
 * The changes to the endpoint's row after a round: its cursor past the messages done with, the rest
 * kept pending as they were, and a retry, a disabled endpoint or a renewed lease.
 */
export function roundChanges(messages: readonly Message[], end: RoundEnd): Partial<WebhookRow> {
  const rest = messages.slice(end.done);
  const moved = end.done > 0 ? cursorAt((messages[end.done - 1] as Message).end) : {};
  const pending = rest.length > 0 ? pendingAt(pendingOf(rest)) : {};
  const outcome = end.stop?.decision.outcome;
  if (outcome === 'retrying')
    return {
      ...moved,
      ...pending,
      attempts: end.stop?.attempt ?? 1,
      first_attempt_at: end.stop?.firstAttemptAt ?? null,
      next_attempt_at: end.stop?.decision.nextAttemptAt ?? 0,
      lease_owner: null,
      lease_until: 0,
    };
  if (outcome === 'disabled')
    return {
      ...moved,
      ...pending,
      enabled: 0,
      disabled_reason: end.disabledReason,
      lease_owner: null,
      lease_until: 0,
    };
  return { ...moved, ...pending, lease_until: end.leaseUntil };
}
