import { randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/auth-apps.js';
import {
  AUTH_FAILED,
  b64url,
  basic,
  bearer,
  bulk,
  capToken,
  DIRECT_EARN_URL,
  expectLookupOf,
  expectStatus,
  ISSUE_URL,
  lookupUrl,
  MSG_1101,
  MSG_8015,
  newClient,
  newTill,
  REVOKE_DIRECT_URL,
  REVOKE_ENROL_URL,
  signHs256,
  tokenFor,
  unique,
} from '../helpers/auth-cases.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';

describeEachStore('authentication and access', (t) => {
  let a: StandardOrg;
  let b: StandardOrg;

  beforeAll(async () => {
    a = await seedStandardOrg(t);
    b = await seedStandardOrg(t);
  });

  describe('tenant isolation', () => {
    let bToken: string;
    let bCredentials: { name: string; headers: Record<string, string> }[];
    let aIds: number[];
    let before: Map<number, unknown>;

    const snapshot = async () => {
      const result = new Map<number, unknown>();
      for (const id of aIds) {
        const res = await call(t.app, { url: lookupUrl('id', id), headers: basic(a.auth.read) });
        expect(res.status).toBe(200);
        result.set(id, res.body);
      }
      return result;
    };

    beforeAll(async () => {
      bToken = await tokenFor(t, await newClient(t, b.orgId, 'WRITE'));
      bCredentials = [
        { name: 'B till', headers: basic(b.auth.write) },
        { name: 'B token', headers: capToken(bToken) },
        { name: 'B bearer', headers: bearer(bToken) },
      ];
      aIds = a.customers.slice(2, 5).map((c) => c.id);
      // A's customers have records in A, so that a revoke that crossed orgs would have work to do.
      for (const id of aIds) {
        const enrol = await t.v2(
          BULK_URL,
          bulk('ENROL', a.programId, { promotionId: a.promotions.enrolAndIssue }, [id]),
          a.auth.write,
        );
        expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
        const earn = await t.v2(
          BULK_URL,
          bulk('EARN', a.programId, { promotionId: a.promotions.enrolAndIssue }, [id]),
          a.auth.write,
        );
        expect(earn.status, JSON.stringify(earn.body)).toBe(200);
        const direct = await t.v2(
          DIRECT_EARN_URL,
          bulk('EARN', a.programId, { promotionId: a.promotions.direct }, [id]),
          a.auth.write,
        );
        expect(direct.status, JSON.stringify(direct.body)).toBe(200);
      }
      before = await snapshot();
    });

    /** A's customers, spelt in every way that finds them, as [identifierName, identifierValue]. */
    const spellings = (): [string, unknown][] =>
      aIds.flatMap((id) => {
        const c = a.customers.find((x) => x.id === id) as StandardOrg['customers'][number];
        return [
          ['id', id],
          ['id', String(id)],
          ['id', `000${id}`],
          ['mobile', c.mobile],
          ['mobile', `+${c.mobile.slice(0, 2)} (${c.mobile.slice(2, 6)}) ${c.mobile.slice(6)}`],
          ['email', c.email],
          ['email', `  ${c.email.toUpperCase()} `],
        ] as [string, unknown][];
      });

    const requestFor = (
      action: string,
      programId: unknown,
      promotion: Record<string, unknown>,
      identifierName: string,
      values: unknown[],
      source = 'INSTORE',
    ) => ({
      type: 'CUSTOMER',
      bulkAction: action,
      promotionDetails: { programId, ...promotion },
      identifierName,
      customers: values.map((identifierValue) => ({ identifierValue, source })),
    });

    it("gives B's credentials 1101 for A's program on every bulk endpoint, however the id is spelt", async () => {
      const cases: [string, string, number][] = [
        [BULK_URL, 'ENROL', a.promotions.enrolAndIssue],
        [BULK_URL, 'EARN', a.promotions.enrolAndIssue],
        [BULK_URL, 'EARN', a.promotions.direct],
        [DIRECT_EARN_URL, 'EARN', a.promotions.direct],
        [REVOKE_ENROL_URL, 'REVOKE_ENROL', a.promotions.enrolAndIssue],
        [REVOKE_ENROL_URL, 'REVOKE_EARN', a.promotions.enrolAndIssue],
        [REVOKE_DIRECT_URL, 'REVOKE_EARN', a.promotions.direct],
      ];
      for (const { name, headers } of bCredentials) {
        for (const [url, action, promotionId] of cases) {
          for (const programId of [a.programId, String(a.programId)]) {
            for (const promotion of [
              { promotionId },
              { promotionId: String(promotionId) },
              { promoIdentifier: a.promoIdentifier },
            ]) {
              const res = await call(t.app, {
                url,
                headers,
                body: requestFor(action, programId, promotion, 'id', [aIds[0]]),
              });
              expect({ name, url, action, status: res.status, body: res.body }).toStrictEqual({
                name,
                url,
                action,
                status: 400,
                body: {
                  response: [{ errors: [{ status: false, code: 1101, message: MSG_1101 }], warnings: [] }],
                  totalCount: 1,
                  failureCount: 1,
                },
              });
            }
          }
        }
        const issue = await call(t.app, {
          url: `${ISSUE_URL}?identifierName=id&identifierValue=${aIds[0]}&source=INSTORE`,
          headers,
          body: { programId: a.programId, promotionId: a.promotions.direct },
        });
        expect({ name, status: issue.status, body: issue.body }).toStrictEqual({
          name,
          status: 400,
          body: {
            warnings: [],
            errors: [{ status: false, code: 1101, message: MSG_1101 }],
          },
        });
      }
    });

    it("gives B's credentials 8874 for A's promotion named in B's program", async () => {
      for (const { name, headers } of bCredentials) {
        for (const promotion of [
          { promotionId: a.promotions.enrolAndIssue },
          { promotionId: a.promotions.withIdentifier },
          { promoIdentifier: a.promoIdentifier },
        ]) {
          const res = await call(t.app, {
            url: BULK_URL,
            headers,
            body: requestFor('ENROL', b.programId, promotion, 'id', [aIds[0]]),
          });
          expect({
            name,
            status: res.status,
            code: res.body.response?.[0]?.errors?.[0]?.code,
          }).toStrictEqual({ name, status: 400, code: 8874 });
        }
      }
    });

    it("gives B's credentials 8015 for A's customers, by id, mobile and email, on every bulk endpoint", async () => {
      const values = spellings();
      const cases: [string, string, number][] = [
        [BULK_URL, 'ENROL', b.promotions.enrolAndIssue],
        [BULK_URL, 'EARN', b.promotions.enrolAndIssue],
        [BULK_URL, 'EARN', b.promotions.direct],
        [DIRECT_EARN_URL, 'EARN', b.promotions.direct],
        [REVOKE_ENROL_URL, 'REVOKE_ENROL', b.promotions.enrolAndIssue],
        [REVOKE_ENROL_URL, 'REVOKE_EARN', b.promotions.enrolAndIssue],
        [REVOKE_DIRECT_URL, 'REVOKE_EARN', b.promotions.direct],
      ];
      for (const { name, headers } of bCredentials) {
        for (const [url, action, promotionId] of cases) {
          for (const identifierName of ['id', 'mobile', 'email']) {
            for (const source of ['INSTORE', 'ALL']) {
              const mine = values.filter(([n]) => n === identifierName).map(([, v]) => v);
              const res = await call(t.app, {
                url,
                headers,
                body: requestFor(action, b.programId, { promotionId }, identifierName, mine, source),
              });
              const item = { errors: [{ status: false, code: 8015, message: MSG_8015 }], warnings: [] };
              expect({
                name,
                url,
                action,
                identifierName,
                status: res.status,
                body: res.body,
              }).toStrictEqual({
                name,
                url,
                action,
                identifierName,
                status: 201,
                body: {
                  response: mine.map(() => item),
                  totalCount: mine.length,
                  failureCount: mine.length,
                },
              });
            }
          }
        }
      }
    });

    it("gives B's credentials 8015 for A's customers on the single issue and on the lookup", async () => {
      for (const { name, headers } of bCredentials) {
        for (const [identifierName, value] of spellings()) {
          for (const source of ['INSTORE', 'ALL']) {
            const q = new URLSearchParams({ identifierName, identifierValue: String(value), source });
            const issue = await call(t.app, {
              url: `${ISSUE_URL}?${q}`,
              headers,
              body: { programId: b.programId, promotionId: b.promotions.direct },
            });
            expect({ name, identifierName, value, status: issue.status, body: issue.body }).toStrictEqual({
              name,
              identifierName,
              value,
              status: 400,
              body: {
                warnings: [],
                // The issue pages' refusal has no sideEffects.
                errors: [{ status: false, code: 8015, message: MSG_8015 }],
              },
            });
            const lookup = await call(t.app, {
              url: lookupUrl(identifierName, String(value), source),
              headers,
            });
            expect({ name, identifierName, value, status: lookup.status, body: lookup.body }).toStrictEqual({
              name,
              identifierName,
              value,
              status: 400,
              // The promotionData page's refusal: its errors alone.
              body: { errors: [{ status: false, code: 8015, message: MSG_8015 }] },
            });
          }
        }
      }
    });

    it('finds the same spellings for A’s own credentials (the control)', async () => {
      const values = spellings();
      const aToken = await tokenFor(t, await newClient(t, a.orgId, 'READ'));
      for (const headers of [basic(a.auth.read), capToken(aToken)]) {
        for (const [identifierName, value] of values) {
          const res = await call(t.app, { url: lookupUrl(identifierName, String(value), 'ALL'), headers });
          expect(res.status, `${identifierName} ${value}: ${JSON.stringify(res.body)}`).toBe(200);
          expect(aIds).toContain(res.body.customerId);
        }
      }
      for (const identifierName of ['id', 'mobile', 'email']) {
        const mine = values.filter(([n]) => n === identifierName).map(([, v]) => v);
        const res = await t.v2(
          BULK_URL,
          requestFor(
            'ENROL',
            String(a.programId),
            { promotionId: a.promotions.enrolAndIssue },
            identifierName,
            mine,
          ),
          a.auth.write,
        );
        // Already enrolled: a success item with the 8890 warning, for every spelling.
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.failureCount).toBe(0);
        for (const item of res.body.response) expect(item.warnings[0].code).toBe(8890);
      }
    });

    it("leaves A's records as they were and writes nothing for B about A's customers", async () => {
      expect(await snapshot()).toStrictEqual(before);
      const db = t.testStore.store.db;
      const foreignIssuals = await db
        .selectFrom('issuals')
        .select(['org_id', 'customer_id'])
        .where('customer_id', 'in', aIds)
        .where('org_id', '!=', a.orgId)
        .execute();
      expect(foreignIssuals).toStrictEqual([]);
      const revoked = await db
        .selectFrom('issuals')
        .select('id')
        .where('customer_id', 'in', aIds)
        .where('revoked_at', 'is not', null)
        .execute();
      expect(revoked).toStrictEqual([]);
      const revokedEarns = await db
        .selectFrom('earns')
        .select('id')
        .where('customer_id', 'in', aIds)
        .where('revoked_at', 'is not', null)
        .execute();
      expect(revokedEarns).toStrictEqual([]);
      // Every record of A was made by one of A's own credentials.
      const aCredentials = [
        ...(await db.selectFrom('issuals').select('created_by').where('org_id', '=', a.orgId).execute()),
        ...(await db.selectFrom('earns').select('created_by').where('org_id', '=', a.orgId).execute()),
      ];
      expect(aCredentials.length).toBeGreaterThan(0);
      const aTills = await db.selectFrom('tills').select('username').where('org_id', '=', a.orgId).execute();
      const aClients = await db
        .selectFrom('api_clients')
        .select('client_key')
        .where('org_id', '=', a.orgId)
        .execute();
      const own = new Set([
        ...aTills.map((r) => `till:${r.username}`),
        ...aClients.map((r) => `client:${r.client_key}`),
      ]);
      for (const row of aCredentials) expect(own.has(row.created_by), row.created_by).toBe(true);
    });

    it("does not replay A's answer to B for the same Idempotency-Key", async () => {
      const key = unique('idem');
      const body = bulk('ENROL', a.programId, { promotionId: a.promotions.enrolAndIssue }, [aIds[0]]);
      const first = await call(t.app, {
        url: BULK_URL,
        headers: { authorization: a.auth.write, 'idempotency-key': key },
        body,
      });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body.response[0].result.entityId).toBe(aIds[0]);
      for (const { name, headers } of bCredentials) {
        const res = await call(t.app, {
          url: BULK_URL,
          headers: { ...headers, 'idempotency-key': key },
          body,
        });
        expect({ name, status: res.status, code: res.body.response?.[0]?.errors?.[0]?.code }).toStrictEqual({
          name,
          status: 400,
          code: 1101,
        });
        expect(JSON.stringify(res.body)).not.toContain(String(aIds[0]));
      }
    });

    it('refuses a token naming an org that does not exist, or an org id that is not a number', async () => {
      const token = await tokenFor(t, await newClient(t, a.orgId, 'WRITE'));
      const [header, , signature] = token.split('.');
      const claims = decodeJwt(token);
      const url = lookupUrl('id', a.customers[0]?.id as number);
      for (const orgId of [987_654_321_012, 0, -1, String(a.orgId), null, 1.5]) {
        const forged = `${header}.${b64url({ ...claims, org_id: orgId })}.${signature}`;
        expectStatus(await call(t.app, { url, headers: capToken(forged) }), 401, AUTH_FAILED);
        const resigned = await signHs256({ ...claims, org_id: orgId }, randomBytes(32));
        expectStatus(await call(t.app, { url, headers: capToken(resigned) }), 401, AUTH_FAILED);
      }
    });

    it('authenticates a till with the same password in two orgs to its own org only', async () => {
      const password = unique('shared-password');
      const tillA = await newTill(t, a.orgId, 'WRITE', password);
      const tillB = await newTill(t, b.orgId, 'WRITE', password);
      const idA = a.customers[0]?.id as number;
      const idB = b.customers[0]?.id as number;
      expectLookupOf(await call(t.app, { url: lookupUrl('id', idA), headers: basic(tillA.auth) }), idA);
      expectLookupOf(await call(t.app, { url: lookupUrl('id', idB), headers: basic(tillB.auth) }), idB);
      // promotionData's page refuses with its errors alone.
      expectStatus(await call(t.app, { url: lookupUrl('id', idB), headers: basic(tillA.auth) }), 400, {
        errors: [{ status: false, code: 8015, message: MSG_8015 }],
      });
      expectStatus(await call(t.app, { url: lookupUrl('id', idA), headers: basic(tillB.auth) }), 400, {
        errors: [{ status: false, code: 8015, message: MSG_8015 }],
      });
      const intoB = await t.v2(
        BULK_URL,
        bulk('ENROL', b.programId, { promotionId: b.promotions.enrolAndIssue }, [idB]),
        tillA.auth,
      );
      expect(intoB.status).toBe(400);
      expect(intoB.body.response[0].errors[0].code).toBe(1101);
      // Each username names one org: B cannot take A's till username.
      const clash = await t.admin('POST', `/admin/v1/orgs/${b.orgId}/tills`, {
        username: tillA.username,
        password,
        customerAccess: 'WRITE',
      });
      expect(clash.status).toBe(409);
      expectLookupOf(await call(t.app, { url: lookupUrl('id', idA), headers: basic(tillA.auth) }), idA);
    });

    it("finds B's own customer when B holds the same mobile and email as one of A's", async () => {
      const twin = a.customers[1] as StandardOrg['customers'][number];
      const made = await t.admin('POST', `/admin/v1/orgs/${b.orgId}/customers`, {
        customers: [{ mobile: twin.mobile, email: twin.email, programIds: [b.programId] }],
      });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const bTwin = made.body.customers[0].id as number;
      expect(bTwin).not.toBe(twin.id);
      for (const [identifierName, value] of [
        ['mobile', twin.mobile],
        ['email', twin.email],
      ] as const) {
        expectLookupOf(
          await call(t.app, { url: lookupUrl(identifierName, value), headers: basic(b.auth.read) }),
          bTwin,
        );
        expectLookupOf(
          await call(t.app, { url: lookupUrl(identifierName, value), headers: basic(a.auth.read) }),
          twin.id,
        );
      }
      const enrol = await t.v2(
        BULK_URL,
        requestFor('ENROL', b.programId, { promotionId: b.promotions.enrolAndIssue }, 'mobile', [
          twin.mobile,
        ]),
        b.auth.write,
      );
      expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
      expect(enrol.body.response[0].result.entityId).toBe(bTwin);
    });
  });
});
