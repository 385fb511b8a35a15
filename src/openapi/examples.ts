/** The reference page's example requests and responses, as OpenAPI example objects. */

const customer = (identifierValue: string) => ({ identifierValue, source: 'INSTORE' });

const bulk = (
  bulkAction: string,
  programId: number,
  promotionId: number,
  identifierName: string,
  ids: string[],
) => ({
  type: 'CUSTOMER',
  bulkAction,
  promotionDetails: { programId, promotionId },
  identifierName,
  customers: ids.map(customer),
});

export const bulkRequestExamples = {
  enrolById: {
    summary: 'Enrol customer 555567088 into promotion 57099',
    value: bulk('ENROL', 469, 57099, 'id', ['555567088']),
  },
  enrolByMobile: {
    summary: 'Enrol two customers by mobile into promotion 69218',
    value: bulk('ENROL', 469, 69218, 'mobile', ['11223569865', '919986000586']),
  },
  earnById: {
    summary: 'Issue (EARN) promotion 57099 to the enrolled customer',
    value: bulk('EARN', 469, 57099, 'id', ['555567088']),
  },
  earnByMobile: {
    summary: 'Issue promotion 69218 to the two customers enrolled by mobile',
    value: bulk('EARN', 469, 69218, 'mobile', ['11223569865', '919986000586']),
  },
} as const;

const CUSTOMERS = [423926199, 423926198, 423926200, 423926201];
const ok = (result: Record<string, unknown>) => ({
  result: { entityType: 'CUSTOMER', ...result },
  errors: [],
  warnings: [],
});
const failure = (code: number, message: string) => ({
  response: [{ errors: [{ status: false, code, message }], warnings: [] }],
  totalCount: 1,
  failureCount: 1,
});

export const bulkSuccessExamples = {
  enrolled: {
    summary: 'ENROL of four customers into an enrol-and-issue promotion',
    value: {
      response: CUSTOMERS.map((entityId, i) =>
        ok({ entityId, promotionId: 202188, programId: 2714, issualId: String(847 + i) }),
      ),
      totalCount: 4,
      failureCount: 0,
    },
  },
  earned: {
    summary: 'EARN for the same four customers',
    value: {
      response: CUSTOMERS.map((entityId, i) =>
        ok({
          entityId,
          promotionId: 202188,
          programId: 2714,
          issualId: String(847 + i),
          earnedId: String(840 + i),
        }),
      ),
      totalCount: 4,
      failureCount: 0,
    },
  },
  directEarned: {
    summary: 'EARN on a DIRECT promotion: the issualId is made on the fly (a "dummy" one)',
    value: {
      response: CUSTOMERS.map((entityId, i) =>
        ok({
          entityId,
          promotionId: 202090,
          programId: 2714,
          issualId: String(837 + i),
          earnedId: String(794 + i),
        }),
      ),
      totalCount: 4,
      failureCount: 0,
    },
  },
} as const;

const notFound = {
  errors: [{ status: false, code: 8015, message: 'Customer not found for the given identifiers' }],
  warnings: [],
};

export const bulkPartialExamples = {
  someNotFound: {
    summary: 'One customer earned, three not found (HTTP 201)',
    value: {
      response: [
        ok({ entityId: 170940055, promotionId: 74116, programId: 699, issualId: '72', earnedId: '102' }),
        notFound,
        notFound,
        notFound,
      ],
      totalCount: 4,
      failureCount: 3,
    },
  },
  notEnrolled: {
    summary: 'EARN on an enrol-and-issue promotion for a customer who is not enrolled',
    value: {
      response: [
        {
          errors: [
            { status: false, code: 8896, message: 'Error occurred while issuing promotion to the customer' },
          ],
          warnings: [],
        },
      ],
      totalCount: 1,
      failureCount: 1,
    },
  },
} as const;

export const bulkRejectionExamples = {
  unsupportedAction: {
    summary: 'ENROL on a DIRECT promotion',
    value: failure(8902, 'bulk action passed not supported for loyalty/generic promotion type'),
  },
  invalidProgram: { summary: 'Unknown program', value: failure(1101, 'invalid programId passed') },
  inactive: { summary: 'Promotion not live', value: failure(8892, 'promotion is inactive') },
  invalidPromotion: { summary: 'Unknown promotion', value: failure(8874, 'promotion id passed is invalid') },
  invalidEntityType: { summary: 'type is not CUSTOMER', value: failure(8901, 'invalid entity type passed') },
} as const;
