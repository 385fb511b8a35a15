/**
 * The Capillary-compatible /v2 API: each request and answer as one TypeBox schema, from which both
 * the TypeScript type (client and server) and the OpenAPI component come. Request schemas document
 * only: the service checks /v2 bodies itself, in the order of its error codes (contract section 2).
 */
import { type Static, Type } from 'typebox';
import { IdString, idString, Messages, NullableDateTime, PositiveIntOrDigits } from './common.contract.js';
import {
  ANY_SOURCE,
  BULK_ACTIONS,
  type BulkAction,
  CUSTOMER_PROMOTION_STATUSES,
  enumSchema,
  FILTERABLE_STATUSES,
  IDENTIFIER_NAMES,
  LIMIT_KPIS,
  PROMOTION_TYPES,
  SOURCES,
} from './enums.contract.js';

const DateTime = Type.String({ format: 'date-time' });
const Customer = Type.Literal('CUSTOMER');

/** A registered source (any case) or ALL: documented as the list, typed as a string. */
const SourceName = Type.Unsafe<string>({
  type: 'string',
  enum: [...SOURCES, ANY_SOURCE],
  description: 'Any case.',
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

/** One customer of a bulk request. */
export const BulkCustomer = Type.Object({
  identifierValue: Type.Union([Type.String(), Type.Number()]),
  source: SourceName,
  earnIds: Type.Optional(
    Type.Array(PositiveIntOrDigits, {
      description: 'REVOKE_EARN only: the earns to revoke; absent, all active earns.',
    }),
  ),
});
export type BulkCustomer = Static<typeof BulkCustomer>;

export const BulkRequest = Type.Object(
  {
    type: Type.Literal('CUSTOMER', { description: '`USERGROUP2` answers 8899, anything else 8901.' }),
    bulkAction: enumSchema(BULK_ACTIONS),
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

/** The body of `issue`: the promotion, by id or identifier. */
export const IssueRequest = Type.Object({
  programId: PositiveIntOrDigits,
  promotionId: Type.Optional(PositiveIntOrDigits),
  promoIdentifier: Type.Optional(Type.String()),
});
export type IssueRequest = Static<typeof IssueRequest>;

/** Names the single customer of `issue` and `promotionData` (in the query string). */
export const CustomerQuery = Type.Object({
  identifierName: enumSchema(IDENTIFIER_NAMES),
  identifierValue: Type.Union([Type.String(), Type.Number()]),
  source: Type.Unsafe<string>({ type: 'string', description: 'A registered source or ALL.' }),
});
export type CustomerQuery = Static<typeof CustomerQuery>;

export const PromotionDataQuery = Type.Object({
  ...CustomerQuery.properties,
  promotionStatusForCustomer: Type.Optional(enumSchema(FILTERABLE_STATUSES)),
  promotionType: Type.Optional(Type.String({ description: 'A type or an alias.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
});
export type PromotionDataQuery = Static<typeof PromotionDataQuery>;

// ---- Answers (their property order is the wire order) ----

export const BulkResult = Type.Object(
  {
    entityType: Customer,
    entityId: Type.Integer(),
    promotionId: Type.Integer(),
    promoIdentifier: Type.Optional(Type.String({ description: 'Only when the promotion has one.' })),
    programId: Type.Integer(),
    issualId: Type.Optional(idString('The enrolment (for EARN on DIRECT, one made on the fly).')),
    earnedId: Type.Optional(idString('EARN: the new earn; absent when the earn limit was reached.')),
    revokedIssualId: Type.Optional(idString('REVOKE_ENROL: the enrolment revoked.')),
    revokedEarnIds: Type.Optional(Type.Array(IdString, { description: 'Revokes: the earns revoked.' })),
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

export const IssueSideEffect = Type.Object(
  {
    programId: Type.Integer(),
    promotionId: Type.Integer(),
    promoIdentifier: Type.Optional(Type.String()),
    issualId: Type.Optional(IdString),
    earnedId: Type.Optional(IdString),
    type: Type.Literal('EARN'),
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
  {
    ...IssueResponse.properties,
    sideEffects: Type.Optional(
      Type.Array(IssueSideEffect, { description: 'Absent on a refusal before the body.' }),
    ),
  },
  { additionalProperties: false },
);

export const PromotionLimit = Type.Object(
  {
    kpi: enumSchema(LIMIT_KPIS),
    maxLimit: Type.Union([Type.Integer(), Type.Null()]),
    currentCustomerUsage: Type.Integer(),
  },
  { additionalProperties: false },
);
export type PromotionLimit = Static<typeof PromotionLimit>;

export const CustomerPromotion = Type.Object(
  {
    programId: Type.Integer(),
    promotionId: Type.Integer(),
    promoIdentifier: Type.Optional(Type.String()),
    name: Type.String(),
    type: enumSchema(PROMOTION_TYPES),
    startDate: NullableDateTime,
    endDate: NullableDateTime,
    statusForCustomer: enumSchema(CUSTOMER_PROMOTION_STATUSES),
    issual: Type.Union([
      Type.Object({ issualId: IdString, createdAt: DateTime }, { additionalProperties: false }),
      Type.Null(),
    ]),
    earns: Type.Array(
      Type.Object(
        { earnedId: IdString, issualId: IdString, createdAt: DateTime },
        { additionalProperties: false },
      ),
    ),
    limits: Type.Array(PromotionLimit),
  },
  { additionalProperties: false },
);
export type CustomerPromotion = Static<typeof CustomerPromotion>;

export const PromotionDataResponse = Type.Object(
  {
    data: Type.Object(
      {
        customer: Type.Object(
          { entityType: Customer, entityId: Type.Integer() },
          { additionalProperties: false },
        ),
        promotions: Type.Array(CustomerPromotion),
        pagination: Type.Object(
          { limit: Type.Integer(), offset: Type.Integer(), total: Type.Integer() },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    warnings: Messages,
    errors: Messages,
  },
  { additionalProperties: false },
);
export type PromotionDataResponse = Static<typeof PromotionDataResponse>;
