import { describe, expect, it } from 'vitest';
import { completeGrant, planGrant } from '../../../src/promotions/grant.plan.js';
import { customer, promotion, states, success } from './fixtures.js';

const ids = { issuals: [901, 902, 903], earns: [801, 802, 803] };

describe('planGrant: ENROL', () => {
  it('enrols a customer with no active issual: one new issual, its id in the answer', () => {
    const plan = planGrant('ENROL', promotion(), [customer(1, 'WEB_ENGAGE')], states());
    const done = completeGrant(plan, promotion(), ids);
    expect(done.issuals).toEqual([{ id: 901, promotionId: 70, customerId: 1, source: 'WEB_ENGAGE' }]);
    expect(done.earns).toEqual([]);
    expect(done.items).toEqual([success(1, { issualId: '901' })]);
  });

  it('answers an enrolled customer with the active issual and warning 8890, writing nothing', () => {
    const plan = planGrant('ENROL', promotion(), [customer(1)], states({ 1: { activeIssualId: 40 } }));
    const done = completeGrant(plan, promotion(), ids);
    expect(done.issuals).toEqual([]);
    expect(done.items[0]?.result?.issualId).toBe('40');
    expect(done.items[0]?.errors).toEqual([]);
    expect(done.items[0]?.warnings).toEqual([
      { status: false, code: 8890, message: 'Customer is already enrolled' },
    ]);
  });

  it('at the issual limit succeeds without ids and warns 8890 (not a failure)', () => {
    const limited = promotion({ maxIssualsPerCustomer: 1 });
    const plan = planGrant('ENROL', limited, [customer(1)], states({ 1: { totalIssuals: 1 } }));
    const done = completeGrant(plan, limited, ids);
    expect(done.issuals).toEqual([]);
    expect(done.items[0]?.result).toEqual(success(1).result);
    expect(done.items[0]?.errors).toEqual([]);
    expect(done.items[0]?.warnings.map((w) => w.code)).toEqual([8890]);
    expect(done.items[0]?.warnings[0]?.message).toMatch(/maximum number of enrolments/);
  });

  it('a customer named twice is enrolled once: the second sees the first issual', () => {
    const plan = planGrant('ENROL', promotion(), [customer(1), customer(1)], states());
    const done = completeGrant(plan, promotion(), ids);
    expect(done.issuals.map((i) => i.id)).toEqual([901]);
    expect(done.items.map((i) => i.result?.issualId)).toEqual(['901', '901']);
    expect(done.items.map((i) => i.warnings.map((w) => w.code))).toEqual([[], [8890]]);
  });

  it('passes the errors found while resolving customers through, in request order', () => {
    const plan = planGrant('ENROL', promotion(), [11013, customer(2), 8003, 8015], states());
    const done = completeGrant(plan, promotion(), ids);
    expect(done.items.map((i) => i.errors.map((e) => e.code))).toEqual([[11013], [], [8003], [8015]]);
    expect(done.items.filter((i) => i.errors.length > 0).every((i) => i.result === undefined)).toBe(true);
    expect(done.issuals.map((i) => i.customerId)).toEqual([2]);
  });

  it('leaves out promoIdentifier when the promotion has none', () => {
    const bare = promotion({ promoIdentifier: null });
    const done = completeGrant(planGrant('ENROL', bare, [customer(1)], states()), bare, ids);
    expect(done.items[0]?.result).not.toHaveProperty('promoIdentifier');
  });
});

