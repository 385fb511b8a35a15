import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EVENTS_CONFIG } from '../../src/config.js';
import { type Doc, undocumented } from '../helpers/documented-answers.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { STORES } from '../helpers/stores.js';
import { ADMIN_TOKEN, startTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Property-based fuzzing of every /v2 endpoint, the token endpoint and the management API: valid
 * requests mutated field by field, raw bodies, header and query-string variants. Whatever arrives,
 * the answer is never a 5xx, always JSON in the envelope its endpoint documents (or a documented
 * success), the application keeps answering a known-good request, and the heap does not grow.
 *
 * `npm test` runs a short, seeded run; `npm run fuzz` a long one (FUZZ_RUNS cases per property,
 * FUZZ_SEED to pick the seed).
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
/** Where wrong credentials come from (see send): a few, so that some of them are throttled. */
const BAD_ADDRESSES = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const LONG = RUNS > 1000;
const PROPERTY_TIMEOUT = LONG ? 24 * 3600_000 : 120_000;
const MIB = 1024 * 1024;

type Envelope = 'bulk' | 'issue' | 'lookup' | 'oauth' | 'admin' | 'csv';

interface Target {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The path, with its known-good parameters; `params` say which segments may be fuzzed. */
  path: string[];
  params: number[];
  query?: Record<string, string>;
  body?: unknown;
  auth: 'v2' | 'admin' | 'none';
  envelope: Envelope;
}

/** Cases run, and failures found, over the whole file (printed at the end, for the README figure). */
const tally = { cases: 0, failures: 0, started: Date.now() };

let gcFn: (() => void) | undefined;
try {
  v8.setFlagsFromString('--expose-gc');
  gcFn = vm.runInNewContext('gc') as () => void;
} catch {
  gcFn = undefined;
}
/** fc.assert, counting the properties that failed for the summary line. */
async function check<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  try {
    await fc.assert(property, params);
  } catch (err) {
    tally.failures += 1;
    throw err;
  }
}

/** Full collections until the heap stops shrinking, with a turn of the event loop between them. */
async function collect(): Promise<void> {
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    gcFn?.();
    await new Promise((resolve) => setImmediate(resolve));
    const now = process.memoryUsage().heapUsed;
    if (now >= last) return;
    last = now;
  }
}

// ---------------------------------------------------------------- arbitraries of hostile values

const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\u0000b',
      '\ud800',
      '\udfff\ud800',
      '\u202e\u200b',
      '😀',
      '__proto__',
      'constructor',
      'toString',
      'CUSTOMER',
      'ENROL',
      'EARN',
      'REVOKE_EARN',
      'REVOKE_ENROL',
      'DIRECT',
      'ALL',
      'id',
      'mobile',
      'email',
      'INSTORE',
      '0',
      '-1',
      '1.5',
      '1e3',
      '0x10',
      '00001',
      '9007199254740993',
      '99999999999999999999999',
      "'; drop table issuals; --",
      '%00',
      '../../etc/passwd',
      `${'$'}{jndi:ldap://x}`,
      '<script>',
    ),
  },
  // Large strings: up to beyond the /v2 body limit (1 MiB), so some requests are refused as a whole.
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 200, max: 1_200_000 })
      .map((n) => new Lazy(`'x' * ${n}`, () => 'x'.repeat(n)) as unknown as string),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 50, max: 12_000 })
      .map((n) => new Lazy(`'\\0é😀' * ${n}`, () => '\u0000é😀'.repeat(n)) as unknown as string),
  },
);

const hostileNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, -1, 1, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e308, Number.MIN_VALUE, 0.5),
);

/**
 * A value too big or too deep to print: made only when a request is built, and shown by fast-check
 * as its recipe, so that a counterexample stays readable (and printing it cannot overflow the stack).
 */
class Lazy {
  constructor(
    readonly label: string,
    readonly make: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return `Lazy(${this.label})`;
  }
}

/** Replaces every Lazy in `value` by what it makes. */
function materialize(value: unknown): unknown {
  if (value instanceof Lazy) return value.make();
  if (Array.isArray(value)) return value.map(materialize);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: materialize(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** Nested arrays or objects, `depth` deep. */
function nested(depth: number, objects: boolean): Lazy {
  return new Lazy(`${depth} nested ${objects ? 'objects' : 'arrays'}`, () => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = objects ? { a: v } : [v];
    return v;
  });
}

function hostileValue(customerIds: () => number[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: hostileString },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 2, arbitrary: fc.constantFrom(null, true, false, [], {}) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean()).map(([d, o]) => nested(d, o)),
    },
    // Many customers, well-formed or not, around the batch limit of 100.
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 130 }), fc.boolean())
        .map(
          ([n, good]) =>
            new Lazy(`${n} ${good ? 'good' : 'bad'} customers`, () =>
              Array.from({ length: n }, (_, i) =>
                good
                  ? { identifierValue: String(customerIds()[i % customerIds().length]), source: 'INSTORE' }
                  : { identifierValue: i, source: i % 3 === 0 ? 'all' : 'NOPE' },
              ),
            ),
        ),
    },
  );
}

