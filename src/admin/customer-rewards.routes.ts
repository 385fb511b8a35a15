import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { CustomerParams } from '../contract/admin-directory.contract.js';
import { ref } from '../contract/components.contract.js';
import { RewardActionBody } from '../contract/console.contract.js';
import { ANY_SOURCE } from '../contract/enums.contract.js';
import type { EnrolmentService } from '../promotions/enrolment.service.js';
import { refusals, schema, WRITE_REFUSALS } from './route-schema.js';

/**
 * `POST /admin/v1/orgs/{orgId}/customers/{customerId}/rewards`: enrol, earn or revoke for one
 * customer, as a person does it from the console. It is the 100-customer API's request for this one
 * customer (same checks, codes, writes and events, in one transaction), stamped with who made it, so
 * that nothing about a reward changed by hand differs from one changed by a till.
 */
export async function customerRewardRoutes(
  fastify: FastifyInstance,
  { enrolment, opts }: { enrolment: EnrolmentService; opts: object },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/admin/v1/orgs/:orgId/customers/:customerId/rewards',
    {
      ...opts,
      ...schema(
        'changeCustomerReward',
        "Enrol, earn or revoke one customer's reward (the bulk API's rules for one customer)",
        { params: CustomerParams, body: RewardActionBody },
        { 200: ref('BulkResponse') as TSchema, ...refusals(...WRITE_REFUSALS, 403, 404) },
      ),
    },
    async (request) => {
      const { orgId, customerId } = request.params;
      const { action, programId, promotionId, source, earnIds } = request.body;
      const body = {
        type: 'CUSTOMER',
        bulkAction: action,
        promotionDetails: { programId, promotionId },
        identifierName: 'id',
        customers: [
          {
            identifierValue: String(customerId),
            source: source ?? ANY_SOURCE,
            ...(earnIds ? { earnIds: earnIds.map(String) } : {}),
          },
        ],
      };
      // Records name who made them: the console user, or the admin token as jobs name it.
      const credential = request.consoleUser ? `user:${request.consoleUser.username}` : 'admin';
      const actor = { orgId, credential, access: 'WRITE' as const, rateLimitPerMinute: null };
      const { answer } = await enrolment.bulk({ actor, requestId: request.id }, body, { actions: [action] });
      return answer;
    },
  );
}
