import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { adminRoutes } from './admin/admin.routes.js';
import { createManagement } from './admin/management.js';
import type { Actor } from './auth/actor.js';
import { createAuthThrottle } from './auth/auth-throttle.js';
import { createAuthenticator } from './auth/authenticator.js';
import { bodyDeadlineHook } from './auth/body-deadline.hook.js';
import { capConnectionsPerAddress } from './auth/connection-cap.js';
import { createCredentialRepository } from './auth/credential.repository.js';
import { followCredentialChanges } from './auth/credential-events.js';
import { loggableUrl } from './auth/log-redaction.js';
import { oauthRoutes } from './auth/oauth.routes.js';
import { rateLimiterFor } from './auth/rate-limiter.js';
import { SecretKeyError } from './auth/secret-box.js';
import { requireSecretBox } from './auth/secret-keys.service.js';
import { v2AuthHook } from './auth/v2-auth.hook.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { registerConsole } from './console-auth/console.js';
import { ref } from './contract/components.contract.js';
import { opensAgain, type Store } from './db/database.js';
import { isSchemaCurrent } from './db/migrator.js';
import {
  isCommitOutcomeUnknown,
  isInvalidValue,
  isSequenceExhausted,
  isStoreUnavailable,
} from './db/store-errors.js';
import { type EnvelopeKind, type ErrorReply, errorBody } from './envelopes.js';
import { AppError, ERROR_TABLE, MESSAGES } from './errors.js';
import { createEvents } from './events/events.js';
import { registerJobs } from './jobs/jobs.js';
import { createMetrics, type Metrics, metricsRoutes } from './metrics/metrics.js';
import { docsRoutes, SCHEMAS } from './openapi/docs.routes.js';
import { registerOpenApi } from './openapi/swagger.js';
import { createCustomerPromotionsRepository } from './promotions/customer-promotions.repository.js';
import { customerPromotionsRoutes } from './promotions/customer-promotions.routes.js';
import { createCustomerPromotionsService } from './promotions/customer-promotions.service.js';
import { createEnrolmentRepository } from './promotions/enrolment.repository.js';
import { enrolmentRoutes, issueRoutes } from './promotions/enrolment.routes.js';
import { createEnrolmentService } from './promotions/enrolment.service.js';
import { packageVersion } from './version.js';

export interface AppDeps {
  store: Store;
  clock?: Clock;
  /**
   * Benchmarks only: a /v2 call that carries no credentials acts as this caller without
   * authenticating, so that the cost of authentication can be measured against none, in turns on
   * one server (a call with credentials is authenticated as usual). Reachable from code alone, never
   * from configuration.
   */
  unauthenticatedActor?: Actor;
  /** A pino logger or logger options; by default one at the configured level, to stdout. */
  logger?: FastifyServerOptions['loggerInstance'] | FastifyServerOptions['logger'];
  /** Tests only: other transport limits (shorter timeouts, fewer connections) than the defaults. */
  limits?: Partial<ServerLimits>;
}

/** What a client may hold of the server at the transport; the README's limits table lists them. */
export interface ServerLimits {
  /** The request line and headers together, in bytes; over it Node answers 431 and closes. */
  maxHeaderSize: number;
  /** Time to receive the headers, in ms; over it the answer is 408 and the connection closes. */
  headersTimeout: number;
  /** Time to receive the whole request, body included, in ms; over it 408. */
  requestTimeout: number;
  /** The same for a bulk job's CSV upload (a route with `longUpload`), which may be gigabytes. */
  uploadTimeout: number;
  /** A socket with no traffic for this long, in ms, is closed. */
  connectionTimeout: number;
  /** A kept-alive connection idle this long between requests, in ms, is closed. */
  keepAliveTimeout: number;
  /** Requests on one connection; the last is answered with `Connection: close`. */
  maxRequestsPerSocket: number;
  /** Connections open at once; further ones are dropped when accepted. */
  maxConnections: number;
  /** Connections open at once from one client address; further ones are dropped when accepted. */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxHeaderSize: 16 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  uploadTimeout: 3_600_000,
  connectionTimeout: 60_000,
  keepAliveTimeout: 72_000,
  maxRequestsPerSocket: 10_000,
  maxConnections: 2_048,
  maxConnectionsPerAddress: 256,
});