// ---------------------------------------------------------------- mutation of a valid JSON value

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (value instanceof Lazy) return out;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) pathsOf(value[i], [...prefix, i], out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  }
  return out;
}

interface Mutation {
  at: number;
  op: 'drop' | 'replace' | 'rename' | 'wrap' | 'duplicate';
  value: unknown;
  key: string;
}

function mutation(customerIds: () => number[]): fc.Arbitrary<Mutation> {
  return fc.record({
    at: fc.nat(),
    op: fc.constantFrom('drop', 'replace', 'replace', 'replace', 'rename', 'wrap', 'duplicate'),
    value: hostileValue(customerIds),
    key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype')),
  }) as fc.Arbitrary<Mutation>;
}

/** A deep copy that shares the Lazy values (they hold functions, which structuredClone refuses). */
function clone(value: unknown): unknown {
  if (value instanceof Lazy || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(clone);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, { value: clone(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function applyMutations(valid: unknown, mutations: Mutation[]): unknown {
  let root: unknown = clone(valid);
  for (const m of mutations) {
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length] as Path;
    if (path.length === 0) {
      if (m.op === 'replace') root = m.value;
      else if (m.op === 'wrap') root = [root];
      continue;
    }
    let parent: any = root;
    for (const step of path.slice(0, -1)) parent = parent[step];
    const last = path[path.length - 1] as string | number;
    if (Array.isArray(parent)) {
      const i = last as number;
      if (m.op === 'drop') parent.splice(i, 1);
      else if (m.op === 'duplicate') parent.splice(i, 0, clone(parent[i]));
      else if (m.op === 'wrap') parent[i] = [parent[i]];
      else parent[i] = m.value;
    } else {
      const current = parent[last];
      if (m.op === 'drop') delete parent[last];
      else if (m.op === 'rename') {
        delete parent[last];
        Object.defineProperty(parent, m.key, {
          value: current,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (m.op === 'wrap') parent[last] = { [String(last)]: current };
      else if (m.op === 'duplicate') parent[`${String(last)}_`] = current;
      else parent[last] = m.value;
    }
  }
  return root;
}

// ---------------------------------------------------------------- raw bodies

function rawBody(valid: unknown): fc.Arbitrary<string> {
  const text = JSON.stringify(valid ?? {});
  return fc.oneof(
    fc.nat({ max: text.length }).map((n) => text.slice(0, n)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom(
      '',
      'null',
      '[]',
      '{}',
      '"x"',
      '123',
      'true',
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"polluted":1}}}',
      `\ufeff${text}`,
      `${text}${text}`,
      `${text}\u0000`,
      text.replace('{', '{"type":"X",'),
      text.replace(/"/g, "'"),
      '{"a":1e400}',
      `{"programId":${'9'.repeat(400)}}`,
    ),
    fc
      .tuple(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('[', '{"a":'))
      .map(([n, open]) => `${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}`),
  );
}

// ---------------------------------------------------------------- headers and query strings

const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 80,
});
const latin1Text = fc.string({
  unit: fc.integer({ min: 0xa0, max: 0xff }).map((c) => String.fromCharCode(c)),
  maxLength: 20,
});

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json;charset=latin1',
      'application/json; boundary=x',
      'application/jsonx',
      'text/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=abc',
      'application/octet-stream',
      '*/*',
      ';',
    ),
  },
  { weight: 1, arbitrary: headerText },
);

const idempotencyKey = fc.oneof(
  { weight: 5, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom('fuzz-key-1', 'fuzz-key-2', 'fuzz-key-3') },
  { weight: 1, arbitrary: headerText },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a b', 'x'.repeat(255), 'x'.repeat(256), '\t', 'é') },
  { weight: 1, arbitrary: latin1Text },
);

type AuthChoice =
  | 'good'
  | 'read'
  | 'none'
  | 'oauth'
  | 'bearer'
  | 'missing'
  | { header: 'authorization' | 'x-cap-api-oauth-token'; value: string };

const authChoice: fc.Arbitrary<AuthChoice> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('good' as const) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('read', 'none', 'oauth', 'bearer', 'missing') as fc.Arbitrary<AuthChoice>,
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('authorization', 'x-cap-api-oauth-token') as fc.Arbitrary<
          'authorization' | 'x-cap-api-oauth-token'
        >,
        fc.oneof(
          headerText,
          headerText.map((t) => `Basic ${t}`),
          headerText.map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
          headerText.map((t) => `Bearer ${t}`),
          fc.constantFrom(
            'Basic',
            'Basic ',
            'Bearer',
            'Basic ===',
            'Basic Og==',
            'bearer a.b.c',
            'Bearer eyJ.eyJ.x',
          ),
          fc.integer({ min: 1000, max: 12_000 }).map((n) => `Basic ${'A'.repeat(n)}`),
        ),
      )
      .map(([header, value]) => ({ header, value })),
  },
);

const extraHeaders = fc.dictionary(
  fc.constantFrom(
    'x-request-id',
    'accept',
    'accept-encoding',
    'x-forwarded-for',
    'origin',
    'cookie',
    'expect',
  ),
  fc.oneof(headerText, latin1Text),
  { maxKeys: 3 },
);

