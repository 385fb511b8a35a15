import { createHash } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { type Config, defineConfig } from '../../src/config.js';
import { openTestStore, type StoreKind, TEST_SECRET_KEY, type TestStore } from './stores.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

export interface TestApp {
  app: FastifyInstance;
  testStore: TestStore;
  kind: StoreKind;
  /** A management API call with the admin token; the response's JSON body is parsed. */
  admin(method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown): Promise<JsonResponse>;
  /** A call to a /v2 endpoint with the given Authorization header value. */
  v2(url: string, body: unknown, authorization: string): Promise<JsonResponse>;
  close(): Promise<void>;
}

export interface JsonResponse {
  status: number;
  body: any;
  headers: LightMyRequestResponse['headers'];
}

export interface TestAppOptions {
  clock?: Clock;
  config?: Partial<Config>;
  onQuery?: (sql: string, parameters: readonly unknown[]) => void;
}

function toJson(res: LightMyRequestResponse): JsonResponse {
  let body: unknown = res.body;
  try {
    body = res.json();
  } catch {
    // not JSON: keep the text, the test will say so
  }
  return { status: res.statusCode, body, headers: res.headers };
}

/** The real application over a fresh database of the given store. */
export async function startTestApp(kind: StoreKind, options: TestAppOptions = {}): Promise<TestApp> {
  const testStore = await openTestStore(kind, options.onQuery);
  const config = defineConfig({
    adminToken: ADMIN_TOKEN,
    store: testStore.config,
    secretKey: TEST_SECRET_KEY,
    ...options.config,
  });
  const app = await buildApp(config, {
    store: testStore.store,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await app.ready();
  const inject = async (opts: InjectOptions) => toJson(await app.inject(opts));
  return {
    app,
    testStore,
    kind,
    admin: (method, url, body) =>
      inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      }),
    v2: (url, body, authorization) =>
      inject({
        method: 'POST',
        url,
        headers: { authorization, 'content-type': 'application/json' },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    close: async () => {
      await app.close();
      await testStore.dispose();
    },
  };
}

export function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** `Basic base64(username:md5hex(password))`, as a Capillary till sends it. */
export function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${md5(password)}`).toString('base64')}`;
}
