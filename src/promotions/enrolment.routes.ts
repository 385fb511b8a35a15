import type { FastifyInstance, FastifySchema } from 'fastify';
import { GRANT_ACTIONS, REVOKE_ACTIONS } from '../contract/enums.contract.js';
import { BulkResponse, IssueRefusal, IssueResponse } from '../contract/v2.contract.js';
import { MESSAGES } from '../errors.js';
import { forSerialization } from '../openapi/responses.js';
import { bulkOperation, issueOperation } from '../openapi/v2.operations.js';
import type { BulkEndpoint, EnrolmentService, IssueQuery } from './enrolment.service.js';
import { requestContext } from './request-context.js';

export interface EnrolmentRoutesOptions {
  service: EnrolmentService;
  bodyLimit: number;
  /** Told of every answer that reached the customers (metrics count them by action and outcome). */
  onAnswer?: (action: string, answer: Pick<BulkResponse, 'response'>) => void;
}

// Answers are serialised by their contract schemas (fast, and never a field that is not there).
const bulkSerializer = forSerialization(BulkResponse);

/** The direct pages' wording of 8899 and 8881 (the seed's ends in a period, and words 8881 otherwise). */
const DIRECT_PAGE_MESSAGES = { 8899: MESSAGES.userGroupDirect, 8881: MESSAGES.insufficientDirect };

const BULK_ROUTES: readonly { url: string; endpoint: BulkEndpoint; openapi: FastifySchema }[] = [
  {
    url: '/v2/promotion/bulk/enrolAndEarn',
    endpoint: { actions: GRANT_ACTIONS },
    openapi: bulkOperation(
      'enrolAndEarn',
      'Enrol customers into a promotion (ENROL) or issue it to them (EARN)',
      'Needs WRITE access. Up to 100 customers. The whole-request checks run in the order of the 400 ' +
        'codes below; then each customer, in request order. All writes of a request commit together. ' +
        'HTTP 200 when no customer failed, 201 when at least one did (Capillary v2 convention).',
      true,
    ),
  },
  {
    url: '/v2/promotion/bulk/directEarn',
    // The page's request has no bulkAction; an older version of the page sends ENROL.
    endpoint: {
      actions: ['EARN'],
      defaultAction: 'EARN',
      aliases: { ENROL: 'EARN' },
      types: ['DIRECT'],
      messages: DIRECT_PAGE_MESSAGES,
      namesAsRequested: true,
      pageLimits: true,
    },
    openapi: bulkOperation(
      'directEarn',
      'EARN on a DIRECT promotion',
      'The same body, checks and answer as enrolAndEarn, for EARN on DIRECT promotions only.',
    ),
  },
  {
    url: '/v2/promotion/bulk/revokeEnrolAndEarn',
    // REVOKE_EARN also on DIRECT (the page's "Direct + REVOKE_EARN"); REVOKE_ISSUAL is the oldest
    // version's name of REVOKE_ENROL.
    endpoint: {
      actions: REVOKE_ACTIONS,
      aliases: { REVOKE_ISSUAL: 'REVOKE_ENROL' },
      messages: { 8902: MESSAGES.revokeUnsupported },
      namesAsRequested: true,
    },
    openapi: bulkOperation(
      'revokeEnrolAndEarn',
      'Revoke enrolments (REVOKE_ENROL) or earns (REVOKE_EARN) of an enrol-and-issue promotion',
      'Nothing is deleted: revoked records keep their rows. An inactive promotion is 8892; one past its ' +
        'endDate can still be revoked from. REVOKE_ENROL of a customer with active earns fails that ' +
        'customer with 8905 and the rest of the request goes on: Capillary says the earns must be revoked ' +
        'before the customer can be unenrolled, but documents no code for it (8905 is ours). A customer ' +
        'with nothing active to revoke is 2305.',
    ),
  },
  {
    url: '/v2/promotion/bulk/revokeDirectEarn',
    // Its second example has no bulkAction; one version of the page serves LOYALTY_EARNING too.
    endpoint: {
      actions: ['REVOKE_EARN'],
      defaultAction: 'REVOKE_EARN',
      messages: { ...DIRECT_PAGE_MESSAGES, 8902: MESSAGES.revokeUnsupported },
      namesAsRequested: true,
    },
    openapi: bulkOperation(
      'revokeDirectEarn',
      'Revoke earns (REVOKE_EARN) of a DIRECT promotion',
      '`customers[].earnIds` names the earns; absent, all the customer’s active earns.',
    ),
  },
];

export async function enrolmentRoutes(
  app: FastifyInstance,
  { service, bodyLimit, onAnswer }: EnrolmentRoutesOptions,
) {
  for (const { url, endpoint, openapi } of BULK_ROUTES) {
    app.post(
      url,
      {
        bodyLimit,
        // The documentation is in config, not schema: Fastify must not validate the body, since the
        // service's own checks decide which of Capillary's codes is answered.
        config: { access: 'WRITE', envelope: 'bulk', openapi },
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
      config: { access: 'WRITE', envelope: 'v2', openapi: issueOperation },
      schema: {
        response: { 200: forSerialization(IssueResponse), 400: forSerialization(IssueRefusal) },
      },
    },
    async (request, reply) => {
      const result = await service.issue(requestContext(request), request.query, request.body);
      onAnswer?.('EARN', { response: [result] });
      return reply.code('sideEffects' in result ? 200 : 400).send(result);
    },
  );
}
