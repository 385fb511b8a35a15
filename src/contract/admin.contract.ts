import { type Static, type TSchema, Type } from 'typebox';
import { SOURCES } from '../promotions/promotion.model.js';

/*
 * The management API (/admin/v1): every body, parameter, query and answer, declared once. The routes
 * attach these schemas, so they both validate requests and document the API; the services take the
 * `Static` types. Rules that a schema cannot say (a calendar date, an alias, a date order, a
 * reference) stay in the services.
 */

// TODO(contract merge): the envelope, page and id pieces move to common.contract.ts, the access levels
// to enums.contract.ts, once those land.
export const ACCESS_LEVELS = ['NONE', 'READ', 'WRITE'] as const;
export const MAX_PAGE_LIMIT = 1_000;
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_CUSTOMERS_PER_CALL = 10_000;

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A positive integer id, in a body also as its decimal digits (fixtures often quote them). */
const Id = Type.Union(
  [
    Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    Type.String({ pattern: '^0*[1-9][0-9]*$', maxLength: 16 }),
  ],
  { description: 'A positive integer, or a string of its digits' },
);
/** A positive integer that is not an id (a limit, a rate, a duration). */
const Count = (options: { minimum?: number; maximum?: number } = {}) =>
  Type.Union([
    Type.Integer({ minimum: options.minimum ?? 1, maximum: options.maximum ?? Number.MAX_SAFE_INTEGER }),
    Type.String({ pattern: '^0*[1-9][0-9]*$', maxLength: 16 }),
  ]);
/** A path or query id: always digits on the wire, an integer once read. */
const PathId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/** Text with something besides blanks in it, and no NUL (PostgreSQL cannot store one). */
const Text = (maxLength: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$',
    ...(description ? { description } : {}),
  });

/** ISO 8601 with an offset (or Z); whether the day exists is the service's check. */
export const ISO_DATE_TIME_PATTERN =
  '^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?(Z|([+-])(\\d{2}):?(\\d{2}))$';
const DateTimeInput = Type.String({
  pattern: ISO_DATE_TIME_PATTERN,
  description: 'An ISO 8601 date-time with an offset, like 2026-01-31T23:59:59+05:30',
});
const Timestamp = Type.String({ format: 'date-time' });
const Access = Type.Enum(ACCESS_LEVELS, { description: 'Access to the CUSTOMER resource' });

// Requests.

export const OrgParams = Type.Object({ orgId: PathId });
export const PromotionParams = Type.Object({ orgId: PathId, promotionId: PathId });
export const CredentialParams = Type.Object({ orgId: PathId, name: Type.String({ minLength: 1 }) });

/** One page of a list: the cursor a previous page gave, and how many to answer. */
export const PageQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, description: `Default ${DEFAULT_PAGE_LIMIT}` }),
  ),
  cursor: Type.Optional(
    Type.String({ pattern: '^[0-9]{0,16}$', description: 'nextCursor of the page before' }),
  ),
});
export const AuditQuery = Type.Object({ orgId: Type.Optional(PathId), ...PageQuery.properties });

export const CreateOrgBody = Type.Object(
  { id: Type.Optional(Id), name: Text(200) },
  { additionalProperties: false },
);
export const CreateProgramBody = CreateOrgBody;

const promotionFields = {
  promoIdentifier: Type.Optional(nullable(Text(100))),
  name: Text(200),
  type: Type.String({
    minLength: 1,
    maxLength: 40,
    description: 'ENROL_AND_ISSUE, DIRECT or GENERIC, or one of their aliases (any case)',
  }),
  active: Type.Optional(Type.Boolean()),
  startDate: Type.Optional(nullable(DateTimeInput)),
  endDate: Type.Optional(nullable(DateTimeInput)),
  maxIssualsPerCustomer: Type.Optional(nullable(Count())),
  maxEarnsPerCustomer: Type.Optional(nullable(Count())),
};
export const CreatePromotionBody = Type.Object(
  { id: Type.Optional(Id), programId: Id, ...promotionFields },
  { additionalProperties: false },
);
export const PatchPromotionBody = Type.Object(
  {
    ...promotionFields,
    name: Type.Optional(promotionFields.name),
    type: Type.Optional(promotionFields.type),
  },
  { additionalProperties: false },
);

export const CustomerInput = Type.Object(
  {
    id: Type.Optional(Id),
    mobile: Type.Optional(nullable(Text(40, 'Digits, with any spaces, dashes, brackets or a leading +'))),
    email: Type.Optional(nullable(Text(320))),
    externalId: Type.Optional(nullable(Text(100))),
    sources: Type.Optional(
      nullable(
        Type.Array(Type.String({ description: SOURCES.join(', ') }), {
          maxItems: SOURCES.length * 2,
          description: 'Default ["INSTORE"]',
        }),
      ),
    ),
    programIds: Type.Optional(nullable(Type.Array(Id, { maxItems: 1000 }))),
  },
  { additionalProperties: false },
);
export const CreateCustomersBody = Type.Object(
  { customers: Type.Array(CustomerInput, { minItems: 1, maxItems: MAX_CUSTOMERS_PER_CALL }) },
  { additionalProperties: false },
);

