import { createHash } from 'node:crypto';
import { LoyaltyApiError, LoyaltyNetworkError } from './loyalty-api.error.js';
import type {
  ApiMessage,
  BulkRequest,
  BulkResponse,
  CallOptions,
  Credentials,
  CustomerQuery,
  GrantAction,
  IssueRequest,
  IssueResponse,
  OAuthToken,
  PromotionDataQuery,
  PromotionDataResponse,
  RevokeAction,
} from './types.js';

/** Options of a {@link LoyaltyClient}. */
export interface LoyaltyClientOptions {
  /** Where the API lives, e.g. `http://127.0.0.1:3000` (a path prefix is kept). */
  baseUrl: string;
  /** A till (Basic) or an API client (OAuth). */
  credentials: Credentials;
  /** Per-call timeout in milliseconds; default 60,000. */
  timeoutMs?: number;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
  /** The client's clock in epoch milliseconds, which decides when a token is renewed; default `Date.now`. */
  now?: () => number;
}

interface Request {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** `/v2` calls authenticate; the token endpoint does not. */
  authenticate: boolean;
}

const JSON_TYPE = 'application/json';

function md5hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asMessages(value: unknown): ApiMessage[] {
  return Array.isArray(value) ? value.filter((m): m is ApiMessage => isObject(m) && 'code' in m) : [];
}

/** The error items of any of the API's error envelopes (bulk, v2, OAuth). */
function errorsOf(body: unknown): ApiMessage[] {
  if (!isObject(body)) return [];
  if (Array.isArray(body.response)) {
    return body.response.flatMap((item) => (isObject(item) ? asMessages(item.errors) : []));
  }
  return asMessages(body.errors);
}

function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

/**
 * A typed client of the v2 promotion API and its OAuth token endpoint, for this server or any
 * Capillary-compatible one.
 *
 * With OAuth credentials it fetches a token on first use, renews it shortly before it expires, and,
 * when the server still refuses it (401), fetches a new one and repeats the call once: a 401 is
 * decided before the server reads the request, so the repeat cannot do anything twice.
 *
 * Every method throws {@link LoyaltyApiError} for an HTTP error and {@link LoyaltyNetworkError} when
 * no answer came. A bulk call where some customers failed answers normally (HTTP 201), with
 * `failureCount` and each customer's `errors`.
 *
 * @example
 * const client = new LoyaltyClient({
 *   baseUrl: 'http://127.0.0.1:3000',
 *   credentials: { kind: 'basic', username: 'demo.till', password: 'demo-till-password' },
 * });
 * const answer = await client.enrolAndEarn({
 *   bulkAction: 'ENROL',
 *   promotionDetails: { programId: 469, promotionId: 57099 },
 *   identifierName: 'id',
 *   customers: [{ identifierValue: '555567088', source: 'INSTORE' }],
 * });
 */
export class LoyaltyClient {
  readonly #baseUrl: string;
  readonly #credentials: Credentials;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #basicHeader: string | undefined;
  #token: { value: string; renewAt: number } | undefined;
  #pendingToken: Promise<string> | undefined;

  constructor(options: LoyaltyClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    const c = options.credentials;
    this.#basicHeader =
      c.kind === 'basic'
        ? `Basic ${Buffer.from(`${c.username}:${md5hex(c.password)}`).toString('base64')}`
        : undefined;
  }

  /** Who this client calls as: `till:<username>` or `client:<key>`, as the server records it. */
  get credentialName(): string {
    const c = this.#credentials;
    return c.kind === 'basic' ? `till:${c.username}` : `client:${c.key}`;
  }

  /** `POST /v2/promotion/bulk/enrolAndEarn`: ENROL or EARN up to 100 customers. */
  enrolAndEarn(request: BulkRequest<GrantAction>, options?: CallOptions): Promise<BulkResponse> {
    return this.#bulk('/v2/promotion/bulk/enrolAndEarn', request, options);
  }

  /** `POST /v2/promotion/bulk/directEarn`: EARN on a DIRECT promotion. */
  directEarn(request: BulkRequest<'EARN'>, options?: CallOptions): Promise<BulkResponse> {
    return this.#bulk('/v2/promotion/bulk/directEarn', request, options);
  }

  /** `POST /v2/promotion/bulk/revokeEnrolAndEarn`: REVOKE_ENROL or REVOKE_EARN on an ENROL_AND_ISSUE promotion. */
  revokeEnrolAndEarn(request: BulkRequest<RevokeAction>, options?: CallOptions): Promise<BulkResponse> {
    return this.#bulk('/v2/promotion/bulk/revokeEnrolAndEarn', request, options);
  }

  /** `POST /v2/promotion/bulk/revokeDirectEarn`: REVOKE_EARN on a DIRECT promotion. */
  revokeDirectEarn(request: BulkRequest<'REVOKE_EARN'>, options?: CallOptions): Promise<BulkResponse> {
    return this.#bulk('/v2/promotion/bulk/revokeDirectEarn', request, options);
  }

