import { randomBytes } from 'node:crypto';
import { Fields } from '../admin/admin-input.js';
import type { WebhookDelivery as Delivery, DeliveryOutcome, Webhook } from '../client/events.types.js';
import type { Clock } from '../clock.js';
import { AppError, badRequest } from '../errors.js';
import {
  decodeCursor,
  EVENT_TYPES,
  type EventType,
  encodeCursor,
  FEED_START,
  isEventType,
} from './event.model.js';
import type { FeedRepository } from './feed.repository.js';
import { checkWebhookUrl, UnsafeUrl } from './url-guard.js';
import type { DeliveryRow, WebhookRepository, WebhookRow } from './webhook.repository.js';
import { newSecret, sealSecret } from './webhook-secret.js';

export const MAX_BATCH_SIZE = 1000;
const MAX_LIST = 1000;

export type { Webhook, WebhookDelivery as Delivery } from '../client/events.types.js';

export interface WebhookServiceDeps {
  repository: WebhookRepository;
  feed: FeedRepository;
  orgExists(orgId: number): Promise<boolean>;
  clock: Clock;
  allowPrivate: boolean;
  /** Told when an endpoint may have something to send at once (enabled again, replayed). */
  onChange?: () => void;
}

export type WebhookService = ReturnType<typeof createWebhookService>;

const iso = (ms: number) => new Date(Number(ms)).toISOString();

function toWebhook(row: WebhookRow, secret?: string): Webhook {
  return {
    id: row.id,
    url: row.url,
    description: row.description ?? null,
    types: row.types ? (JSON.parse(row.types) as EventType[]) : [...EVENT_TYPES],
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason ?? null,
    maxBatchSize: row.max_batch_size,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    ...(secret ? { secret } : {}),
  };
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: String(row.seq),
    messageId: row.message_id,
    eventIds: JSON.parse(row.event_ids) as string[],
    attempt: row.attempt,
    outcome: row.outcome as DeliveryOutcome,
    statusCode: row.status_code ?? null,
    durationMs: row.duration_ms,
    error: row.error ?? null,
    nextRetryAt: row.next_retry_at == null ? null : iso(row.next_retry_at),
    at: iso(row.at),
  };
}

function parseTypes(fields: Fields): EventType[] | null | undefined {
  const list = fields.array('types', { max: EVENT_TYPES.length * 4 });
  if (list === undefined) return fields.raw('types') === null ? null : undefined;
  if (list.length === 0) throw badRequest('types', 'types must name at least one event type');
  list.forEach((t, i) => {
    if (!isEventType(t))
      throw badRequest(`types[${i}]`, `types[${i}] must be one of ${EVENT_TYPES.join(', ')}`);
  });
  return [...new Set(list as EventType[])];
}

function parseBatchSize(fields: Fields): number | undefined {
  const v = fields.raw('maxBatchSize');
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_BATCH_SIZE) {
    throw badRequest('maxBatchSize', `maxBatchSize must be an integer from 1 to ${MAX_BATCH_SIZE}`);
  }
  return v;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined || value === '') return 100;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_LIST) {
    throw badRequest('limit', `limit must be an integer from 1 to ${MAX_LIST}`);
  }
  return n;
}

