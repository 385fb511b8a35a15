import { LoyaltyApiError, LoyaltyNetworkError } from './loyalty-api.error.js';
import type { ApiMessage } from './types.js';

/** Options of a client of the management API (/admin/v1). */
export interface AdminClientOptions {
  /** Where the server lives, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  /** The management API's bearer token (LOYALTY_ADMIN_TOKEN). */
  adminToken: string;
  /** Per-call timeout in milliseconds (an upload's is its own); default 60,000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
export type Query = Record<string, string | number | boolean | undefined>;

/** A request body: JSON, or a stream of another type (a CSV upload) sent as it is read. */
export type Body =
  | { json: unknown }
  | { type: string; data: string | Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array> };

/**
 * The HTTP of the typed management clients: the bearer token, the timeout, and errors turned into
 * LoyaltyApiError (from the management API's `{error}` or the jobs' `{errors}`) or LoyaltyNetworkError.
 */
export class AdminHttp {
  readonly #baseUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: AdminClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.adminToken;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** A call answered with JSON (or nothing, 204). */
  async json<T>(method: Method, path: string, body?: Body, query: Query = {}): Promise<T> {
    const { response, url } = await this.send(method, path, body, query);
    const text = await this.#read(response, method, url);
    if (!response.ok) throw apiError(response, text, url);
    if (response.status === 204) return undefined as T;
    return JSON.parse(text) as T;
  }

  /** A successful answer as it arrives (a large CSV), or the error its status says. */
  async send(
    method: Method,
    path: string,
    body?: Body,
    query: Query = {},
  ): Promise<{ response: Response; url: URL }> {
    const url = new URL(`${this.#baseUrl}/admin/v1${path}`);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    const streamed = body !== undefined && 'data' in body && typeof body.data !== 'string';
    if (body !== undefined) headers['content-type'] = 'json' in body ? 'application/json' : body.type;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined
          ? {}
          : { body: ('json' in body ? JSON.stringify(body.json) : body.data) as RequestInit['body'] }),
        // A streamed upload takes as long as the file does; every other call has the timeout.
        ...(streamed ? { duplex: 'half' } : { signal: AbortSignal.timeout(this.#timeoutMs) }),
      } as RequestInit);
    } catch (err) {
      throw new LoyaltyNetworkError(`${method} ${url.pathname} failed: ${String(err)}`, url.toString(), {
        cause: err,
      });
    }
    if (!response.ok) throw apiError(response, await this.#read(response, method, url), url);
    return { response, url };
  }

  async #read(response: Response, method: Method, url: URL): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw new LoyaltyNetworkError(`${method} ${url.pathname} failed: ${String(err)}`, url.toString(), {
        cause: err,
      });
    }
  }
}

/** The error of an answer: the management API's `{error: {code, message}}` or the v2 family's `{errors}`. */
function apiError(response: Response, text: string, url: URL): LoyaltyApiError {
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text in the error
  }
  const body = parsed as { error?: { code?: unknown; message?: unknown }; errors?: unknown } | null;
  let items: ApiMessage[] = [];
  if (Array.isArray(body?.errors)) items = body.errors as ApiMessage[];
  else if (body?.error && typeof body.error.message === 'string') {
    items = [
      { status: false, code: response.status, message: `${String(body.error.code)}: ${body.error.message}` },
    ];
  }
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  return new LoyaltyApiError(response.status, items, parsed, {
    url: url.toString(),
    ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
  });
}
