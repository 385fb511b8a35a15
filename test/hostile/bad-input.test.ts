import { beforeAll, describe, expect, it } from 'vitest';
import {
  bulkRequest,
  errorItem,
  expectBulkEnvelope,
  items,
  MSG,
  type PostOptions,
  postBulk,
  recordCounts,
  rejection,
} from '../helpers/bulk.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import type { JsonResponse } from '../helpers/test-app.js';

const MIB = 1024 * 1024;
const HUGE = 500_000;

/**
 * What a hostile input must get:
 * - `{ reject: code | codes }`: a whole-request rejection (HTTP 400 unless `status` says otherwise)
 *   with one of the codes;
 * - `{ each: code | codes }`: a per-customer answer (200/201) in which every item failed with one
 *   of the codes;
 * - `{ any: true }`: any non-5xx answer in the contract's envelope.
 */
type Expectation =
  | { reject: number | number[]; status?: number }
  | { each: number | number[] }
  | { any: true };

describeEachStore('hostile input', (t) => {
  let org: StandardOrg;
  let customerId: number;

  beforeAll(async () => {
    org = await seedStandardOrg(t, 2);
    customerId = org.customers[0]?.id as number;
  });

  /** A valid, repeatable request: ENROL of one customer (the repeats answer "already enrolled"). */
  function base(): Record<string, any> {
    return bulkRequest(
      'ENROL',
      { programId: org.programId, promotionId: org.promotions.enrolAndIssue },
      'id',
      items([customerId]),
    );
  }
  function variant(change: (b: Record<string, any>) => void): Record<string, any> {
    const body = structuredClone(base());
    change(body);
    return body;
  }
  /** The base request as JSON text with `fragment` spliced in as its first member. */
  function rawWith(fragment: string): string {
    return `{${fragment},${JSON.stringify(base()).slice(1)}`;
  }

  async function hostile(
    body: unknown,
    expected: Expectation,
    opts: PostOptions = {},
  ): Promise<JsonResponse> {
    const before = await recordCounts(t);
    const res = await postBulk(t, body, { auth: org.auth.write, ...opts });
    expect(res.status, JSON.stringify(res.body)?.slice(0, 500)).toBeLessThan(500);
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    expectBulkEnvelope(res.body);
    const codes = (c: number | number[]) => (Array.isArray(c) ? c : [c]);
    if ('reject' in expected) {
      expect(res.status).toBe(expected.status ?? 400);
      expect(res.body).toStrictEqual(rejection(expect.any(Number)));
      expect(codes(expected.reject)).toContain(res.body.response[0].errors[0].code);
    } else if ('each' in expected) {
      expect(res.status).toBe(201);
      for (const item of res.body.response) {
        expect(item.errors).toHaveLength(1);
        expect(codes(expected.each)).toContain(item.errors[0].code);
      }
    } else {
      expect([200, 201, 400, 413, 415]).toContain(res.status);
    }
    if (res.status >= 400) expect(await recordCounts(t)).toStrictEqual(before);
    return res;
  }

  describe('wrong types in the whole-request fields', () => {
    const cases: [string, (b: any) => void, number | number[]][] = [
      ['type a number', (b) => (b.type = 123), 8901],
      ['type an object', (b) => (b.type = { CUSTOMER: true }), 8901],
      ['type an array', (b) => (b.type = ['CUSTOMER']), 8901],
      ['type true', (b) => (b.type = true), 8901],
      ['bulkAction an object', (b) => (b.bulkAction = { ENROL: 1 }), 8902],
      ['bulkAction an array', (b) => (b.bulkAction = ['ENROL']), 8902],
      ['bulkAction 0', (b) => (b.bulkAction = 0), 8902],
      ['promotionDetails an array', (b) => (b.promotionDetails = [b.promotionDetails]), 8881],
      ['promotionDetails a number', (b) => (b.promotionDetails = 42), 8881],
      ['promotionDetails a string', (b) => (b.promotionDetails = 'programId=1'), 8881],
      ['programId an object', (b) => (b.promotionDetails.programId = { id: 1 }), 8881],
      ['programId an array', (b) => (b.promotionDetails.programId = [org.programId]), 8881],
      ['programId beyond 2^53', (b) => (b.promotionDetails.programId = '99999999999999999999'), 8881],
      ['programId in exponent form', (b) => (b.promotionDetails.programId = '1e3'), 8881],
      ['programId negative string', (b) => (b.promotionDetails.programId = '-1'), 8881],
      ['promotionId an object', (b) => (b.promotionDetails.promotionId = { id: 1 }), [8881, 8874]],
      ['promotionId an array', (b) => (b.promotionDetails.promotionId = [1]), [8881, 8874]],
      ['promotionId true', (b) => (b.promotionDetails.promotionId = true), [8881, 8874]],
      ['promotionId negative', (b) => (b.promotionDetails.promotionId = -7), [8881, 8874]],
      ['promotionId fractional', (b) => (b.promotionDetails.promotionId = 1.25), [8881, 8874]],
      [
        'promoIdentifier an object instead of promotionId',
        (b) => (b.promotionDetails = { programId: org.programId, promoIdentifier: { id: 'x' } }),
        [8881, 8874],
      ],
      [
        'promoIdentifier a number',
        (b) => (b.promotionDetails = { programId: org.programId, promoIdentifier: 12345 }),
        8874,
      ],
      ['identifierName an object', (b) => (b.identifierName = { id: true }), 8013],
      ['identifierName a number', (b) => (b.identifierName = 7), 8013],
      ['identifierName true', (b) => (b.identifierName = true), 8013],
      ['identifierName an empty array', (b) => (b.identifierName = []), [11013, 8013]],
      ['identifierName __proto__', (b) => (b.identifierName = '__proto__'), 8013],
      ['identifierName constructor', (b) => (b.identifierName = 'constructor'), 8013],
      ['identifierName toString', (b) => (b.identifierName = 'toString'), 8013],
      ['customers an object', (b) => (b.customers = { 0: b.customers[0], length: 1 }), 11013],
      ['customers a string', (b) => (b.customers = '[{"identifierValue":"1"}]'), 11013],
      ['customers true', (b) => (b.customers = true), 11013],
      ['customers a number', (b) => (b.customers = 1), 11013],
      ['type toString', (b) => (b.type = 'toString'), 8901],
      ['bulkAction constructor', (b) => (b.bulkAction = 'constructor'), 8902],
      [
        'promoIdentifier constructor',
        (b) => (b.promotionDetails = { programId: org.programId, promoIdentifier: 'constructor' }),
        8874,
      ],
    ];
    it.each(cases)('%s', async (_name, change, code) => {
      await hostile(variant(change), { reject: code });
    });

    it('programId of 1e400 (Infinity once parsed) gets 8881', async () => {
      const text = JSON.stringify(base()).replace(`"programId":${org.programId}`, '"programId":1e400');
      await hostile(text, { reject: 8881 });
    });

    it('promotionId of 1e400 is rejected', async () => {
      const text = JSON.stringify(base()).replace(
        `"promotionId":${org.promotions.enrolAndIssue}`,
        '"promotionId":1e400',
      );
      await hostile(text, { reject: [8881, 8874] });
    });
  });

  describe('wrong types in customers', () => {
    it('items that are not objects get 11013 each', async () => {
      await hostile(
        variant((b) => {
          b.customers = [null, 'INSTORE', 5, true, [], [b.customers[0]], {}];
        }),
        { each: 11013 },
      );
    });

    it('identifierValue of the wrong type fails per customer', async () => {
      await hostile(
        variant((b) => {
          b.customers = [
            { identifierValue: {}, source: 'INSTORE' },
            { identifierValue: { id: customerId }, source: 'INSTORE' },
            { identifierValue: [], source: 'INSTORE' },
            { identifierValue: [String(customerId)], source: 'INSTORE' },
            { identifierValue: true, source: 'INSTORE' },
            { identifierValue: false, source: 'INSTORE' },
          ];
        }),
        { each: [11013, 8015] },
      );
    });

    it('numbers that cannot be a customer id fail with 8015', async () => {
      const text = JSON.stringify(
        variant((b) => {
          b.customers = [
            { identifierValue: -3, source: 'INSTORE' },
            { identifierValue: 1.5, source: 'INSTORE' },
            { identifierValue: 1e21, source: 'INSTORE' },
            { identifierValue: 0, source: 'INSTORE' },
            { identifierValue: 'NUMBER_PLACEHOLDER', source: 'INSTORE' },
          ];
        }),
      ).replace('"NUMBER_PLACEHOLDER"', '123456789012345678901234567890');
      await hostile(text, { each: [8015, 11013] });
    });

    it('a customer id sent as a JSON number is answered per customer', async () => {
      const res = await hostile(
        variant((b) => {
          b.customers = [{ identifierValue: customerId, source: 'INSTORE' }];
        }),
        { any: true },
      );
      // The number is read as its digits: the customer is found and enrolled (or already was).
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalCount: 1, failureCount: 0 });
      expect(res.body.response[0].errors).toStrictEqual([]);
      expect(res.body.response[0].result.entityId).toBe(customerId);
    });

    it('a mobile sent as a JSON number is answered per customer', async () => {
      const mobile = org.customers[0]?.mobile as string;
      const text = JSON.stringify(
        variant((b) => {
          b.identifierName = 'mobile';
          b.customers = [{ identifierValue: 'MOBILE_PLACEHOLDER', source: 'INSTORE' }];
        }),
      ).replace('"MOBILE_PLACEHOLDER"', mobile);
      const res = await hostile(text, { any: true });
      expect([200, 201]).toContain(res.status);
    });

    it('source of the wrong type fails per customer', async () => {
      await hostile(
        variant((b) => {
          b.customers = [
            { identifierValue: String(customerId), source: 5 },
            { identifierValue: String(customerId), source: {} },
            { identifierValue: String(customerId), source: ['INSTORE'] },
            { identifierValue: String(customerId), source: true },
            { identifierValue: String(customerId), source: '__proto__' },
            { identifierValue: String(customerId), source: 'constructor' },
            { identifierValue: String(customerId), source: 'hasOwnProperty' },
          ];
        }),
        { each: [11013, 8003] },
      );
    });

    it('nested arrays of customers get 11013 each', async () => {
      await hostile(
        variant((b) => {
          b.customers = [[[b.customers[0]]], [[[[]]]]];
        }),
        { each: 11013 },
      );
    });
  });

  describe('huge values', () => {
    it.each([
      ['type', (b: any, s: string) => (b.type = s), 8901],
      ['bulkAction', (b: any, s: string) => (b.bulkAction = s), 8902],
      ['identifierName', (b: any, s: string) => (b.identifierName = s), 8013],
      [
        'promoIdentifier',
        (b: any, s: string) => (b.promotionDetails = { programId: org.programId, promoIdentifier: s }),
        8874,
      ],
      ['programId', (b: any, s: string) => (b.promotionDetails.programId = s.replace(/x/g, '9')), 8881],
      [
        'promotionId',
        (b: any, s: string) => (b.promotionDetails.promotionId = s.replace(/x/g, '9')),
        [8881, 8874],
      ],
    ] as [string, (b: any, s: string) => void, number | number[]][])(
      'a %s of 500,000 characters is rejected',
      async (_name, change, code) => {
        const huge = 'x'.repeat(HUGE);
        await hostile(
          variant((b) => change(b, huge)),
          { reject: code },
        );
      },
    );

    it.each([
      ['id', 'digits', '9'.repeat(HUGE)],
      ['id', 'letters', 'x'.repeat(HUGE)],
      ['mobile', 'digits', '9'.repeat(HUGE)],
      ['mobile', 'punctuated', `+91 ${'(1) '.repeat(HUGE / 4)}`],
      ['email', 'long local part', `${'a'.repeat(HUGE)}@example.com`],
      ['email', 'long domain', `a@${'b'.repeat(HUGE)}.com`],
    ])(
      'a %s identifierValue of ~500,000 characters (%s) gets 8015',
      async (identifierName, _shape, value) => {
        await hostile(
          variant((b) => {
            b.identifierName = identifierName;
            b.customers = [{ identifierValue: value, source: 'INSTORE' }];
          }),
          { each: 8015 },
        );
      },
    );

    it('a source of 500,000 characters gets 8003', async () => {
      await hostile(
        variant((b) => {
          b.customers = [{ identifierValue: String(customerId), source: 'I'.repeat(HUGE) }];
        }),
        { each: 8003 },
      );
    });

    it('an email just over the address length and a mobile of 60 digits get 8015', async () => {
      await hostile(
        variant((b) => {
          b.identifierName = 'email';
          b.customers = [
            { identifierValue: `${'a'.repeat(320)}@example.com`, source: 'INSTORE' },
            { identifierValue: `${'a'.repeat(64)}@${'b'.repeat(250)}.com`, source: 'INSTORE' },
          ];
        }),
        { each: 8015 },
      );
      await hostile(
        variant((b) => {
          b.identifierName = 'mobile';
          b.customers = [{ identifierValue: '1'.repeat(60), source: 'INSTORE' }];
        }),
        { each: 8015 },
      );
    });

    it('10,000 customers get 1060', async () => {
      const body = variant((b) => {
        b.customers = items(Array.from({ length: 10_000 }, (_, i) => i + 1));
      });
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(MIB);
      await hostile(body, { reject: 1060 });
    });

    it('10,000 customers by email (over the body limit) get 413', async () => {
      const body = variant((b) => {
        b.identifierName = 'email';
        b.customers = items(
          Array.from({ length: 10_000 }, (_, i) => `someone.${i}.${'x'.repeat(80)}@example-domain.com`),
        );
      });
      expect(Buffer.byteLength(JSON.stringify(body))).toBeGreaterThan(MIB);
      await hostile(body, { reject: 413, status: 413 });
    });

    it('a 5 MB body gets 413', async () => {
      const body = variant((b) => {
        b.padding = 'p'.repeat(5 * 1000 * 1000);
      });
      await hostile(body, { reject: 413, status: 413 });
    });
  });

  describe('strings that mean something elsewhere', () => {
    const injections = [
      "' OR '1'='1",
      '1; DROP TABLE issuals; --',
      '1 OR 1=1',
      "x' UNION SELECT id FROM customers --",
      '%',
      '_',
      '*',
      '\\',
      '$' + '{7*7}',
      '<script>alert(1)</script>',
    ];

    it.each(['id', 'mobile', 'email'])(
      'SQL and template fragments as %s identifiers get 8015',
      async (name) => {
        await hostile(
          variant((b) => {
            b.identifierName = name;
            b.customers = items(injections.map((s) => (name === 'email' ? `${s}@x.org` : s)));
          }),
          { each: 8015 },
        );
      },
    );

    it('SQL fragments as promoIdentifier get 8874, as source 8003', async () => {
      for (const s of injections) {
        await hostile(
          variant((b) => {
            b.promotionDetails = { programId: org.programId, promoIdentifier: s };
          }),
          { reject: 8874 },
        );
      }
      await hostile(
        variant((b) => {
          b.customers = injections.map((s) => ({ identifierValue: String(customerId), source: s }));
        }),
        { each: 8003 },
      );
    });

    it.each(['id', 'mobile', 'email'])(
      'NUL and control characters in %s identifiers fail per customer',
      async (name) => {
        await hostile(
          variant((b) => {
            b.identifierName = name;
            b.customers = [
              { identifierValue: '\u0000', source: 'INSTORE' },
              { identifierValue: `a\u0000b@example.com`, source: 'INSTORE' },
              { identifierValue: `${customerId}\u0000`, source: 'INSTORE' },
              { identifierValue: '98450\u000012345', source: 'INSTORE' },
              { identifierValue: '\u0007\u001b[31m', source: 'INSTORE' },
            ];
          }),
          { each: 8015 },
        );
      },
    );

    it('a NUL character in promoIdentifier gets 8874', async () => {
      await hostile(
        variant((b) => {
          b.promotionDetails = {
            programId: org.programId,
            promoIdentifier: `${org.promoIdentifier}\u0000`,
          };
        }),
        { reject: 8874 },
      );
    });

    it('a NUL character in source gets 8003', async () => {
      await hostile(
        variant((b) => {
          b.customers = [{ identifierValue: String(customerId), source: 'INSTORE\u0000' }];
        }),
        { each: 8003 },
      );
    });

    it('non-ASCII, lone surrogates and invalid UTF-8 bytes fail per customer', async () => {
      await hostile(
        variant((b) => {
          b.identifierName = 'email';
          b.customers = [
            { identifierValue: 'ü@例え.jp', source: 'INSTORE' },
            { identifierValue: '\ud800@example.com', source: 'INSTORE' },
            { identifierValue: '😀@😀.com', source: 'INSTORE' },
          ];
        }),
        { each: 8015 },
      );
      const text = JSON.stringify(
        variant((b) => {
          b.customers = [{ identifierValue: 'BYTES', source: 'INSTORE' }];
        }),
      );
      const [head, tail] = text.split('BYTES') as [string, string];
      const bytes = Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(tail)]);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v2/promotion/bulk/enrolAndEarn',
        headers: { authorization: org.auth.write, 'content-type': 'application/json' },
        payload: bytes,
      });
      expect(res.statusCode).toBeLessThan(500);
      expectBulkEnvelope(res.json());
    });
  });

  describe('bodies that are not a request object', () => {
    it.each([
      ['an array', '[]'],
      ['an array of a valid request', 'BASE_IN_ARRAY'],
      ['a string', '"CUSTOMER"'],
      ['null', 'null'],
      ['a number', '42'],
      ['true', 'true'],
      ['an empty object', '{}'],
    ])('%s gets 8901', async (_name, text) => {
      const body = text === 'BASE_IN_ARRAY' ? JSON.stringify([base()]) : text;
      await hostile(body, { reject: 8901 });
    });

    it.each([
      ['truncated', '{"type":"CUSTOMER","customers":['],
      ['an unterminated string', '{"type":"CUSTOMER'],
      ['a trailing comma', '{"type":"CUSTOMER",}'],
      ['single quotes', "{'type':'CUSTOMER'}"],
      ['unquoted keys', '{type:"CUSTOMER"}'],
      ['a comment', '{"type":"CUSTOMER" /* x */}'],
      ['NaN', '{"type":"CUSTOMER","promotionDetails":{"programId":NaN}}'],
      ['two objects', '{}{}'],
      ['empty', ''],
      ['a lone brace', '}'],
      ['XML', '<request><type>CUSTOMER</type></request>'],
      ['binary noise', '\u0000\u0001\u0002\u0003'],
    ])('broken JSON (%s) gets 400', async (_name, text) => {
      const res = await hostile(text, { reject: 400 });
      expect(res.body.response[0].errors[0].message).toBe(MSG[400]);
    });

    it('a body with a byte order mark is not a 5xx', async () => {
      await hostile(`\uFEFF${JSON.stringify(base())}`, { any: true });
    });

    it('duplicate keys are not a 5xx', async () => {
      await hostile(rawWith('"type":"USERGROUP2","bulkAction":"NOPE"'), { any: true });
    });
  });

  describe('unknown fields and prototype keys', () => {
    it('unknown fields anywhere are ignored', async () => {
      const res = await hostile(
        variant((b) => {
          b.extra = { nested: [1, 2, 3] };
          b.requestId = 'mine';
          b.promotionDetails.extra = 'x';
          b.promotionDetails.promotionType = 'GENERIC';
          b.customers[0].extra = null;
          b.customers[0].entityId = 1;
        }),
        { any: true },
      );
      expect(res.status).toBe(200);
      expect(res.body.response[0].result.entityId).toBe(customerId);
    });

    const protoCases: [string, () => string][] = [
      ['__proto__ at the top', () => rawWith('"__proto__":{"type":"USERGROUP2","polluted":"yes"}')],
      ['constructor.prototype at the top', () => rawWith('"constructor":{"prototype":{"polluted":"yes"}}')],
      [
        '__proto__ in promotionDetails',
        () =>
          JSON.stringify(base()).replace(
            '"promotionDetails":{',
            '"promotionDetails":{"__proto__":{"programId":1,"polluted":"yes"},',
          ),
      ],
      [
        '__proto__ in a customer',
        () =>
          JSON.stringify(base()).replace(
            '"customers":[{',
            '"customers":[{"__proto__":{"identifierValue":"1","polluted":"yes"},',
          ),
      ],
    ];
    it.each(protoCases)('%s is refused or ignored, and pollutes nothing', async (_name, build) => {
      const text = build();
      expect(text).toMatch(/__proto__|constructor/);
      const res = await hostile(text, { any: true });
      expect([200, 400]).toContain(res.status);
      expect(({} as any).polluted).toBeUndefined();
      expect((Object.prototype as any).polluted).toBeUndefined();
    });
  });

  describe('deep nesting', () => {
    const DEPTH = 50_000;

    it('a deeply nested array as the body gets 8901 or 400', async () => {
      await hostile(`${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`, { reject: [8901, 400] });
    });

    it('a deeply nested object as the body gets 8901 or 400', async () => {
      await hostile(`${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`, { reject: [8901, 400] });
    });

    it('deep nesting inside a customer is a per-customer failure (or a 400)', async () => {
      const text = JSON.stringify(base()).replace(
        `"identifierValue":"${customerId}"`,
        `"identifierValue":${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`,
      );
      const res = await hostile(text, { any: true });
      // An object is no identifier value: that customer fails with 11013, the request stands.
      expect(res.status).toBe(201);
      expect(res.body).toStrictEqual({
        response: [
          {
            errors: [{ status: false, code: 11013, message: expect.any(String) }],
            warnings: [],
          },
        ],
        totalCount: 1,
        failureCount: 1,
      });
    });

    it('deep nesting inside promotionDetails is rejected', async () => {
      const text = JSON.stringify(base()).replace(
        `"promotionId":${org.promotions.enrolAndIssue}`,
        `"promotionId":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`,
      );
      await hostile(text, { reject: [8881, 8874, 400] });
    });
  });

  describe('odd transports', () => {
    it.each([
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/json; boundary=x; charset=utf-8; foo=bar',
      'application/json;',
    ])('content type "%s" is not a 5xx', async (contentType) => {
      await hostile(JSON.stringify(base()), { any: true }, { contentType });
    });

    it.each(['gzip', 'br', 'x-unknown'])(
      'Content-Encoding %s on a plain body is not a 5xx',
      async (encoding) => {
        await hostile(JSON.stringify(base()), { any: true }, { headers: { 'content-encoding': encoding } });
      },
    );

    it('a very long or odd X-Request-Id is replaced, not stored', async () => {
      const earn = JSON.stringify(
        bulkRequest(
          'EARN',
          { programId: org.programId, promotionId: org.promotions.direct },
          'id',
          items([customerId]),
        ),
      );
      const { db } = t.testStore.store;
      for (const sent of ['r'.repeat(10_000), '../../etc/passwd;rm']) {
        const res = await hostile(
          earn,
          { any: true },
          { requestId: sent, url: '/v2/promotion/bulk/directEarn' },
        );
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const given = String(res.headers['x-request-id']);
        expect(given).not.toBe(sent);
        expect(given.length).toBeGreaterThan(0);
        // The earn carries the id the server gave, and no earn or issual stores the one sent.
        const { earnedId } = res.body.response[0].result;
        const earnRow = await db
          .selectFrom('earns')
          .select('request_id')
          .where('org_id', '=', org.orgId)
          .where('id', '=', Number(earnedId))
          .executeTakeFirstOrThrow();
        expect(earnRow.request_id).toBe(given);
        for (const table of ['earns', 'issuals'] as const) {
          const stored = await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .where('request_id', '=', sent)
            .executeTakeFirstOrThrow();
          expect(Number(stored.n), `${table} storing the id sent`).toBe(0);
        }
      }
    });

    it.each(['GET', 'PUT', 'DELETE', 'PATCH'] as const)('%s on the endpoint is not a 5xx', async (method) => {
      const res = await postBulk(t, method === 'GET' || method === 'DELETE' ? undefined : base(), {
        auth: org.auth.write,
        method,
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });

    it('a query string of junk is ignored', async () => {
      const res = await postBulk(t, base(), {
        auth: org.auth.write,
        url: '/v2/promotion/bulk/enrolAndEarn?type=USERGROUP2&a[b][c]=1&__proto__[x]=1',
      });
      expect(res.status).toBe(200);
      expect(({} as any).x).toBeUndefined();
    });
  });

  it('after all of it the server still answers a good request, and the store is consistent', async () => {
    const res = await postBulk(
      t,
      bulkRequest(
        'EARN',
        { programId: org.programId, promotionId: org.promotions.direct },
        'id',
        items([org.customers[1]?.id as number]),
      ),
      { auth: org.auth.write },
    );
    expect(res.status).toBe(200);
    expect(res.body.response[0].result.earnedId).toMatch(/^[1-9][0-9]*$/);
    const enrolled = await t.testStore.store.db
      .selectFrom('issuals')
      .select(['customer_id', 'promotion_id'])
      .where('revoked_at', 'is', null)
      .execute();
    expect(enrolled.map((r) => [r.promotion_id, r.customer_id]).sort()).toStrictEqual(
      [
        [org.promotions.enrolAndIssue, customerId],
        // The direct EARNs of the X-Request-Id test.
        [org.promotions.direct, customerId],
        [org.promotions.direct, org.customers[1]?.id],
      ].sort(),
    );
    // The tables an injected statement would have dropped are still there.
    const again = await postBulk(t, base(), { auth: org.auth.write });
    expect(again.status).toBe(200);
    expect(again.body.response[0]).toStrictEqual({
      result: expect.objectContaining({ entityId: customerId }),
      errors: [],
      warnings: [{ status: false, code: 8890, message: MSG[8890] }],
    });
  });

  it("an unknown customer still gets the page's 8015 item", async () => {
    const res = await postBulk(
      t,
      variant((b) => {
        b.customers = items(['424242424242']);
      }),
      { auth: org.auth.write },
    );
    expect(res.body.response[0]).toStrictEqual(errorItem(8015, MSG[8015]));
  });
});
