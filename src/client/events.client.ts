import { type AdminClientOptions, AdminHttp, type Method, type Query } from './admin-http.js';
import type {
  EventPage,
  EventType,
  NewWebhook,
  Webhook,
  WebhookChanges,
  WebhookDelivery,
} from './events.types.js';

/** Options of a {@link LoyaltyEventsClient}. */
export type LoyaltyEventsClientOptions = AdminClientOptions;

export interface TailOptions {
  /** Start after this cursor; by default at the oldest kept event. */
  after?: string;
  type?: EventType;
  /** Events a call; default 100. */
  limit?: number;
  /** Wait between polls once caught up, in ms; default 1,000. */
  intervalMs?: number;
  /** Stops the tail. */
  signal?: AbortSignal;
}

/**
 * A typed client of the event feed and the webhook endpoints of the management API.
 *
 * @example
 * const events = new LoyaltyEventsClient({ baseUrl: 'http://127.0.0.1:3000', adminToken });
 * for await (const page of events.tail(1)) for (const e of page.events) console.log(e.type, e.id);
 */
export class LoyaltyEventsClient {
  readonly #http: AdminHttp;

  constructor(options: LoyaltyEventsClientOptions) {
    this.#http = new AdminHttp(options);
  }

  /** One page of an org's events after `after`, in feed order. */
  events(
    orgId: number,
    query: { after?: string; limit?: number; type?: EventType } = {},
  ): Promise<EventPage> {
    return this.#call('GET', `/orgs/${orgId}/events`, undefined, query);
  }

  /**
   * The pages of an org's feed from `after` on, each as soon as it holds events, until the signal
   * aborts; keep a page's `nextCursor` to start again after it.
   */
  async *tail(orgId: number, options: TailOptions = {}): AsyncGenerator<EventPage> {
    let after = options.after;
    const { signal } = options;
    while (!signal?.aborted) {
      const page = await this.events(orgId, {
        ...(after !== undefined ? { after } : {}),
        ...(options.type ? { type: options.type } : {}),
        limit: options.limit ?? 100,
      });
      after = page.nextCursor;
      if (page.events.length > 0) yield page;
      else await sleep(options.intervalMs ?? 1_000, signal);
    }
  }

  createWebhook(orgId: number, body: NewWebhook): Promise<Webhook & { secret: string }> {
    return this.#call('POST', `/orgs/${orgId}/webhooks`, body);
  }

  listWebhooks(orgId: number, query: { limit?: number; cursor?: string } = {}) {
    return this.#call<{ webhooks: Webhook[]; nextCursor: string | null }>(
      'GET',
      `/orgs/${orgId}/webhooks`,
      undefined,
      query,
    );
  }

  getWebhook(orgId: number, id: string): Promise<Webhook> {
    return this.#call('GET', `/orgs/${orgId}/webhooks/${encodeURIComponent(id)}`);
  }

  updateWebhook(orgId: number, id: string, changes: WebhookChanges): Promise<Webhook> {
    return this.#call('PATCH', `/orgs/${orgId}/webhooks/${encodeURIComponent(id)}`, changes);
  }

  async deleteWebhook(orgId: number, id: string): Promise<void> {
    await this.#call('DELETE', `/orgs/${orgId}/webhooks/${encodeURIComponent(id)}`);
  }

  rotateWebhookSecret(orgId: number, id: string): Promise<Webhook & { secret: string }> {
    return this.#call('POST', `/orgs/${orgId}/webhooks/${encodeURIComponent(id)}/rotate-secret`);
  }

  webhookDeliveries(orgId: number, id: string, query: { limit?: number; cursor?: string } = {}) {
    return this.#call<{ deliveries: WebhookDelivery[]; nextCursor: string | null }>(
      'GET',
      `/orgs/${orgId}/webhooks/${encodeURIComponent(id)}/deliveries`,
      undefined,
      query,
    );
  }

  /** Sends again every event after `after` (a feed cursor; the oldest kept event when absent). */
  replayWebhook(orgId: number, id: string, after?: string): Promise<Webhook & { replayFrom: string }> {
    return this.#call(
      'POST',
      `/orgs/${orgId}/webhooks/${encodeURIComponent(id)}/replay`,
      after === undefined ? {} : { after },
    );
  }

  #call<T>(method: Method, path: string, body?: unknown, query: Query = {}): Promise<T> {
    return this.#http.json<T>(method, path, body === undefined ? undefined : { json: body }, query);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
