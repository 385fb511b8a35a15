import type { FastifyInstance } from 'fastify';
import type { BulkResponse } from '../client/types.js';
import { bulkResponseSchema, forSerialization, issueResponseSchema } from '../openapi/schemas.js';
import type { BulkEndpoint, EnrolmentService, IssueQuery } from './enrolment.service.js';
import { requestContext } from './request-context.js';

// The answers' schemas live with the OpenAPI document, which is generated from them.
export { bulkResponseSchema } from '../openapi/schemas.js';

export interface EnrolmentRoutesOptions {
  service: EnrolmentService;
  bodyLimit: number;
  /** Told of every answer that reached the customers (metrics count them by action and outcome). */
  onAnswer?: (action: string, answer: Pick<BulkResponse, 'response'>) => void;
}

const bulkSerializer = forSerialization(bulkResponseSchema);
const issueSerializer = forSerialization(issueResponseSchema);

const BULK_ROUTES: readonly { url: string; endpoint: BulkEndpoint }[] = [
  { url: '/v2/promotion/bulk/enrolAndEarn', endpoint: { actions: ['ENROL', 'EARN'] } },
  { url: '/v2/promotion/bulk/directEarn', endpoint: { actions: ['EARN'], types: ['DIRECT'] } },
  {
    url: '/v2/promotion/bulk/revokeEnrolAndEarn',
    endpoint: { actions: ['REVOKE_ENROL', 'REVOKE_EARN'], types: ['ENROL_AND_ISSUE'] },
  },
  { url: '/v2/promotion/bulk/revokeDirectEarn', endpoint: { actions: ['REVOKE_EARN'], types: ['DIRECT'] } },
];

export async function enrolmentRoutes(
  app: FastifyInstance,
  { service, bodyLimit, onAnswer }: EnrolmentRoutesOptions,
) {
  for (const { url, endpoint } of BULK_ROUTES) {
    app.post(
      url,
      {
        bodyLimit,
        config: { access: 'WRITE', envelope: 'bulk' },
        schema: { response: { 200: bulkSerializer, 201: bulkSerializer } },
      },
      async (request, reply) => {
        const { action, answer: result } = await service.bulk(
          requestContext(request),
          request.body,
          endpoint,
        );
        onAnswer?.(action, result);
        // Capillary's v2 convention: 201 when some customers failed, 200 when none did.
        return reply.code(result.failureCount > 0 ? 201 : 200).send(result);
      },
    );
  }
}

/** `POST /v2/promotion/issue`: one customer, named in the query string. */
export async function issueRoutes(
  app: FastifyInstance,
  { service, bodyLimit, onAnswer }: EnrolmentRoutesOptions,
) {
  app.post<{ Querystring: IssueQuery }>(
    '/v2/promotion/issue',
    {
      bodyLimit,
      config: { access: 'WRITE', envelope: 'v2' },
      schema: { response: { 200: issueSerializer, 400: issueSerializer } },
    },
    async (request, reply) => {
      const result = await service.issue(requestContext(request), request.query, request.body);
      onAnswer?.('EARN', { response: [result] });
      return reply.code(result.errors.length > 0 ? 400 : 200).send(result);
    },
  );
}
