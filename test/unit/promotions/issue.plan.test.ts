import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { parseIssueRequest } from '../../../src/promotions/bulk-request.js';
import { issueAnswer } from '../../../src/promotions/issue.plan.js';

const QUERY = { identifierName: 'mobile', identifierValue: '18767431754', source: 'INSTORE' };
const BODY = { programId: 469, promotionId: 65777 };

function refusal(query: Record<string, unknown>, body: unknown = BODY): unknown {
  try {
    parseIssueRequest(query, body);
  } catch (err) {
    return err instanceof AppError ? err.code : err;
  }
  return 'accepted';
}

describe('parseIssueRequest: the checks of issue’s pages, in their order', () => {
  it('reads the page’s request as one customer, EARN until the promotion’s type is known', () => {
    expect(parseIssueRequest(QUERY, BODY)).toEqual({
      action: 'EARN',
      programId: 469,
      promotionId: 65777,
      promoIdentifier: null,
      identifierName: 'mobile',
      customers: [{ kind: 'lookup', key: '18767431754', source: 'INSTORE' }],
    });
  });

  it('1212 for an entity type other than CUSTOMER, before anything else', () => {
    expect(refusal({ type: 'USERGROUP2' }, {})).toBe(1212);
    expect(refusal({ ...QUERY, type: 'CUSTOMER', accountId: 'A-1' })).toBe('accepted');
  });

  it('11013 for a missing parameter, 8013 for an unknown identifierName, 8003 for an unknown source', () => {
    expect(refusal({}, {})).toBe(11013);
    expect(refusal({ ...QUERY, source: ' ' }, {})).toBe(11013);
    expect(refusal({ ...QUERY, identifierName: 'cuid' }, {})).toBe(8013);
    expect(refusal({ ...QUERY, source: 'NOWHERE' }, {})).toBe(8003);
    expect(refusal({ ...QUERY, programId: 1 }, {})).toBe(8881);
  });

  it('takes externalId (exact, leading zeros kept) and the sources the page adds, MOBILE_APP and WECHAT', () => {
    const request = parseIssueRequest(
      { identifierName: 'externalId', identifierValue: ' 000003873354 ', source: 'mobile_app' },
      BODY,
    );
    expect(request.customers).toEqual([{ kind: 'lookup', key: '000003873354', source: 'MOBILE_APP' }]);
    expect(refusal({ ...QUERY, source: 'WECHAT' })).toBe('accepted');
  });
});

describe('issueAnswer: the bulk answer of one customer, as issue’s pages show it', () => {
  const item = (result: Record<string, unknown>, warnings: unknown[] = []) => ({
    response: [
      {
        result: {
          entityType: 'CUSTOMER' as const,
          entityId: 7,
          programId: 469,
          promotionId: 65777,
          ...result,
        },
        errors: [],
        warnings: warnings as never[],
      },
    ],
    totalCount: 1,
    failureCount: 0,
  });

  it('an earn: numeric ids, type "Points promotion"', () => {
    expect(issueAnswer(item({ issualId: '12', earnedId: '13' }))).toEqual({
      warnings: [],
      errors: [],
      sideEffects: [
        { programId: 469, issualId: 12, earnedId: 13, promotionId: 65777, type: 'Points promotion' },
      ],
    });
  });

  it('an enrolment: no earnedId; a limit: no side effect, the warning kept', () => {
    expect(issueAnswer(item({ issualId: '12' }))).toHaveProperty('sideEffects', [
      { programId: 469, issualId: 12, promotionId: 65777, type: 'Points promotion' },
    ]);
    const warning = { status: false as const, code: 8890, message: 'limits' };
    expect(issueAnswer(item({}, [warning]))).toEqual({ warnings: [warning], errors: [], sideEffects: [] });
  });

  it('a failed customer: its error alone, without sideEffects', () => {
    const error = {
      status: false as const,
      code: 8015,
      message: 'Customer not found for the given identifiers',
    };
    expect(
      issueAnswer({ response: [{ errors: [error], warnings: [] }], totalCount: 1, failureCount: 1 }),
    ).toStrictEqual({ warnings: [], errors: [error] });
  });
});
