import type {
  EventPage,
  EventType,
  NewWebhook,
  Webhook,
  WebhookChanges,
  WebhookDelivery,
} from './events.types.js';
import { LoyaltyApiError, LoyaltyNetworkError } from './loyalty-api.error.js';

/** Options of a {@link LoyaltyEventsClient}. */
export interface LoyaltyEventsClientOptions {
  /** Where the server lives, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** The management API's bearer token (LOYALTY_ADMIN_TOKEN). */
  adminToken: string;
  /** Per-call timeout in milliseconds; default 60,000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

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
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: LoyaltyEventsClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.adminToken;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
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

  async #call<T>(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    query: Record<string, string | number | undefined> = {},
  ): Promise<T> {
    const url = new URL(`${this.#baseUrl}/admin/v1${path}`);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw new LoyaltyNetworkError(`${method} ${url.pathname} failed: ${String(err)}`, url.toString(), {
        cause: err,
      });
    }
    if (response.status === 204) return undefined as T;
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text in the error
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const item =
        error && typeof error.message === 'string'
          ? [
              {
                status: false as const,
                code: response.status,
                message: `${String(error.code)}: ${error.message}`,
              },
            ]
          : [];
      throw new LoyaltyApiError(response.status, item, parsed, { url: url.toString() });
    }
    return parsed as T;
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