export function createWebhookService(deps: WebhookServiceDeps) {
  const { repository, clock } = deps;

  async function url(value: string): Promise<string> {
    try {
      return (await checkWebhookUrl(value, deps.allowPrivate)).toString();
    } catch (err) {
      if (err instanceof UnsafeUrl) throw badRequest('url', err.message);
      throw err;
    }
  }

  async function existing(orgId: number, id: string): Promise<WebhookRow> {
    const row = await repository.get(orgId, id);
    if (!row) throw new AppError('not_found', `webhook ${id} does not exist`);
    return row;
  }

  async function changeAndShow(orgId: number, id: string, changes: Partial<WebhookRow>, secret?: string) {
    if (!(await repository.update(orgId, id, { ...changes, updated_at: clock.now() }))) {
      throw new AppError('not_found', `webhook ${id} does not exist`);
    }
    deps.onChange?.();
    return toWebhook(await existing(orgId, id), secret);
  }

  return {
    async create(orgId: number, body: unknown): Promise<Webhook> {
      const fields = Fields.of(body, '', ['url', 'types', 'description', 'maxBatchSize']);
      const target = await url(fields.string('url', { required: true, max: 2000 }));
      const types = parseTypes(fields);
      const description = fields.string('description', { max: 500 }) ?? null;
      const maxBatchSize = parseBatchSize(fields) ?? 1;
      if (!(await deps.orgExists(orgId))) throw new AppError('not_found', `org ${orgId} does not exist`);
      // Events from now on: the endpoint starts at the newest event every writer has committed.
      const start = (await deps.feed.head(orgId)) ?? FEED_START;
      const secret = newSecret();
      const now = clock.now();
      const row: WebhookRow = {
        org_id: orgId,
        id: `wh_${randomBytes(12).toString('base64url')}`,
        url: target,
        description,
        types: types ? JSON.stringify(types) : null,
        enabled: 1,
        disabled_reason: null,
        max_batch_size: maxBatchSize,
        secret: sealSecret(secret),
        cursor_xid: start.xid,
        cursor_id: start.id,
        pending_message_id: null,
        pending_event_ids: null,
        pending_end_xid: null,
        pending_end_id: null,
        attempts: 0,
        first_attempt_at: null,
        next_attempt_at: 0,
        lease_owner: null,
        lease_until: 0,
        delivery_seq: 0,
        created_at: now,
        updated_at: now,
      };
      await repository.create(row);
      return toWebhook(row, secret);
    },

    async list(orgId: number, query: { limit?: string; cursor?: string }) {
      const limit = parseLimit(query.limit);
      const rows = await repository.list(orgId, query.cursor ?? '', limit + 1);
      const page = rows.slice(0, limit);
      return {
        webhooks: page.map((r) => toWebhook(r)),
        nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      };
    },

    async get(orgId: number, id: string): Promise<Webhook> {
      return toWebhook(await existing(orgId, id));
    },

    async update(orgId: number, id: string, body: unknown): Promise<Webhook> {
      const fields = Fields.of(body, '', ['url', 'types', 'description', 'maxBatchSize', 'enabled']);
      const changes: Partial<WebhookRow> = {};
      if (fields.has('url')) changes.url = await url(fields.string('url', { required: true, max: 2000 }));
      const types = parseTypes(fields);
      if (types !== undefined) changes.types = types ? JSON.stringify(types) : null;
      if (fields.has('description')) changes.description = fields.string('description', { max: 500 }) ?? null;
      else if (fields.raw('description') === null) changes.description = null;
      const maxBatchSize = parseBatchSize(fields);
      if (maxBatchSize !== undefined) changes.max_batch_size = maxBatchSize;
      const enabled = fields.boolean('enabled');
      if (enabled !== undefined) {
        changes.enabled = enabled ? 1 : 0;
        if (enabled) Object.assign(changes, { disabled_reason: null, next_attempt_at: 0 });
        else changes.disabled_reason = 'disabled through the management API';
      }
      return changeAndShow(orgId, id, changes);
    },

    async remove(orgId: number, id: string): Promise<void> {
      if (!(await repository.remove(orgId, id)))
        throw new AppError('not_found', `webhook ${id} does not exist`);
    },

    async rotateSecret(orgId: number, id: string): Promise<Webhook> {
      const secret = newSecret();
      return changeAndShow(orgId, id, { secret: sealSecret(secret) }, secret);
    },

    /**
     * Sends again every event after `after` (a feed cursor; the oldest kept event when absent). Any
     * batch in flight is dropped, and the process that held the endpoint lets it go.
     */
    async replay(orgId: number, id: string, body: unknown): Promise<Webhook & { replayFrom: string }> {
      const fields = Fields.of(body ?? {}, '', ['after']);
      const after = fields.string('after', { max: 100 });
      const from = after === undefined ? FEED_START : decodeCursor(after);
      if (!from) throw badRequest('after', 'after is not a cursor of this feed');
      const shown = await changeAndShow(orgId, id, {
        cursor_xid: from.xid,
        cursor_id: from.id,
        pending_message_id: null,
        pending_event_ids: null,
        pending_end_xid: null,
        pending_end_id: null,
        attempts: 0,
        first_attempt_at: null,
        next_attempt_at: 0,
        lease_owner: null,
        lease_until: 0,
      });
      return { ...shown, replayFrom: encodeCursor(from) };
    },

    async deliveries(orgId: number, id: string, query: { limit?: string; cursor?: string }) {
      await existing(orgId, id);
      const limit = parseLimit(query.limit);
      const before =
        query.cursor === undefined || query.cursor === '' ? Number.MAX_SAFE_INTEGER : Number(query.cursor);
      if (!Number.isSafeInteger(before) || before < 0)
        throw badRequest('cursor', 'cursor is not a cursor of this list');
      const rows = await repository.deliveries(orgId, id, before, limit + 1);
      const page = rows.slice(0, limit);
      return {
        deliveries: page.map(toDelivery),
        nextCursor: rows.length > limit ? String(page.at(-1)?.seq) : null,
      };
    },
  };
}
