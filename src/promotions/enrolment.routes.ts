import type { FastifyInstance } from 'fastify';
import type { EnrolmentService } from './enrolment.service.js';
import type { BulkAction } from './promotion.model.js';

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

const BULK_ROUTES: readonly { url: string; actions: readonly BulkAction[] }[] = [
  { url: '/v2/promotion/bulk/enrolAndEarn', actions: ['ENROL', 'EARN'] },
];

export async function enrolmentRoutes(app: FastifyInstance, { service, bodyLimit }: EnrolmentRoutesOptions) {
  for (const { url, actions } of BULK_ROUTES) {
    app.post(
      url,
      {
        bodyLimit,
        config: { access: 'WRITE', envelope: 'bulk' },
        schema: { response: { 200: bulkResponseSchema, 201: bulkResponseSchema } },
      },
      async (request, reply) => {
        const actor = request.actor;
        if (!actor) throw new Error('unauthenticated request reached a /v2 handler');
        const result = await service.bulk({ actor, requestId: request.id }, request.body, actions);
        // Capillary's v2 convention: 201 when some customers failed, 200 when none did.
        return reply.code(result.failureCount > 0 ? 201 : 200).send(result);
      },
    );
  }
}
