import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from './helpers/fixtures.js';
import { STORES } from './helpers/stores.js';
import { startTestApp, type TestApp } from './helpers/test-app.js';

for (const kind of STORES) {
  describe(`smoke on ${kind}`, () => {
    let t: TestApp;
    let org: StandardOrg;
    beforeAll(async () => {
      t = await startTestApp(kind);
      org = await seedStandardOrg(t);
    });
    afterAll(() => t?.close());

    it('enrols then earns', async () => {
      const id = String(org.customers[0]?.id);
      const enrol = await t.v2(
        BULK_URL,
        bulkBody('ENROL', org.programId, { promotionId: org.promotions.enrolAndIssue }, 'id', [
          [id, 'INSTORE'],
        ]),
        org.auth.write,
      );
      expect(enrol.status).toBe(200);
      expect(enrol.body.response[0].result.issualId).toMatch(/^\d+$/);
      const earn = await t.v2(
        BULK_URL,
        bulkBody('EARN', org.programId, { promotionId: org.promotions.enrolAndIssue }, 'id', [
          [id, 'INSTORE'],
        ]),
        org.auth.write,
      );
      expect(earn.status).toBe(200);
      expect(earn.body.response[0].result.issualId).toBe(enrol.body.response[0].result.issualId);
      expect(earn.body.response[0].result.earnedId).toMatch(/^\d+$/);
    });
  });
}