const HEALTH_SCHEMA = {
  operationId: 'health',
  summary: 'Liveness: 200 once the server takes requests',
  tags: ['operations'],
  security: [],
  response: { 200: { description: 'Alive.', ...ref('Health') } },
};
const READY_SCHEMA = {
  operationId: 'ready',
  summary: "Readiness: the store answers and its schema is current (a load balancer's check)",
  tags: ['operations'],
  security: [],
  response: {
    200: { description: 'Ready.', ...ref('Ready') },
    503: { description: 'Not ready, with the reason.', ...ref('Ready') },
  },
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Credentials never reach a log line, whatever a serializer or a debug statement prints.
const REDACT = ['req.headers.authorization', 'req.headers["x-cap-api-oauth-token"]', 'req.headers.cookie'];

function envelopeOf(url: string, configured: EnvelopeKind | undefined): EnvelopeKind {
  if (configured) return configured;
  if (url.startsWith('/admin/')) return 'admin';
  if (url.startsWith('/v3/oauth/')) return 'oauth';
  return url.startsWith('/v2/promotion/bulk/') ? 'bulk' : 'v2';
}

/** What an error means to the client. Anything not meant for it is a 500 with no internals. */
function classify(err: FastifyError | AppError | Error): ErrorReply {
  if (err instanceof AppError) {
    return {
      status: err.status,
      code: err.code,
      message: err.message,
      ...(err.field ? { field: err.field } : {}),
    };
  }
  const fastifyCode = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return { status: 413, code: 413, message: ERROR_TABLE[413].message };
  }
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
    return { status: 415, code: 415, message: ERROR_TABLE[415].message };
  }
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own 4xx: unparseable JSON, an empty body, a bad content length, a malformed URL.
    return { status: 400, code: 400, message: ERROR_TABLE[400].message };
  }
  if (isInvalidValue(err))
    return { status: 400, code: 400, message: 'The request holds a value that cannot be stored' };
  // The operator's to fix (the log line says how); the process and every other kind keep going.
  if (isSequenceExhausted(err)) return { status: 503, code: 503, message: err.message };
  if (isCommitOutcomeUnknown(err)) return { status: 503, code: 503, message: MESSAGES.commitOutcomeUnknown };
  if (isStoreUnavailable(err)) return { status: 503, code: 503, message: ERROR_TABLE[503].message };
  // A secret sealed with a key this process lacks (rotated under it): the operator's to fix.
  if (err instanceof SecretKeyError) return { status: 503, code: 503, message: ERROR_TABLE[503].message };
  return { status: 500, code: 500, message: ERROR_TABLE[500].message };
}

function securityHeaders(reply: FastifyReply, requestId: string): void {
  reply.header('x-request-id', requestId);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('cache-control', 'no-store');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
}

