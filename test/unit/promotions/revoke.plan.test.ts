import { describe, expect, it } from 'vitest';
import { planRevoke } from '../../../src/promotions/revoke.plan.js';
import { customer, enrolled, promotion, states, success } from './fixtures.js';

const earns = [
  { id: 801, issualId: 40, customerId: 1 },
  { id: 802, issualId: 40, customerId: 1 },
  { id: 803, issualId: 41, customerId: 2 },
];
const codes = (plan: ReturnType<typeof planRevoke>) => plan.items.map((i) => i.errors.map((e) => e.code));

describe('planRevoke: REVOKE_ENROL', () => {
  it('revokes the active issual of a customer without active earns, naming it as a string and a number', () => {
    const plan = planRevoke('REVOKE_ENROL', promotion(), [customer(1)], enrolled(), []);
    expect(plan.issualIds).toEqual([40]);
    expect(plan.earnIds).toEqual([]);
    expect(plan.items).toEqual([success(1, { issualId: '40', revokedIssualId: 40 })]);
  });

  it('refuses a customer whose earns are still active with 8905, revoking nothing of theirs', () => {
    const plan = planRevoke('REVOKE_ENROL', promotion(), [customer(1), customer(2)], enrolled(true), [
      earns[0] as (typeof earns)[number],
    ]);
    expect(codes(plan)).toEqual([[8905], []]);
    expect(plan.issualIds).toEqual([41]);
    expect(plan.earnIds).toEqual([]);
  });

  it('fails a customer with no active issual with 2305, and a repeat in the same request too', () => {
    const plan = planRevoke(
      'REVOKE_ENROL',
      promotion(),
      [customer(2), customer(1), customer(1)],
      enrolled(),
      [],
    );
    expect(codes(plan)).toEqual([[2305], [], [2305]]);
    expect(plan.issualIds).toEqual([40]);
  });

  it('passes the errors found while resolving customers through', () => {
    const plan = planRevoke('REVOKE_ENROL', promotion(), [8015, 11013], states(), []);
    expect(codes(plan)).toEqual([[8015], [11013]]);
    expect(plan.issualIds).toEqual([]);
  });
});

describe('planRevoke: REVOKE_EARN', () => {
  it('without earnIds revokes every active earn, answered as numbers and without an issualId', () => {
    const plan = planRevoke('REVOKE_EARN', promotion(), [customer(1)], enrolled(), earns);
    expect(plan.issualIds).toEqual([]);
    expect(plan.earnIds).toEqual([801, 802]);
    expect(plan.items).toEqual([success(1, { revokedEarnIds: [801, 802] })]);
  });

  it('with earnIds revokes just those; a repeat of them in the same request fails with 8903', () => {
    const who = { ...customer(1), earnIds: [802] };
    const plan = planRevoke('REVOKE_EARN', promotion(), [who, who], enrolled(), earns);
    expect(plan.earnIds).toEqual([802]);
    expect(plan.items[0]?.result?.revokedEarnIds).toEqual([802]);
    expect(codes(plan)[1]).toEqual([8903]);
  });

  it("fails earnIds that are malformed or not the customer's active earns with 8903", () => {
    const customers = [
      { ...customer(1), earnIds: 'invalid' as const },
      { ...customer(1), earnIds: [803] },
    ];
    const plan = planRevoke('REVOKE_EARN', promotion(), customers, enrolled(true), earns);
    expect(codes(plan)).toEqual([[8903], [8903]]);
    expect(plan.earnIds).toEqual([]);
  });

  it('fails a customer with no active earn with 2305, and one whose earns an earlier item revoked', () => {
    const plan = planRevoke(
      'REVOKE_EARN',
      promotion({ type: 'DIRECT' }),
      [customer(3), customer(2), customer(2)],
      states(),
      earns,
    );
    expect(codes(plan)).toEqual([[2305], [], [2305]]);
    expect(plan.earnIds).toEqual([803]);
  });

  it('names the promotion as the request did when asked to: by promoIdentifier only, or by id only', () => {
    const byIdentifier = planRevoke('REVOKE_EARN', promotion(), [customer(1)], enrolled(), earns, {
      promotionId: false,
      promoIdentifier: true,
    });
    expect(byIdentifier.items[0]?.result).toEqual({
      entityType: 'CUSTOMER',
      entityId: 1,
      promoIdentifier: 'SPRING',
      programId: 5,
      revokedEarnIds: [801, 802],
    });
    const byId = planRevoke('REVOKE_ENROL', promotion(), [customer(1)], enrolled(), [], {
      promotionId: true,
      promoIdentifier: false,
    });
    expect(byId.items[0]?.result).toEqual({
      entityType: 'CUSTOMER',
      entityId: 1,
      promotionId: 70,
      programId: 5,
      issualId: '40',
      revokedIssualId: 40,
    });
  });
});