/** Query-string variants: the valid one with fields changed, dropped, doubled, or junk. */
function queryString(valid: Record<string, string> | undefined): fc.Arbitrary<string> {
  const base = valid ?? {};
  const keys = Object.keys(base);
  const anyKey = fc.oneof(
    fc.constantFrom(
      ...keys,
      'limit',
      'offset',
      'cursor',
      'orgId',
      'promotionType',
      'promotionStatusForCustomer',
      '__proto__',
    ),
    fc.string({ maxLength: 10 }),
  );
  const value = fc.oneof(
    hostileString.filter((s) => !((s as unknown) instanceof Lazy)),
    hostileNumber.map(String),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(new URLSearchParams(base).toString()) },
    {
      weight: 5,
      arbitrary: fc
        .array(fc.record({ op: fc.constantFrom('set', 'drop', 'append'), key: anyKey, value }), {
          maxLength: 4,
        })
        .map((ops) => {
          const q = new URLSearchParams(base);
          for (const { op, key, value: v } of ops) {
            if (op === 'drop') q.delete(key);
            else if (op === 'append') q.append(key, v);
            else q.set(key, v);
          }
          return q.toString();
        }),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%',
        '%zz',
        '&&&',
        '=',
        'a=%E0%A4%A',
        'limit=1&limit=2',
        '%00=%00',
        'x'.repeat(10_000),
      ),
    },
  );
}

// ---------------------------------------------------------------- what every answer must be

const message = (m: unknown) =>
  expect(m).toStrictEqual({ status: false, code: expect.any(Number), message: expect.any(String) });

const ADMIN_CODES: Record<string, number> = {
  invalid_request: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  // Failed admin tokens from one address are throttled: the fuzzer sends many, so it meets this too.
  too_many_requests: 429,
};

function expectBulk(body: any, status: number): void {
  expect(Object.keys(body).sort()).toStrictEqual(['failureCount', 'response', 'totalCount']);
  expect(Array.isArray(body.response)).toBe(true);
  expect(body.totalCount).toBe(body.response.length);
  let failures = 0;
  for (const item of body.response) {
    expect(Array.isArray(item.errors) && Array.isArray(item.warnings)).toBe(true);
    for (const m of [...item.errors, ...item.warnings]) message(m);
    if (item.errors.length > 0) {
      failures += 1;
      expect(item.result).toBeUndefined();
    } else {
      expect(item.result).toMatchObject({ entityType: 'CUSTOMER', entityId: expect.any(Number) });
    }
  }
  expect(body.failureCount).toBe(failures);
  if (status === 200) expect(failures).toBe(0);
  else if (status === 201) expect(failures).toBeGreaterThan(0);
  else {
    expect(body.totalCount).toBe(1);
    expect(body.response[0].errors).toHaveLength(1);
    if (status !== 400) expect(body.response[0].errors[0].code).toBe(status);
  }
}

function expectWarningsErrors(body: any, allowed: string[]): void {
  for (const key of Object.keys(body)) expect(['warnings', 'errors', ...allowed]).toContain(key);
  expect(Array.isArray(body.warnings) && Array.isArray(body.errors)).toBe(true);
  for (const m of [...body.warnings, ...body.errors]) message(m);
}

