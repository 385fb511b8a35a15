import { beforeAll, expect, it } from 'vitest';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';

describeEachStore('smoke', (t) => {
  let org: StandardOrg;
  beforeAll(async () => {
    org = await seedStandardOrg(t);
  });

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
      bulkBody('EARN', org.programId, { promotionId: org.promotions.enrolAndIssue }, 'id', [[id, 'INSTORE']]),
      org.auth.write,
    );
    expect(earn.status).toBe(200);
    expect(earn.body.response[0].result.issualId).toBe(enrol.body.response[0].result.issualId);
    expect(earn.body.response[0].result.earnedId).toMatch(/^\d+$/);
  });
});