const RateLimit = Type.Optional(nullable(Count({ maximum: 1_000_000 })));
const TokenTtl = Type.Optional(Count({ minimum: 60, maximum: 86_400 }));
export const CreateTillBody = Type.Object(
  { username: Text(100), password: Text(200), customerAccess: Access, rateLimitPerMinute: RateLimit },
  { additionalProperties: false },
);
export const CreateApiClientBody = Type.Object(
  {
    key: Text(100),
    secret: Text(200),
    customerAccess: Access,
    rateLimitPerMinute: RateLimit,
    tokenTtlSeconds: TokenTtl,
  },
  { additionalProperties: false },
);
export const PatchTillBody = Type.Object(
  {
    customerAccess: Type.Optional(Access),
    disabled: Type.Optional(Type.Boolean()),
    rateLimitPerMinute: RateLimit,
  },
  { additionalProperties: false },
);
export const PatchApiClientBody = Type.Object(
  { ...PatchTillBody.properties, tokenTtlSeconds: TokenTtl },
  { additionalProperties: false },
);
// No body at all, or null, generates a secret.
export const RotateTillBody = nullable(
  Type.Object({ password: Type.Optional(nullable(Text(200))) }, { additionalProperties: false }),
);
export const RotateApiClientBody = nullable(
  Type.Object({ secret: Type.Optional(nullable(Text(200))) }, { additionalProperties: false }),
);

export type CreateOrgInput = Static<typeof CreateOrgBody>;
export type CreatePromotionInput = Static<typeof CreatePromotionBody>;
export type PatchPromotionInput = Static<typeof PatchPromotionBody>;
export type CustomerItemInput = Static<typeof CustomerInput>;
export type CreateCustomersInput = Static<typeof CreateCustomersBody>;
export type CreateCredentialInput = Static<typeof CreateTillBody> | Static<typeof CreateApiClientBody>;
export type PatchCredentialInput = Static<typeof PatchApiClientBody>;
export type RotateCredentialInput = Static<typeof RotateTillBody> | Static<typeof RotateApiClientBody>;
export type PageInput = Static<typeof PageQuery>;

// Answers.

export const AdminErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'invalid_request, unauthorized, not_found, conflict, ...' }),
      message: Type.String(),
      field: Type.Optional(Type.String({ description: 'The offending field, as a JSON path' })),
    }),
  },
  { description: 'A refused request' },
);

export const OrgAnswer = Type.Object({ id: Type.Integer(), name: Type.String(), createdAt: Timestamp });
export const ProgramAnswer = Type.Object({
  id: Type.Integer(),
  orgId: Type.Integer(),
  name: Type.String(),
  createdAt: Timestamp,
});
export const PromotionAnswer = Type.Object({
  id: Type.Integer(),
  programId: Type.Integer(),
  promoIdentifier: nullable(Type.String()),
  name: Type.String(),
  type: Type.String(),
  active: Type.Boolean(),
  startDate: nullable(Timestamp),
  endDate: nullable(Timestamp),
  maxIssualsPerCustomer: nullable(Type.Integer()),
  maxEarnsPerCustomer: nullable(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const CustomerAnswer = Type.Object({
  id: Type.Integer(),
  mobile: nullable(Type.String()),
  email: nullable(Type.String()),
  externalId: nullable(Type.String()),
  sources: Type.Array(Type.String()),
  programIds: Type.Array(Type.Integer()),
});
export const CustomersAnswer = Type.Object({ customers: Type.Array(CustomerAnswer) });

const credentialAnswerFields = {
  orgId: Type.Integer(),
  customerAccess: Access,
  disabled: Type.Boolean(),
  rateLimitPerMinute: nullable(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};
export const TillAnswer = Type.Object({ ...credentialAnswerFields, username: Type.String() });
export const ApiClientAnswer = Type.Object({
  ...credentialAnswerFields,
  key: Type.String(),
  tokenTtlSeconds: Type.Integer(),
});
export const TillsAnswer = Type.Object({ tills: Type.Array(TillAnswer) });
export const ApiClientsAnswer = Type.Object({ apiClients: Type.Array(ApiClientAnswer) });
// A generated secret is shown in the rotation's answer, and never again.
export const RotatedTillAnswer = Type.Object({
  ...TillAnswer.properties,
  password: Type.Optional(Type.String()),
});
export const RotatedApiClientAnswer = Type.Object({
  ...ApiClientAnswer.properties,
  secret: Type.Optional(Type.String()),
});

const NextCursor = nullable(
  Type.String({ description: 'Pass as cursor for the next page; null on the last' }),
);
const Revocable = { createdAt: Timestamp, revokedAt: nullable(Timestamp) };
export const IssualReportAnswer = Type.Object({
  issuals: Type.Array(
    Type.Object({
      issualId: Type.String(),
      customerId: Type.Integer(),
      ...Revocable,
      earns: Type.Array(Type.Object({ earnedId: Type.String(), ...Revocable })),
    }),
  ),
  nextCursor: NextCursor,
});
export const AuditAnswer = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.String(),
      orgId: Type.Integer(),
      at: Timestamp,
      who: Type.String(),
      action: Type.String(),
      target: Type.Record(Type.String(), Type.String()),
      status: Type.Integer(),
      requestId: Type.String(),
    }),
  ),
  nextCursor: NextCursor,
});

export type PromotionView = Static<typeof PromotionAnswer>;
export type CustomerView = Static<typeof CustomerAnswer>;
export type IssualReport = Static<typeof IssualReportAnswer>;
export type AuditPage = Static<typeof AuditAnswer>;

/** A fixture for `loyalty seed`: orgs with their records, each record as its management call takes it. */
export const Fixture = Type.Object(
  {
    orgs: Type.Array(
      Type.Object(
        {
          ...CreateOrgBody.properties,
          programs: Type.Optional(Type.Array(CreateProgramBody)),
          promotions: Type.Optional(Type.Array(CreatePromotionBody)),
          customers: Type.Optional(Type.Array(CustomerInput)),
          tills: Type.Optional(Type.Array(CreateTillBody)),
          apiClients: Type.Optional(Type.Array(CreateApiClientBody)),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);
