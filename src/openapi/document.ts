/**
 * The OpenAPI 3.1 document of the service, built from the schemas in ./schemas.ts and the error table
 * of ../errors.ts, so that the reference cannot drift from what the code sends.
 */
import { ERROR_TABLE } from '../errors.js';
import {
  bulkPartialExamples,
  bulkRejectionExamples,
  bulkRequestExamples,
  bulkSuccessExamples,
} from './examples.js';
import * as schemas from './schemas.js';

export const OPENAPI_VERSION = '3.1.0';

type Json = Record<string, unknown>;

/** Component names of the schemas, as `#/components/schemas/<name>` refers to them. */
export const SCHEMAS = {
  ApiMessage: schemas.apiMessageSchema,
  BulkRequest: schemas.bulkRequestSchema,
  BulkResponse: schemas.bulkResponseSchema,
  IssueRequest: schemas.issueRequestSchema,
  IssueResponse: schemas.issueResponseSchema,
  V2Error: schemas.v2ErrorSchema,
  PromotionDataResponse: schemas.promotionDataResponseSchema,
  TokenRequest: schemas.tokenRequestSchema,
  TokenResponse: schemas.tokenResponseSchema,
  TokenError: schemas.tokenErrorSchema,
  Health: schemas.healthSchema,
  Ready: schemas.readySchema,
  AdminError: schemas.adminErrorSchema,
  Org: schemas.orgSchema,
  OrgRequest: schemas.orgRequestSchema,
  Program: schemas.programSchema,
  ProgramRequest: schemas.programRequestSchema,
  Promotion: schemas.promotionSchema,
  PromotionCreate: schemas.promotionCreateSchema,
  PromotionPatch: schemas.promotionPatchSchema,
  Customers: schemas.customersSchema,
  CustomersRequest: schemas.customersRequestSchema,
  Till: schemas.tillSchema,
  Tills: schemas.tillsSchema,
  TillCreate: schemas.tillCreateSchema,
  TillPatch: schemas.tillPatchSchema,
  TillRotate: schemas.tillRotateSchema,
  ApiClient: schemas.apiClientSchema,
  ApiClients: schemas.apiClientsSchema,
  ApiClientCreate: schemas.apiClientCreateSchema,
  ApiClientPatch: schemas.apiClientPatchSchema,
  ApiClientRotate: schemas.apiClientRotateSchema,
  IssualReport: schemas.issualReportSchema,
  AuditPage: schemas.auditPageSchema,
} as const;

export type SchemaName = keyof typeof SCHEMAS;

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });

/** `code (message)` for each code, as the description of a status. */
function codes(list: readonly (keyof typeof ERROR_TABLE)[]): string {
  return list.map((c) => `\`${c}\` ${ERROR_TABLE[c].message}`).join('; ');
}

const json = (name: SchemaName, extra: Json = {}) => ({
  content: { 'application/json': { schema: ref(name), ...extra } },
});

function response(description: string, name: SchemaName, extra: Json = {}, headers?: Json): Json {
  return { description, ...(headers ? { headers } : {}), ...json(name, extra) };
}

const retryAfter = { 'Retry-After': { $ref: '#/components/headers/Retry-After' } };

const V2_SECURITY = [{ basicAuth: [] }, { capOAuthToken: [] }, { bearerToken: [] }];
const ADMIN_SECURITY = [{ adminToken: [] }];

/** The whole-request rejections of a bulk endpoint, in the order they are checked. */
const BULK_REJECTIONS = [400, 8901, 8899, 8902, 8881, 11013, 8013, 1060, 1101, 8874, 8892] as const;

function v2Auth(): Json {
  return {
    401: response(`Missing or wrong credentials, or a bad token: ${codes([401])}`, 'V2Error'),
    403: response(`Too little access on the CUSTOMER resource: ${codes([4000])}`, 'V2Error'),
  };
}

