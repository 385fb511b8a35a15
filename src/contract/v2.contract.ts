/**
 * The Capillary-compatible /v2 API: each request and answer as one TypeBox schema, from which both
 * the TypeScript type (client and server) and the OpenAPI component come. Request schemas document
 * only: the service checks /v2 bodies itself, in the order of its error codes (contract section 2).
 */
import { type Static, Type } from 'typebox';
import { idString, Messages, NullableDateTime, PositiveIntOrDigits } from './common.contract.js';
import {
  ANY_SOURCE,
  BULK_ACTIONS,
  type BulkAction,
  CUSTOMER_IDENTIFIER_NAMES,
  CUSTOMER_PROMOTION_STATUSES,
  enumSchema,
  IDENTIFIER_NAMES,
  LOOKUP_IDENTIFIER_NAMES,
  LOOKUP_PROMOTION_TYPES,
  LOOKUP_SOURCE_TYPES,
  POINTS_OFFER_TYPES,
  SOURCES,
} from './enums.contract.js';

const Customer = Type.Literal('CUSTOMER');

/** A registered source (any case) or ALL: documented as the list, typed as a string. */
const SourceName = Type.Unsafe<string>({
  type: 'string',
  enum: [...SOURCES, ANY_SOURCE],
  description: 'Any case. The bulk endpoints take the ten their pages list (not MOBILE_APP or WECHAT).',
});

// ---- Requests ----

/** The promotion a bulk request is about: `promotionId`, `promoIdentifier`, or both (which must agree). */
export const PromotionDetails = Type.Object(
  {
    programId: PositiveIntOrDigits,
    promotionId: Type.Optional(PositiveIntOrDigits),
    promoIdentifier: Type.Optional(Type.String()),
  },
  { description: '`promotionId` or `promoIdentifier` (or both, naming the same promotion).' },
);
export type PromotionDetails = Static<typeof PromotionDetails>;

const EarnIds = (description: string) => Type.Optional(Type.Array(PositiveIntOrDigits, { description }));

/** One customer of a bulk request. */
export const BulkCustomer = Type.Object({
  identifierValue: Type.Union([Type.String(), Type.Number()]),
  source: SourceName,
  earnIds: EarnIds('REVOKE_EARN only: the earns to revoke; absent, all active earns.'),
  earnIDs: EarnIds('The same as earnIds, as revokeDirectEarn’s page spells it; both are read.'),
});
export type BulkCustomer = Static<typeof BulkCustomer>;

export const BulkRequest = Type.Object(
  {
    type: Type.Literal('CUSTOMER', { description: '`USERGROUP2` answers 8899, anything else 8901.' }),
    bulkAction: Type.Optional(
      Type.Unsafe<BulkAction>({
        type: 'string',
        enum: [...BULK_ACTIONS, 'REVOKE_ISSUAL'],
        description:
          'enrolAndEarn: ENROL or EARN (required). directEarn: absent, EARN or ENROL (all the direct ' +
          'issue). revokeEnrolAndEarn: REVOKE_ENROL (alias REVOKE_ISSUAL) or REVOKE_EARN (required). ' +
          'revokeDirectEarn: absent or REVOKE_EARN.',
      }),
    ),
    promotionDetails: PromotionDetails,
    identifierName: enumSchema(IDENTIFIER_NAMES),
    customers: Type.Array(BulkCustomer, { minItems: 1, maxItems: 100 }),
  },
  {
    description:
      'Checked by the service in the documented order (see the error table); unknown fields are ignored.',
  },
);
/** The body of a bulk call, for an endpoint taking the actions `A`. A client may leave `type` out. */
export type BulkRequest<A extends BulkAction = BulkAction> = Omit<
  Static<typeof BulkRequest>,
  'type' | 'bulkAction'
> & { type?: 'CUSTOMER'; bulkAction: A };

/** The body of `issue`: the promotion, by id (as its page) or identifier. */
export const IssueRequest = Type.Object({
  programId: PositiveIntOrDigits,
  promotionId: Type.Optional(PositiveIntOrDigits),
  promoIdentifier: Type.Optional(Type.String()),
});
export type IssueRequest = Static<typeof IssueRequest>;