  /**
   * `POST /v2/promotion/issue`: EARN for one customer. A refusal of that customer (8015, 8896, …)
   * comes back from the server as HTTP 400, so it throws {@link LoyaltyApiError} with the code.
   */
  issue(customer: CustomerQuery, promotion: IssueRequest, options?: CallOptions): Promise<IssueResponse> {
    return this.#call<IssueResponse>(
      {
        method: 'POST',
        path: '/v2/promotion/issue',
        query: { ...customer },
        body: promotion,
        authenticate: true,
      },
      options,
    );
  }

  /** `GET /v2/customers/lookup/promotionData`: a customer's promotions, restrictions and timelines. */
  promotionData(query: PromotionDataQuery, options?: CallOptions): Promise<PromotionDataResponse> {
    return this.#call<PromotionDataResponse>(
      {
        method: 'GET',
        path: '/v2/customers/lookup/promotionData',
        query: {
          ...query,
          fetchAllUsage: query.fetchAllUsage === undefined ? undefined : String(query.fetchAllUsage),
        },
        authenticate: true,
      },
      options,
    );
  }

  /**
   * `POST /v3/oauth/token/generate`: a token for an API client. With no arguments, for this client's
   * own OAuth credentials. The client calls it itself when it needs a token.
   */
  async generateToken(
    credentials?: { key: string; secret: string },
    options?: CallOptions,
  ): Promise<OAuthToken> {
    const own = this.#credentials;
    const given = credentials ?? (own.kind === 'oauth' ? { key: own.key, secret: own.secret } : undefined);
    if (!given)
      throw new TypeError('generateToken needs a key and secret: this client uses Basic credentials');
    const body = await this.#call<{ data: OAuthToken }>(
      {
        method: 'POST',
        path: '/v3/oauth/token/generate',
        body: { key: given.key, secret: given.secret },
        authenticate: false,
      },
      options,
    );
    if (!isObject(body) || !isObject(body.data) || typeof body.data.accessToken !== 'string') {
      throw new LoyaltyApiError(200, [], body, { url: `${this.#baseUrl}/v3/oauth/token/generate` });
    }
    return body.data;
  }

  #bulk(path: string, request: BulkRequest, options?: CallOptions): Promise<BulkResponse> {
    return this.#call<BulkResponse>(
      { method: 'POST', path, body: { type: 'CUSTOMER', ...request }, authenticate: true },
      options,
    );
  }

  /** A current token: the cached one until shortly before it expires, else a new one (one fetch at a time). */
  async #accessToken(signal: AbortSignal | undefined): Promise<string> {
    if (this.#token && this.#now() < this.#token.renewAt) return this.#token.value;
    if (!this.#pendingToken) {
      const fetching = this.generateToken(undefined, signal ? { signal } : {}).then((token) => {
        const ttlMs = Math.max(1, token.ttlSeconds) * 1000;
        // Renew ahead of expiry (a fifth of the lifetime, at most 30 s) so that clock skew and a slow
        // call never carry an expired token.
        this.#token = {
          value: token.accessToken,
          renewAt: this.#now() + ttlMs - Math.min(30_000, ttlMs / 5),
        };
        return token.accessToken;
      });
      this.#pendingToken = fetching;
      fetching.then(
        () => {
          if (this.#pendingToken === fetching) this.#pendingToken = undefined;
        },
        () => {
          if (this.#pendingToken === fetching) this.#pendingToken = undefined;
        },
      );
    }
    return this.#pendingToken;
  }

  async #call<T>(request: Request, options: CallOptions = {}): Promise<T> {
    const oauth = request.authenticate && this.#credentials.kind === 'oauth';
    for (let attempt = 0; ; attempt++) {
      const token = oauth ? await this.#accessToken(options.signal) : undefined;
      try {
        return await this.#send<T>(request, options, token);
      } catch (err) {
        if (token !== undefined && attempt === 0 && err instanceof LoyaltyApiError && err.status === 401) {
          if (this.#token?.value === token) this.#token = undefined;
          continue;
        }
        throw err;
      }
    }
  }

  async #send<T>(request: Request, options: CallOptions, token: string | undefined): Promise<T> {
    const url = new URL(`${this.#baseUrl}${request.path}`);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: JSON_TYPE };
    if (request.body !== undefined) headers['content-type'] = JSON_TYPE;
    if (token !== undefined) headers['x-cap-api-oauth-token'] = token;
    else if (request.authenticate && this.#basicHeader) headers.authorization = this.#basicHeader;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;

    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method: request.method,
        headers,
        ...(request.body !== undefined ? { body: JSON.stringify(request.body) } : {}),
        signal,
      });
      text = await response.text();
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      const reason = timeout.aborted
        ? `no answer within ${this.#timeoutMs} ms`
        : err instanceof Error && err.cause instanceof Error
          ? err.cause.message
          : String(err);
      throw new LoyaltyNetworkError(`${request.method} ${url.pathname} failed: ${reason}`, url.toString(), {
        cause: err,
      });
    }

    let body: unknown = text;
    let json = false;
    try {
      body = JSON.parse(text);
      json = true;
    } catch {
      // not JSON: a proxy's or load balancer's page; the error below carries the text
    }
    if (!response.ok || !json) {
      const retryAfterSeconds = retryAfter(response.headers.get('retry-after'));
      const requestId = response.headers.get('x-request-id') ?? undefined;
      throw new LoyaltyApiError(response.status, errorsOf(body), body, {
        url: url.toString(),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
        ...(requestId !== undefined ? { requestId } : {}),
      });
    }
    return body as T;
  }
}
