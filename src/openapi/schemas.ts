/**
 * JSON schemas (2020-12, as OpenAPI 3.1 takes them) of what the API sends and takes: the one source
 * of the OpenAPI document. The bulk and issue answers are also serialised by them (fast, and never a
 * field that is not here). Request bodies of /v2 are documentation only: the service checks them
 * itself, in the order of its error codes, which a schema validation by Fastify would change.
 */
import { ERROR_TABLE } from '../errors.js';
import { PROMOTION_TYPES, SOURCES } from '../promotions/promotion.model.js';

const integer = { type: 'integer' } as const;
const string = { type: 'string' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const idString = { type: 'string', pattern: '^[0-9]+$' } as const;

const API_CODES = Object.keys(ERROR_TABLE)
  .filter((code) => /^\d+$/.test(code))
  .map(Number);
const ADMIN_CODES = Object.keys(ERROR_TABLE).filter((code) => !/^\d+$/.test(code));

/** An error or a warning of the /v2 API: `{status: false, code, message}`. */
export const apiMessageSchema = {
  type: 'object',
  description: 'An error or a warning (warnings have the shape of errors).',
  properties: {
    status: { type: 'boolean', enum: [false] },
    code: { type: 'integer', enum: API_CODES, description: 'See the error table in info.description.' },
    message: string,
  },
  required: ['status', 'code', 'message'],
  additionalProperties: false,
} as const;

const messages = { type: 'array', items: apiMessageSchema } as const;

export const bulkResultSchema = {
  type: 'object',
  description: 'What a bulk call did for one customer that did not fail. Absent on a failed item.',
  properties: {
    entityType: { type: 'string', enum: ['CUSTOMER'] },
    entityId: integer,
    promotionId: integer,
    promoIdentifier: { type: 'string', description: 'Only when the promotion has one.' },
    programId: integer,
    issualId: { ...idString, description: 'The enrolment (for EARN on DIRECT, one made on the fly).' },
    earnedId: { ...idString, description: 'EARN: the new earn; absent when the earn limit was reached.' },
    revokedIssualId: { ...idString, description: 'REVOKE_ENROL: the enrolment revoked.' },
    revokedEarnIds: { type: 'array', items: idString, description: 'Revokes: the earns revoked.' },
  },
  required: ['entityType', 'entityId', 'promotionId', 'programId'],
  additionalProperties: false,
} as const;

export const bulkItemSchema = {
  type: 'object',
  properties: { result: bulkResultSchema, errors: messages, warnings: messages },
  required: ['errors', 'warnings'],
  additionalProperties: false,
} as const;

/** The answer of every bulk endpoint, and the envelope of its whole-request errors (one item). */
export const bulkResponseSchema = {
  type: 'object',
  properties: {
    response: {
      type: 'array',
      items: bulkItemSchema,
      description: 'One item per customer, in request order.',
    },
    totalCount: { type: 'integer', description: 'The number of items.' },
    failureCount: { type: 'integer', description: 'The items with errors.' },
  },
  required: ['response', 'totalCount', 'failureCount'],
  additionalProperties: false,
} as const;

export const issueSideEffectSchema = {
  type: 'object',
  properties: {
    programId: integer,
    promotionId: integer,
    promoIdentifier: string,
    issualId: idString,
    earnedId: idString,
    type: { type: 'string', enum: ['EARN'] },
  },
  required: ['programId', 'promotionId', 'type'],
  additionalProperties: false,
} as const;

export const issueResponseSchema = {
  type: 'object',
  properties: {
    warnings: messages,
    errors: messages,
    sideEffects: {
      type: 'array',
      items: issueSideEffectSchema,
      description: 'Absent on a refusal before the body.',
    },
  },
  required: ['warnings', 'errors'],
  additionalProperties: false,
} as const;

/** `{warnings: [], errors: [...]}`: 401 and 403 of every /v2 endpoint, and the other errors of the non-bulk ones. */
export const v2ErrorSchema = {
  type: 'object',
  properties: { warnings: messages, errors: messages },
  required: ['warnings', 'errors'],
  additionalProperties: false,
} as const;

const limitSchema = {
  type: 'object',
  properties: {
    kpi: { type: 'string', enum: ['ISSUALS', 'EARNS'] },
    maxLimit: { type: ['integer', 'null'] },
    currentCustomerUsage: integer,
  },
  required: ['kpi', 'maxLimit', 'currentCustomerUsage'],
  additionalProperties: false,
} as const;

export const customerPromotionSchema = {
  type: 'object',
  properties: {
    programId: integer,
    promotionId: integer,
    promoIdentifier: string,
    name: string,
    type: { type: 'string', enum: PROMOTION_TYPES },
    startDate: nullableDateTime,
    endDate: nullableDateTime,
    statusForCustomer: {
      type: 'string',
      enum: ['AVAILABLE_TO_ENROL', 'AVAILABLE_TO_EARN', 'EXPIRED', 'NOT_AVAILABLE'],
    },
    issual: {
      type: ['object', 'null'],
      properties: { issualId: idString, createdAt: dateTime },
      required: ['issualId', 'createdAt'],
      additionalProperties: false,
    },
    earns: {
      type: 'array',
      items: {
        type: 'object',
        properties: { earnedId: idString, issualId: idString, createdAt: dateTime },
        required: ['earnedId', 'issualId', 'createdAt'],
        additionalProperties: false,
      },
    },
    limits: { type: 'array', items: limitSchema },
  },
  required: [
    'programId',
    'promotionId',
    'name',
    'type',
    'startDate',
    'endDate',
    'statusForCustomer',
    'issual',
    'earns',
    'limits',
  ],
  additionalProperties: false,
} as const;

export const promotionDataResponseSchema = {
  type: 'object',
  properties: {
    data: {
      type: 'object',
      properties: {
        customer: {
          type: 'object',
          properties: { entityType: { type: 'string', enum: ['CUSTOMER'] }, entityId: integer },
          required: ['entityType', 'entityId'],
          additionalProperties: false,
        },
        promotions: { type: 'array', items: customerPromotionSchema },
        pagination: {
          type: 'object',
          properties: { limit: integer, offset: integer, total: integer },
          required: ['limit', 'offset', 'total'],
          additionalProperties: false,
        },
      },
      required: ['customer', 'promotions', 'pagination'],
      additionalProperties: false,
    },
    warnings: messages,
    errors: messages,
  },
  required: ['data', 'warnings', 'errors'],
  additionalProperties: false,
} as const;

export const tokenResponseSchema = {
  type: 'object',
  properties: {
    data: {
      type: 'object',
      properties: {
        accessToken: { type: 'string', description: 'An HS256 JWT with org_id, client_id, iat and exp.' },
        ttlSeconds: integer,
      },
      required: ['accessToken', 'ttlSeconds'],
      additionalProperties: false,
    },
    errors: { type: 'null' },
  },
  required: ['data', 'errors'],
  additionalProperties: false,
} as const;

export const tokenErrorSchema = {
  type: 'object',
  properties: { data: { type: 'null' }, errors: messages },
  required: ['data', 'errors'],
  additionalProperties: false,
} as const;

export const adminErrorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: ADMIN_CODES },
        message: string,
        field: { type: 'string', description: 'The offending field, as a JSON path.' },
      },
      required: ['code', 'message'],
      additionalProperties: false,
    },
  },
  required: ['error'],
  additionalProperties: false,
} as const;

