import { type Static, type TSchema, Type } from 'typebox';
import {
  ImportAnswer,
  ManyPromotionCountsAnswer,
  PromotionCountsAnswer,
} from './admin-directory.contract.js';
import {
  DateTime,
  MAX_GIVEN_ID,
  MAX_INT4,
  NullableDateTime,
  NullableString,
  Page,
  PositiveIntOrDigits,
  PageQuery as pageQuery,
} from './common.contract.js';
import { ACCESS_LEVELS, SOURCES } from './enums.contract.js';

export * from './admin-directory.contract.js';

/*
 * The management API (/admin/v1): every body, parameter, query and answer, declared once. The routes
 * attach these schemas, so they both validate requests and document the API; the services take the
 * `Static` types. Rules that a schema cannot say (a calendar date, an alias, a date order, a
 * reference) stay in the services.
 */

export const MAX_PAGE_LIMIT = 1_000;
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_CUSTOMERS_PER_CALL = 10_000;

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A positive integer id, in a body also as its digits (fixtures often quote them); the service reads it. */
const Id = PositiveIntOrDigits;
/** A positive integer within bounds (a duration, a rate), also as its digits. */
const Bounded = (minimum: number, maximum: number) =>
  Type.Union([Type.Integer({ minimum, maximum }), Type.String({ pattern: '^[0-9]+$' })], {
    description: `An integer from ${minimum} to ${maximum}, or a string of its digits`,
  });
/** A record's own id when a client gives it: within the ceiling that leaves the numbering room. */
export const GIVEN_ID_RANGE = { min: 1, max: MAX_GIVEN_ID } as const;
const GivenId = Bounded(GIVEN_ID_RANGE.min, GIVEN_ID_RANGE.max);
/** A per-customer count, kept in a 32-bit integer column. */
export const COUNT_RANGE = { min: 1, max: MAX_INT4 } as const;
const Count = Bounded(COUNT_RANGE.min, COUNT_RANGE.max);
export const TOKEN_TTL_RANGE = { min: 60, max: 86_400 } as const;
export const RATE_LIMIT_RANGE = { min: 1, max: 1_000_000 } as const;
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
const Timestamp = DateTime;
const Access = Type.Enum(ACCESS_LEVELS, { description: 'Access to the CUSTOMER resource' });

// Requests.

export const OrgParams = Type.Object({ orgId: PathId });
export const PromotionParams = Type.Object({ orgId: PathId, promotionId: PathId });
export const CredentialParams = Type.Object({ orgId: PathId, name: Type.String({ minLength: 1 }) });

/** One page of a list: the cursor a previous page gave, and how many to answer. */
export const PageQuery = pageQuery(MAX_PAGE_LIMIT, DEFAULT_PAGE_LIMIT);
export const AuditQuery = Type.Object({
  orgId: Type.Optional(PathId),
  who: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Exactly, e.g. user:alice' })),
  action: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 300,
      description: 'Exactly, e.g. POST /admin/v1/orgs/:orgId/jobs',
    }),
  ),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Changes at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Changes at or before' })),
  order: Type.Optional(Type.Enum(['asc', 'desc'], { default: 'asc', description: 'desc: newest first' })),
  ...PageQuery.properties,
});
export type AuditFilter = Static<typeof AuditQuery>;

