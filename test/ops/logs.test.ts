import { beforeAll, expect, it } from 'vitest';
import { startLoggedTestApp } from '../helpers/auth-apps.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import type { StoreKind } from '../helpers/stores.js';
import type { TestApp } from '../helpers/test-app.js';

/** An app logging at trace level into `log.lines`, made anew for each store. */
function logged() {
  const log = { lines: [] as string[] };
  const start = async (kind: StoreKind): Promise<TestApp> => {
    const started = await startLoggedTestApp(kind);
    log.lines = started.lines;
    return started.t;
  };
  return { log, start };
}

describeEachStore('request logs and request ids', logged, (t, _kind, { log }) => {
  let org: StandardOrg;
  beforeAll(async () => {
    org = await seedStandardOrg(t);
  });

  const post = async (url: string, body: unknown, requestId?: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: {
        authorization: org.auth.write,
        'content-type': 'application/json',
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      payload: JSON.stringify(body),
    });
    return { status: res.statusCode, body: res.json(), requestId: String(res.headers['x-request-id']) };
  };
  const logOf = (requestId: string) =>
    log.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === requestId);

  it('writes JSON lines that carry the request id, and the credential and org once authenticated', async () => {
    const id = String(org.customers[0]?.id);
    const res = await post(
      BULK_URL,
      bulkBody('ENROL', org.programId, { promotionId: org.promotions.enrolAndIssue }, 'id', [
        [id, 'INSTORE'],
      ]),
      'logs-req-1',
    );
    expect(res.status).toBe(200);
    expect(res.requestId).toBe('logs-req-1');
    const log = logOf('logs-req-1');
    expect(log.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    for (const line of log) {
      expect(typeof line.level).toBe('number');
      expect(typeof line.time).toBe('number');
    }
    const completed = log.find((l) => l.msg === 'request completed');
    expect(completed?.orgId).toBe(org.orgId);
    expect(String(completed?.credential)).toMatch(/^till:till-write-/);
    // The credential's name, never what proves it.
    expect(JSON.stringify(log)).not.toContain(org.auth.write.slice('Basic '.length));
  });

  it('makes a request id when none (or an unusable one) is sent', async () => {
    const body = bulkBody('EARN', org.programId, { promotionId: org.promotions.direct }, 'id', [
      [String(org.customers[1]?.id), 'INSTORE'],
    ]);
    const made = await post(BULK_URL, body);
    expect(made.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logOf(made.requestId).length).toBeGreaterThan(0);
    const unusable = await post(BULK_URL, body, 'no spaces allowed');
    expect(unusable.requestId).not.toBe('no spaces allowed');
  });

  it('marks management calls as the admin, without the token', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/admin/v1/orgs/${org.orgId}/tills`,
      headers: {
        authorization: `Bearer ${'test-admin-token-0123456789abcdef0123456789'}`,
        'x-request-id': 'logs-admin-1',
      },
    });
    expect(res.statusCode).toBe(200);
    const completed = logOf('logs-admin-1').find((l) => l.msg === 'request completed');
    expect(completed?.credential).toBe('admin');
    expect(JSON.stringify(logOf('logs-admin-1'))).not.toContain('test-admin-token');
  });

  it('stores the request id on every issual and earn', async () => {
    const db = t.testStore.store.db;
    const [a, b] = [String(org.customers[2]?.id), String(org.customers[3]?.id)];
    const promotion = { promotionId: org.promotions.enrolAndIssue };
    const enrol = await post(
      BULK_URL,
      bulkBody('ENROL', org.programId, promotion, 'id', [[a, 'INSTORE']]),
      'logs-enrol',
    );
    const earn = await post(
      BULK_URL,
      bulkBody('EARN', org.programId, promotion, 'id', [[a, 'INSTORE']]),
      'logs-earn',
    );
    // A direct earn makes its issual in the same request: both carry that request's id.
    const issue = await post(
      `/v2/promotion/issue?identifierName=id&identifierValue=${b}&source=INSTORE`,
      { programId: org.programId, promotionId: org.promotions.direct },
      'logs-issue',
    );
    const issualOf = async (id: string) =>
      (
        await db
          .selectFrom('issuals')
          .select('request_id')
          .where('id', '=', Number(id))
          .executeTakeFirstOrThrow()
      ).request_id;
    const earnOf = async (id: string) =>
      (
        await db
          .selectFrom('earns')
          .select('request_id')
          .where('id', '=', Number(id))
          .executeTakeFirstOrThrow()
      ).request_id;
    expect(await issualOf(enrol.body.response[0].result.issualId)).toBe('logs-enrol');
    expect(await earnOf(earn.body.response[0].result.earnedId)).toBe('logs-earn');
    expect(await issualOf(earn.body.response[0].result.issualId)).toBe('logs-enrol');
    const effect = issue.body.sideEffects[0];
    expect(await issualOf(effect.issualId)).toBe('logs-issue');
    expect(await earnOf(effect.earnedId)).toBe('logs-issue');
    // And a generated id is stored as it was answered.
    const generated = await post(
      BULK_URL,
      bulkBody('ENROL', org.programId, promotion, 'id', [[b, 'INSTORE']]),
    );
    expect(await issualOf(generated.body.response[0].result.issualId)).toBe(generated.requestId);
  });
});