export const healthSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] } },
  required: ['status'],
  additionalProperties: false,
} as const;

export const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready'] },
    reason: { type: 'string', description: 'Why not ready.' },
  },
  required: ['status'],
  additionalProperties: false,
} as const;

/**
 * A schema for serialising an answer: the same, without `required`, which fast-json-stringify would
 * otherwise honour by writing required fields first (the wire order is Capillary's, result first).
 */
export function forSerialization<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(forSerialization) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'required')
      .map(([key, value]) => [key, forSerialization(value)]),
  ) as T;
}

// ---- Request bodies (documentation only) ----

const positiveIntOrDigits = {
  oneOf: [
    { type: 'integer', minimum: 1 },
    { type: 'string', pattern: '^[0-9]+$' },
  ],
  description: 'A positive integer, or a string of digits.',
} as const;

export const bulkRequestSchema = {
  type: 'object',
  description:
    'Checked by the service in the documented order (see the error table); unknown fields are ignored.',
  properties: {
    type: {
      type: 'string',
      enum: ['CUSTOMER'],
      description: '`USERGROUP2` answers 8899, anything else 8901.',
    },
    bulkAction: { type: 'string', enum: ['ENROL', 'EARN', 'REVOKE_ENROL', 'REVOKE_EARN'] },
    promotionDetails: {
      type: 'object',
      description: '`promotionId` or `promoIdentifier` (or both, naming the same promotion).',
      properties: {
        programId: positiveIntOrDigits,
        promotionId: positiveIntOrDigits,
        promoIdentifier: string,
      },
      required: ['programId'],
    },
    identifierName: { type: 'string', enum: ['id', 'mobile', 'email'] },
    customers: {
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: {
        type: 'object',
        properties: {
          identifierValue: { type: ['string', 'number'] },
          source: {
            type: 'string',
            description: 'Any case.',
            enum: [...SOURCES, 'ALL'],
          },
          earnIds: {
            type: 'array',
            items: positiveIntOrDigits,
            description: 'REVOKE_EARN only: the earns to revoke; absent, all active earns.',
          },
        },
        required: ['identifierValue', 'source'],
      },
    },
  },
  required: ['type', 'bulkAction', 'promotionDetails', 'identifierName', 'customers'],
} as const;

