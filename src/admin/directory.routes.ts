import type { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type TSchema, Type } from 'typebox';
import * as C from '../contract/admin.contract.js';
import { createCustomerImportService } from './customer-import.service.js';
import type { Management } from './management.js';
import { answer, refusals, schema, WRITE_REFUSALS } from './route-schema.js';

type App = FastifyInstance;

/**
 * The directory of the management API: every record listed (key-set pages), read, searched and
 * changed; customers soft-deleted and imported; a promotion's counts. Registered inside adminRoutes,
 * so the bearer token, the audit log and the admin envelope apply.
 */
export async function directoryRoutes(
  fastify: App,
  { management, importMaxBytes, opts }: { management: Management; importMaxBytes: number; opts: object },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { directory, customerDirectory: customers } = management;
  const imports = createCustomerImportService(customers, importMaxBytes);
  // A CSV import is read as it arrives, never held whole.
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));

  app.get(
    '/admin/v1/orgs',
    {
      ...opts,
      ...schema(
        'listOrgs',
        'The orgs, by id',
        { querystring: C.PageQuery },
        { 200: answer('Orgs'), ...refusals(400) },
      ),
    },
    async (request) => directory.orgs(request.query),
  );
  app.get(
    '/admin/v1/orgs/:orgId',
    {
      ...opts,
      ...schema('getOrg', 'An org', { params: C.OrgParams }, { 200: answer('Org'), ...refusals(400, 404) }),
    },
    async (request) => directory.org(request.params.orgId),
  );
  app.patch(
    '/admin/v1/orgs/:orgId',
    {
      ...opts,
      ...schema(
        'updateOrg',
        "Change an org's name",
        { params: C.OrgParams, body: C.PatchNameBody },
        { 200: answer('Org'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request) => directory.renameOrg(request.params.orgId, request.body.name),
  );

  app.get(
    '/admin/v1/orgs/:orgId/programs',
    {
      ...opts,
      ...schema(
        'listPrograms',
        'The programs of an org, by id',
        { params: C.OrgParams, querystring: C.PageQuery },
        { 200: answer('Programs'), ...refusals(400, 404) },
      ),
    },
    async (request) => directory.programs(request.params.orgId, request.query),
  );
  app.get(
    '/admin/v1/orgs/:orgId/programs/:programId',
    {
      ...opts,
      ...schema(
        'getProgram',
        'A program',
        { params: C.ProgramParams },
        { 200: answer('Program'), ...refusals(400, 404) },
      ),
    },
    async (request) => directory.program(request.params.orgId, request.params.programId),
  );
  app.patch(
    '/admin/v1/orgs/:orgId/programs/:programId',
    {
      ...opts,
      ...schema(
        'updateProgram',
        "Change a program's name",
        { params: C.ProgramParams, body: C.PatchNameBody },
        { 200: answer('Program'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request) =>
      directory.renameProgram(request.params.orgId, request.params.programId, request.body.name),
  );

  app.get(
    '/admin/v1/orgs/:orgId/promotions',
    {
      ...opts,
      ...schema(
        'listPromotions',
        'The promotions of an org, by id, filtered by program, type, state and name',
        { params: C.OrgParams, querystring: C.PromotionListQuery },
        { 200: answer('Promotions'), ...refusals(400, 404) },
      ),
    },
    async (request) => directory.promotions(request.params.orgId, request.query),
  );
  app.get(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/counts',
    {
      ...opts,
      ...schema(
        'getPromotionCounts',
        "A promotion's counts, in all and per UTC day of a range",
        { params: C.PromotionParams, querystring: C.CountsQuery },
        { 200: answer('PromotionCounts'), ...refusals(400, 404) },
      ),
    },
    async (request) => directory.counts(request.params.orgId, request.params.promotionId, request.query),
  );

  app.get(
    '/admin/v1/orgs/:orgId/promotion-counts',
    {
      ...opts,
      ...schema(
        'listPromotionCounts',
        'The counts in all of up to 100 promotions (a page of the promotion list), in one read',
        { params: C.OrgParams, querystring: C.ManyCountsQuery },
        { 200: answer('ManyPromotionCounts'), ...refusals(400, 404) },
      ),
    },
    async (request) => directory.countsOf(request.params.orgId, request.query.ids),
  );

  for (const [kind, path, noun] of [
    ['till', 'tills', 'Till'],
    ['apiClient', 'api-clients', 'ApiClient'],
  ] as const) {
    app.get(
      `/admin/v1/orgs/:orgId/${path}/:name`,
      {
        ...opts,
        ...schema(
          `get${noun}`,
          `A ${kind === 'till' ? 'till' : 'API client'}, without its secret`,
          { params: C.CredentialParams },
          { 200: answer(noun), ...refusals(400, 404) },
        ),
      },
      async (request) => directory.credential(kind, request.params.orgId, request.params.name),
    );
  }

  app.get(
    '/admin/v1/orgs/:orgId/customers',
    {
      ...opts,
      ...schema(
        'listCustomers',
        'The customers of an org, by id (deleted ones left out)',
        { params: C.OrgParams, querystring: C.PageQuery },
        { 200: answer('CustomerPage'), ...refusals(400, 404) },
      ),
    },
    async (request) => customers.list(request.params.orgId, request.query),
  );
  app.get(
    '/admin/v1/orgs/:orgId/customers/search',
    {
      ...opts,
      ...schema(
        'searchCustomers',
        'The customer an identifier names, with its programs, sources and rewards',
        { params: C.OrgParams, querystring: C.CustomerSearchQuery },
        { 200: answer('CustomerSearch'), ...refusals(400, 404) },
      ),
    },
    async (request) => customers.search(request.params.orgId, request.query),
  );
  app.get(
    '/admin/v1/orgs/:orgId/customers/:customerId',
    {
      ...opts,
      ...schema(
        'getCustomer',
        'A customer with its programs, sources and rewards (a deleted one too)',
        { params: C.CustomerParams },
        { 200: answer('CustomerDetail'), ...refusals(400, 404) },
      ),
    },
    async (request) => customers.get(request.params.orgId, request.params.customerId),
  );
  app.patch(
    '/admin/v1/orgs/:orgId/customers/:customerId',
    {
      ...opts,
      ...schema(
        'updateCustomer',
        "Change a customer's identifiers, sources or programs",
        { params: C.CustomerParams, body: C.PatchCustomerBody },
        { 200: answer('CustomerDetail'), ...refusals(...WRITE_REFUSALS, 404, 409) },
      ),
    },
    async (request) => customers.patch(request.params.orgId, request.params.customerId, request.body),
  );
  app.delete(
    '/admin/v1/orgs/:orgId/customers/:customerId',
    {
      ...opts,
      ...schema(
        'deleteCustomer',
        'Soft-delete a customer: no lookup finds it, its rewards stay in the reports',
        { params: C.CustomerParams },
        { 200: answer('CustomerDetail'), ...refusals(400, 404) },
      ),
    },
    async (request) => customers.remove(request.params.orgId, request.params.customerId),
  );

  app.post(
    '/admin/v1/orgs/:orgId/customers/import',
    {
      ...opts,
      config: { ...(opts as { config?: object }).config, csv: true },
      ...schema(
        'importCustomers',
        'Import customers from CSV (streamed) or JSON: created, updated, unchanged or refused per row',
        {
          params: C.OrgParams,
          querystring: C.ImportQuery,
          body: {
            content: {
              'application/json': { schema: C.ImportJsonBody },
              'text/csv': { schema: Type.Unknown() },
            },
          } as unknown as TSchema,
        },
        { 200: answer('CustomerImport'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request) => {
      const mode = request.query.mode ?? 'create';
      const type = request.headers['content-type'] ?? '';
      if (/^text\/csv/i.test(type)) {
        const length = request.headers['content-length'];
        return imports.csv(
          request.params.orgId,
          mode,
          request.body as Readable,
          length === undefined ? undefined : Number(length),
        );
      }
      return imports.json(request.params.orgId, mode, request.body as C.CreateCustomersInput);
    },
  );
}
