import { describe, expect, it } from 'vitest';
import { newEvent } from '../../../src/events/event.model.js';
import { grantEvents, revokeEvents } from '../../../src/events/event.plan.js';
import { completeGrant, planGrant } from '../../../src/promotions/grant.plan.js';
import { planRevoke } from '../../../src/promotions/revoke.plan.js';
import { customer, enrolled, promotion, states } from '../promotions/fixtures.js';

const stamp = { orgId: 3, at: 0, by: 'till:t', requestId: 'r-1' };
const data = (customerId: number, issualId: string, extra: Record<string, string> = {}) => ({
  programId: 5,
  promotionId: 70,
  promoIdentifier: 'SPRING',
  customerId,
  issualId,
  source: 'INSTORE',
  requestId: 'r-1',
  credential: 'till:t',
  ...extra,
});

describe('the events of a request', () => {
  it('are one per issual and earn made, issuals first, none for a refused or warned customer', () => {
    const direct = promotion({ type: 'DIRECT', maxEarnsPerCustomer: 1 });
    const plan = planGrant('EARN', direct, [customer(1), 8015, customer(2), customer(2)], states());
    const { issuals, earns } = completeGrant(plan, direct, { issuals: [10, 11], earns: [20, 21] });
    const withJson = (type: string, d: ReturnType<typeof data>) => ({ type, json: JSON.stringify(d) });
    expect(grantEvents(direct, stamp, issuals, earns)).toStrictEqual([
      withJson('promotion.enrolled', data(1, '10')),
      withJson('promotion.enrolled', data(2, '11')),
      withJson('promotion.earned', data(1, '10', { earnedId: '20' })),
      withJson('promotion.earned', data(2, '11', { earnedId: '21' })),
    ]);
  });

  it('carry their data as JSON text exactly as JSON.stringify writes it, whatever the strings hold', () => {
    const odd = [
      '"quoted"',
      'back\\slash',
      'line\nfeed\ttab',
      '\u0001\u001f',
      'ünïcødé 😀',
      '\u2028',
      '\ud800 (a lone surrogate)',
      '</script>',
      '',
    ];
    for (const text of odd) {
      for (const promoIdentifier of [text, null]) {
        const direct = promotion({ type: 'DIRECT', promoIdentifier, maxEarnsPerCustomer: null });
        const plan = planGrant('EARN', direct, [customer(1, text), customer(2)], states());
        const { issuals, earns } = completeGrant(plan, direct, {
          issuals: [10, 11],
          earns: [20, 2 ** 53 - 1],
        });
        const events = grantEvents(direct, { ...stamp, by: text, requestId: text }, issuals, earns);
        // The fields of docs/events.md, in their order, as JSON.stringify writes them.
        const expected = (customerId: number, issualId: string, source: string, earnedId?: string) => ({
          programId: 5,
          promotionId: 70,
          ...(promoIdentifier !== null ? { promoIdentifier } : {}),
          customerId,
          issualId,
          source,
          requestId: text,
          credential: text,
          ...(earnedId !== undefined ? { earnedId } : {}),
        });
        expect(events.map((e) => e.json)).toStrictEqual(
          [
            expected(1, '10', text),
            expected(2, '11', 'INSTORE'),
            expected(1, '10', text, '20'),
            expected(2, '11', 'INSTORE', String(2 ** 53 - 1)),
          ].map((d) => JSON.stringify(d)),
        );
      }
    }
  });

  it('leave out promoIdentifier when the promotion has none', () => {
    const plain = promotion({ promoIdentifier: null });
    const { issuals, earns } = completeGrant(planGrant('ENROL', plain, [customer(1)], states()), plain, {
      issuals: [10],
      earns: [],
    });
    const [event] = grantEvents(plain, stamp, issuals, earns);
    expect(JSON.parse(event?.json ?? '{}')).not.toHaveProperty('promoIdentifier');
  });

  it('of a revoke are one per issual and earn revoked, with the source the revoking request gave', () => {
    const earns = [
      { id: 30, issualId: 40, customerId: 1 },
      { id: 31, issualId: 40, customerId: 1 },
    ];
    const customers = [customer(1, 'WEBSITE'), 8015 as const, customer(1, 'WEBSITE')];
    const website = { source: 'WEBSITE' };
    // The revoke pages: earns are revoked before the enrolment (8905 while any is active), so the
    // events of unenrolling a customer who earned come from two requests.
    const refused = planRevoke('REVOKE_ENROL', promotion(), customers, enrolled(), earns);
    expect(revokeEvents(promotion(), stamp, customers, refused.items, earns)).toStrictEqual([]);
    const all = planRevoke('REVOKE_EARN', promotion(), customers, enrolled(), earns);
    expect(revokeEvents(promotion(), stamp, customers, all.items, earns)).toStrictEqual([
      newEvent('promotion.earn_revoked', { ...data(1, '40', { earnedId: '30' }), ...website }),
      newEvent('promotion.earn_revoked', { ...data(1, '40', { earnedId: '31' }), ...website }),
    ]);
    const plan = planRevoke('REVOKE_ENROL', promotion(), customers, enrolled(), []);
    expect(revokeEvents(promotion(), stamp, customers, plan.items, [])).toStrictEqual([
      newEvent('promotion.enrolment_revoked', { ...data(1, '40'), ...website }),
    ]);
    const one = planRevoke(
      'REVOKE_EARN',
      promotion(),
      [{ ...customer(1), earnIds: [31] }],
      enrolled(),
      earns,
    );
    expect(revokeEvents(promotion(), stamp, [customer(1)], one.items, earns)).toStrictEqual([
      newEvent('promotion.earn_revoked', data(1, '40', { earnedId: '31' })),
    ]);
  });
});