function bulkOperation(operationId: string, summary: string, description: string, examples: boolean): Json {
  const envelope = (text: string, extra?: Json) => response(text, 'BulkResponse', extra ?? {});
  return {
    operationId,
    summary,
    description,
    tags: ['v2 bulk'],
    security: V2_SECURITY,
    parameters: [
      { $ref: '#/components/parameters/IdempotencyKey' },
      { $ref: '#/components/parameters/RequestId' },
    ],
    requestBody: {
      required: true,
      description: 'Up to the body limit (1 MiB by default), `Content-Type: application/json`.',
      ...json('BulkRequest', examples ? { examples: bulkRequestExamples } : {}),
    },
    responses: {
      200: response(
        'No customer failed (warnings, such as 8890, are not failures).',
        'BulkResponse',
        examples ? { examples: bulkSuccessExamples } : {},
      ),
      201: response(
        `At least one customer failed; its item holds the error: ${codes([11013, 8003, 8015, 8896, 8903, 8904])}. Warnings: ${codes([8890])}.`,
        'BulkResponse',
        examples ? { examples: bulkPartialExamples } : {},
      ),
      400: envelope(
        `The whole request is refused (the first failing check, in this order): ${codes(BULK_REJECTIONS)}. ` +
          'Also 400 for a malformed Idempotency-Key.',
        examples ? { examples: bulkRejectionExamples } : undefined,
      ),
      ...v2Auth(),
      413: envelope(codes([413])),
      415: envelope(codes([415])),
      422: envelope(codes([422])),
      429: response(`${codes([429])} (see Retry-After)`, 'BulkResponse', {}, retryAfter),
      500: envelope(codes([500])),
      503: envelope(
        `${codes([503])}: the store is unreachable, or went away during COMMIT (then the request may have been written: send it again with the same Idempotency-Key)`,
      ),
    },
  };
}

const customerQuery = [
  {
    name: 'identifierName',
    in: 'query',
    required: true,
    schema: { type: 'string', enum: ['id', 'mobile', 'email'] },
  },
  { name: 'identifierValue', in: 'query', required: true, schema: { type: 'string' } },
  {
    name: 'source',
    in: 'query',
    required: true,
    schema: { type: 'string' },
    description: 'A registered source or ALL.',
  },
];

const pathParam = (name: string, description: string, type: 'integer' | 'string' = 'integer') => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: type === 'integer' ? { type: 'integer', minimum: 1 } : { type: 'string' },
});
const orgId = pathParam('orgId', 'The org.');
const promotionId = pathParam('promotionId', 'The promotion.');

function adminErrors(...statuses: (400 | 404 | 409 | 413 | 415)[]): Json {
  const what: Record<number, string> = {
    400: 'A malformed body or parameter (`invalid_request`, naming the field).',
    404: 'A record named in the path or the body does not exist (`not_found`).',
    409: 'A duplicate id, identifier, mobile, email or login (`conflict`).',
    413: 'Body over 32 MiB (`payload_too_large`).',
    415: 'A body that is not application/json (`unsupported_media_type`).',
  };
  const out: Json = {
    401: response(
      'No or a wrong admin token, or no LOYALTY_ADMIN_TOKEN configured (`unauthorized`).',
      'AdminError',
    ),
  };
  for (const s of statuses) out[s] = response(what[s] as string, 'AdminError');
  out[500] = response('`internal`', 'AdminError');
  out[503] = response('`unavailable`: the store is unreachable.', 'AdminError');
  return out;
}

function adminOp(
  summary: string,
  parameters: Json[],
  body: SchemaName | undefined,
  ok: Json,
  errors: Json,
): Json {
  return {
    summary,
    tags: ['management'],
    security: ADMIN_SECURITY,
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { required: !body.endsWith('Rotate'), ...json(body) } } : {}),
    responses: { ...ok, ...errors },
  };
}