export const issueRequestSchema = {
  type: 'object',
  properties: { programId: positiveIntOrDigits, promotionId: positiveIntOrDigits, promoIdentifier: string },
  required: ['programId'],
} as const;

export const tokenRequestSchema = {
  type: 'object',
  properties: { key: { type: 'string', maxLength: 200 }, secret: { type: 'string', maxLength: 200 } },
  required: ['key', 'secret'],
} as const;

// ---- Management API ----

const access = { type: 'string', enum: ['NONE', 'READ', 'WRITE'] } as const;
const rateLimit = { type: ['integer', 'null'], minimum: 1 } as const;

export const orgSchema = {
  type: 'object',
  properties: { id: integer, name: string, createdAt: dateTime },
  required: ['id', 'name', 'createdAt'],
  additionalProperties: false,
} as const;

export const programSchema = {
  type: 'object',
  properties: { id: integer, orgId: integer, name: string, createdAt: dateTime },
  required: ['id', 'orgId', 'name', 'createdAt'],
  additionalProperties: false,
} as const;

export const promotionSchema = {
  type: 'object',
  properties: {
    id: integer,
    programId: integer,
    promoIdentifier: { type: ['string', 'null'] },
    name: string,
    type: { type: 'string', enum: PROMOTION_TYPES },
    active: { type: 'boolean' },
    startDate: nullableDateTime,
    endDate: nullableDateTime,
    maxIssualsPerCustomer: { type: ['integer', 'null'] },
    maxEarnsPerCustomer: { type: ['integer', 'null'] },
    createdAt: dateTime,
    updatedAt: dateTime,
  },
  required: [
    'id',
    'programId',
    'promoIdentifier',
    'name',
    'type',
    'active',
    'startDate',
    'endDate',
    'maxIssualsPerCustomer',
    'maxEarnsPerCustomer',
    'createdAt',
    'updatedAt',
  ],
  additionalProperties: false,
} as const;

export const customerSchema = {
  type: 'object',
  properties: {
    id: integer,
    mobile: { type: ['string', 'null'] },
    email: { type: ['string', 'null'] },
    externalId: { type: ['string', 'null'] },
    sources: { type: 'array', items: { type: 'string', enum: SOURCES } },
    programIds: { type: 'array', items: integer },
  },
  required: ['id', 'mobile', 'email', 'externalId', 'sources', 'programIds'],
  additionalProperties: false,
} as const;

export const customersSchema = {
  type: 'object',
  properties: { customers: { type: 'array', items: customerSchema } },
  required: ['customers'],
  additionalProperties: false,
} as const;

const credentialProperties = {
  orgId: integer,
  customerAccess: access,
  disabled: { type: 'boolean' },
  rateLimitPerMinute: rateLimit,
  createdAt: dateTime,
  updatedAt: dateTime,
} as const;
const credentialRequired = [
  'orgId',
  'customerAccess',
  'disabled',
  'rateLimitPerMinute',
  'createdAt',
  'updatedAt',
];

export const tillSchema = {
  type: 'object',
  description: 'A till. `password` only in the answer of a rotation that generated it.',
  properties: { username: string, ...credentialProperties, password: string },
  required: ['username', ...credentialRequired],
  additionalProperties: false,
} as const;

export const apiClientSchema = {
  type: 'object',
  description: 'An API client. `secret` only in the answer of a rotation that generated it.',
  properties: { key: string, ...credentialProperties, tokenTtlSeconds: integer, secret: string },
  required: ['key', 'tokenTtlSeconds', ...credentialRequired],
  additionalProperties: false,
} as const;

export const tillsSchema = {
  type: 'object',
  properties: { tills: { type: 'array', items: tillSchema } },
  required: ['tills'],
  additionalProperties: false,
} as const;

export const apiClientsSchema = {
  type: 'object',
  properties: { apiClients: { type: 'array', items: apiClientSchema } },
  required: ['apiClients'],
  additionalProperties: false,
} as const;