/** The answer is no 5xx, JSON in its endpoint's envelope, with the security headers and no internals. */
function expectAnswer(envelope: Envelope, res: { statusCode: number; headers: any; body: string }): void {
  const { statusCode: status, headers } = res;
  const context = `${status} ${res.body.slice(0, 300)}`;
  expect(status, context).toBeGreaterThanOrEqual(200);
  expect(status, context).toBeLessThan(500);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(res.body, context).not.toMatch(
    /\bat .+\(.*:\d+:\d+\)|node_modules|SQLITE_|syntax error at|\bselect .* from\b/i,
  );
  // A deletion's 204 is documented without a body.
  if (envelope === 'admin' && status === 204) {
    expect(res.body, context).toBe('');
    return;
  }
  if (envelope === 'csv' && status === 200) {
    expect(String(headers['content-type'])).toMatch(/^text\/csv/);
    return;
  }
  expect(String(headers['content-type']), context).toMatch(/^application\/json/);
  const body = JSON.parse(res.body);
  expect(typeof body === 'object' && body !== null && !Array.isArray(body), context).toBe(true);
  if (envelope === 'admin' || envelope === 'csv') {
    if (status < 300) {
      expect(body.error, context).toBeUndefined();
      return;
    }
    expect(Object.keys(body), context).toStrictEqual(['error']);
    expect(ADMIN_CODES[body.error.code], context).toBe(status);
    expect(typeof body.error.message).toBe('string');
    if (body.error.field !== undefined) expect(typeof body.error.field).toBe('string');
    return;
  }
  if (envelope === 'oauth') {
    if (status === 200) {
      expect(body).toStrictEqual({
        data: { accessToken: expect.any(String), ttlSeconds: expect.any(Number) },
        errors: null,
      });
    } else {
      expect(Object.keys(body).sort()).toStrictEqual(['data', 'errors']);
      expect(body.data).toBeNull();
      expect(body.errors).toHaveLength(1);
      // The Authorization Flows page's 320001 has no status field; the envelope's other refusals do.
      const [error] = body.errors;
      if (error.code === 320001) {
        expect(error).toStrictEqual({ code: 320001, message: 'Invalid client key and secret' });
      } else message(error);
    }
    return;
  }
  if (status === 401 || status === 403) {
    expect(body, context).toStrictEqual({
      warnings: [],
      errors: [{ status: false, code: status === 401 ? 401 : 4000, message: expect.any(String) }],
    });
    return;
  }
  if (envelope === 'bulk') {
    expect([200, 201, 400, 413, 415, 422], context).toContain(status);
    expectBulk(body, status);
    return;
  }
  if (envelope === 'issue') {
    expect([200, 400, 413, 415, 422], context).toContain(status);
    expectWarningsErrors(body, ['sideEffects']);
    if (status === 200) {
      expect(body.errors).toStrictEqual([]);
      expect(body.sideEffects.length).toBeLessThanOrEqual(1);
    } else expect(body.errors.length).toBeGreaterThan(0);
    return;
  }
  // lookup, in its page's shape: the answer at the top level, a refusal its errors alone
  expect([200, 400], context).toContain(status);
  if (status === 200) {
    for (const key of Object.keys(body))
      expect(['pageDetails', 'customerId', 'promotions', 'warnings'], context).toContain(key);
    expect(body).toMatchObject({
      pageDetails: expect.any(Object),
      customerId: expect.any(Number),
      promotions: expect.any(Array),
      warnings: expect.any(Array),
    });
    for (const m of body.warnings) message(m);
  } else {
    expect(Object.keys(body), context).toStrictEqual(['errors']);
    expect(body.errors.length).toBeGreaterThan(0);
    for (const m of body.errors) message(m);
  }
}

// ---------------------------------------------------------------- the suites

