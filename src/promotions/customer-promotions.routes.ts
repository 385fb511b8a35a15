import type { FastifyInstance } from 'fastify';
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
    async (request) => service.promotionData(requestContext(request), request.query),
  );
}
