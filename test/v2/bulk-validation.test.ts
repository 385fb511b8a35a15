import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/clock.js';
import {
  ACCESS_DENIED,
  AUTH_FAILED,
  bulkRequest,
  createApiClient,
  createPromotion,
  createTill,
  expectRejected,
  items,
  MSG,
  type PostOptions,
  patchPromotion,
  postBulk,
  recordCounts,
  requestToken,
  usernameOf,
} from '../helpers/bulk.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { basicAuth, md5 } from '../helpers/test-app.js';

const NOW = '2030-06-15T12:00:00.000Z';
const MIB = 1024 * 1024;

describeEachStore(
  'bulk request validation',
  () => ({ clock: fixedClock(NOW) }),
  (t, kind, { clock }) => {
    let org: StandardOrg;
    let orgB: StandardOrg;
    let customerId: string;

    beforeAll(async () => {
      org = await seedStandardOrg(t, 2);
      orgB = await seedStandardOrg(t, 1);
      customerId = String(org.customers[0]?.id);
    });

    /** A request that passes every whole-request check (an ENROL on the enrol-and-issue promotion). */
    function valid(): Record<string, any> {
      return bulkRequest(
        'ENROL',
        { programId: org.programId, promotionId: org.promotions.enrolAndIssue },
        'id',
        items([customerId]),
      );
    }

    function send(body: unknown, opts: PostOptions = {}) {
      return postBulk(t, body, { auth: org.auth.write, ...opts });
    }

    /** The valid request with `change` applied to a copy. */
    function variant(change: (b: Record<string, any>) => void): Record<string, any> {
      const body = structuredClone(valid());
      change(body);
      return body;
    }

    async function expectCode(body: unknown, code: number, message: string) {
      const before = await recordCounts(t);
      const res = await send(body);
      expectRejected(res, 400, code, message);
      expect(await recordCounts(t)).toStrictEqual(before);
    }

    it('the valid request used as a base is accepted', async () => {
      const res = await send(valid());
      expect([200]).toContain(res.status);
      expect(res.body.failureCount).toBe(0);
    });

    describe('2. type', () => {
      it.each([
        ['missing', undefined],
        ['lower case', 'customer'],
        ['another entity', 'USER'],
        ['USERGROUP', 'USERGROUP'],
        ['a number', 1],
        ['null', null],
        ['an object', { type: 'CUSTOMER' }],
        ['an array', ['CUSTOMER']],
        ['padded', ' CUSTOMER '],
        ['empty', ''],
      ])('%s gets 8901', async (_name, type) => {
        await expectCode(
          variant((b) => {
            if (type === undefined) delete b.type;
            else b.type = type;
          }),
          8901,
          MSG[8901],
        );
      });

      it('USERGROUP2 gets 8899', async () => {
        await expectCode(
          variant((b) => {
            b.type = 'USERGROUP2';
          }),
          8899,
          MSG[8899],
        );
      });
    });

    describe('3. bulkAction', () => {
      it.each([
        ['missing', undefined],
        ['lower case', 'enrol'],
        ['REVOKE', 'REVOKE'],
        ['ISSUE', 'ISSUE'],
        ['ENROL_AND_EARN', 'ENROL_AND_EARN'],
        ['a number', 1],
        ['null', null],
        ['an array', ['ENROL']],
        ['empty', ''],
      ])('%s gets 8902', async (_name, action) => {
        await expectCode(
          variant((b) => {
            if (action === undefined) delete b.bulkAction;
            else b.bulkAction = action;
          }),
          8902,
          MSG[8902],
        );
      });
    });

    describe('4. promotionDetails', () => {
      it.each([
        ['promotionDetails missing', (b: any) => delete b.promotionDetails],
        ['promotionDetails null', (b: any) => (b.promotionDetails = null)],
        ['promotionDetails a string', (b: any) => (b.promotionDetails = 'x')],
        ['promotionDetails an array', (b: any) => (b.promotionDetails = [b.promotionDetails])],
        ['programId missing', (b: any) => delete b.promotionDetails.programId],
        ['programId null', (b: any) => (b.promotionDetails.programId = null)],
        ['programId 0', (b: any) => (b.promotionDetails.programId = 0)],
        ['programId negative', (b: any) => (b.promotionDetails.programId = -1)],
        ['programId fractional', (b: any) => (b.promotionDetails.programId = 1.5)],
        ['programId not digits', (b: any) => (b.promotionDetails.programId = 'abc')],
        ['programId empty string', (b: any) => (b.promotionDetails.programId = '')],
        ['programId a boolean', (b: any) => (b.promotionDetails.programId = true)],
        ['neither promotionId nor promoIdentifier', (b: any) => delete b.promotionDetails.promotionId],
        [
          'promotionId null, promoIdentifier empty',
          (b: any) => {
            b.promotionDetails.promotionId = null;
            b.promotionDetails.promoIdentifier = '';
          },
        ],
        ['promotionId empty string', (b: any) => (b.promotionDetails.promotionId = '')],
      ])('%s gets 8881', async (_name, change) => {
        await expectCode(variant(change), 8881, MSG[8881]);
      });
    });

    describe('5-8. identifierName and customers', () => {
      it.each([
        ['missing', undefined],
        ['empty', ''],
        ['null', null],
      ])('identifierName %s gets 11013', async (_name, value) => {
        await expectCode(
          variant((b) => {
            if (value === undefined) delete b.identifierName;
            else b.identifierName = value;
          }),
          11013,
          MSG[11013],
        );
      });

      it.each([
        ['externalId', 'externalId'],
        ['phone', 'phone'],
        ['cardNumber', 'cardNumber'],
        ['a number', 5],
        ['an object', { name: 'id' }],
        ['an array', ['id']],
      ])('identifierName %s gets 8013', async (_name, value) => {
        await expectCode(
          variant((b) => {
            b.identifierName = value;
          }),
          8013,
          MSG[8013],
        );
      });

      it.each([
        ['missing', undefined],
        ['empty', []],
        ['null', null],
        ['an object', { identifierValue: '1', source: 'INSTORE' }],
        ['a string', 'customers'],
        ['a number', 3],
      ])('customers %s gets 11013', async (_name, value) => {
        await expectCode(
          variant((b) => {
            if (value === undefined) delete b.customers;
            else b.customers = value;
          }),
          11013,
          MSG[11013],
        );
      });

      it('101 customers get 1060; 100 are accepted', async () => {
        const ids = Array.from({ length: 101 }, () => customerId);
        await expectCode(
          variant((b) => {
            b.customers = items(ids);
          }),
          1060,
          MSG[1060],
        );
        const res = await send(
          variant((b) => {
            b.customers = items(ids.slice(1));
          }),
        );
        expect(res.status).toBe(200);
        expect(res.body.totalCount).toBe(100);
      });
    });

    describe('9-12. program and promotion', () => {
      it('an unknown program gets 1101', async () => {
        await expectCode(
          variant((b) => {
            b.promotionDetails.programId = 987654321;
          }),
          1101,
          MSG[1101],
        );
      });

      it("another org's program gets 1101", async () => {
        await expectCode(
          variant((b) => {
            b.promotionDetails = { programId: orgB.programId, promotionId: orgB.promotions.enrolAndIssue };
          }),
          1101,
          MSG[1101],
        );
      });

      it.each([
        ['an unknown promotionId', (b: any) => (b.promotionDetails.promotionId = 987654321)],
        ['a promotionId that is not an integer', (b: any) => (b.promotionDetails.promotionId = 'abc')],
        ['a promotionId of 0', (b: any) => (b.promotionDetails.promotionId = 0)],
      ])('%s gets 8874', async (_name, change) => {
        await expectCode(variant(change), 8874, MSG[8874]);
      });

      it('an unknown promoIdentifier gets 8874', async () => {
        await expectCode(
          variant((b) => {
            b.promotionDetails = { programId: org.programId, promoIdentifier: 'NO-SUCH-PROMO' };
          }),
          8874,
          MSG[8874],
        );
      });

      it('a promotion of another program of the org gets 8874, by id and by identifier', async () => {
        const ident = `OTHER-PROGRAM-${kind}`;
        const other = await createPromotion(t, org, {
          programId: org.otherProgramId,
          promoIdentifier: ident,
        });
        await expectCode(
          variant((b) => {
            b.promotionDetails.promotionId = other.id;
          }),
          8874,
          MSG[8874],
        );
        await expectCode(
          variant((b) => {
            b.promotionDetails = { programId: org.programId, promoIdentifier: ident };
          }),
          8874,
          MSG[8874],
        );
      });

      it("another org's promotion in the caller's program gets 8874", async () => {
        await expectCode(
          variant((b) => {
            b.promotionDetails.promotionId = orgB.promotions.enrolAndIssue;
          }),
          8874,
          MSG[8874],
        );
      });

      it('promotionId and promoIdentifier naming different promotions gets 8874', async () => {
        await expectCode(
          variant((b) => {
            b.promotionDetails = {
              programId: org.programId,
              promotionId: org.promotions.enrolAndIssue,
              promoIdentifier: org.promoIdentifier,
            };
          }),
          8874,
          MSG[8874],
        );
        const agreeing = await send(
          variant((b) => {
            b.promotionDetails = {
              programId: org.programId,
              promotionId: org.promotions.withIdentifier,
              promoIdentifier: org.promoIdentifier,
            };
          }),
        );
        expect(agreeing.status).toBe(200);
      });

      it('an inactive promotion gets 8892, whichever action', async () => {
        for (const action of ['ENROL', 'EARN']) {
          await expectCode(
            variant((b) => {
              b.bulkAction = action;
              b.promotionDetails.promotionId = org.promotions.inactive;
            }),
            8892,
            MSG[8892],
          );
        }
      });

      it('a promotion deactivated by PATCH gets 8892, and is live again when reactivated', async () => {
        const promo = await createPromotion(t, org);
        const body = variant((b) => {
          b.promotionDetails.promotionId = promo.id;
        });
        expect((await send(body)).status).toBe(200);
        await patchPromotion(t, org, promo.id, { active: false });
        await expectCode(body, 8892, MSG[8892]);
        await patchPromotion(t, org, promo.id, { active: true });
        expect((await send(body)).status).toBe(200);
      });

      it('a promotion not yet started or already ended gets 8892; the window includes both ends', async () => {
        const start = '2030-06-15T12:00:00.000Z';
        const end = '2030-06-20T23:59:59.000+05:30';
        const promo = await createPromotion(t, org, {
          startDate: start,
          endDate: end,
          maxIssualsPerCustomer: null,
        });
        const body = variant((b) => {
          b.promotionDetails.promotionId = promo.id;
        });
        const endMs = Date.parse(end);
        try {
          clock.set(Date.parse(start) - 1);
          await expectCode(body, 8892, MSG[8892]);
          clock.set(start);
          expect((await send(body)).status).toBe(200);
          clock.set(endMs);
          expect((await send(body)).status).toBe(200);
          clock.set(endMs + 1);
          await expectCode(body, 8892, MSG[8892]);
        } finally {
          clock.set(NOW);
        }
      });

      it('open-ended windows: only a start in the past, or only an end in the future, are live', async () => {
        const future = await createPromotion(t, org, { startDate: '2030-06-16T00:00:00Z' });
        const past = await createPromotion(t, org, { endDate: '2030-06-15T11:59:59Z' });
        const openStart = await createPromotion(t, org, { startDate: '2030-01-01T00:00:00+01:00' });
        const openEnd = await createPromotion(t, org, { endDate: '2031-01-01T00:00:00-08:00' });
        for (const p of [future, past]) {
          await expectCode(
            variant((b) => {
              b.promotionDetails.promotionId = p.id;
            }),
            8892,
            MSG[8892],
          );
        }
        for (const p of [openStart, openEnd]) {
          const res = await send(
            variant((b) => {
              b.promotionDetails.promotionId = p.id;
            }),
          );
          expect(res.status).toBe(200);
        }
      });

      it('moving the window with PATCH takes effect', async () => {
        const promo = await createPromotion(t, org, { maxIssualsPerCustomer: null });
        const body = variant((b) => {
          b.promotionDetails.promotionId = promo.id;
        });
        await patchPromotion(t, org, promo.id, { endDate: '2030-06-01T00:00:00Z' });
        await expectCode(body, 8892, MSG[8892]);
        await patchPromotion(t, org, promo.id, { endDate: null });
        expect((await send(body)).status).toBe(200);
      });

      it.each([
        ['ENROL on DIRECT', 'ENROL', 'direct'],
        ['ENROL on GENERIC', 'ENROL', 'generic'],
        ['EARN on GENERIC', 'EARN', 'generic'],
      ] as const)('%s gets 8902 with the promotion-type message', async (_name, action, promo) => {
        await expectCode(
          variant((b) => {
            b.bulkAction = action;
            b.promotionDetails.promotionId = org.promotions[promo];
          }),
          8902,
          MSG['8902type'],
        );
      });

      it.each(['LOYALTY', 'DIRECT_EARN'])(
        'ENROL on a promotion created as %s (a DIRECT alias) gets 8902',
        async (type) => {
          const promo = await createPromotion(t, org, { type });
          await expectCode(
            variant((b) => {
              b.promotionDetails.promotionId = promo.id;
            }),
            8902,
            MSG['8902type'],
          );
          const earn = await send(
            variant((b) => {
              b.bulkAction = 'EARN';
              b.promotionDetails.promotionId = promo.id;
            }),
          );
          expect(earn.status).toBe(200);
        },
      );

      it('ENROL and EARN on a promotion created as ISSUE_AND_EARN are supported', async () => {
        const promo = await createPromotion(t, org, { type: 'ISSUE_AND_EARN' });
        for (const action of ['ENROL', 'EARN']) {
          const res = await send(
            variant((b) => {
              b.bulkAction = action;
              b.promotionDetails.promotionId = promo.id;
            }),
          );
          expect(res.status).toBe(200);
        }
      });
    });

    describe('the checks run in order', () => {
      const orderCases: [string, (b: any) => void, number, string][] = [
        [
          '8901 before 8902',
          (b) => {
            b.type = 'ACCOUNT';
            b.bulkAction = 'NOPE';
          },
          8901,
          MSG[8901],
        ],
        [
          '8899 before 8902',
          (b) => {
            b.type = 'USERGROUP2';
            b.bulkAction = 'NOPE';
          },
          8899,
          MSG[8899],
        ],
        [
          '8901 before everything else',
          (b) => {
            delete b.type;
            delete b.bulkAction;
            delete b.promotionDetails;
            delete b.identifierName;
            delete b.customers;
          },
          8901,
          MSG[8901],
        ],
        [
          '8902 before 8881',
          (b) => {
            b.bulkAction = 'NOPE';
            delete b.promotionDetails;
          },
          8902,
          MSG[8902],
        ],
        [
          '8881 before 11013 (identifierName)',
          (b) => {
            b.promotionDetails.programId = 0;
            delete b.identifierName;
          },
          8881,
          MSG[8881],
        ],
        [
          '8881 before 1060',
          (b) => {
            delete b.promotionDetails.promotionId;
            b.customers = items(Array.from({ length: 150 }, (_, i) => i + 1));
          },
          8881,
          MSG[8881],
        ],
        [
          '11013 (identifierName) before 11013 (customers) and 1060',
          (b) => {
            b.identifierName = '';
            b.customers = items(Array.from({ length: 150 }, (_, i) => i + 1));
          },
          11013,
          MSG[11013],
        ],
        [
          '8013 before 11013 (customers)',
          (b) => {
            b.identifierName = 'externalId';
            b.customers = [];
          },
          8013,
          MSG[8013],
        ],
        [
          '8013 before 1060',
          (b) => {
            b.identifierName = 'externalId';
            b.customers = items(Array.from({ length: 150 }, (_, i) => i + 1));
          },
          8013,
          MSG[8013],
        ],
        [
          '11013 (customers) before 1101',
          (b) => {
            b.customers = [];
            b.promotionDetails.programId = 987654321;
          },
          11013,
          MSG[11013],
        ],
        [
          '1060 before 1101',
          (b) => {
            b.customers = items(Array.from({ length: 101 }, (_, i) => i + 1));
            b.promotionDetails.programId = 987654321;
          },
          1060,
          MSG[1060],
        ],
        [
          '1101 before 8874',
          (b) => {
            b.promotionDetails = { programId: 987654321, promotionId: 987654321 };
          },
          1101,
          MSG[1101],
        ],
      ];
      it.each(orderCases)('%s', async (_name, change, code, message) => {
        await expectCode(variant(change), code, message);
      });

      it('8892 before the promotion-type 8902 (an inactive GENERIC promotion)', async () => {
        const promo = await createPromotion(t, org, { type: 'GENERIC', active: false });
        await expectCode(
          variant((b) => {
            b.promotionDetails.promotionId = promo.id;
          }),
          8892,
          MSG[8892],
        );
      });

      it('whole-request checks come before any per-customer check', async () => {
        await expectCode(
          variant((b) => {
            b.promotionDetails.promotionId = org.promotions.inactive;
            b.customers = [{}, { identifierValue: 'x', source: 'MOON' }];
          }),
          8892,
          MSG[8892],
        );
      });
    });

    describe('authentication and access', () => {
      const cases: [string, () => string | undefined][] = [
        ['no Authorization header', () => undefined],
        ['an empty Authorization header', () => ''],
        ['a wrong password', () => basicAuth(usernameOf(org.auth.write), 'wrong-password')],
        ['an unknown till', () => basicAuth('no-such-till', 'whatever')],
        ['a malformed Basic header', () => 'Basic !!!not-base64!!!'],
        ['Basic without a colon', () => `Basic ${Buffer.from('nocolon').toString('base64')}`],
        ['another scheme', () => 'Digest username="x"'],
        ['a bad bearer token', () => 'Bearer not-a-token'],
        [
          'a username with a NUL character',
          () => `Basic ${Buffer.from('till\u0000x:0123abcd').toString('base64')}`,
        ],
        [
          'a username of 3,000 characters',
          () => `Basic ${Buffer.from(`${'u'.repeat(3000)}:x`).toString('base64')}`,
        ],
      ];
      it.each(cases)('%s gets 401', async (_name, auth) => {
        const res = await postBulk(t, valid(), { auth: auth() });
        expect(res.status).toBe(401);
        expect(res.body).toStrictEqual(AUTH_FAILED);
      });

      it("a write till's username with another till's password gets 401", async () => {
        const writeUser = Buffer.from(org.auth.write.slice(6), 'base64').toString().split(':')[0];
        const readSecret = Buffer.from(org.auth.read.slice(6), 'base64').toString().split(':')[1];
        const res = await postBulk(t, valid(), {
          auth: `Basic ${Buffer.from(`${writeUser}:${readSecret}x`).toString('base64')}`,
        });
        expect(res.status).toBe(401);
        expect(res.body).toStrictEqual(AUTH_FAILED);
        // And the md5 of the md5 is not the password either.
        const [user, secret] = Buffer.from(org.auth.write.slice(6), 'base64').toString().split(':');
        const twice = await postBulk(t, valid(), {
          auth: `Basic ${Buffer.from(`${user}:${md5(secret as string)}`).toString('base64')}`,
        });
        expect(twice.status).toBe(401);
      });

      it('READ and NONE tills get 403 4000 and nothing is written', async () => {
        const before = await recordCounts(t);
        for (const auth of [org.auth.read, org.auth.none]) {
          const res = await postBulk(t, valid(), { auth });
          expect(res.status).toBe(403);
          expect(res.body).toStrictEqual(ACCESS_DENIED);
        }
        expect(await recordCounts(t)).toStrictEqual(before);
      });

      it('401 and 403 come before 415', async () => {
        const text = JSON.stringify(valid());
        const noAuth = await postBulk(t, text, { contentType: 'text/plain' });
        expect(noAuth.status).toBe(401);
        expect(noAuth.body).toStrictEqual(AUTH_FAILED);
        const read = await postBulk(t, text, { auth: org.auth.read, contentType: null });
        expect(read.status).toBe(403);
        expect(read.body).toStrictEqual(ACCESS_DENIED);
      });

      it('401 and 403 come before 413 and 400', async () => {
        const huge = `{"x":"${'a'.repeat(2 * MIB)}"}`;
        const noAuth = await postBulk(t, huge);
        expect(noAuth.status).toBe(401);
        expect(noAuth.body).toStrictEqual(AUTH_FAILED);
        const none = await postBulk(t, huge, { auth: org.auth.none });
        expect(none.status).toBe(403);
        expect(none.body).toStrictEqual(ACCESS_DENIED);
        const broken = await postBulk(t, '{"type":', { auth: org.auth.read });
        expect(broken.status).toBe(403);
        expect(broken.body).toStrictEqual(ACCESS_DENIED);
      });
    });

    describe('OAuth tokens and rate limits', () => {
      const capHeader = (token: string) => ({ 'x-cap-api-oauth-token': token });

      it('a WRITE client token in X-CAP-API-OAUTH-TOKEN or as Bearer is accepted, and recorded as the client', async () => {
        const client = await createApiClient(t, org, { customerAccess: 'WRITE' });
        const promo = await createPromotion(t, org, { type: 'DIRECT', maxEarnsPerCustomer: null });
        const body = variant((b) => {
          b.bulkAction = 'EARN';
          b.promotionDetails.promotionId = promo.id;
        });
        const viaCap = await postBulk(t, body, { headers: capHeader(client.token), requestId: 'oauth-cap' });
        expect(viaCap.status).toBe(200);
        const viaBearer = await postBulk(t, body, {
          auth: `Bearer ${client.token}`,
          requestId: 'oauth-bearer',
        });
        expect(viaBearer.status).toBe(200);
        const earns = await t.testStore.store.db
          .selectFrom('earns')
          .select(['created_by', 'request_id'])
          .where('promotion_id', '=', promo.id)
          .orderBy('id')
          .execute();
        expect(earns).toStrictEqual([
          { created_by: `client:${client.key}`, request_id: 'oauth-cap' },
          { created_by: `client:${client.key}`, request_id: 'oauth-bearer' },
        ]);
      });

      it('READ and NONE client tokens get 403', async () => {
        for (const customerAccess of ['READ', 'NONE'] as const) {
          const client = await createApiClient(t, org, { customerAccess });
          const res = await postBulk(t, valid(), { headers: capHeader(client.token) });
          expect(res.status).toBe(403);
          expect(res.body).toStrictEqual(ACCESS_DENIED);
        }
      });

      it('a bad X-CAP-API-OAUTH-TOKEN decides alone: 401 even with good Basic credentials', async () => {
        const res = await postBulk(t, valid(), { auth: org.auth.write, headers: capHeader('not-a-token') });
        expect(res.status).toBe(401);
        expect(res.body).toStrictEqual(AUTH_FAILED);
        const empty = await postBulk(t, valid(), { auth: org.auth.write, headers: capHeader('') });
        expect(empty.status).toBe(401);
      });

      it('forged, unsigned and expired tokens get 401', async () => {
        const client = await createApiClient(t, org, { customerAccess: 'WRITE', tokenTtlSeconds: 60 });
        const [header, payload, signature] = client.token.split('.') as [string, string, string];
        // The first character: every bit of it counts (the last one's lowest bits do not).
        const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
        const unsignedHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
        const otherOrg = Buffer.from(JSON.stringify({ ...claims, org_id: orgB.orgId })).toString('base64url');
        for (const token of [
          `${header}.${payload}.${flipped}`,
          `${unsignedHeader}.${payload}.`,
          `${header}.${otherOrg}.${signature}`,
          `${header}.${payload}`,
        ]) {
          const res = await postBulk(t, valid(), { headers: capHeader(token) });
          expect(res.status).toBe(401);
          expect(res.body).toStrictEqual(AUTH_FAILED);
        }
        try {
          clock.set(Date.parse(NOW) + 61_000);
          const expired = await postBulk(t, valid(), { headers: capHeader(client.token) });
          expect(expired.status).toBe(401);
          expect(expired.body).toStrictEqual(AUTH_FAILED);
        } finally {
          clock.set(NOW);
        }
        expect((await postBulk(t, valid(), { headers: capHeader(client.token) })).status).toBe(200);
      });

      it("a client token of org A gets 1101 for org B's program", async () => {
        const client = await createApiClient(t, org, { customerAccess: 'WRITE' });
        const res = await postBulk(
          t,
          variant((b) => {
            b.promotionDetails = { programId: orgB.programId, promotionId: orgB.promotions.enrolAndIssue };
          }),
          { headers: capHeader(client.token) },
        );
        expectRejected(res, 400, 1101, MSG[1101]);
      });

      // The Authorization Flows page: 320001 "Invalid client key and secret", without a status field.
      it('bad client credentials get the Authorization Flows page’s 320001 (HTTP 401)', async () => {
        const client = await createApiClient(t, org, { customerAccess: 'WRITE' });
        for (const body of [{ key: client.key, secret: 'wrong' }, { key: 'nobody', secret: 'x' }, {}]) {
          const res = await requestToken(t, body);
          expect(res.status).toBe(401);
          expect(res.body).toStrictEqual({
            data: null,
            errors: [{ code: 320001, message: 'Invalid client key and secret' }],
          });
        }
      });

      it('a till over its rate limit gets 429 in the bulk envelope with Retry-After, and writes nothing', async () => {
        const till = await createTill(t, org, { customerAccess: 'WRITE', rateLimitPerMinute: 2 });
        try {
          clock.set(Date.parse(NOW) + 10 * 60_000);
          for (let i = 0; i < 2; i++)
            expect((await postBulk(t, valid(), { auth: till.auth })).status).toBe(200);
          const before = await recordCounts(t);
          const limited = await postBulk(t, valid(), { auth: till.auth });
          expectRejected(limited, 429, 429);
          expect(String(limited.headers['retry-after'])).toMatch(/^[1-9][0-9]*$/);
          expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
          expect(await recordCounts(t)).toStrictEqual(before);
          // Other credentials are not held back by it.
          expect((await postBulk(t, valid(), { auth: org.auth.write })).status).toBe(200);
          clock.set(Date.parse(NOW) + 11 * 60_000);
          expect((await postBulk(t, valid(), { auth: till.auth })).status).toBe(200);
        } finally {
          clock.set(NOW);
        }
      });
    });

    describe('transport: content type, size, JSON', () => {
      it.each([
        ['text/plain', 'text/plain'],
        ['no content type', null],
        ['form encoded', 'application/x-www-form-urlencoded'],
        ['multipart', 'multipart/form-data; boundary=x'],
        ['a json-like type', 'application/json-patch+json'],
        ['text/json', 'text/json'],
      ])('%s gets 415 in the bulk envelope', async (_name, contentType) => {
        const before = await recordCounts(t);
        const res = await send(JSON.stringify(valid()), { contentType });
        expectRejected(res, 415, 415);
        expect(await recordCounts(t)).toStrictEqual(before);
      });

      it.each(['application/json; charset=utf-8', 'APPLICATION/JSON', 'Application/Json; Charset=UTF-8'])(
        'content type %s is accepted (with a charset, in any case)',
        async (contentType) => {
          const res = await send(JSON.stringify(valid()), { contentType });
          expect(res.status).toBe(200);
        },
      );

      it('415 comes before 413', async () => {
        const huge = `{"x":"${'a'.repeat(2 * MIB)}"}`;
        expectRejected(await send(huge, { contentType: 'text/plain' }), 415, 415);
        expectRejected(await send(huge, { contentType: null }), 415, 415);
      });

      it('a body over 1 MiB gets 413, also when it is broken JSON', async () => {
        expectRejected(await send(`{"x":"${'a'.repeat(2 * MIB)}"}`), 413, 413);
        expectRejected(await send(`{"x":"${'a'.repeat(2 * MIB)}`), 413, 413);
      });

      it('a streamed body over 1 MiB without Content-Length gets 413', async () => {
        const chunk = Buffer.from(`${' '.repeat(64 * 1024)}`);
        const res = await t.app.inject({
          method: 'POST',
          url: '/v2/promotion/bulk/enrolAndEarn',
          headers: { authorization: org.auth.write, 'content-type': 'application/json' },
          payload: Readable.from(
            (function* () {
              yield Buffer.from('{"type":"CUSTOMER","pad":"');
              for (let i = 0; i < 40; i++) yield chunk;
              yield Buffer.from('"}');
            })(),
          ),
        });
        expectRejected({ status: res.statusCode, body: res.json(), headers: res.headers }, 413, 413);
      });

      it('the limit is exactly 1 MiB', async () => {
        const base = JSON.stringify(valid());
        const atLimit = base + ' '.repeat(MIB - Buffer.byteLength(base));
        expect(Buffer.byteLength(atLimit)).toBe(MIB);
        const ok = await send(atLimit);
        expect(ok.status).toBe(200);
        expectRejected(await send(`${atLimit} `), 413, 413);
      });

      it.each([
        ['truncated', '{"type":'],
        ['a trailing comma', '{"type":"CUSTOMER",}'],
        ['single quotes', "{'type':'CUSTOMER'}"],
        ['garbage after the object', '{"type":"CUSTOMER"} x'],
        ['empty', ''],
        ['whitespace only', '   '],
        ['not JSON at all', 'type=CUSTOMER&bulkAction=ENROL'],
      ])('%s JSON gets 400 "Invalid JSON body"', async (_name, text) => {
        expectRejected(await send(text), 400, 400, MSG[400]);
      });
    });

    it('nothing in this file wrote an issual it should not have: the base customer has one issual', async () => {
      const rows = await t.testStore.store.db
        .selectFrom('issuals')
        .select(['id', 'revoked_at'])
        .where('customer_id', '=', Number(customerId))
        .where('promotion_id', '=', org.promotions.enrolAndIssue)
        .execute();
      expect(rows).toHaveLength(1);
    });
  },
);
