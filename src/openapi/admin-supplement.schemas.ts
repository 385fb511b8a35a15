/**
 * TEMPORARY: the management API's schemas as they were written by hand, until the admin routes attach
 * their own (src/contract/admin.contract.ts). The document uses them only for admin operations that
 * the routes do not yet describe (see ./admin-supplement.paths.ts).
 */
import { ACCESS_LEVELS, PROMOTION_TYPES, SOURCES } from '../contract/enums.contract.js';

const integer = { type: 'integer' } as const;
const string = { type: 'string' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
const idString = { type: 'string', pattern: '^[0-9]+$' } as const;

// ---- Management API ----

const access = { type: 'string', enum: ACCESS_LEVELS } as const;
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
