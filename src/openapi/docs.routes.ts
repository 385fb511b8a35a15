import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ADMIN_COMPONENTS } from '../contract/admin.contract.js';
import { COMPONENTS } from '../contract/components.contract.js';
import { CONSOLE_COMPONENTS } from '../contract/console.contract.js';
import { EVENTS_COMPONENTS } from '../contract/events.contract.js';
import { JOB_COMPONENTS } from '../contract/jobs.contract.js';

/**
 * Swagger UI's own files, as @fastify/swagger-ui ships them (with no install-time telemetry): the
 * reference needs no network. They are served here rather than by that plugin's routes so that the
 * page keeps its strict policy and the server no other routes (a YAML copy, a static tree).
 */
const UI_DIR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')),
  'static',
);
const UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** The page may run its own scripts and reach this server, nothing else. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>loyalty-promotions API reference</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

// No validator badge: Swagger UI would otherwise send the document to an outside service.
const INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null, deepLinking: true });
});
`;

/** The document's named schemas (`#/components/schemas/<name>`). */
export const SCHEMAS = {
  ...COMPONENTS,
  ...ADMIN_COMPONENTS,
  ...EVENTS_COMPONENTS,
  ...JOB_COMPONENTS,
  ...CONSOLE_COMPONENTS,
};

const operation = (operationId: string, summary: string, type: string, description: string) => ({
  operationId,
  summary,
  tags: ['operations'],
  security: [],
  response: { 200: { description, content: { [type]: {} } } },
});

/** `GET /openapi.json`, generated from the routes, and the interactive reference at `GET /docs`. */
export async function docsRoutes(app: FastifyInstance) {
  let document: string | undefined;
  const cache = new Map<string, Buffer>();

  const openapi = operation('openapi', 'This document', 'application/json', 'The OpenAPI 3.1 document.');
  app.get('/openapi.json', { config: { openapi } }, async (_request, reply) => {
    // Built once, on the first request: every route is registered by then.
    document ??= JSON.stringify(app.swagger());
    return reply.type('application/json; charset=utf-8').send(document);
  });

  const docs = operation(
    'docs',
    'An interactive reference of this document, served from the package (works offline)',
    'text/html',
    'An HTML page.',
  );
  app.get('/docs', { config: { csp: DOCS_CSP, openapi: docs } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(PAGE),
  );
  // The page's own files are not part of the API.
  const file = { config: { csp: DOCS_CSP }, schema: { hide: true } };
  app.get('/docs/init.js', file, async (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').send(INIT),
  );
  app.get<{ Params: { file: string } }>('/docs/:file', file, async (request, reply) => {
    const { file } = request.params;
    const type = Object.hasOwn(UI_FILES, file) ? UI_FILES[file] : undefined;
    if (!type) return reply.callNotFound();
    let body = cache.get(file);
    if (!body) {
      body = await readFile(path.join(UI_DIR, file));
      cache.set(file, body);
    }
    return reply.type(type).send(body);
  });
}