describe('planGrant: EARN', () => {
  it('on ENROL_AND_ISSUE with no active issual fails the customer with 8896', () => {
    const plan = planGrant('EARN', promotion(), [customer(1)], states());
    const done = completeGrant(plan, promotion(), ids);
    expect(done.items[0]?.errors.map((e) => e.code)).toEqual([8896]);
    expect(done.items[0]?.result).toBeUndefined();
    expect(done.earns).toEqual([]);
  });

  it('earns against the active issual', () => {
    const plan = planGrant(
      'EARN',
      promotion(),
      [customer(1)],
      states({ 1: { activeIssualId: 40, totalIssuals: 1 } }),
    );
    const done = completeGrant(plan, promotion(), ids);
    expect(done.issuals).toEqual([]);
    expect(done.earns).toEqual([
      { id: 801, promotionId: 70, customerId: 1, source: 'INSTORE', issualId: 40 },
    ]);
    expect(done.items[0]?.result).toMatchObject({ issualId: '40', earnedId: '801' });
    expect(done.items[0]?.warnings).toEqual([]);
  });

  it('at the earn limit succeeds with the issual id and no earned id, warning 8890', () => {
    const limited = promotion({ maxEarnsPerCustomer: 2 });
    const stored = states({ 1: { activeIssualId: 40, totalIssuals: 1, activeEarns: 2 } });
    const done = completeGrant(planGrant('EARN', limited, [customer(1)], stored), limited, ids);
    expect(done.earns).toEqual([]);
    expect(done.items[0]?.result?.issualId).toBe('40');
    expect(done.items[0]?.result).not.toHaveProperty('earnedId');
    expect(done.items[0]?.errors).toEqual([]);
    expect(done.items[0]?.warnings.map((w) => w.code)).toEqual([8890]);
    expect(done.items[0]?.warnings[0]?.message).toMatch(/maximum number of earns/);
  });

  it('on DIRECT enrols implicitly first: a new issual and an earn on it', () => {
    const direct = promotion({ type: 'DIRECT' });
    const done = completeGrant(planGrant('EARN', direct, [customer(1)], states()), direct, ids);
    expect(done.issuals).toEqual([{ id: 901, promotionId: 70, customerId: 1, source: 'INSTORE' }]);
    expect(done.earns).toEqual([
      { id: 801, promotionId: 70, customerId: 1, source: 'INSTORE', issualId: 901 },
    ]);
    expect(done.items[0]?.result).toMatchObject({ issualId: '901', earnedId: '801' });
  });

  it('on DIRECT at the issual limit with no active issual succeeds without ids, warning 8890', () => {
    const direct = promotion({ type: 'DIRECT', maxIssualsPerCustomer: 1 });
    const stored = states({ 1: { totalIssuals: 1 } });
    const done = completeGrant(planGrant('EARN', direct, [customer(1)], stored), direct, ids);
    expect(done.issuals).toEqual([]);
    expect(done.earns).toEqual([]);
    expect(done.items[0]?.result).not.toHaveProperty('issualId');
    expect(done.items[0]?.warnings[0]?.message).toMatch(/maximum number of enrolments/);
  });

  it('a customer named three times on DIRECT: one implicit issual, earns up to the limit', () => {
    const direct = promotion({ type: 'DIRECT', maxEarnsPerCustomer: 2 });
    const plan = planGrant('EARN', direct, [customer(1), customer(1), customer(1)], states());
    const done = completeGrant(plan, direct, ids);
    expect(done.issuals.map((i) => i.id)).toEqual([901]);
    expect(done.earns.map((e) => [e.id, e.issualId])).toEqual([
      [801, 901],
      [802, 901],
    ]);
    expect(done.items.map((i) => [i.result?.issualId, i.result?.earnedId, i.warnings.length])).toEqual([
      ['901', '801', 0],
      ['901', '802', 0],
      ['901', undefined, 1],
    ]);
  });

  it('counts the stored earns with the request earns against the limit, per customer', () => {
    const limited = promotion({ maxEarnsPerCustomer: 1 });
    const stored = states({
      1: { activeIssualId: 40, activeEarns: 0 },
      2: { activeIssualId: 41, activeEarns: 1 },
    });
    const done = completeGrant(
      planGrant('EARN', limited, [customer(1), customer(2), customer(1)], stored),
      limited,
      ids,
    );
    expect(done.earns.map((e) => e.customerId)).toEqual([1]);
    expect(done.items.map((i) => i.result?.earnedId)).toEqual(['801', undefined, undefined]);
  });
});

describe('planGrant with the pages of directEarn and issue (pageLimits, results named as requested)', () => {
  const page = 'promotion not issued due to config issues or customer exhausted limits';

  it('at the earn limit succeeds without any id, warning 8890 in the page’s words', () => {
    const direct = promotion({ type: 'DIRECT', maxEarnsPerCustomer: 1 });
    const stored = states({ 1: { activeIssualId: 40, totalIssuals: 1, activeEarns: 1 } });
    const plan = planGrant('EARN', direct, [customer(1)], stored, { pageLimits: true });
    const done = completeGrant(plan, direct, ids);
    expect(done.earns).toEqual([]);
    expect(done.items).toEqual([{ ...success(1), warnings: [{ status: false, code: 8890, message: page }] }]);
  });

  it('at the issual limit likewise, in the page’s words', () => {
    const direct = promotion({ type: 'DIRECT', maxIssualsPerCustomer: 1 });
    const plan = planGrant('EARN', direct, [customer(1)], states({ 1: { totalIssuals: 1 } }), {
      pageLimits: true,
    });
    const done = completeGrant(plan, direct, ids);
    expect(done.items[0]?.result).not.toHaveProperty('issualId');
    expect(done.items[0]?.warnings).toEqual([{ status: false, code: 8890, message: page }]);
  });

  it('names the promotion by promoIdentifier alone when the request did', () => {
    const direct = promotion({ type: 'DIRECT' });
    const done = completeGrant(planGrant('EARN', direct, [customer(1)], states()), direct, ids, {
      promotionId: false,
      promoIdentifier: true,
    });
    expect(done.items[0]?.result).toEqual({
      entityType: 'CUSTOMER',
      entityId: 1,
      promoIdentifier: 'SPRING',
      programId: 5,
      issualId: '901',
      earnedId: '801',
    });
  });

  it('names it by promotionId alone when the request did, though the promotion has an identifier', () => {
    const done = completeGrant(planGrant('ENROL', promotion(), [customer(1)], states()), promotion(), ids, {
      promotionId: true,
      promoIdentifier: false,
    });
    expect(done.items[0]?.result).toEqual({
      entityType: 'CUSTOMER',
      entityId: 1,
      promotionId: 70,
      programId: 5,
      issualId: '901',
    });
  });
});
