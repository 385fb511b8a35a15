import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import type { Actor } from '../../src/auth/actor.js';
import type { Clock } from '../../src/clock.js';
import { type Config, defineConfig } from '../../src/config.js';
import { openTestStore, type StoreKind, TEST_SECRET_KEY, type TestStore } from './stores.js';
import { ADMIN_TOKEN, type JsonResponse, type TestApp } from './test-app.js';

/**
 * Variants of test-app.ts for the authentication suite: an app over a store another app already
 * uses (two server processes sharing one database), and an app whose log is captured in memory.
 */

export interface AppOptions {
  clock?: Clock;
  config?: Partial<Config>;
  /** A pino logger; by default the configured (silent) one. */
  logger?: ReturnType<typeof pino>;
  /** The bench's caller for /v2 calls without credentials (AppDeps.unauthenticatedActor). */
  unauthenticatedActor?: Actor;
}

function toJson(res: LightMyRequestResponse): JsonResponse {
  let body: unknown = res.body;
  try {
    body = res.json();
  } catch {
    // not JSON: keep the text
  }
  return { status: res.statusCode, body, headers: res.headers };
}

export interface Call {
  method?: 'GET' | 'POST' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON (with `content-type: application/json` unless headers set one); a string is sent as is. */
  body?: unknown;
}

/** Any request to an app, with any headers; the JSON body is parsed. */
export async function call(app: FastifyInstance, c: Call): Promise<JsonResponse> {
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  const opts: InjectOptions = { method: c.method ?? (c.body === undefined ? 'GET' : 'POST'), url: c.url };
  if (c.body !== undefined) {
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
    opts.payload = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
  }
  opts.headers = headers;
  return toJson(await app.inject(opts));
}

function wrap(
  app: FastifyInstance,
  testStore: TestStore,
  kind: StoreKind,
  close: () => Promise<void>,
): TestApp {
  return {
    app,
    testStore,
    kind,
    admin: (method, url, body) =>
      call(app, {
        method,
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(body === undefined ? {} : { body }),
      }),
    v2: (url, body, authorization) => call(app, { method: 'POST', url, headers: { authorization }, body }),
    close,
  };
}

async function build(testStore: TestStore, options: AppOptions): Promise<FastifyInstance> {
  const config = defineConfig({
    adminToken: ADMIN_TOKEN,
    store: testStore.config,
    secretKey: TEST_SECRET_KEY,
    ...options.config,
  });
  const app = await buildApp(config, {
    store: testStore.store,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.unauthenticatedActor ? { unauthenticatedActor: options.unauthenticatedActor } : {}),
  });
  await app.ready();
  return app;
}

/**
 * A second application (as a second server process would be) over the store of an app that is
 * already running. Closing it closes only the application; the store belongs to its first owner.
 */
export async function startAppOverStore(
  testStore: TestStore,
  kind: StoreKind,
  options: AppOptions = {},
): Promise<TestApp> {
  const app = await build(testStore, options);
  return wrap(app, testStore, kind, () => app.close());
}

/** A pino logger at trace level that writes every line into `lines`. */
export function memoryLogger(lines: string[]): ReturnType<typeof pino> {
  return pino({ level: 'trace' }, { write: (line: string) => lines.push(line) });
}

/** The real application over a fresh database, logging at trace level into the returned array. */
export async function startLoggedTestApp(
  kind: StoreKind,
  options: Omit<AppOptions, 'logger'> = {},
): Promise<{ t: TestApp; lines: string[] }> {
  const lines: string[] = [];
  const testStore = await openTestStore(kind);
  const app = await build(testStore, { ...options, logger: memoryLogger(lines) });
  const t = wrap(app, testStore, kind, async () => {
    await app.close();
    await testStore.dispose();
  });
  return { t, lines };
}
