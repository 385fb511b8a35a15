import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { SecretBox } from '../auth/secret-box.js';
import type { Clock } from '../clock.js';
import type { EventsConfig } from '../config.js';
import { postMessage } from './delivery.http.js';
import { decide, type Outcome, type RetryPolicy } from './delivery.plan.js';
import {
  type EventRow,
  type EventType,
  eventId,
  type FeedPosition,
  positionOf,
  toEvent,
} from './event.model.js';
import {
  cursorAt,
  LeaseLost,
  pendingAt,
  type WebhookRepository,
  type WebhookRow,
} from './webhook.repository.js';
import { openSecret, signature } from './webhook-secret.js';

export interface DeliveryWorkerDeps {
  repository: WebhookRepository;
  config: EventsConfig;
  clock: Clock;
  log: { warn(obj: object, msg: string): void };
  /** Opens the endpoints' sealed secrets. */
  box: SecretBox;
  /** Told of every attempt's outcome (metrics). */
  onAttempt?: (webhookId: string, outcome: Outcome) => void;
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;

// Events looked at for one batch; with a type filter, ones the endpoint does not take are skipped.
const SCAN = 1000;
// Batches sent to one endpoint before its lease is given back, so that claims stay fair.
const BATCHES_PER_LEASE = 50;
const PRUNE_EVERY_MS = 10 * 60 * 1000;
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

interface Batch {
  messageId: string;
  events: EventRow[];
  end: FeedPosition;
}

const typesOf = (w: WebhookRow): readonly EventType[] | null =>
  w.types ? (JSON.parse(w.types) as EventType[]) : null;

/** The body of a message: the event itself with a batch size of 1, else a batch of events. */
export function messageBody(maxBatchSize: number, events: readonly EventRow[]): string {
  if (maxBatchSize === 1 && events.length === 1) return JSON.stringify(toEvent(events[0] as EventRow));
  return JSON.stringify({ type: 'batch', events: events.map(toEvent) });
}

/**
 * Delivers events to webhook endpoints, off the request path. Each process claims endpoints that
 * have something to send with a lease (so two processes never send to one endpoint at once, and a
 * killed process's endpoints are taken over when its lease runs out), then sends each claimed
 * endpoint's batches in feed order, several endpoints at once up to a bound.
 */
export function createDeliveryWorker({ repository, config, clock, log, box, onAttempt }: DeliveryWorkerDeps) {
  const owner = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  const policy: RetryPolicy = {
    baseMs: config.retryBaseMs,
    maxDelayMs: Math.min(MAX_RETRY_DELAY_MS, config.retryForMs),
    retryForMs: config.retryForMs,
  };
  const active = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let again = false;
  let stopped = true;
  let lastPrune = 0;
  let lastWarning = 0;

  function warn(err: unknown, msg: string) {
    // A store that is down fails every tick: say so once a minute, not twice a second.
    const now = clock.now();
    if (now - lastWarning < 60_000) return;
    lastWarning = now;
    log.warn({ err }, msg);
  }

  /**
   * The batch that starts at the endpoint's cursor, from the events after it (`rows`, at most
   * scanOf(w)): null when there are none, a position to skip to when none is of a type it takes.
   */
  function planBatch(w: WebhookRow, rows: EventRow[]): Batch | null | { skipTo: FeedPosition } {
    const last = rows[rows.length - 1];
    if (!last) return null;
    const types = typesOf(w);
    const taken = (types ? rows.filter((r) => types.includes(r.type as EventType)) : rows).slice(
      0,
      w.max_batch_size,
    );
    if (taken.length === 0) return { skipTo: positionOf(last) };
    // A batch that is not full ends at the last event looked at, so skipped events are passed too.
    const end = positionOf(taken.length < w.max_batch_size ? last : (taken[taken.length - 1] as EventRow));
    const messageId =
      w.max_batch_size === 1 ? eventId(Number(taken[0]?.id)) : `msg_${randomBytes(16).toString('base64url')}`;
    return { messageId, events: taken, end };
  }

  /** Without a type filter a batch is the next max_batch_size events; with one, more are looked at. */
  const scanOf = (w: WebhookRow) => (typesOf(w) ? SCAN : w.max_batch_size);

  const pendingOf = (batch: Batch) => ({
    messageId: batch.messageId,
    eventIds: batch.events.map((r) => eventId(Number(r.id))),
    end: batch.end,
  });

  async function nextBatch(w: WebhookRow): Promise<Batch | null | 'skipped'> {
    const cursor = { xid: Number(w.cursor_xid), id: Number(w.cursor_id) };
    const planned = planBatch(w, await repository.eventsAfter(w.org_id, cursor, scanOf(w)));
    if (planned === null) return null;
    if ('skipTo' in planned) {
      await repository.skipTo(w.org_id, w.id, owner, planned.skipTo);
      return 'skipped';
    }
    await repository.setPending(w.org_id, w.id, owner, pendingOf(planned));
    return planned;
  }

  async function pendingBatch(w: WebhookRow): Promise<Batch> {
    const ids = new Set(JSON.parse(w.pending_event_ids ?? '[]') as string[]);
    const cursor = { xid: Number(w.cursor_xid), id: Number(w.cursor_id) };
    const end = { xid: Number(w.pending_end_xid), id: Number(w.pending_end_id) };
    const rows = await repository.eventsBetween(w.org_id, cursor, end);
    return {
      messageId: w.pending_message_id as string,
      events: rows.filter((r) => ids.has(eventId(Number(r.id)))),
      end,
    };
  }

  /**
   * Sends one batch and records the attempt. When the endpoint may go on, says so, with its next batch
   * if the record fixed one in the same transaction.
   */
  async function attempt(w: WebhookRow, batch: Batch): Promise<{ next: Batch | null } | null> {
    const started = clock.now();
    const number = w.attempts + 1;
    const body = messageBody(w.max_batch_size, batch.events);
    const timestamp = Math.floor(started / 1000);
    const result = await postMessage(
      w.url,
      {
        'webhook-id': batch.messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature(
          openSecret(box, Number(w.org_id), w.sealed_secret),
          batch.messageId,
          timestamp,
          body,
        ),
      },
      body,
      { timeoutMs: config.timeoutMs, allowPrivate: config.allowPrivate },
    );
    const now = clock.now();
    const firstAttemptAt = w.first_attempt_at === null ? started : Number(w.first_attempt_at);
    const decision = decide(result, number, firstAttemptAt, now, policy);
    // The next batch starts where this one ends (the endpoint's row as the record leaves it).
    const after = { ...w, ...cursorAt(batch.end) };
    const next = await repository.recordAttempt(
      {
        orgId: w.org_id,
        webhookId: w.id,
        owner,
        outcome: decision.outcome,
        messageId: batch.messageId,
        eventIds: batch.events.map((r) => eventId(Number(r.id))),
        attempt: number,
        statusCode: 'status' in result ? result.status : null,
        durationMs: now - started,
        error: 'error' in result ? result.error.slice(0, 500) : null,
        at: started,
        firstAttemptAt,
        nextAttemptAt: decision.nextAttemptAt ?? null,
        end: batch.end,
        leaseUntil: now + config.leaseMs,
        disabledReason: 'the receiver answered 410 Gone',
      },
      {
        scan: scanOf(w),
        plan: (rows) => {
          const planned = planBatch(after, rows);
          return planned && !('skipTo' in planned) ? pendingOf(planned) : null;
        },
      },
    );
    onAttempt?.(w.id, decision.outcome);
    if (decision.outcome !== 'delivered' && decision.outcome !== 'failed') return null;
    if (!next) return { next: null };
    const ids = new Set(next.eventIds);
    return {
      next: {
        messageId: next.messageId,
        events: next.events.filter((r) => ids.has(eventId(Number(r.id)))),
        end: next.end,
      },
    };
  }

  async function deliver(claimed: WebhookRow): Promise<void> {
    let w = claimed;
    try {
      // A batch the last record fixed (already pending in the store), sent without reading it again.
      let fixed: Batch | null = null;
      for (let n = 0; n < BATCHES_PER_LEASE && !stopped; n++) {
        const batch = fixed ?? (w.pending_message_id ? await pendingBatch(w) : await nextBatch(w));
        if (batch === null) break;
        if (batch === 'skipped') {
          w = (await repository.get(w.org_id, w.id)) ?? w;
          continue;
        }
        const sent = await attempt(w, batch);
        if (!sent) return;
        fixed = sent.next;
        // As recordAttempt left the stored row.
        w = {
          ...w,
          ...cursorAt(batch.end),
          ...(fixed && pendingAt(pendingOf(fixed))),
        };
      }
      await repository.release(w.org_id, w.id, owner);
    } catch (err) {
      if (err instanceof LeaseLost) return;
      warn(err, 'webhook delivery failed; the endpoint is tried again when its lease runs out');
    }
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      const now = clock.now();
      if (now - lastPrune >= PRUNE_EVERY_MS) {
        lastPrune = now;
        await repository.prune(now - config.retentionMs, 10_000);
      }
      const free = config.concurrency - active.size;
      if (free > 0) {
        for (const row of await repository.claim(owner, now, config.leaseMs, free)) {
          const run: Promise<void> = deliver(row).finally(() => {
            active.delete(run);
            nudge();
          });
          active.add(run);
        }
      }
    } catch (err) {
      warn(err, 'looking for webhook deliveries failed');
    } finally {
      ticking = false;
      if (again) {
        again = false;
        nudge();
      }
    }
  }

  function nudge(): void {
    if (!stopped) setImmediate(() => void tick());
  }

  return {
    owner,
    start(): void {
      if (!stopped) return;
      stopped = false;
      timer = setInterval(() => void tick(), config.pollMs);
      timer.unref();
      nudge();
    },
    /** Events were written: look for work now rather than at the next poll. */
    nudge,
    /** Stops claiming, and waits for the attempts in flight (each ends within the timeout). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...active]);
    },
  };
}