/** Names the single customer of `issue` (in the query string). */
export const CustomerQuery = Type.Object({
  identifierName: enumSchema(CUSTOMER_IDENTIFIER_NAMES),
  identifierValue: Type.Union([Type.String(), Type.Number()]),
  source: Type.Unsafe<string>({ type: 'string', description: 'A registered source or ALL.' }),
  type: Type.Optional(
    Type.Literal('CUSTOMER', { description: 'The entity type; anything else answers 1212.' }),
  ),
  accountId: Type.Optional(Type.String({ description: 'Accepted and not used.' })),
});
export type CustomerQuery = Static<typeof CustomerQuery>;

export const PromotionDataQuery = Type.Object({
  identifierName: enumSchema(LOOKUP_IDENTIFIER_NAMES, '`cuid` is accepted and matches no customer.'),
  identifierValue: Type.Union([Type.String(), Type.Number()]),
  source: Type.Unsafe<string>({ type: 'string', description: 'A registered source or ALL.' }),
  promotionStatusForCustomer: Type.Optional(enumSchema(CUSTOMER_PROMOTION_STATUSES)),
  promotionType: Type.Optional(
    Type.String({ description: `${LOOKUP_PROMOTION_TYPES.join(', ')}, or a type or alias.` }),
  ),
  programs: Type.Optional(Type.String({ description: 'Comma-separated program ids.' })),
  fetchAllUsage: Type.Optional(Type.Boolean({ description: 'Unset restrictions as maxLimit "-1".' })),
  sourceType: Type.Optional(enumSchema(LOOKUP_SOURCE_TYPES, 'Accepted, not applied.')),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, default: 10 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
});
export type PromotionDataQuery = Static<typeof PromotionDataQuery>;

// ---- Answers (their property order is the wire order) ----

