import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { SecretBox } from '../auth/secret-box.js';
import type { Clock } from '../clock.js';
import type { EventsConfig } from '../config.js';
import { createSender } from './delivery.http.js';
import { type AttemptResult, decide, type Outcome, type RetryPolicy } from './delivery.plan.js';
import {
  type Message,
  pendingMessages,
  pendingOf,
  planRound,
  type RoundEnd,
  roundChanges,
  scanOf,
} from './delivery.round.js';
import { type EventRow, eventId, type FeedPosition, toEvent } from './event.model.js';
import {
  type AttemptRecord,
  LeaseLost,
  pendingAt,
  pendingIn,
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
  /** Told whenever a poll finds that there are enabled endpoints, or none, unlike the one before. */
  onEndpoints?: (any: boolean) => void;
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;

// Messages sent to one endpoint before its lease is given back, so that claims stay fair.
const MESSAGES_PER_LEASE = 200;
const PRUNE_EVERY_MS = 10 * 60 * 1000;
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;
const DISABLED_REASON = 'the receiver answered 410 Gone';
// An endpoint whose receiver dropped a message sent behind another is sent one message at a time,
// by this process, for this long.
const SERIAL_MS = 10 * 60 * 1000;

/** A message on its way: the attempt it is, and its answer to come. */
interface Flight {
  message: Message;
  attempt: number;
  firstAttemptAt: number;
  started: number;
  /** Sent while an earlier message of the round was still unanswered. */
  behind: boolean;
  result: Promise<AttemptResult>;
}

const newId = () => `msg_${randomBytes(16).toString('base64url')}`;

/** The body of a message: the event itself with a batch size of 1, else a batch of events. */
export function messageBody(maxBatchSize: number, events: readonly EventRow[]): string {
  if (maxBatchSize === 1 && events.length === 1) return JSON.stringify(toEvent(events[0] as EventRow));
  return JSON.stringify({ type: 'batch', events: events.map(toEvent) });
}

const idsOf = (events: readonly EventRow[]) => events.map((r) => eventId(Number(r.id)));

/**
 * Delivers events to webhook endpoints, off the request path. Each process claims endpoints that
 * have something to send with a lease (so two processes never send to one endpoint at once, and a
 * killed process's endpoints are taken over when its lease runs out), then sends each claimed
 * endpoint's messages in feed order, a round of them per write (delivery.round.ts), several
 * endpoints at once up to a bound.
 */
export function createDeliveryWorker({
  repository,
  config,
  clock,
  log,
  box,
  onAttempt,
  onEndpoints,
}: DeliveryWorkerDeps) {
  const owner = `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  const policy: RetryPolicy = {
    baseMs: config.retryBaseMs,
    maxDelayMs: Math.min(MAX_RETRY_DELAY_MS, config.retryForMs),
    retryForMs: config.retryForMs,
  };
  const active = new Set<Promise<void>>();
  const sender = createSender({
    timeoutMs: config.timeoutMs,
    allowPrivate: config.allowPrivate,
    pipelining: config.pipelining,
  });
  const serialUntil = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let again = false;
  let stopped = true;
  let lastPrune = 0;
  let lastWarning = 0;
  // Whether any endpoint is enabled, as the last poll found (until then, as if one were). With none,
  // a nudge looks for nothing: most stores have no endpoint, and every request's commit nudges.
  let endpoints = true;
  // Counts the changes of endpoints this process was told of, so that a poll that read before one
  // does not undo it.
  let changes = 0;

  function warn(err: unknown, msg: string) {
    // A store that is down fails every tick: say so once a minute, not twice a second.
    const now = clock.now();
    if (now - lastWarning < 60_000) return;
    lastWarning = now;
    log.warn({ err }, msg);
  }

  const cursorOf = (w: WebhookRow): FeedPosition => ({ xid: Number(w.cursor_xid), id: Number(w.cursor_id) });

  async function nextRound(w: WebhookRow): Promise<Message[] | null | 'skipped'> {
    const planned = planRound(w, await repository.eventsAfter(w.org_id, cursorOf(w), scanOf(w)), newId);
    if (planned === null) return null;
    if ('skipTo' in planned) {
      await repository.skipTo(w.org_id, w.id, owner, planned.skipTo);
      return 'skipped';
    }
    await repository.setPending(w.org_id, w.id, owner, pendingOf(planned));
    return planned;
  }

  async function pendingRound(w: WebhookRow): Promise<Message[]> {
    const pending = pendingIn(w);
    return pendingMessages(pending, await repository.eventsBetween(w.org_id, cursorOf(w), pending.end));
  }

  function send(w: WebhookRow, secret: string, message: Message): Promise<AttemptResult> {
    const body = messageBody(w.max_batch_size, message.events);
    const timestamp = Math.floor(clock.now() / 1000);
    return sender.post(
      w.id,
      w.url,
      {
        'webhook-id': message.messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature(secret, message.messageId, timestamp, body),
      },
      body,
    );
  }

  /**
   * Sends a round's messages in feed order, up to `pipelining` of them in flight on the endpoint's
   * connection, taking the answers in order. The round stops sending at the first message that is not
   * delivered (and before one that might outlast the lease); answers to messages already sent behind
   * it are recorded, but those messages stay pending, to go again under the same webhook-id. Then one
   * write records every attempt and moves the endpoint on. Says whether the endpoint may go on, with
   * its row as left and its next round if the write fixed one.
   */
  async function sendRound(
    w: WebhookRow,
    messages: readonly Message[],
    leaseUntil: number,
  ): Promise<{ row: WebhookRow; next: Message[] | null; sent: number } | null> {
    const secret = openSecret(box, Number(w.org_id), w.sealed_secret);
    const depth = (serialUntil.get(w.id) ?? 0) > clock.now() ? 1 : config.pipelining;
    const flights: Flight[] = [];
    const attempts: AttemptRecord[] = [];
    let done = 0;
    let stop: RoundEnd['stop'];
    let halted = false;
    let fellBack = false;
    let following: Promise<EventRow[]> | undefined;
    const from = (messages[messages.length - 1] as Message).end;
    for (let k = 0; k < messages.length; k++) {
      // The lease must outlast every attempt, even one that runs to the timeout.
      while (
        !halted &&
        flights.length < messages.length &&
        flights.length - k < depth &&
        (flights.length === 0 || (!stopped && clock.now() + config.timeoutMs < leaseUntil))
      ) {
        const i = flights.length;
        const message = messages[i] as Message;
        const started = clock.now();
        flights.push({
          message,
          attempt: i === 0 ? w.attempts + 1 : 1,
          firstAttemptAt: i === 0 && w.first_attempt_at !== null ? Number(w.first_attempt_at) : started,
          started,
          behind: i > k,
          result: send(w, secret, message),
        });
      }
      const flight = flights[k];
      if (!flight) break;
      // The last message is on its way: the next round's events are read meanwhile (no lock).
      if (!halted && !following && flights.length === messages.length) {
        following = repository.eventsAfter(w.org_id, from, scanOf(w));
        // Handled where it is awaited, below; until then a failed read must not count as unhandled
        // (which would end the thread, or on the requests' loop the process).
        following.catch(() => undefined);
      }
      const result = await flight.result;
      const now = clock.now();
      const decision = decide(result, flight.attempt, flight.firstAttemptAt, now, policy);
      if ('error' in result && !result.timedOut && flight.behind && (!halted || fellBack)) {
        // The connection failed under a message sent behind another (a receiver, or something on
        // the way, that does not take HTTP/1.1 pipelining): neither it nor the ones behind it that
        // failed the same way count as attempts; they go again at once, and the endpoint's messages
        // one at a time from now on. (A timeout is an attempt.)
        if (!fellBack) {
          serialUntil.set(w.id, now + SERIAL_MS);
          log.warn(
            { err: result.error, webhookId: w.id },
            'a webhook receiver dropped a message sent behind another; its messages go one at a time for 10 minutes',
          );
        }
        fellBack = true;
        halted = true;
        continue;
      }
      attempts.push({
        messageId: flight.message.messageId,
        eventIds: idsOf(flight.message.events),
        attempt: flight.attempt,
        outcome: decision.outcome,
        statusCode: 'status' in result ? result.status : null,
        durationMs: now - flight.started,
        error: 'error' in result ? result.error.slice(0, 500) : null,
        at: flight.started,
        nextRetryAt: decision.outcome === 'retrying' ? (decision.nextAttemptAt ?? null) : null,
      });
      if (halted) continue;
      if (decision.outcome === 'delivered' || decision.outcome === 'failed') done = k + 1;
      else stop = { decision, attempt: flight.attempt, firstAttemptAt: flight.firstAttemptAt };
      if (decision.outcome !== 'delivered') halted = true;
    }
    const renewed = clock.now() + config.leaseMs;
    const changes = roundChanges(messages, {
      done,
      ...(stop ? { stop } : {}),
      leaseUntil: renewed,
      disabledReason: DISABLED_REASON,
    });
    // Done with the round: the next one is fixed by the same write.
    let next: Message[] | null = null;
    if (done === messages.length && following) {
      const planned = planRound(w, await following, newId);
      if (planned && !('skipTo' in planned)) next = planned;
    } else await following?.catch(() => undefined);
    const row = await repository.recordRound({
      orgId: w.org_id,
      webhookId: w.id,
      owner,
      attempts,
      changes: next ? { ...changes, ...pendingAt(pendingOf(next)) } : changes,
    });
    for (const a of attempts) onAttempt?.(w.id, a.outcome);
    if (stop) return null;
    return { row, next, sent: attempts.length };
  }

  async function deliver(claimed: WebhookRow): Promise<void> {
    let w = claimed;
    let leaseUntil = Number(claimed.lease_until);
    try {
      // A round the last record fixed (already pending in the store), sent without reading it again.
      let fixed: Message[] | null = null;
      for (let sent = 0; sent < MESSAGES_PER_LEASE && !stopped; ) {
        const round = fixed ?? (w.pending_message_id ? await pendingRound(w) : await nextRound(w));
        if (round === null) break;
        if (round === 'skipped') {
          w = (await repository.get(w.org_id, w.id)) ?? w;
          continue;
        }
        const outcome = await sendRound(w, round, leaseUntil);
        if (!outcome) return;
        w = outcome.row;
        leaseUntil = Number(w.lease_until);
        fixed = outcome.next;
        sent += outcome.sent;
      }
      await repository.release(w.org_id, w.id, owner);
    } catch (err) {
      if (err instanceof LeaseLost) return;
      warn(err, 'webhook delivery failed; the endpoint is tried again when its lease runs out');
    }
  }

  /** A poll's look at the endpoints: an endpoint made by another process is found within a poll. */
  async function lookForEndpoints(): Promise<void> {
    const before = changes;
    const any = await repository.anyEnabled();
    if (before !== changes || any === endpoints) return;
    endpoints = any;
    onEndpoints?.(any);
  }

  async function tick(polled = false): Promise<void> {
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
      if (polled) await lookForEndpoints();
      const free = config.concurrency - active.size;
      if (free > 0 && endpoints) {
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
      timer = setInterval(() => void tick(true), config.pollMs);
      timer.unref();
      nudge();
    },
    /** Events were written: look for work now rather than at the next poll. */
    nudge,
    /** An endpoint was made or changed here: there may be endpoints to send to, now. */
    endpointsChanged(): void {
      changes += 1;
      if (!endpoints) {
        endpoints = true;
        onEndpoints?.(true);
      }
      nudge();
    },
    /** Stops claiming, and waits for the attempts in flight (each ends within the timeout). */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...active]);
      await sender.close();
    },
  };
}
