import { afterAll, beforeAll, describe } from 'vitest';
import { STORES, type StoreKind } from './stores.js';
import { startTestApp, type TestApp, type TestAppOptions } from './test-app.js';

export interface EachStoreOptions extends TestAppOptions {
  /** Starts the app some other way (a logged app, say); by default startTestApp with these options. */
  start?: (kind: StoreKind) => Promise<TestApp>;
  /** The describe block's timeout, for suites that start processes. */
  timeout?: number;
}

type Body<O> = (t: TestApp, kind: StoreKind, options: O) => void;

/**
 * Runs a suite once per store in STORES, as `<title> on <store>`, over a fresh app and database of
 * that store, started before the suite's first test and closed after its last.
 *
 * `t` can be captured at once: it stands for the app of its store, which exists from the suite's
 * first hook on (hooks the body adds run after the app has started). Options given as a function
 * are made anew for each store (a fake clock per store, say) and handed to the body.
 */
export function describeEachStore(title: string, body: Body<EachStoreOptions>): void;
export function describeEachStore<O extends EachStoreOptions>(
  title: string,
  options: O | ((kind: StoreKind) => O),
  body: Body<O>,
): void;
export function describeEachStore<O extends EachStoreOptions>(
  title: string,
  a: O | ((kind: StoreKind) => O) | Body<O>,
  b?: Body<O>,
): void {
  const body = (b ?? a) as Body<O>;
  for (const kind of STORES) {
    const options = (
      b === undefined ? {} : typeof a === 'function' ? (a as (k: StoreKind) => O)(kind) : a
    ) as O;
    const { start, timeout, ...appOptions } = options;
    describe(`${title} on ${kind}`, timeout === undefined ? {} : { timeout }, () => {
      let current: TestApp | undefined;
      const app = (): TestApp => {
        if (!current) throw new Error(`the app of "${title} on ${kind}" is used before its suite started`);
        return current;
      };
      beforeAll(async () => {
        current = start ? await start(kind) : await startTestApp(kind, appOptions);
      });
      afterAll(() => current?.close());
      const t: TestApp = {
        kind,
        get app() {
          return app().app;
        },
        get testStore() {
          return app().testStore;
        },
        admin: (method, url, payload) => app().admin(method, url, payload),
        v2: (url, payload, authorization) => app().v2(url, payload, authorization),
        close: () => app().close(),
      };
      body(t, kind, options);
    });
  }
}

/**
 * Runs a suite once per store in STORES, as `<title> on <store>`, for suites that open their own
 * stores or processes rather than one app.
 */
export function describeEachStoreKind(
  title: string,
  body: (kind: StoreKind) => void,
  options: { timeout?: number } = {},
): void {
  for (const kind of STORES) describe(`${title} on ${kind}`, options, () => body(kind));
}
