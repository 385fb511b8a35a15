import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

// Both src/console-auth/ and dist/console-auth/ sit two levels below the package, so this is the
// package's dist/console, where `npm run build` puts the console's files.
const ROOT = fileURLToPath(new URL('../../dist/console/', import.meta.url));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};
/** The console runs only its own files and talks only to this server. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The files of the built console, read once at start: only these are ever served, by exact name. */
function readBuild(): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>();
  if (!existsSync(path.join(ROOT, 'index.html'))) return files;
  for (const entry of readdirSync(ROOT, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const type = TYPES[path.extname(entry.name)];
    if (type)
      files.set(path.relative(ROOT, full).split(path.sep).join('/'), { type, body: readFileSync(full) });
  }
  return files;
}

/** The console's page and files at /console; `/` leads to it. */
export async function consoleStaticRoutes(app: FastifyInstance) {
  const files = readBuild();
  const config = { csp: CSP };
  const send = (name: string) => async (_request: unknown, reply: import('fastify').FastifyReply) => {
    const file = files.get(name);
    if (!file) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built: run npm run build');
    }
    return reply.type(file.type).send(file.body);
  };
  const hide = { schema: { hide: true } };
  app.get('/', { ...hide }, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console', { ...hide }, async (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console/', { ...hide, config }, send('index.html'));
  app.get<{ Params: { file: string } }>(
    '/console/assets/:file',
    { ...hide, config },
    async (request, reply) => send(`assets/${request.params.file}`)(request, reply),
  );
}
