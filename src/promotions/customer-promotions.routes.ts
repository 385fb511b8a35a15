import type { FastifyInstance } from 'fastify';
import { AppError, apiMessage } from '../errors.js';
import { promotionDataOperation } from '../openapi/v2.operations.js';
import type { CustomerPromotionsService, PromotionDataQuery } from './customer-promotions.service.js';
import { requestContext } from './request-context.js';

/** `GET /v2/customers/lookup/promotionData`: a customer's promotions, needing READ access. */
export async function customerPromotionsRoutes(
  app: FastifyInstance,
  { service }: { service: CustomerPromotionsService },
) {
  app.get<{ Querystring: PromotionDataQuery }>(
    '/v2/customers/lookup/promotionData',
    // Documented, not validated: the service answers Capillary's codes for a bad query (see swagger.ts).
    { config: { access: 'READ', envelope: 'v2', openapi: promotionDataOperation } },
    async (request, reply) => {
      try {
        return await service.promotionData(requestContext(request), request.query);
      } catch (err) {
        // The page's refusals are `{errors: [...]}` alone; 401 and 403 keep every /v2 route's body.
        if (!(err instanceof AppError) || typeof err.code !== 'number' || err.status >= 500) throw err;
        return reply.code(err.status).send({ errors: [apiMessage(err.code, err.message)] });
      }
    },
  );
}