/** Builds the HTTP application over an open store. Listening and shutdown belong to the caller. */
export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? { level: config.logLevel, redact: REDACT };
  const limits = {
    ...DEFAULT_LIMITS,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    ...deps.limits,
  };
  const app = Fastify({
    ...(typeof logger === 'object' && 'child' in logger ? { loggerInstance: logger } : { logger }),
    bodyLimit: config.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    http: {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeout,
      // Node's timeout is one figure for the server: the longest a route allows; bodyDeadlineHook holds
      // every other route to requestTimeout.
      requestTimeout: Math.max(limits.requestTimeout, limits.uploadTimeout),
      // How often Node checks the two timeouts above (its default, 30 s, would let them overrun).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeout),
    },
    requestTimeout: Math.max(limits.requestTimeout, limits.uploadTimeout),
    connectionTimeout: limits.connectionTimeout,
    keepAliveTimeout: limits.keepAliveTimeout,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    return503OnClosing: true,
    // Fastify's own request lines write the whole URL: ours below mask its query (log-redaction.ts).
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ...(config.trustProxy ? { trustProxy: true } : {}),
    routerOptions: { maxParamLength: 200 },
    // A path parameter too long or not decodable never reaches a route: answer it in the route
    // family's envelope, with the usual headers, rather than Fastify's own body echoing the URL.
    frameworkErrors: (err, request, reply) => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const kind = envelopeOf(request.url, undefined);
      const error: ErrorReply = tooLong
        ? { status: 404, code: kind === 'admin' ? 'not_found' : 404, message: ERROR_TABLE[404].message }
        : { status: 400, code: kind === 'admin' ? 'invalid_request' : 400, message: 'The URL is malformed' };
      request.log.info({ code: err.code }, 'request refused');
      const answer = reply as FastifyReply;
      securityHeaders(answer, request.id);
      return answer.code(error.status).send(errorBody(kind === 'bulk' ? 'v2' : kind, error));
    },
  });
  app.server.maxConnections = limits.maxConnections;
  capConnectionsPerAddress(app.server, limits.maxConnectionsPerAddress);
  app.addHook('onRequest', bodyDeadlineHook(limits.requestTimeout));
  app.addHook('onRequest', async (request) => {
    request.log.info({ method: request.method, url: loggableUrl(request.url) }, 'incoming request');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: loggableUrl(request.url),
        route: request.routeOptions.url,
        statusCode: reply.statusCode,
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
  });
  app.decorateRequest('actor', null);
  app.decorateRequest('consoleUser', null);

  // Once closing starts, answers in flight also close their connection, so that a keep-alive client
  // cannot hold the process open until its idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    // SQLite's group commits sync the WAL off this thread: no answer (a read that saw a commit, say)
    // leaves before every commit made so far is on disk. A failed sync was answered by its writes.
    const durable = deps.store.durable?.();
    if (durable) await durable;
    if (closing) reply.header('connection', 'close');
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    // A page (the API reference) may carry a policy of its own; nothing else runs anything.
    reply.header(
      'content-security-policy',
      request.routeOptions.config?.csp ?? "default-src 'none'; frame-ancestors 'none'",
    );
  });

  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    const error = classify(err);
    if (error.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: error.code, status: error.status }, 'request refused');
    const kind = envelopeOf(request.url, request.routeOptions.config?.envelope);
    if (error.status === 401 && kind === 'admin') reply.header('www-authenticate', 'Bearer');
    return reply.code(error.status).send(errorBody(kind, error));
  });

  app.setNotFoundHandler((request, reply) => {
    const kind = envelopeOf(request.url, undefined);
    const body = errorBody(kind === 'bulk' ? 'v2' : kind, {
      status: 404,
      code: kind === 'admin' ? 'not_found' : 404,
      message: ERROR_TABLE[404].message,
    });
    return reply.code(404).send(body);
  });

  // Before any route it documents: the document is built from the routes registered after it.
  await registerOpenApi(app, {
    version: packageVersion(),
    components: SCHEMAS,
  });
  // Before any route, so that the request counters see every one of them.
  let metrics: Metrics | undefined;
  if (config.metrics) {
    metrics = createMetrics(app, deps.store);
    await app.register(metricsRoutes, { metrics });
  }
  await app.register(docsRoutes);

  app.get('/health', { schema: HEALTH_SCHEMA }, async () => ({ status: 'ok' as const }));
  // Ready: the store answers and its schema is the one this code expects (a load balancer's check).
  app.get('/ready', { schema: READY_SCHEMA }, async (request, reply) => {
    try {
      if (await isSchemaCurrent(deps.store.db)) return { status: 'ready' };
      return reply
        .code(503)
        .send({ status: 'not ready', reason: 'the schema is not current: run loyalty migrate' });
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return reply.code(503).send({ status: 'not ready', reason: 'the store is not reachable' });
    }
  });

  const box = requireSecretBox(config);
  const auth = createAuthenticator({
    credentials: createCredentialRepository(deps.store),
    clock,
    cacheMs: config.credentialCacheMs,
    jwtSecret: config.jwtSecret,
    box,
    maxTokenTtlSeconds: config.maxTokenTtlSeconds,
  });
  // Other processes' credential changes reach this one's cache within moments (PostgreSQL).
  const stopFollowing = followCredentialChanges(deps.store, auth);
  app.addHook('onClose', async () => stopFollowing());
  // Counted where every process sees the count (Redis, or the store several share), else in memory.
  const rates = await rateLimiterFor(config.redisUrl, deps.store, clock, (err, message) =>
    app.log.warn({ err }, message),
  );
  app.addHook('onClose', rates.close);
  const limiter = rates.limiter;
  const throttle = createAuthThrottle(clock);
  const customerPromotions = createCustomerPromotionsService({
    repository: createCustomerPromotionsRepository(deps.store.db),
    clock,
  });
  // A thread opens the store again and keeps the system's time: not for an in-memory database or a test clock.
  const thread = config.events.thread && !deps.clock && opensAgain(config.store);
  const events = createEvents({
    store: deps.store,
    config: config.events,
    clock,
    log: app.log,
    box,
    ...(thread ? { thread: config } : {}),
  });
  const enrolment = createEnrolmentService({
    repository: createEnrolmentRepository(deps.store),
    clock,
    onEvents: (written) => events.committed(written),
  });
  const routeOptions = {
    service: enrolment,
    bodyLimit: config.bodyLimit,
    ...(metrics ? { onAnswer: metrics.countCustomers } : {}),
  };
  await app.register(async (v2) => {
    v2.addHook(
      'onRequest',
      v2AuthHook({
        auth,
        limiter,
        defaultRateLimit: config.rateLimitPerMinute,
        throttle,
        ...(deps.unauthenticatedActor ? { fixedActor: deps.unauthenticatedActor } : {}),
      }),
    );
    await v2.register(enrolmentRoutes, routeOptions);
    await v2.register(issueRoutes, routeOptions);
    await v2.register(customerPromotionsRoutes, { service: customerPromotions });
  });
  await app.register(oauthRoutes, { auth, throttle });

  if (metrics) events.observe(metrics.registry);
  if (config.events.deliver) {
    app.addHook('onReady', async () => events.worker.start());
    app.addHook('onClose', async () => events.worker.stop());
  }

  const management = createManagement(deps.store, clock, () => auth.clear());
  const users = await registerConsole(app, config, deps.store, clock);
  await app.register(adminRoutes, {
    management,
    adminToken: config.adminToken,
    events: { feed: events.feed, webhooks: events.webhooks },
    throttle,
    importMaxBytes: config.importMaxBytes,
    users,
    enrolment,
  });
  await registerJobs(app, config, deps.store, clock, enrolment, management, throttle);

  return app;
}