export const BulkResult = Type.Object(
  {
    entityType: Customer,
    entityId: Type.Integer(),
    promotionId: Type.Optional(
      Type.Integer({
        description:
          'enrolAndEarn: always. The other endpoints: when the request named the promotion by promotionId.',
      }),
    ),
    promoIdentifier: Type.Optional(
      Type.String({
        description:
          'enrolAndEarn: when the promotion has one. The other endpoints: when the request named it so.',
      }),
    ),
    programId: Type.Integer(),
    issualId: Type.Optional(
      idString('ENROL/EARN: the enrolment (on DIRECT, one made on the fly). REVOKE_ENROL: the one revoked.'),
    ),
    earnedId: Type.Optional(idString('EARN: the new earn; absent when a limit was reached.')),
    revokedIssualId: Type.Optional(Type.Integer({ description: 'REVOKE_ENROL: the enrolment revoked.' })),
    revokedEarnIds: Type.Optional(
      Type.Array(Type.Integer(), { description: 'REVOKE_EARN: the earns revoked.' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'What a bulk call did for one customer that did not fail. Absent on a failed item.',
  },
);
export type BulkResult = Static<typeof BulkResult>;

/** One customer's answer, in request order: `result` when it succeeded, `errors` when it failed. */
export const BulkItem = Type.Object(
  { result: Type.Optional(BulkResult), errors: Messages, warnings: Messages },
  { additionalProperties: false },
);
export type BulkItem = Static<typeof BulkItem>;

/** The answer of every bulk endpoint, and the envelope of its whole-request errors (one item). */
export const BulkResponse = Type.Object(
  {
    response: Type.Array(BulkItem, { description: 'One item per customer, in request order.' }),
    totalCount: Type.Integer({ description: 'The number of items.' }),
    failureCount: Type.Integer({ description: 'The items with errors.' }),
  },
  { additionalProperties: false },
);
export type BulkResponse = Static<typeof BulkResponse>;

/** What `issue` did, as its pages show it: numeric ids, and `type` always "Points promotion". */
export const IssueSideEffect = Type.Object(
  {
    programId: Type.Integer(),
    issualId: Type.Integer({ description: 'The enrolment (on DIRECT, made on the fly).' }),
    earnedId: Type.Optional(Type.Integer({ description: 'DIRECT: the new earn. Absent on an enrolment.' })),
    promotionId: Type.Integer(),
    type: Type.Literal('Points promotion'),
  },
  { additionalProperties: false },
);
export type IssueSideEffect = Static<typeof IssueSideEffect>;

/** The answer of a granted `issue` (HTTP 200). */
export const IssueResponse = Type.Object(
  { warnings: Messages, errors: Messages, sideEffects: Type.Array(IssueSideEffect) },
  { additionalProperties: false },
);
export type IssueResponse = Static<typeof IssueResponse>;

/** A refused `issue` (HTTP 400): the error in `errors`, and no side effects. */
export const IssueRefusal = Type.Object(
  { warnings: Messages, errors: Messages },
  { additionalProperties: false },
);
export type IssueRefusal = Static<typeof IssueRefusal>;

const Digits = (description: string) => Type.String({ pattern: '^-?[0-9]+$', description });

/** A restriction of promotionData: limits and usage are strings of digits, as the page's examples. */
export const PromotionRestriction = Type.Object(
  {
    kpi: Type.Union([Type.Literal('NUMBER_OF_ISSUALS'), Type.Literal('NUMBER_OF_EARNS')]),
    maxLimit: Digits('The limit; "-1" for none (only with fetchAllUsage=true).'),
    currentCustomerUsage: Digits('Issuals ever (revoked included), or active earns.'),
    limitOn: Customer,
  },
  { additionalProperties: false },
);
export type PromotionRestriction = Static<typeof PromotionRestriction>;

/** One issued promotion (Capillary's word for our earn) within an enrolment of the timeline. */
export const IssuedDetail = Type.Object(
  {
    issualId: Type.Integer({ description: 'Our earnedId (Capillary’s backend calls the earn an issual).' }),
    issualDate: Type.String({ format: 'date-time' }),
    issualExpiryDate: NullableDateTime,
    redeemedCount: Type.Integer(),
  },
  { additionalProperties: false },
);

/** One active enrolment (our issual) and its active earns. */
export const CustomerPromotionTimeline = Type.Object(
  {
    enrollmentDate: Type.String({ format: 'date-time' }),
    enrollmentExpiryDate: NullableDateTime,
    enrollmentId: Type.Integer({ description: 'Our issualId.' }),
    issuedDetails: Type.Array(IssuedDetail),
  },
  { additionalProperties: false },
);

export const CustomerPromotion = Type.Object(
  {
    promotionId: Type.Integer(),
    promotionName: Type.String(),
    programId: Type.Integer(),
    startDate: NullableDateTime,
    endDate: NullableDateTime,
    identifier: Type.Union([Type.String(), Type.Null()], { description: 'The promoIdentifier, if any.' }),
    description: Type.String(),
    active: Type.Boolean(),
    limits: Type.Object(
      {
        maxPointsPerEvent: Type.String(),
        pointsPerCustomer: Type.String(),
        numberOFTimesPerCustomer: Type.Integer(),
        totalPointsInPromotion: Type.String(),
      },
      { additionalProperties: false },
    ),
    customerUsage: Type.Object(
      {
        currentPointsPerCustomer: Type.String(),
        currentNumberOfTimesPerCustomer: Type.Integer(),
        currentTotalPointsInPromotion: Type.String(),
      },
      { additionalProperties: false },
    ),
    pointsOfferType: enumSchema(POINTS_OFFER_TYPES),
    promotionRestriction: Type.Object(
      {
        issualRestrictions: Type.Array(PromotionRestriction),
        earnRestrictions: Type.Array(PromotionRestriction),
        redemptionRestrictions: Type.Array(PromotionRestriction),
      },
      { additionalProperties: false },
    ),
    customerPromotionTimelines: Type.Optional(
      Type.Array(CustomerPromotionTimeline, { description: 'Absent on GENERIC promotions.' }),
    ),
  },
  { additionalProperties: false },
);
export type CustomerPromotion = Static<typeof CustomerPromotion>;

export const PromotionDataResponse = Type.Object(
  {
    pageDetails: Type.Object(
      {
        pageNumber: Type.Integer(),
        pageSize: Type.Integer(),
        totalEntries: Type.Integer(),
        pageCount: Type.Integer(),
      },
      { additionalProperties: false },
    ),
    customerId: Type.Integer(),
    promotions: Type.Array(CustomerPromotion),
    warnings: Messages,
  },
  { additionalProperties: false },
);
export type PromotionDataResponse = Static<typeof PromotionDataResponse>;

/** A refused promotionData (HTTP 400): `{errors: [...]}` only, as the page's examples. */
export const PromotionDataRefusal = Type.Object({ errors: Messages }, { additionalProperties: false });
export type PromotionDataRefusal = Static<typeof PromotionDataRefusal>;
