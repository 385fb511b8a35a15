import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument, type DocumentOptions } from './document.js';

/** Swagger UI's files, shipped in the swagger-ui-dist package: the reference needs no network. */
const UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
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

/** The package's version: from the nearest package.json of this package above this file (src/ or dist/). */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'loyalty-promotions' && pkg.version) return pkg.version;
    } catch {
      // none here: look higher
    }
    const parent = path.dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a JSON document, walked by key
type Json = Record<string, any>;

/** Operations generated from the routes' own schemas (those with an operationId) win over written ones. */
function withGenerated(written: Json, generated: Json): Json {
  const paths: Json = structuredClone(written.paths);
  for (const [path, operations] of Object.entries(generated.paths ?? {}) as [string, Json][]) {
    for (const [method, operation] of Object.entries(operations) as [string, Json][]) {
      if (operation.operationId) paths[path] = { ...paths[path], [method]: operation };
    }
  }
  const schemas = { ...generated.components?.schemas, ...written.components.schemas };
  return { ...written, paths, components: { ...written.components, schemas } };
}

/** `GET /openapi.json`, and the interactive reference at `GET /docs`. */
export async function docsRoutes(
  app: FastifyInstance,
  { metrics, version = packageVersion() }: Omit<DocumentOptions, 'version'> & { version?: string },
) {
  const written = buildOpenApiDocument({ version, metrics });
  let document: string | undefined;
  const cache = new Map<string, Buffer>();

  app.get('/openapi.json', async (_request, reply) => {
    document ??= JSON.stringify(withGenerated(written, app.swagger() as Json));
    return reply.type('application/json; charset=utf-8').send(document);
  });

  const html = { config: { csp: DOCS_CSP } };
  app.get('/docs', html, async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));
  app.get('/docs/init.js', html, async (_request, reply) =>
    reply.type('application/javascript; charset=utf-8').send(INIT),
  );
  app.get<{ Params: { file: string } }>('/docs/:file', html, async (request, reply) => {
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
