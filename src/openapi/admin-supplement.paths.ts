/**
 * TEMPORARY: the management API's operations as they were written by hand, until the admin routes
 * attach their own schemas. An operation here fills in only a route that gives no operationId of
 * its own, so each admin route that documents itself replaces its entry; then this file goes.
 */
import * as schemas from './admin-supplement.schemas.js';
import { ADMIN_SECURITY } from './swagger.js';

type Json = Record<string, unknown>;

/** Component names of the schemas, as `#/components/schemas/<name>` refers to them. */
export const ADMIN_SUPPLEMENT_SCHEMAS = {
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

type SchemaName = keyof typeof ADMIN_SUPPLEMENT_SCHEMAS | 'AdminError';

const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });

const json = (name: SchemaName, extra: Json = {}) => ({
  content: { 'application/json': { schema: ref(name), ...extra } },
});

function response(description: string, name: SchemaName, extra: Json = {}, headers?: Json): Json {
  return { description, ...(headers ? { headers } : {}), ...json(name, extra) };
}

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

/** The operationId of each operation below, by `method path`. */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  'post /admin/v1/orgs': 'createOrg',
  'post /admin/v1/orgs/{orgId}/programs': 'createProgram',
  'post /admin/v1/orgs/{orgId}/promotions': 'createPromotion',
  'get /admin/v1/orgs/{orgId}/promotions/{promotionId}': 'getPromotion',
  'patch /admin/v1/orgs/{orgId}/promotions/{promotionId}': 'updatePromotion',
  'post /admin/v1/orgs/{orgId}/customers': 'createCustomers',
  'post /admin/v1/orgs/{orgId}/tills': 'createTill',
  'get /admin/v1/orgs/{orgId}/tills': 'listTills',
  'patch /admin/v1/orgs/{orgId}/tills/{name}': 'updateTill',
  'post /admin/v1/orgs/{orgId}/tills/{name}/rotate': 'rotateTill',
  'post /admin/v1/orgs/{orgId}/api-clients': 'createApiClient',
  'get /admin/v1/orgs/{orgId}/api-clients': 'listApiClients',
  'patch /admin/v1/orgs/{orgId}/api-clients/{name}': 'updateApiClient',
  'post /admin/v1/orgs/{orgId}/api-clients/{name}/rotate': 'rotateApiClient',
  'get /admin/v1/orgs/{orgId}/promotions/{promotionId}/issuals': 'issualReport',
  'get /admin/v1/orgs/{orgId}/promotions/{promotionId}/issuals.csv': 'issualReportCsv',
  'get /admin/v1/audit': 'auditLog',
};

/** The management API's operations, by path and method, each with its operationId. */
export function adminSupplementPaths(): Record<string, Record<string, Json>> {
  const paths = adminPaths();
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      operations[method] = { operationId: OPERATION_IDS[`${method} ${path}`], ...operation };
    }
  }
  return paths;
}

function adminPaths(): Record<string, Record<string, Json>> {
  return {
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
}