export const issualReportSchema = {
  type: 'object',
  properties: {
    issuals: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          issualId: idString,
          customerId: integer,
          createdAt: dateTime,
          revokedAt: nullableDateTime,
          earns: {
            type: 'array',
            items: {
              type: 'object',
              properties: { earnedId: idString, createdAt: dateTime, revokedAt: nullableDateTime },
              required: ['earnedId', 'createdAt', 'revokedAt'],
              additionalProperties: false,
            },
          },
        },
        required: ['issualId', 'customerId', 'createdAt', 'revokedAt', 'earns'],
        additionalProperties: false,
      },
    },
    nextCursor: { type: ['string', 'null'] },
  },
  required: ['issuals', 'nextCursor'],
  additionalProperties: false,
} as const;

export const auditPageSchema = {
  type: 'object',
  properties: {
    entries: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: idString,
          orgId: integer,
          at: dateTime,
          who: string,
          action: { type: 'string', description: 'Method and route pattern.' },
          target: { type: 'object', additionalProperties: { type: 'string' } },
          status: integer,
          requestId: { type: ['string', 'null'] },
        },
        required: ['id', 'orgId', 'at', 'who', 'action', 'target', 'status', 'requestId'],
        additionalProperties: false,
      },
    },
    nextCursor: { type: ['string', 'null'] },
  },
  required: ['entries', 'nextCursor'],
  additionalProperties: false,
} as const;

const optionalId = { type: 'integer', minimum: 1, description: 'Optional: given, used as it is.' } as const;

export const orgRequestSchema = {
  type: 'object',
  properties: { id: optionalId, name: string },
  required: ['name'],
  additionalProperties: false,
} as const;

export const programRequestSchema = orgRequestSchema;

const promotionFields = {
  promoIdentifier: { type: ['string', 'null'] },
  name: string,
  type: {
    type: 'string',
    enum: [...PROMOTION_TYPES, 'LOYALTY_EARNING', 'ISSUE_AND_EARN', 'LOYALTY', 'DIRECT_EARN'],
  },
  active: { type: 'boolean', default: true },
  startDate: { ...nullableDateTime, description: 'ISO 8601 with an offset.' },
  endDate: { ...nullableDateTime, description: 'ISO 8601 with an offset; inclusive.' },
  maxIssualsPerCustomer: { type: ['integer', 'null'], minimum: 1, default: 1 },
  maxEarnsPerCustomer: { type: ['integer', 'null'], minimum: 1, default: null },
} as const;

export const promotionCreateSchema = {
  type: 'object',
  properties: { id: optionalId, programId: integer, ...promotionFields },
  required: ['programId', 'name', 'type'],
  additionalProperties: false,
} as const;

export const promotionPatchSchema = {
  type: 'object',
  properties: promotionFields,
  additionalProperties: false,
} as const;

export const customersRequestSchema = {
  type: 'object',
  properties: {
    customers: {
      type: 'array',
      minItems: 1,
      maxItems: 10_000,
      items: {
        type: 'object',
        properties: {
          id: optionalId,
          mobile: string,
          email: string,
          externalId: string,
          sources: { type: 'array', items: { type: 'string', enum: SOURCES }, default: ['INSTORE'] },
          programIds: { type: 'array', items: integer },
        },
        additionalProperties: false,
      },
    },
  },
  required: ['customers'],
  additionalProperties: false,
} as const;

export const tillCreateSchema = {
  type: 'object',
  properties: { username: string, password: string, customerAccess: access, rateLimitPerMinute: rateLimit },
  required: ['username', 'password', 'customerAccess'],
  additionalProperties: false,
} as const;

export const apiClientCreateSchema = {
  type: 'object',
  properties: {
    key: string,
    secret: string,
    customerAccess: access,
    tokenTtlSeconds: { type: 'integer', minimum: 60, maximum: 86_400, default: 300 },
    rateLimitPerMinute: rateLimit,
  },
  required: ['key', 'secret', 'customerAccess'],
  additionalProperties: false,
} as const;

export const tillPatchSchema = {
  type: 'object',
  properties: { customerAccess: access, disabled: { type: 'boolean' }, rateLimitPerMinute: rateLimit },
  additionalProperties: false,
} as const;

export const apiClientPatchSchema = {
  type: 'object',
  properties: {
    ...tillPatchSchema.properties,
    tokenTtlSeconds: apiClientCreateSchema.properties.tokenTtlSeconds,
  },
  additionalProperties: false,
} as const;

export const tillRotateSchema = {
  type: 'object',
  properties: { password: { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;

export const apiClientRotateSchema = {
  type: 'object',
  properties: { secret: { type: 'string', maxLength: 200 } },
  additionalProperties: false,
} as const;
