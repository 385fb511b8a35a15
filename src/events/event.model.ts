import { EVENT_TYPES, type EventData, type EventType, type LoyaltyEvent } from '../client/events.types.js';

export { EVENT_TYPES, type EventData, type EventType, type LoyaltyEvent };

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * An event to be written, before the store gives it its id. Only its data's JSON text, which is what
 * the store keeps: a bulk request writes a hundred events, and building each one's data object as
 * well (read by nothing on the way to the store) took about a microsecond an event, and its garbage.
 */
export interface NewEvent {
  type: EventType;
  /** `JSON.stringify` of the event's data (EventData). */
  json: string;
}

/** An event of `type` with `data`. */
export function newEvent(type: EventType, data: EventData): NewEvent {
  return { type, json: JSON.stringify(data) };
}

/** A stored event row, as the feed reads it. */
export interface EventRow {
  org_id: number;
  xid: number;
  id: number;
  type: string;
  at: number;
  data: string;
}

/**
 * A place in the feed: the writing transaction's id and the event's id (see the feed). An event
 * sits after a position when its (xid, id) pair is greater.
 */
export interface FeedPosition {
  xid: number;
  id: number;
}

export const FEED_START: FeedPosition = Object.freeze({ xid: 0, id: 0 });

/** The event id is made from the row's id, which never changes and is unique in the deployment. */
export function eventId(rowId: number): string {
  return `evt_${rowId}`;
}

/** The row id inside an event id, or undefined when it is not one of ours. */
export function rowIdOf(id: string): number | undefined {
  const match = /^evt_([1-9][0-9]{0,15})$/.exec(id);
  const n = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

export function toEvent(row: EventRow): LoyaltyEvent {
  return {
    id: eventId(Number(row.id)),
    type: row.type as EventType,
    timestamp: new Date(Number(row.at)).toISOString(),
    orgId: Number(row.org_id),
    data: JSON.parse(row.data) as EventData,
  };
}

export function positionOf(row: Pick<EventRow, 'xid' | 'id'>): FeedPosition {
  return { xid: Number(row.xid), id: Number(row.id) };
}

export function isAfter(a: FeedPosition, b: FeedPosition): boolean {
  return a.xid > b.xid || (a.xid === b.xid && a.id > b.id);
}

/** The cursor is opaque to consumers: base64url of "xid.id". */
export function encodeCursor(position: FeedPosition): string {
  return Buffer.from(`${position.xid}.${position.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): FeedPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const match = /^(\d{1,19})\.(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'));
  if (!match) return undefined;
  const xid = Number(match[1]);
  const id = Number(match[2]);
  if (!Number.isSafeInteger(xid) || !Number.isSafeInteger(id)) return undefined;
  return { xid, id };
}
