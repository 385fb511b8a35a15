import type { FastifyInstance } from 'fastify';
import type { CustomerPromotionsService, PromotionDataQuery } from './customer-promotions.service.js';
import { requestContext } from './request-context.js';

/** `GET /v2/customers/lookup/promotionData`: a customer's promotions, needing READ access. */
export async function customerPromotionsRoutes(
  app: FastifyInstance,
  { service }: { service: CustomerPromotionsService },
) {
  app.get<{ Querystring: PromotionDataQuery }>(
    '/v2/customers/lookup/promotionData',
    { config: { access: 'READ', envelope: 'v2' } },
    async (request) => service.promotionData(requestContext(request), request.query),
  );
}