for (const kind of STORES) {
  describe(`fuzzing every endpoint on ${kind}`, () => {
    let t: TestApp;
    let org: StandardOrg;
    let ids: number[] = [];
    let targets: Target[] = [];
    let oauthToken = '';
    let doc: Doc;
    const clientKey = `fuzz-client-${kind}-${process.pid}`;
    const clientSecret = 'fuzz-client-secret-0123456789';

    const knownGood = () =>
      t.app.inject({
        method: 'POST',
        url: '/v2/promotion/bulk/enrolAndEarn',
        headers: { authorization: org.auth.write, 'content-type': 'application/json' },
        payload: JSON.stringify({
          type: 'CUSTOMER',
          bulkAction: 'ENROL',
          promotionDetails: { programId: org.programId, promotionId: org.promotions.enrolAndIssue },
          identifierName: 'id',
          customers: [{ identifierValue: String(ids[0]), source: 'INSTORE' }],
        }),
      });

    async function expectStillServing(): Promise<void> {
      const res = await knownGood();
      expect(res.statusCode, res.body).toBe(200);
      expect(JSON.parse(res.body).response[0].result.issualId).toMatch(/^\d+$/);
    }

    beforeAll(async () => {
      // Webhook targets are not resolved (private ones allowed) and nothing is delivered: the fuzzer
      // tries the management API's answers, not the network.
      t = await startTestApp(kind, {
        config: { events: { ...DEFAULT_EVENTS_CONFIG, deliver: false, allowPrivate: true } },
      });
      org = await seedStandardOrg(t, 5);
      const openapi = await t.app.inject({ method: 'GET', url: '/openapi.json' });
      expect(openapi.statusCode).toBe(200);
      doc = openapi.json();
      ids = org.customers.map((c) => c.id);
      const a = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/api-clients`, {
        key: clientKey,
        secret: clientSecret,
        customerAccess: 'WRITE',
      });
      expect(a.status).toBe(201);
      const token = await t.app.inject({
        method: 'POST',
        url: '/v3/oauth/token/generate',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ key: clientKey, secret: clientSecret }),
      });
      oauthToken = JSON.parse(token.body).data.accessToken;

      // A separate org for the management API to change, so that fuzzing it never disables the till
      // or the promotion of the known-good request.
      const fuzzOrg = (await t.admin('POST', '/admin/v1/orgs', { name: `Fuzz ${kind}` })).body.id as number;
      const fuzzProgram = (await t.admin('POST', `/admin/v1/orgs/${fuzzOrg}/programs`, { name: 'P' })).body
        .id as number;
      const fuzzPromo = (
        await t.admin('POST', `/admin/v1/orgs/${fuzzOrg}/promotions`, {
          programId: fuzzProgram,
          name: 'Fuzz',
          type: 'ENROL_AND_ISSUE',
        })
      ).body.id as number;
      const till = `fuzz-till-${kind}-${process.pid}`;
      expect(
        (
          await t.admin('POST', `/admin/v1/orgs/${fuzzOrg}/tills`, {
            username: till,
            password: 'fuzz-till-password',
            customerAccess: 'WRITE',
          })
        ).status,
      ).toBe(201);
      const apiKey = `fuzz-admin-client-${kind}-${process.pid}`;
      expect(
        (
          await t.admin('POST', `/admin/v1/orgs/${fuzzOrg}/api-clients`, {
            key: apiKey,
            secret: 'fuzz-admin-client-secret',
            customerAccess: 'READ',
          })
        ).status,
      ).toBe(201);

      const webhook = async () => {
        const res = await t.admin('POST', `/admin/v1/orgs/${fuzzOrg}/webhooks`, {
          url: 'http://127.0.0.1:9/fuzz',
          types: ['promotion.enrolled'],
          description: 'fuzz',
          maxBatchSize: 10,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.id as string;
      };
      const hook = await webhook();
      // Its own endpoint, so that deleting it leaves the others' targets standing.
      const doomed = await webhook();
      const feed = await t.admin('GET', `/admin/v1/orgs/${org.orgId}/events?limit=1`);
      expect(feed.status).toBe(200);
      const cursor = (feed.body.nextCursor as string | null) ?? undefined;

      const bulk = (action: string, promotionId: number, extra: Record<string, unknown> = {}) => ({
        type: 'CUSTOMER',
        bulkAction: action,
        promotionDetails: { programId: org.programId, promotionId },
        identifierName: 'id',
        customers: ids
          .slice(0, 3)
          .map((id) => ({ identifierValue: String(id), source: 'INSTORE', ...extra })),
      });
      const customerQuery = { identifierName: 'id', identifierValue: String(ids[1]), source: 'INSTORE' };
      const o = String(fuzzOrg);
      const p = String(fuzzPromo);
      targets = [
        {
          name: 'enrolAndEarn',
          method: 'POST',
          path: ['v2', 'promotion', 'bulk', 'enrolAndEarn'],
          params: [],
          body: bulk('ENROL', org.promotions.enrolAndIssue),
          auth: 'v2',
          envelope: 'bulk',
        },
        {
          name: 'enrolAndEarn EARN',
          method: 'POST',
          path: ['v2', 'promotion', 'bulk', 'enrolAndEarn'],
          params: [],
          body: bulk('EARN', org.promotions.enrolAndIssue),
          auth: 'v2',
          envelope: 'bulk',
        },
        {
          name: 'directEarn',
          method: 'POST',
          path: ['v2', 'promotion', 'bulk', 'directEarn'],
          params: [],
          body: bulk('EARN', org.promotions.direct),
          auth: 'v2',
          envelope: 'bulk',
        },
        {
          name: 'revokeEnrolAndEarn',
          method: 'POST',
          path: ['v2', 'promotion', 'bulk', 'revokeEnrolAndEarn'],
          params: [],
          body: bulk('REVOKE_EARN', org.promotions.enrolAndIssue, { earnIds: ['1', '2'] }),
          auth: 'v2',
          envelope: 'bulk',
        },
        {
          name: 'revokeDirectEarn',
          method: 'POST',
          path: ['v2', 'promotion', 'bulk', 'revokeDirectEarn'],
          params: [],
          body: bulk('REVOKE_EARN', org.promotions.direct),
          auth: 'v2',
          envelope: 'bulk',
        },
        {
          name: 'issue',
          method: 'POST',
          path: ['v2', 'promotion', 'issue'],
          params: [],
          query: customerQuery,
          body: { programId: org.programId, promotionId: org.promotions.direct },
          auth: 'v2',
          envelope: 'issue',
        },
        {
          name: 'promotionData',
          method: 'GET',
          path: ['v2', 'customers', 'lookup', 'promotionData'],
          params: [],
          query: { ...customerQuery, limit: '5', offset: '0', promotionType: 'DIRECT' },
          auth: 'v2',
          envelope: 'lookup',
        },
        {
          name: 'token',
          method: 'POST',
          path: ['v3', 'oauth', 'token', 'generate'],
          params: [],
          body: { key: clientKey, secret: clientSecret },
          auth: 'none',
          envelope: 'oauth',
        },
        {
          name: 'admin orgs',
          method: 'POST',
          path: ['admin', 'v1', 'orgs'],
          params: [],
          body: { name: 'An org' },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin programs',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'programs'],
          params: [3],
          body: { name: 'A program' },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin promotions',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'promotions'],
          params: [3],
          body: {
            programId: fuzzProgram,
            name: 'A',
            type: 'DIRECT',
            active: true,
            startDate: '2026-01-01T00:00:00Z',
            endDate: '2030-01-01T00:00:00+05:30',
            maxIssualsPerCustomer: 2,
            maxEarnsPerCustomer: null,
            promoIdentifier: 'FZ',
          },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin get promotion',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'promotions', p],
          params: [3, 5],
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin patch promotion',
          method: 'PATCH',
          path: ['admin', 'v1', 'orgs', o, 'promotions', p],
          params: [3, 5],
          body: { name: 'B', active: true, endDate: null, maxEarnsPerCustomer: 5 },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin customers',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'customers'],
          params: [3],
          body: {
            customers: [
              {
                mobile: '9100000001',
                email: 'a@example.com',
                externalId: 'E1',
                sources: ['INSTORE', 'WEBSITE'],
                programIds: [fuzzProgram],
              },
              {},
            ],
          },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin tills',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'tills'],
          params: [3],
          body: {
            username: 'new.till',
            password: 'a-password',
            customerAccess: 'READ',
            rateLimitPerMinute: 100,
          },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin list tills',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'tills'],
          params: [3],
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin patch till',
          method: 'PATCH',
          path: ['admin', 'v1', 'orgs', o, 'tills', till],
          params: [3, 5],
          body: { customerAccess: 'WRITE', disabled: false, rateLimitPerMinute: null },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin rotate till',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'tills', till, 'rotate'],
          params: [3, 5],
          body: { password: 'another-password' },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin api-clients',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'api-clients'],
          params: [3],
          body: { key: 'new-key', secret: 'a-secret', customerAccess: 'READ', tokenTtlSeconds: 600 },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin patch api-client',
          method: 'PATCH',
          path: ['admin', 'v1', 'orgs', o, 'api-clients', apiKey],
          params: [3, 5],
          body: { customerAccess: 'READ', tokenTtlSeconds: 120 },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin rotate api-client',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'api-clients', apiKey, 'rotate'],
          params: [3, 5],
          body: {},
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin issuals',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'promotions', p, 'issuals'],
          params: [3, 5],
          query: { limit: '10', cursor: '0' },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin issuals.csv',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'promotions', p, 'issuals.csv'],
          params: [3, 5],
          auth: 'admin',
          envelope: 'csv',
        },
        {
          name: 'admin list api-clients',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'api-clients'],
          params: [3],
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin events',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'events'],
          params: [3],
          query: { limit: '10', ...(cursor === undefined ? {} : { after: cursor }) },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin create webhook',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'webhooks'],
          params: [3],
          body: {
            url: 'https://hooks.example.com/loyalty',
            types: ['promotion.enrolled', 'promotion.earned'],
            description: 'A hook',
            maxBatchSize: 50,
          },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin list webhooks',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'webhooks'],
          params: [3],
          query: { limit: '5' },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin get webhook',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'webhooks', hook],
          params: [3, 5],
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin patch webhook',
          method: 'PATCH',
          path: ['admin', 'v1', 'orgs', o, 'webhooks', hook],
          params: [3, 5],
          body: {
            url: 'http://127.0.0.1:9/other',
            types: null,
            description: null,
            maxBatchSize: 1,
            enabled: true,
          },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin rotate webhook secret',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'webhooks', hook, 'rotate-secret'],
          params: [3, 5],
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin webhook deliveries',
          method: 'GET',
          path: ['admin', 'v1', 'orgs', o, 'webhooks', hook, 'deliveries'],
          params: [3, 5],
          query: { limit: '5' },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin replay webhook',
          method: 'POST',
          path: ['admin', 'v1', 'orgs', o, 'webhooks', hook, 'replay'],
          params: [3, 5],
          body: cursor === undefined ? {} : { after: cursor },
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin delete webhook',
          method: 'DELETE',
          path: ['admin', 'v1', 'orgs', o, 'webhooks', doomed],
          params: [3, 5],
          auth: 'admin',
          envelope: 'admin',
        },
        {
          name: 'admin audit',
          method: 'GET',
          path: ['admin', 'v1', 'audit'],
          params: [],
          query: { orgId: o, limit: '5' },
          auth: 'admin',
          envelope: 'admin',
        },
      ];
    }, 120_000);

    afterAll(async () => {
      await t?.close();
      if (kind === STORES[STORES.length - 1]) {
        const seconds = ((Date.now() - tally.started) / 1000).toFixed(1);
        console.log(
          `fuzz: ${tally.cases} cases over every endpoint, ${tally.failures} failing propert${tally.failures === 1 ? 'y' : 'ies'}, ${seconds} s (FUZZ_RUNS=${RUNS}, seed ${SEED})`,
        );
      }
    });

    function authHeaders(target: Target, choice: AuthChoice): Record<string, string> {
      if (target.auth === 'none') {
        return typeof choice === 'object' ? { [choice.header]: choice.value } : {};
      }
      if (target.auth === 'admin') {
        if (choice === 'good') return { authorization: `Bearer ${ADMIN_TOKEN}` };
        if (choice === 'missing') return {};
        if (typeof choice === 'object') return { [choice.header]: choice.value };
        return { authorization: choice === 'bearer' ? `Bearer ${ADMIN_TOKEN.slice(0, -1)}` : org.auth.write };
      }
      switch (choice) {
        case 'good':
          return { authorization: org.auth.write };
        case 'read':
          return { authorization: org.auth.read };
        case 'none':
          return { authorization: org.auth.none };
        case 'oauth':
          return { 'x-cap-api-oauth-token': oauthToken };
        case 'bearer':
          return { authorization: `Bearer ${oauthToken}`, 'x-cap-api-oauth-token': '' };
        case 'missing':
          return {};
        default:
          return { [choice.header]: choice.value };
      }
    }

    interface Case {
      target: number;
      body?: { mutations: Mutation[] } | { raw: string } | 'valid' | 'none';
      auth?: AuthChoice;
      contentType?: string | undefined;
      idempotencyKey?: string | undefined;
      headers?: Record<string, string>;
      query?: string;
      params?: (string | undefined)[];
    }

    async function send(c: Case): Promise<void> {
      tally.cases += 1;
      if (LONG && tally.cases % 5000 === 0) {
        console.log(
          `fuzz progress: ${tally.cases} cases, ${((Date.now() - tally.started) / 1000).toFixed(0)} s`,
        );
      }
      const target = targets[c.target % targets.length] as Target;
      const path = target.path.map((seg, i) => {
        const given = c.params?.[target.params.indexOf(i)];
        return target.params.includes(i) && given !== undefined ? given : encodeURIComponent(seg);
      });
      const query = c.query ?? (target.query ? new URLSearchParams(target.query).toString() : '');
      let payload: string | undefined;
      const body = c.body ?? 'valid';
      if (body === 'valid') payload = target.body === undefined ? undefined : JSON.stringify(target.body);
      else if (body === 'none') payload = undefined;
      else if ('raw' in body) payload = body.raw;
      else payload = JSON.stringify(materialize(applyMutations(target.body ?? {}, body.mutations))) ?? 'null';
      const auth = c.auth ?? 'good';
      const headers: Record<string, string> = { ...c.headers, ...authHeaders(target, auth) };
      const type = 'contentType' in c ? c.contentType : 'application/json';
      if (payload !== undefined && type !== undefined) headers['content-type'] = type;
      if (c.idempotencyKey !== undefined) headers['idempotency-key'] = c.idempotencyKey;
      // Failed sign-ins are throttled per address (the admin token's per address only): wrong
      // credentials come from addresses of their own, so that they meet 401 and 429 there while
      // every case with good credentials still reaches its handler.
      const good =
        target.auth === 'admin' ? auth === 'good' : target.auth === 'none' || typeof auth === 'string';
      const url = `/${path.join('/')}${query ? `?${query}` : ''}`;
      const opts: InjectOptions = {
        method: target.method,
        url,
        headers,
        remoteAddress: good ? '127.0.0.1' : BAD_ADDRESSES[tally.cases % BAD_ADDRESSES.length],
        ...(payload === undefined ? {} : { payload }),
      };
      const res = await t.app.inject(opts);
      expectAnswer(target.envelope, res);
      if (target.auth === 'admin') {
        // The management API answers only what its document says, for that operation (or the
        // envelope's 404 for a path it does not have), in the shape it documents.
        // The path as the server saw it: `orgs/../webhooks` is `/admin/v1/webhooks` (found by fuzzing).
        const seen = new URL(url, 'http://localhost').pathname;
        const problem = undocumented(doc, target.method, seen, res.statusCode, res.body);
        const noRoute = problem?.includes('is in no documented path') && res.statusCode === 404;
        expect(noRoute ? undefined : problem, `${res.statusCode} ${res.body.slice(0, 300)}`).toBeUndefined();
        if (good)
          expect([401, 429], `${target.name}: ${res.body.slice(0, 300)}`).not.toContain(res.statusCode);
      }
    }

    const target = fc.nat({ max: 1000 });
    const params = fc.array(
      fc.option(
        fc.oneof(
          fc.string({ maxLength: 30 }).map(encodeURIComponent),
          fc.constantFrom('0', '-1', '1.5', '1e3', '99999999999999999999', '%00', '%', '..', 'x'.repeat(250)),
          fc.integer({ min: 1_000_000_000, max: 2 ** 53 }).map(String),
        ),
        { freq: 2, nil: undefined },
      ),
      { maxLength: 2 },
    );
    const options = { numRuns: RUNS, seed: SEED, endOnFailure: true } as const;

    it('a path parameter too long or not decodable gets the envelope and the headers (found by fuzzing)', async () => {
      for (const [url, status, code] of [
        [`/admin/v1/orgs/${'9'.repeat(201)}/tills`, 404, 'not_found'],
        ['/admin/v1/orgs/%E0%A4%A/tills', 400, 'invalid_request'],
      ] as const) {
        const res = await t.app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        expect(res.statusCode).toBe(status);
        expect(res.json()).toStrictEqual({ error: { code, message: expect.any(String) } });
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
        expect(res.body).not.toContain('9'.repeat(201));
      }
    });

    it('wrong admin tokens get 401, then 429 with Retry-After, on every management operation, as documented (found by fuzzing)', async () => {
      const operations = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/admin/'))
        .flatMap(([path, ops]) => Object.keys(ops).map((method) => ({ path, method })));
      expect(operations.length).toBeGreaterThan(20);
      const address = '10.9.9.9';
      const statuses = new Set<number>();
      for (let i = 0; i < 110; i++) {
        const { path, method } = operations[i % operations.length] as { path: string; method: string };
        const url = path.replace(/\{[^}]+\}/g, '1');
        const res = await t.app.inject({
          method: method.toUpperCase() as 'GET',
          url,
          headers: { authorization: `Bearer wrong-${i}` },
          remoteAddress: address,
        });
        statuses.add(res.statusCode);
        expect(undocumented(doc, method, url, res.statusCode, res.body), res.body).toBeUndefined();
        if (res.statusCode === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        else expect(res.statusCode).toBe(401);
      }
      expect([...statuses].sort()).toStrictEqual([401, 429]);
      // The right token from another address is still answered.
      const ok = await t.app.inject({
        method: 'GET',
        url: `/admin/v1/orgs/${org.orgId}/tills`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(ok.statusCode).toBe(200);
    });

    it('a lookup parameter given twice answers 400, not 500 (found by fuzzing)', async () => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/v2/customers/lookup/promotionData?identifierName=id&identifierValue=${ids[0]}&identifierValue=2&source=INSTORE`,
        headers: { authorization: org.auth.read },
      });
      expect(res.statusCode).toBe(400);
      // promotionData's page refuses with its errors alone.
      expect(res.json()).toStrictEqual({
        errors: [{ status: false, code: 400, message: 'identifierValue must be given once' }],
      });
    });

    it('mutated bodies get their envelope, never a 5xx', { timeout: PROPERTY_TIMEOUT }, async () => {
      await check(
        fc.asyncProperty(
          target,
          fc.array(
            mutation(() => ids),
            { minLength: 1, maxLength: 4 },
          ),
          async (i, mutations) => send({ target: i, body: { mutations } }),
        ),
        options,
      );
      await expectStillServing();
    });

    it('raw and malformed bodies get their envelope', { timeout: PROPERTY_TIMEOUT }, async () => {
      await check(
        fc.asyncProperty(
          target.chain((i) =>
            fc.tuple(fc.constant(i), rawBody(targets[i % targets.length]?.body), contentType),
          ),
          async ([i, raw, type]) => send({ target: i, body: { raw }, contentType: type }),
        ),
        options,
      );
      await expectStillServing();
    });

    it('header variants (content type, credentials, Idempotency-Key, others) get their envelope', {
      timeout: PROPERTY_TIMEOUT,
    }, async () => {
      await check(
        fc.asyncProperty(
          target,
          authChoice,
          contentType,
          idempotencyKey,
          extraHeaders,
          fc.boolean(),
          async (i, auth, type, key, headers, mutate) =>
            send({
              target: i,
              auth,
              contentType: type,
              idempotencyKey: key,
              headers,
              ...(mutate ? { body: { mutations: [{ at: i, op: 'replace', value: 'x', key: '' }] } } : {}),
            }),
        ),
        options,
      );
      await expectStillServing();
    });

    it('query strings and path parameters get their envelope', { timeout: PROPERTY_TIMEOUT }, async () => {
      await check(
        fc.asyncProperty(
          target.chain((i) =>
            fc.tuple(fc.constant(i), queryString(targets[i % targets.length]?.query), params),
          ),
          async ([i, query, p]) => send({ target: i, query, params: p }),
        ),
        options,
      );
      await expectStillServing();
    });

    it('everything at once, then the heap is where it was', { timeout: PROPERTY_TIMEOUT }, async () => {
      const anyCase: fc.Arbitrary<Case> = fc
        .record({
          target,
          body: fc.oneof(
            fc.constant('valid' as const),
            fc
              .array(
                mutation(() => ids),
                { minLength: 1, maxLength: 3 },
              )
              .map((mutations) => ({ mutations })),
            fc.string({ unit: 'binary', maxLength: 100 }).map((raw) => ({ raw })),
          ),
          auth: authChoice,
          contentType,
          idempotencyKey,
          headers: extraHeaders,
          query: fc.option(fc.string({ maxLength: 40 }).map(encodeURIComponent), { nil: undefined }),
        })
        .map((c) => {
          const out: Case = { ...c };
          if (c.query === undefined) delete out.query;
          return out;
        });
      // A first round warms every code path (statement caches, credential caches, JIT), the second
      // is measured: whatever it leaves behind past a generous slack is a leak.
      const round = async (seed: number) =>
        check(
          fc.asyncProperty(anyCase, async (c) => send(c)),
          { ...options, seed },
        );
      // Without a forced collection the heap measures garbage not yet collected, not a leak.
      expect(gcFn, 'gc could not be exposed').toBeDefined();
      await round(SEED + 1);
      await collect();
      const before = process.memoryUsage().heapUsed;
      await round(SEED + 2);
      await round(SEED + 3);
      await collect();
      const grown = process.memoryUsage().heapUsed - before;
      // Collected until stable, a leak-free run grows by under 0.5 MiB (seen 0.29-0.49 MiB for 200
      // cases): 4 MiB, plus 1 KiB a case for bounded caches filling in a long `npm run fuzz`, fails a
      // leak of 20 KB a request, where 48 MiB let 100 KB a request through.
      const bound = 4 * MIB + 2 * RUNS * 1024;
      expect(grown, `heap grew by ${(grown / MIB).toFixed(1)} MiB`).toBeLessThan(bound);
      await expectStillServing();
    });
  });
}
