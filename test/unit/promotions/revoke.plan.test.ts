import { describe, expect, it } from 'vitest';
import { planRevoke } from '../../../src/promotions/revoke.plan.js';
import { customer, enrolled, promotion, states, success } from './fixtures.js';

const earns = [
  { id: 801, issualId: 40, customerId: 1 },
  { id: 802, issualId: 40, customerId: 1 },
  { id: 803, issualId: 41, customerId: 2 },
];

describe('planRevoke: REVOKE_ENROL', () => {
  it('revokes the active issual and all its earns, and names them in the answer', () => {
    const plan = planRevoke('REVOKE_ENROL', promotion(), [customer(1)], enrolled(), earns);
    expect(plan.issualIds).toEqual([40]);
    expect(plan.earnIds).toEqual([801, 802]);
    expect(plan.items).toEqual([success(1, { revokedIssualId: '40', revokedEarnIds: ['801', '802'] })]);
  });

  it('fails a customer with no active issual with 8904, and a repeat in the same request too', () => {
    const stored = enrolled();
    const plan = planRevoke(
      'REVOKE_ENROL',
      promotion(),
      [customer(2), customer(1), customer(1)],
      stored,
      earns,
    );
    expect(plan.items.map((i) => i.errors.map((e) => e.code))).toEqual([[8904], [], [8904]]);
    expect(plan.issualIds).toEqual([40]);
    expect(plan.earnIds).toEqual([801, 802]);
  });

  it('passes the errors found while resolving customers through', () => {
    const plan = planRevoke('REVOKE_ENROL', promotion(), [8015, 11013], states(), []);
    expect(plan.items.map((i) => i.errors.map((e) => e.code))).toEqual([[8015], [11013]]);
    expect(plan.issualIds).toEqual([]);
  });
});

describe('planRevoke: REVOKE_EARN', () => {
  it('without earnIds revokes every active earn and names the active issual', () => {
    const plan = planRevoke('REVOKE_EARN', promotion(), [customer(1)], enrolled(), earns);
    expect(plan.issualIds).toEqual([]);
    expect(plan.earnIds).toEqual([801, 802]);
    expect(plan.items[0]?.result).toMatchObject({ issualId: '40', revokedEarnIds: ['801', '802'] });
  });

  it('with earnIds revokes just those; a repeat of them in the same request fails with 8903', () => {
    const who = { ...customer(1), earnIds: [802] };
    const plan = planRevoke('REVOKE_EARN', promotion(), [who, who], enrolled(), earns);
    expect(plan.earnIds).toEqual([802]);
    expect(plan.items[0]?.result?.revokedEarnIds).toEqual(['802']);
    expect(plan.items[1]?.errors.map((e) => e.code)).toEqual([8903]);
  });

  it("fails earnIds that are malformed or not the customer's active earns with 8903", () => {
    const stored = enrolled(true);
    const customers = [
      { ...customer(1), earnIds: 'invalid' as const },
      { ...customer(1), earnIds: [803] },
    ];
    const plan = planRevoke('REVOKE_EARN', promotion(), customers, stored, earns);
    expect(plan.items.map((i) => i.errors.map((e) => e.code))).toEqual([[8903], [8903]]);
    expect(plan.earnIds).toEqual([]);
  });

  it('with no active earns succeeds with an empty list, and without an issual id when none is active', () => {
    const plan = planRevoke('REVOKE_EARN', promotion({ type: 'DIRECT' }), [customer(3)], states(), earns);
    expect(plan.items[0]?.errors).toEqual([]);
    expect(plan.items[0]?.result?.revokedEarnIds).toEqual([]);
    expect(plan.items[0]?.result).not.toHaveProperty('issualId');
  });
});