function credentialPaths(path: 'tills' | 'api-clients'): Json {
  const till = path === 'tills';
  const one: SchemaName = till ? 'Till' : 'ApiClient';
  const name = pathParam('name', till ? 'The till username.' : 'The API client key.', 'string');
  const label = till ? 'till' : 'API client';
  return {
    [`/admin/v1/orgs/{orgId}/${path}`]: {
      post: adminOp(
        `Create a ${label}`,
        [orgId],
        till ? 'TillCreate' : 'ApiClientCreate',
        { 201: response(`The ${label}, without its secret.`, one) },
        adminErrors(400, 404, 409, 413, 415),
      ),
      get: adminOp(
        `List the org's ${label}s`,
        [orgId],
        undefined,
        { 200: response(`The ${label}s, without secrets.`, till ? 'Tills' : 'ApiClients') },
        adminErrors(400, 404),
      ),
    },
    [`/admin/v1/orgs/{orgId}/${path}/{name}`]: {
      patch: adminOp(
        `Change a ${label}'s access, limits, or disable it`,
        [orgId, name],
        till ? 'TillPatch' : 'ApiClientPatch',
        { 200: response(`The ${label}.`, one) },
        adminErrors(400, 404, 413, 415),
      ),
    },
    [`/admin/v1/orgs/{orgId}/${path}/{name}/rotate`]: {
      post: adminOp(
        `Rotate a ${label}'s ${till ? 'password' : 'secret'} (absent: one is generated and shown in this answer only)`,
        [orgId, name],
        till ? 'TillRotate' : 'ApiClientRotate',
        { 200: response(`The ${label}.`, one) },
        adminErrors(400, 404, 413, 415),
      ),
    },
  };
}

function errorTable(): string {
  const rows = Object.entries(ERROR_TABLE).map(
    ([code, { status, message }]) => `| ${code} | ${status} | ${message} |`,
  );
  return ['| code | HTTP | message |', '|---|---|---|', ...rows].join('\n');
}

export interface DocumentOptions {
  version: string;
  /** Whether GET /metrics is served (LOYALTY_METRICS). */
  metrics: boolean;
}

