import type { FastifyInstance } from 'fastify';
import type { BulkEndpoint, EnrolmentService, IssueQuery } from './enrolment.service.js';
import { requestContext } from './request-context.js';

const message = {
  type: 'object',
  properties: { status: { type: 'boolean' }, code: { type: 'integer' }, message: { type: 'string' } },
} as const;

/** Serialises the bulk answer by schema (fast, and never leaks a field that is not in it). */
export const bulkResponseSchema = {
  type: 'object',
  properties: {
    response: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          result: {
            type: 'object',
            properties: {
              entityType: { type: 'string' },
              entityId: { type: 'integer' },
              promotionId: { type: 'integer' },
              promoIdentifier: { type: 'string' },
              programId: { type: 'integer' },
              issualId: { type: 'string' },
              earnedId: { type: 'string' },
              revokedIssualId: { type: 'string' },
              revokedEarnIds: { type: 'array', items: { type: 'string' } },
            },
          },
          errors: { type: 'array', items: message },
          warnings: { type: 'array', items: message },
        },
      },
    },
    totalCount: { type: 'integer' },
    failureCount: { type: 'integer' },
  },
} as const;

export interface EnrolmentRoutesOptions {
  service: EnrolmentService;
  bodyLimit: number;
}

const BULK_ROUTES: readonly { url: string; endpoint: BulkEndpoint }[] = [
  { url: '/v2/promotion/bulk/enrolAndEarn', endpoint: { actions: ['ENROL', 'EARN'] } },
  { url: '/v2/promotion/bulk/directEarn', endpoint: { actions: ['EARN'], types: ['DIRECT'] } },
  {
    url: '/v2/promotion/bulk/revokeEnrolAndEarn',
    endpoint: { actions: ['REVOKE_ENROL', 'REVOKE_EARN'], types: ['ENROL_AND_ISSUE'] },
  },
  { url: '/v2/promotion/bulk/revokeDirectEarn', endpoint: { actions: ['REVOKE_EARN'], types: ['DIRECT'] } },
];

export async function enrolmentRoutes(app: FastifyInstance, { service, bodyLimit }: EnrolmentRoutesOptions) {
  for (const { url, endpoint } of BULK_ROUTES) {
    app.post(
      url,
      {
        bodyLimit,
        config: { access: 'WRITE', envelope: 'bulk' },
        schema: { response: { 200: bulkResponseSchema, 201: bulkResponseSchema } },
      },
      async (request, reply) => {
        const result = await service.bulk(requestContext(request), request.body, endpoint);
        // Capillary's v2 convention: 201 when some customers failed, 200 when none did.
        return reply.code(result.failureCount > 0 ? 201 : 200).send(result);
      },
    );
  }
}

const issueResponseSchema = {
  type: 'object',
  properties: {
    warnings: { type: 'array', items: message },
    errors: { type: 'array', items: message },
    sideEffects: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          programId: { type: 'integer' },
          promotionId: { type: 'integer' },
          promoIdentifier: { type: 'string' },
          issualId: { type: 'string' },
          earnedId: { type: 'string' },
          type: { type: 'string' },
        },
      },
    },
  },
} as const;

/** `POST /v2/promotion/issue`: one customer, named in the query string. */
export async function issueRoutes(app: FastifyInstance, { service, bodyLimit }: EnrolmentRoutesOptions) {
  app.post<{ Querystring: IssueQuery }>(
    '/v2/promotion/issue',
    {
      bodyLimit,
      config: { access: 'WRITE', envelope: 'v2' },
      schema: { response: { 200: issueResponseSchema, 400: issueResponseSchema } },
    },
    async (request, reply) => {
      const result = await service.issue(requestContext(request), request.query, request.body);
      return reply.code(result.errors.length > 0 ? 400 : 200).send(result);
    },
  );
}