export const CreateOrgBody = Type.Object(
  { id: Type.Optional(GivenId), name: Text(200) },
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
  maxIssualsPerCustomer: Type.Optional(nullable(Count)),
  maxEarnsPerCustomer: Type.Optional(nullable(Count)),
};
export const CreatePromotionBody = Type.Object(
  { id: Type.Optional(GivenId), programId: Id, ...promotionFields },
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
    id: Type.Optional(GivenId),
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

/**
 * A till's username or an API client's key: a login, so no ':' (Basic could never carry it), no
 * blanks, control or non-ASCII characters (no look-alikes in logs and lists).
 */
export const LOGIN_NAME_PATTERN = '^[A-Za-z0-9._@-]{1,100}$';
const LoginName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: LOGIN_NAME_PATTERN,
  description: '1 to 100 of A-Z, a-z, 0-9, ".", "_", "-" and "@"',
});
const RateLimit = Type.Optional(nullable(Bounded(RATE_LIMIT_RANGE.min, RATE_LIMIT_RANGE.max)));
const TokenTtl = Type.Optional(Bounded(TOKEN_TTL_RANGE.min, TOKEN_TTL_RANGE.max));
export const CreateTillBody = Type.Object(
  { username: LoginName, password: Text(200), customerAccess: Access, rateLimitPerMinute: RateLimit },
  { additionalProperties: false },
);
export const CreateApiClientBody = Type.Object(
  {
    key: LoginName,
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
  promoIdentifier: NullableString,
  name: Type.String(),
  type: Type.String(),
  active: Type.Boolean(),
  startDate: NullableDateTime,
  endDate: NullableDateTime,
  maxIssualsPerCustomer: nullable(Type.Integer()),
  maxEarnsPerCustomer: nullable(Type.Integer()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export const CustomerAnswer = Type.Object({
  id: Type.Integer(),
  mobile: NullableString,
  email: NullableString,
  externalId: NullableString,
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
// A generated secret is shown in the answer of the rotation that made it, and never again.
export const TillAnswer = Type.Object(
  {
    ...credentialAnswerFields,
    username: Type.String(),
    password: Type.Optional(
      Type.String({ description: 'Only in the answer of a rotation that generated it' }),
    ),
  },
  { description: 'A till' },
);
export const ApiClientAnswer = Type.Object(
  {
    ...credentialAnswerFields,
    key: Type.String(),
    tokenTtlSeconds: Type.Integer(),
    secret: Type.Optional(Type.String({ description: 'Only in the answer of a rotation that generated it' })),
  },
  { description: 'An API client' },
);
export const TillsAnswer = Page(TillAnswer, 'tills');
export const ApiClientsAnswer = Page(ApiClientAnswer, 'apiClients');

const Revocable = { createdAt: Timestamp, revokedAt: NullableDateTime };
export const IssualReportAnswer = Page(
  Type.Object({
    issualId: Type.String(),
    customerId: Type.Integer(),
    ...Revocable,
    earns: Type.Array(Type.Object({ earnedId: Type.String(), ...Revocable })),
  }),
  'issuals',
);
export const AuditAnswer = Page(
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
  'entries',
);

export type PromotionView = Static<typeof PromotionAnswer>;
export type CustomerView = Static<typeof CustomerAnswer>;
export type IssualReport = Static<typeof IssualReportAnswer>;
export type AuditPage = Static<typeof AuditAnswer>;

// The directory: lists, searches, changes, counts and imports (issue 16).

export const PatchNameBody = Type.Object({ name: Text(200) }, { additionalProperties: false });
export const PatchCustomerBody = Type.Object(
  {
    mobile: CustomerInput.properties.mobile,
    email: CustomerInput.properties.email,
    externalId: CustomerInput.properties.externalId,
    sources: Type.Optional(Type.Array(Type.String(), { maxItems: SOURCES.length * 2 })),
    programIds: Type.Optional(Type.Array(Id, { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export const ImportJsonBody = CreateCustomersBody;

const RecordTimes = { createdAt: Timestamp, revokedAt: NullableDateTime };
export const CustomerDetailAnswer = Type.Object({
  ...CustomerAnswer.properties,
  createdAt: Timestamp,
  deletedAt: NullableDateTime,
  promotions: Type.Array(
    Type.Object({
      promotionId: Type.Integer(),
      issuals: Type.Array(
        Type.Object({
          issualId: Type.String(),
          ...RecordTimes,
          revoked: Type.Boolean(),
          earns: Type.Array(
            Type.Object({ earnedId: Type.String(), ...RecordTimes, revoked: Type.Boolean() }),
          ),
        }),
      ),
    }),
  ),
});
export type PatchCustomerInput = Static<typeof PatchCustomerBody>;
export type CustomerDetail = Static<typeof CustomerDetailAnswer>;

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

/** The management API's answers as named schemas of the document (`ref(name)` in a route's response). */
export const ADMIN_COMPONENTS = {
  Org: OrgAnswer,
  Program: ProgramAnswer,
  Promotion: PromotionAnswer,
  Customers: CustomersAnswer,
  Till: TillAnswer,
  Tills: TillsAnswer,
  ApiClient: ApiClientAnswer,
  ApiClients: ApiClientsAnswer,
  IssualReport: IssualReportAnswer,
  AuditPage: AuditAnswer,
  Orgs: Page(OrgAnswer, 'orgs'),
  Programs: Page(ProgramAnswer, 'programs'),
  Promotions: Page(PromotionAnswer, 'promotions'),
  CustomerPage: Page(CustomerAnswer, 'customers'),
  CustomerDetail: CustomerDetailAnswer,
  CustomerSearch: Page(CustomerDetailAnswer, 'customers'),
  PromotionCounts: PromotionCountsAnswer,
  ManyPromotionCounts: ManyPromotionCountsAnswer,
  CustomerImport: ImportAnswer,
} satisfies Record<string, TSchema>;
