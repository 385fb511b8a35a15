/**
 * The documentation of the /v2 and OAuth routes, which they attach as `config.openapi`. It documents
 * only: these endpoints check their input themselves, in Capillary's order of error codes, and a
 * validation by Fastify would answer other codes (see ./swagger.ts).
 */
import type { FastifySchema } from 'fastify';
import { CustomerQuery, PromotionDataQuery } from '../contract/v2.contract.js';
import {
  bulkPartialExamples,
  bulkRejectionExamples,
  bulkRequestExamples,
  bulkSuccessExamples,
} from './examples.js';
import { answer, body, codes, retryAfter, v2Auth, v2Headers } from './responses.js';
import { V2_SECURITY } from './swagger.js';

/** The whole-request rejections of a bulk endpoint, in the order they are checked. */
const BULK_REJECTIONS = [400, 8901, 8899, 8902, 8881, 11013, 8013, 1060, 1101, 8874, 8892] as const;

export function bulkOperation(
  operationId: string,
  summary: string,
  description: string,
  examples = false,
): FastifySchema {
  const envelope = (text: string, media = {}, headers?: Record<string, object>) =>
    answer(text, 'BulkResponse', media, headers);
  return {
    operationId,
    summary,
    description,
    tags: ['v2 bulk'],
    security: V2_SECURITY,
    headers: v2Headers(true),
    body: body('BulkRequest', examples ? { examples: bulkRequestExamples } : {}),
    response: {
      200: envelope(
        'No customer failed (warnings, such as 8890, are not failures).',
        examples ? { examples: bulkSuccessExamples } : {},
      ),
      201: envelope(
        `At least one customer failed; its item holds the error: ${codes([11013, 8003, 8015, 8896, 8903, 2305, 8905])}. Warnings: ${codes([8890])}.`,
        examples ? { examples: bulkPartialExamples } : {},
      ),
      400: envelope(
        `The whole request is refused (the first failing check, in this order): ${codes(BULK_REJECTIONS)}. ` +
          'Also 400 for a malformed Idempotency-Key.',
        examples ? { examples: bulkRejectionExamples } : {},
      ),
      ...v2Auth(),
      413: envelope(codes([413])),
      415: envelope(codes([415])),
      422: envelope(codes([422])),
      429: envelope(`${codes([429])} (see Retry-After)`, {}, retryAfter),
      500: envelope(codes([500])),
      503: envelope(
        `${codes([503])}: the store is unreachable, or went away during COMMIT (then the request may have been written: send it again with the same Idempotency-Key)`,
      ),
    },
  };
}

export const issueOperation: FastifySchema = {
  operationId: 'issue',
  summary: 'EARN for one customer named in the query string',
  description: 'The same rules as a bulk EARN of one customer. Needs WRITE access.',
  tags: ['v2'],
  security: V2_SECURITY,
  querystring: CustomerQuery,
  headers: v2Headers(true),
  body: body('IssueRequest', { example: { programId: 2714, promotionId: 202090 } }),
  response: {
    200: answer('The earn, as a side effect.', 'IssueResponse', {
      example: {
        warnings: [],
        errors: [],
        sideEffects: [
          { programId: 2714, promotionId: 202090, issualId: '839', earnedId: '796', type: 'EARN' },
        ],
      },
    }),
    400: answer(
      `Refused, with the error in \`errors\` and no side effects: ${codes([...BULK_REJECTIONS, 8003, 8015, 8896])}.`,
      'IssueRefusal',
    ),
    ...v2Auth(),
    413: answer(codes([413]), 'V2Error'),
    415: answer(codes([415]), 'V2Error'),
    422: answer(codes([422]), 'V2Error'),
    429: answer(codes([429]), 'V2Error', {}, retryAfter),
    500: answer(codes([500]), 'V2Error'),
    503: answer(codes([503]), 'V2Error'),
  },
};

export const promotionDataOperation: FastifySchema = {
  operationId: 'promotionData',
  summary: "A customer's promotions, with restrictions, usage and enrolment timelines",
  description:
    'Follows Capillary’s get-promotion-data page (docs.capillarytech.com/reference/get-promotion-data). ' +
    'Needs READ or WRITE access. docs/api.md maps each field to our records.',
  tags: ['v2'],
  security: V2_SECURITY,
  querystring: PromotionDataQuery,
  headers: v2Headers(false),
  response: {
    200: answer('The page of promotions.', 'PromotionDataResponse'),
    400: answer(
      `${codes([11013, 8013, 8003, 8015])}; or 400 for a bad filter. \`{errors}\` alone, as the page's examples.`,
      'PromotionDataRefusal',
    ),
    ...v2Auth(),
    429: answer(codes([429]), 'V2Error', {}, retryAfter),
    500: answer(codes([500]), 'V2Error'),
    503: answer(codes([503]), 'V2Error'),
  },
};

export const tokenOperation: FastifySchema = {
  operationId: 'generateToken',
  summary: "An API client's key and secret for a short-lived token",
  description:
    'Follows Capillary’s Authorization Flows page. Send the token as `X-CAP-API-OAUTH-TOKEN` (or ' +
    '`Authorization: Bearer`). It lasts the client’s tokenTtlSeconds, at most LOYALTY_MAX_TOKEN_TTL_SECONDS ' +
    '(default 3600, Capillary’s 60 minutes).',
  tags: ['auth'],
  security: [],
  body: body('TokenRequest', { example: { key: 'demo-client', secret: 'demo-client-secret' } }),
  response: {
    200: answer('A token.', 'TokenResponse'),
    401: answer(
      'Wrong key or secret, or either missing: the page’s `320001` Invalid client key and secret.',
      'TokenFailure',
    ),
    400: answer(codes([400]), 'TokenError'),
    413: answer(codes([413]), 'TokenError'),
    415: answer(codes([415]), 'TokenError'),
    500: answer(codes([500]), 'TokenError'),
    503: answer(codes([503]), 'TokenError'),
  },
};
