import { isIP, type LookupFunction } from 'node:net';
import { Client } from 'undici';
import type { AttemptResult } from './delivery.plan.js';
import { parseWebhookUrl, resolveSafely, UnsafeUrl } from './url-guard.js';

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Requests one endpoint may have in flight on its connection (HTTP/1.1 pipelining). */
  pipelining: number;
}

export interface Sender {
  /**
   * POSTs one signed message to an endpoint. Never throws: the answer's status, or what went wrong
   * (a timeout, a refused target, a network error), which the delivery plan turns into an outcome.
   * Messages posted to one endpoint without waiting go out in that order on its one connection.
   */
  post(endpoint: string, url: string, headers: Record<string, string>, body: string): Promise<AttemptResult>;
  /** Closes every connection (the worker is stopping). */
  close(): Promise<void>;
}

// A connection not used for this long is closed: an endpoint that went quiet holds no socket.
const IDLE_MS = 60_000;

/**
 * One connection per endpoint, kept alive between messages: the endpoint's messages share it in feed
 * order (a receiver reads them in the order they were sent, and answers them in that order), and a
 * slow endpoint never holds up another's. Every new connection goes to an address checked just before
 * (the lookup below), so a host that resolves to a private address later is refused at the next
 * connection, and a kept-alive socket stays on the address that was checked when it was opened.
 */
export function createSender(options: SendOptions): Sender {
  const clients = new Map<string, { origin: string; client: Client; usedAt: number }>();

  const lookup: LookupFunction = (hostname, opts, callback) => {
    resolveSafely(hostname, options.allowPrivate).then(
      (addresses) => {
        if ((opts as { all?: boolean }).all)
          (callback as (e: null, a: typeof addresses) => void)(null, addresses);
        else callback(null, (addresses[0] as { address: string }).address, addresses[0]?.family);
      },
      (err: Error) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };

  function clientFor(endpoint: string, origin: string, now: number): Client {
    for (const [key, entry] of clients)
      if (now - entry.usedAt > IDLE_MS) {
        clients.delete(key);
        void entry.client.close().catch(() => undefined);
      }
    const known = clients.get(endpoint);
    if (known && known.origin === origin && !known.client.destroyed && !known.client.closed) {
      known.usedAt = now;
      return known.client;
    }
    // The endpoint's URL changed (or its connection was destroyed): a new connection.
    if (known) void known.client.close().catch(() => undefined);
    const client = new Client(origin, {
      pipelining: options.pipelining,
      connect: { lookup, timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: IDLE_MS,
    });
    clients.set(endpoint, { origin, client, usedAt: now });
    return client;
  }

  return {
    async post(endpoint, urlText, headers, body) {
      let url: URL;
      try {
        url = parseWebhookUrl(urlText, options.allowPrivate);
        // An address in the URL is checked here (a connection to it looks nothing up); a name, by
        // the lookup of each new connection.
        if (isIP(url.hostname.replace(/^\[|\]$/g, '')))
          await resolveSafely(url.hostname, options.allowPrivate);
      } catch (err) {
        return { error: err instanceof UnsafeUrl ? err.message : `cannot resolve: ${String(err)}` };
      }
      const client = clientFor(endpoint, url.origin, Date.now());
      const abort = new AbortController();
      const timer = setTimeout(
        () => abort.abort(new Error(`no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
      try {
        const response = await client.request({
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'user-agent': 'loyalty-promotions-webhooks',
          },
          body,
          // A message may be sent again: its webhook-id makes a repeat harmless (the receiver drops
          // it), which is what lets messages share a connection without waiting for each answer.
          idempotent: true,
          // Not one to hold the connection up: the next message need not wait for this one's answer.
          blocking: false,
          signal: abort.signal,
        });
        // The answer's body is not used; it is read so that the connection can be kept.
        await response.body.dump();
        return { status: response.statusCode };
      } catch (err) {
        if (abort.signal.aborted) return { error: (abort.signal.reason as Error).message, timedOut: true };
        const cause = (err as { cause?: unknown }).cause;
        return { error: cause instanceof UnsafeUrl ? cause.message : (err as Error).message };
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      const all = [...clients.values()];
      clients.clear();
      await Promise.all(all.map((e) => e.client.destroy().catch(() => undefined)));
    },
  };
}
