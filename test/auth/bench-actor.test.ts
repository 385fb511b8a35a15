import { expect, it } from 'vitest';
import { call, startAppOverStore } from '../helpers/auth-apps.js';
import { ACCESS_DENIED, AUTH_FAILED, expectStatus } from '../helpers/auth-cases.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, seedStandardOrg } from '../helpers/fixtures.js';
import { basicAuth, startTestApp, type TestApp } from '../helpers/test-app.js';

// The bench's server without authentication (bench/server-noauth.js) takes turns of calls without
// credentials and calls with them, so that the cost of authentication is measured on one server:
// only a call that carries no credentials may act as its fixed caller.
describeEachStoreKind('the bench caller for calls without credentials', (kind) => {
  it('acts for calls without credentials and authenticates every call that carries some', async () => {
    // The org is made first, then a second app over the same store whose fixed caller writes for it.
    const seeding = await startTestApp(kind);
    let t: TestApp | undefined;
    try {
      const a = await seedStandardOrg(seeding, 3);
      t = await startAppOverStore(seeding.testStore, kind, {
        unauthenticatedActor: {
          orgId: a.orgId,
          credential: 'bench',
          access: 'WRITE',
          rateLimitPerMinute: null,
        },
      });
      const enrol = (id: number) =>
        bulkBody('ENROL', a.programId, { promotionId: a.promotions.enrolAndIssue }, 'id', [
          [String(id), 'INSTORE'],
        ]);
      const ids = a.customers.map((c) => c.id);

      const bare = await call(t.app, { url: BULK_URL, body: enrol(ids[0] as number) });
      expect(bare.status, JSON.stringify(bare.body)).toBe(200);
      expect(bare.body.response[0].result.issualId).toMatch(/^\d+$/);

      // A till of the org with read access only is refused the write: it was authenticated as
      // itself, not let through as the fixed caller.
      const read = await call(t.app, {
        url: BULK_URL,
        headers: { authorization: a.auth.read },
        body: enrol(ids[1] as number),
      });
      expectStatus(read, 403, ACCESS_DENIED);
      const write = await call(t.app, {
        url: BULK_URL,
        headers: { authorization: a.auth.write },
        body: enrol(ids[1] as number),
      });
      expect(write.status, JSON.stringify(write.body)).toBe(200);

      // Credentials that fail are refused, whatever header carries them.
      const refused: Record<string, string>[] = [
        { authorization: basicAuth('no-such-till', 'x') },
        { authorization: 'Bearer not-a-token' },
        { 'x-cap-api-oauth-token': 'not-a-token' },
        { authorization: 'Digest whatever' },
      ];
      for (const headers of refused) {
        expectStatus(
          await call(t.app, { url: BULK_URL, headers, body: enrol(ids[2] as number) }),
          401,
          AUTH_FAILED,
        );
      }
    } finally {
      await t?.close();
      await seeding.close();
    }
  });
});
