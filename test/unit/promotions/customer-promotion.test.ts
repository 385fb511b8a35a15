import { describe, expect, it } from 'vitest';
import { inStatus, toCustomerPromotion } from '../../../src/promotions/customer-promotions.service.js';
import { promotion } from './fixtures.js';

const NOW = Date.parse('2026-06-01T10:00:00.000Z');
const none = { issuals: 0, earns: 0, enrolled: false };

describe('inStatus: promotionStatusForCustomer', () => {
  it('AVAILABLE_TO_ENROL: a live enrol-and-issue promotion, not enrolled, with issual room', () => {
    expect(inStatus('AVAILABLE_TO_ENROL', promotion(), none, NOW)).toBe(true);
    expect(inStatus('AVAILABLE_TO_ENROL', promotion(), { ...none, issuals: 1, enrolled: true }, NOW)).toBe(
      false,
    );
    expect(
      inStatus('AVAILABLE_TO_ENROL', promotion({ maxIssualsPerCustomer: 1 }), { ...none, issuals: 1 }, NOW),
    ).toBe(false);
    expect(inStatus('AVAILABLE_TO_ENROL', promotion({ type: 'DIRECT' }), none, NOW)).toBe(false);
  });

  it('AVAILABLE_TO_EARN: enrolled, or DIRECT with issual room; never past the earn limit or on GENERIC', () => {
    expect(inStatus('AVAILABLE_TO_EARN', promotion(), none, NOW)).toBe(false);
    expect(inStatus('AVAILABLE_TO_EARN', promotion(), { ...none, enrolled: true }, NOW)).toBe(true);
    expect(inStatus('AVAILABLE_TO_EARN', promotion({ type: 'DIRECT' }), none, NOW)).toBe(true);
    const limited = promotion({ maxEarnsPerCustomer: 1 });
    expect(inStatus('AVAILABLE_TO_EARN', limited, { issuals: 1, earns: 1, enrolled: true }, NOW)).toBe(false);
    expect(inStatus('AVAILABLE_TO_EARN', promotion({ type: 'GENERIC' }), none, NOW)).toBe(false);
  });

  it('AVAILABLE_TO_REDEEM: a live GENERIC promotion, or one with an active earn; EXPIRED: past its end', () => {
    expect(inStatus('AVAILABLE_TO_REDEEM', promotion({ type: 'GENERIC' }), none, NOW)).toBe(true);
    expect(inStatus('AVAILABLE_TO_REDEEM', promotion(), { issuals: 1, earns: 1, enrolled: true }, NOW)).toBe(
      true,
    );
    expect(inStatus('AVAILABLE_TO_REDEEM', promotion(), none, NOW)).toBe(false);
    const ended = promotion({ type: 'GENERIC', endAt: NOW - 1 });
    expect(inStatus('EXPIRED', ended, none, NOW)).toBe(true);
    expect(inStatus('AVAILABLE_TO_REDEEM', ended, none, NOW)).toBe(false);
  });
});

describe('toCustomerPromotion: our records in the page’s fields', () => {
  const usage = {
    issuals: 2,
    earns: 1,
    active: [{ id: 40, createdAt: NOW, earns: [{ id: 801, createdAt: NOW }] }],
  };

  it('an enrolment as a timeline (enrollmentId our issualId, issuedDetails our earns), limits as strings', () => {
    const shown = toCustomerPromotion(
      promotion({ maxIssualsPerCustomer: 10, endAt: NOW + 1000 }),
      usage,
      false,
    );
    const end = new Date(NOW + 1000).toISOString();
    expect(shown).toMatchObject({
      promotionId: 70,
      promotionName: 'Spring',
      identifier: 'SPRING',
      pointsOfferType: 'LOYALTY_EARNING',
      customerUsage: { currentNumberOfTimesPerCustomer: 1 },
      promotionRestriction: {
        issualRestrictions: [
          { kpi: 'NUMBER_OF_ISSUALS', maxLimit: '10', currentCustomerUsage: '2', limitOn: 'CUSTOMER' },
        ],
        earnRestrictions: [],
        redemptionRestrictions: [],
      },
      customerPromotionTimelines: [
        {
          enrollmentDate: new Date(NOW).toISOString(),
          enrollmentExpiryDate: end,
          enrollmentId: 40,
          issuedDetails: [
            {
              issualId: 801,
              issualDate: new Date(NOW).toISOString(),
              issualExpiryDate: end,
              redeemedCount: 0,
            },
          ],
        },
      ],
    });
  });

  it('fetchAllUsage shows unset limits as "-1"; GENERIC has no restrictions and no timelines', () => {
    expect(toCustomerPromotion(promotion(), usage, true).promotionRestriction.earnRestrictions).toEqual([
      { kpi: 'NUMBER_OF_EARNS', maxLimit: '-1', currentCustomerUsage: '1', limitOn: 'CUSTOMER' },
    ]);
    const generic = toCustomerPromotion(promotion({ type: 'GENERIC', promoIdentifier: null }), usage, true);
    expect(generic.identifier).toBeNull();
    expect(generic.pointsOfferType).toBe('GENERIC');
    expect(generic.promotionRestriction.issualRestrictions).toEqual([]);
    expect(generic).not.toHaveProperty('customerPromotionTimelines');
  });
});
