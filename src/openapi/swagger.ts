import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { COMPONENTS } from '../contract/components.contract.js';
import { errorTable } from './responses.js';

export const OPENAPI_VERSION = '3.1.0';

/**
 * Registers the named schemas and @fastify/swagger, which then builds the OpenAPI document from every
 * route registered after this: a route's `schema` (operationId, tags, summary, params, querystring,
 * body, response) is its documentation. A route whose schema must not be enforced by Fastify (the /v2
 * and OAuth endpoints, whose own checks decide which error code is answered) gives its documentation in
 * `config.openapi` instead, which only the document reads.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  { version, components = COMPONENTS }: { version: string; components?: Record<string, object> },
) {
  for (const [name, schema] of Object.entries(components)) app.addSchema({ ...schema, $id: name });
  await app.register(fastifySwagger, {
    openapi: {
      openapi: OPENAPI_VERSION,
      info: {
        title: 'loyalty-promotions',
        version,
        summary: "A self-hostable loyalty promotion service that speaks Capillary's v2 promotion API",
        description:
          'Bulk enrol, earn and revoke of loyalty promotions, a single-customer issue, a customer lookup, ' +
          'OAuth tokens, and a management API.\n\nEvery error code:\n\n' +
          errorTable(),
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: '/' }],
      tags: [
        { name: 'v2 bulk', description: 'Capillary-compatible bulk promotion API' },
        { name: 'v2', description: 'Capillary-compatible single-customer API' },
        { name: 'auth', description: 'OAuth tokens for API clients' },
        { name: 'management', description: 'The management API (ours), behind the admin token' },
        { name: 'operations', description: 'Health, readiness, metrics and this reference' },
      ],
      components: { securitySchemes: SECURITY_SCHEMES },
    },
    // Components keep their own names rather than swagger's `def-<n>`.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url, route }) => ({ schema: route.config?.openapi ?? schema, url }),
  });
}

export const SECURITY_SCHEMES = {
  basicAuth: {
    type: 'http',
    scheme: 'basic',
    description: 'A till: `Basic base64(username:md5hex(password))`, as Capillary sends it.',
  },
  capOAuthToken: {
    type: 'apiKey',
    in: 'header',
    name: 'X-CAP-API-OAUTH-TOKEN',
    description: 'A token of POST /v3/oauth/token/generate. When present, it alone decides.',
  },
  bearerToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The same token as `Authorization: Bearer <token>`.',
  },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The management API: `Authorization: Bearer $LOYALTY_ADMIN_TOKEN`.',
  },
  consoleSession: {
    type: 'apiKey',
    in: 'cookie',
    name: 'loyalty_session',
    description:
      'A console session (POST /console/api/session); every change also sends its CSRF token as x-csrf-token.',
  },
} as const;

/** Security requirements of the two API families (an operation lists one of them). */
type Security = { [scheme in keyof typeof SECURITY_SCHEMES]?: string[] }[];
export const V2_SECURITY: Security = [{ basicAuth: [] }, { capOAuthToken: [] }, { bearerToken: [] }];
export const ADMIN_SECURITY: Security = [{ adminToken: [] }];
export const CONSOLE_SECURITY: Security = [{ consoleSession: [] }];