/** The OpenAPI 3.1 document. */
export function buildOpenApiDocument({ version, metrics }: DocumentOptions): Json {
  const paths: Json = {
    '/v2/promotion/bulk/enrolAndEarn': {
      post: bulkOperation(
        'enrolAndEarn',
        'Enrol customers into a promotion (ENROL) or issue it to them (EARN)',
        'Needs WRITE access. Up to 100 customers. The whole-request checks run in the order of the 400 ' +
          'codes below; then each customer, in request order. All writes of a request commit together. ' +
          'HTTP 200 when no customer failed, 201 when at least one did (Capillary v2 convention).',
        true,
      ),
    },
    '/v2/promotion/bulk/directEarn': {
      post: bulkOperation(
        'directEarn',
        'EARN on a DIRECT promotion',
        'The same body, checks and answer as enrolAndEarn, for EARN on DIRECT promotions only.',
        false,
      ),
    },
    '/v2/promotion/bulk/revokeEnrolAndEarn': {
      post: bulkOperation(
        'revokeEnrolAndEarn',
        'Revoke enrolments (REVOKE_ENROL) or earns (REVOKE_EARN) of an enrol-and-issue promotion',
        'Nothing is deleted: revoked records keep their rows. A promotion need not be live to be revoked from.',
        false,
      ),
    },
    '/v2/promotion/bulk/revokeDirectEarn': {
      post: bulkOperation(
        'revokeDirectEarn',
        'Revoke earns (REVOKE_EARN) of a DIRECT promotion',
        '`customers[].earnIds` names the earns; absent, all the customer’s active earns.',
        false,
      ),
    },
    '/v2/promotion/issue': {
      post: {
        operationId: 'issue',
        summary: 'EARN for one customer named in the query string',
        description: 'The same rules as a bulk EARN of one customer. Needs WRITE access.',
        tags: ['v2'],
        security: V2_SECURITY,
        parameters: [
          ...customerQuery,
          { $ref: '#/components/parameters/IdempotencyKey' },
          { $ref: '#/components/parameters/RequestId' },
        ],
        requestBody: {
          required: true,
          ...json('IssueRequest', { example: { programId: 2714, promotionId: 202090 } }),
        },
        responses: {
          200: response('The earn, as a side effect.', 'IssueResponse', {
            example: {
              warnings: [],
              errors: [],
              sideEffects: [
                { programId: 2714, promotionId: 202090, issualId: '839', earnedId: '796', type: 'EARN' },
              ],
            },
          }),
          400: response(
            `Refused, with the error in \`errors\` and no side effects: ${codes([...BULK_REJECTIONS, 8003, 8015, 8896])}.`,
            'IssueResponse',
          ),
          ...v2Auth(),
          413: response(codes([413]), 'V2Error'),
          415: response(codes([415]), 'V2Error'),
          422: response(codes([422]), 'V2Error'),
          429: response(codes([429]), 'V2Error', {}, retryAfter),
          500: response(codes([500]), 'V2Error'),
          503: response(codes([503]), 'V2Error'),
        },
      },
    },
    '/v2/customers/lookup/promotionData': {
      get: {
        operationId: 'promotionData',
        summary: "A customer's promotions, with its status, issual, earns and usage in each",
        description: 'Needs READ or WRITE access.',
        tags: ['v2'],
        security: V2_SECURITY,
        parameters: [
          ...customerQuery,
          {
            name: 'promotionStatusForCustomer',
            in: 'query',
            schema: { type: 'string', enum: ['AVAILABLE_TO_ENROL', 'AVAILABLE_TO_EARN', 'EXPIRED'] },
          },
          {
            name: 'promotionType',
            in: 'query',
            schema: { type: 'string' },
            description: 'A type or an alias.',
          },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { $ref: '#/components/parameters/RequestId' },
        ],
        responses: {
          200: response('The page of promotions.', 'PromotionDataResponse'),
          400: response(`${codes([11013, 8013, 8003, 8015])}; or 400 for a bad filter.`, 'V2Error'),
          ...v2Auth(),
          429: response(codes([429]), 'V2Error', {}, retryAfter),
          500: response(codes([500]), 'V2Error'),
          503: response(codes([503]), 'V2Error'),
        },
      },
    },
    '/v3/oauth/token/generate': {
      post: {
        operationId: 'generateToken',
        summary: "An API client's key and secret for a short-lived token",
        description:
          'Send the token as `X-CAP-API-OAUTH-TOKEN` (or `Authorization: Bearer`). It lasts the client’s tokenTtlSeconds.',
        tags: ['auth'],
        security: [],
        requestBody: {
          required: true,
          ...json('TokenRequest', { example: { key: 'demo-client', secret: 'demo-client-secret' } }),
        },
        responses: {
          200: response('A token.', 'TokenResponse'),
          401: response('Wrong credentials: `401` Failed to generate OAuth token.', 'TokenError'),
          400: response(codes([400]), 'TokenError'),
          413: response(codes([413]), 'TokenError'),
          415: response(codes([415]), 'TokenError'),
          500: response(codes([500]), 'TokenError'),
          503: response(codes([503]), 'TokenError'),
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness: 200 once the server takes requests',
        tags: ['operations'],
        security: [],
        responses: { 200: response('Alive.', 'Health') },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        summary: "Readiness: the store answers and its schema is current (a load balancer's check)",
        tags: ['operations'],
        security: [],
        responses: {
          200: response('Ready.', 'Ready'),
          503: response('Not ready, with the reason.', 'Ready'),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        tags: ['operations'],
        security: [],
        responses: { 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': {} } } },
      },
    },
    '/docs': {
      get: {
        operationId: 'docs',
        summary: 'An interactive reference of this document, served from the package (works offline)',
        tags: ['operations'],
        security: [],
        responses: { 200: { description: 'An HTML page.', content: { 'text/html': {} } } },
      },
    },
    ...(metrics
      ? {
          '/metrics': {
            get: {
              operationId: 'metrics',
              summary: 'Prometheus metrics (off with LOYALTY_METRICS=0)',
              tags: ['operations'],
              security: [],
              responses: {
                200: {
                  description: 'The Prometheus text format.',
                  content: { 'text/plain': { schema: { type: 'string' } } },
                },
              },
            },
          },
        }
      : {}),
    '/admin/v1/orgs': {
      post: adminOp(
        'Create an org',
        [],
        'OrgRequest',
        { 201: response('The org.', 'Org') },
        adminErrors(400, 409, 413, 415),
      ),
    },
    '/admin/v1/orgs/{orgId}/programs': {
      post: adminOp(
        'Create a program',
        [orgId],
        'ProgramRequest',
        { 201: response('The program.', 'Program') },
        adminErrors(400, 404, 409, 413, 415),
      ),
    },
    '/admin/v1/orgs/{orgId}/promotions': {
      post: adminOp(
        'Create a promotion',
        [orgId],
        'PromotionCreate',
        { 201: response('The promotion.', 'Promotion') },
        adminErrors(400, 404, 409, 413, 415),
      ),
    },
    '/admin/v1/orgs/{orgId}/promotions/{promotionId}': {
      get: adminOp(
        'A promotion',
        [orgId, promotionId],
        undefined,
        { 200: response('The promotion.', 'Promotion') },
        adminErrors(400, 404),
      ),
      patch: adminOp(
        'Change a promotion',
        [orgId, promotionId],
        'PromotionPatch',
        { 200: response('The promotion.', 'Promotion') },
        adminErrors(400, 404, 409, 413, 415),
      ),
    },
    '/admin/v1/orgs/{orgId}/customers': {
      post: adminOp(
        'Create customers (up to 10,000, all or nothing)',
        [orgId],
        'CustomersRequest',
        { 201: response('The customers.', 'Customers') },
        adminErrors(400, 404, 409, 413, 415),
      ),
    },
    ...credentialPaths('tills'),
    ...credentialPaths('api-clients'),
    '/admin/v1/orgs/{orgId}/promotions/{promotionId}/issuals': {
      get: adminOp(
        'The enrolment report: issuals and their earns, oldest first, revoked ones included',
        [
          orgId,
          promotionId,
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          { name: 'cursor', in: 'query', schema: { type: 'string' } },
        ],
        undefined,
        { 200: response('A page of the report.', 'IssualReport') },
        adminErrors(400, 404),
      ),
    },
    '/admin/v1/orgs/{orgId}/promotions/{promotionId}/issuals.csv': {
      get: adminOp(
        'The whole enrolment report as CSV, a row per earn (or per issual without earns)',
        [orgId, promotionId],
        undefined,
        {
          200: {
            description: 'issualId,customerId,createdAt,revokedAt,earnedId,earnCreatedAt,earnRevokedAt',
            content: { 'text/csv': { schema: { type: 'string' } } },
          },
        },
        adminErrors(400, 404),
      ),
    },
    '/admin/v1/audit': {
      get: adminOp(
        'The audit log: every management change that succeeded, oldest first',
        [
          {
            name: 'orgId',
            in: 'query',
            schema: { type: 'integer', minimum: 0 },
            description: '0: the deployment.',
          },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          { name: 'cursor', in: 'query', schema: { type: 'string' } },
        ],
        undefined,
        { 200: response('A page of the log.', 'AuditPage') },
        adminErrors(400),
      ),
    },
  };

  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'loyalty-promotions',
      version,
      summary: "A self-hostable loyalty promotion service that speaks Capillary's v2 promotion API",
      description:
        'Bulk enrol, earn and revoke of loyalty promotions, a single-customer issue, a customer lookup, ' +
        'OAuth tokens, and a management API.\n\nEvery error code:\n\n' +
        errorTable(),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'v2 bulk', description: 'Capillary-compatible bulk promotion API' },
      { name: 'v2', description: 'Capillary-compatible single-customer API' },
      { name: 'auth', description: 'OAuth tokens for API clients' },
      { name: 'management', description: 'The management API (ours), behind the admin token' },
      { name: 'operations', description: 'Health, readiness, metrics and this reference' },
    ],
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        basicAuth: {
          type: 'http',
          scheme: 'basic',
          description: 'A till: `Basic base64(username:md5hex(password))`, as Capillary sends it.',
        },
        capOAuthToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-CAP-API-OAUTH-TOKEN',
          description: 'A token of POST /v3/oauth/token/generate. When present, it alone decides.',
        },
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The same token as `Authorization: Bearer <token>`.',
        },
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The management API: `Authorization: Bearer $LOYALTY_ADMIN_TOKEN`.',
        },
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'The same key with the same request within 24 hours gets the first answer again and writes nothing; ' +
            'with a different request, 422. Keys belong to the credential that sent them.',
          schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
        },
        RequestId: {
          name: 'X-Request-Id',
          in: 'header',
          required: false,
          description:
            'Stamped on every log line, issual and earn of the request; made when absent or unusable.',
          schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
        },
      },
      headers: {
        'X-Request-Id': { description: 'The request id.', schema: { type: 'string' } },
        'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } },
      },
    },
  };
}
