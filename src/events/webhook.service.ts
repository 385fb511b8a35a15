import { randomBytes } from 'node:crypto';
import type { SecretBox } from '../auth/secret-box.js';
import type { Clock } from '../clock.js';
import type { DeliveryOutcome } from '../contract/enums.contract.js';
import type {
  CreateWebhookInput,
  WebhookDelivery as Delivery,
  PatchWebhookInput,
  ReplayWebhookInput,
  Webhook,
} from '../contract/events.contract.js';
import { AppError, badRequest } from '../errors.js';
import { decodeCursor, EVENT_TYPES, type EventType, encodeCursor, FEED_START } from './event.model.js';
import type { FeedRepository } from './feed.repository.js';
import { checkWebhookUrl, UnsafeUrl } from './url-guard.js';
import { cursorAt, type DeliveryRow, type WebhookRepository, type WebhookRow } from './webhook.repository.js';
import { newSecret, sealSecret } from './webhook-secret.js';

export type { Webhook, WebhookDelivery as Delivery } from '../contract/events.contract.js';

export interface WebhookServiceDeps {
  repository: WebhookRepository;
  feed: FeedRepository;
  orgExists(orgId: number): Promise<boolean>;
  clock: Clock;
  allowPrivate: boolean;
  /** Seals the endpoints' secrets (LOYALTY_SECRET_KEY). */
  box: SecretBox;
  /** Told when an endpoint may have something to send at once (made, enabled again, replayed). */
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

interface ListQuery {
  limit?: number;
  cursor?: string;
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
    async create(orgId: number, input: CreateWebhookInput): Promise<Webhook> {
      const target = await url(input.url);
      const types = input.types ? [...new Set(input.types as EventType[])] : null;
      const description = input.description ?? null;
      const maxBatchSize = input.maxBatchSize ?? 1;
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
        sealed_secret: sealSecret(deps.box, orgId, secret),
        ...cursorAt(start),
        lease_owner: null,
        lease_until: 0,
        delivery_seq: 0,
        created_at: now,
        updated_at: now,
      };
      await repository.create(row);
      deps.onChange?.();
      return toWebhook(row, secret);
    },

    async list(orgId: number, query: ListQuery) {
      const limit = query.limit ?? 100;
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

    async update(orgId: number, id: string, input: PatchWebhookInput): Promise<Webhook> {
      const changes: Partial<WebhookRow> = {};
      if (input.url !== undefined) changes.url = await url(input.url);
      if (input.types !== undefined)
        changes.types = input.types ? JSON.stringify([...new Set(input.types)]) : null;
      if (input.description !== undefined) changes.description = input.description;
      if (input.maxBatchSize !== undefined) changes.max_batch_size = input.maxBatchSize;
      const { enabled } = input;
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
      return changeAndShow(orgId, id, { sealed_secret: sealSecret(deps.box, orgId, secret) }, secret);
    },

    /**
     * Sends again every event after `after` (a feed cursor; the oldest kept event when absent). Any
     * batch in flight is dropped, and the process that held the endpoint lets it go.
     */
    async replay(
      orgId: number,
      id: string,
      input: ReplayWebhookInput,
    ): Promise<Webhook & { replayFrom: string }> {
      const { after } = input;
      const from = after === undefined ? FEED_START : decodeCursor(after);
      if (!from) throw badRequest('after', 'after is not a cursor of this feed');
      const shown = await changeAndShow(orgId, id, {
        ...cursorAt(from),
        lease_owner: null,
        lease_until: 0,
      });
      return { ...shown, replayFrom: encodeCursor(from) };
    },

    async deliveries(orgId: number, id: string, query: ListQuery) {
      await existing(orgId, id);
      const limit = query.limit ?? 100;
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
