import type { FastifyInstance } from 'fastify';
import { pathId } from '../admin/admin-input.js';
import { safeEqual } from '../auth/secret-hash.js';
import { requireJson } from '../auth/v2-auth.hook.js';
import { MIN_ADMIN_TOKEN_BYTES } from '../config.js';
import { AppError } from '../errors.js';
import type { FeedQuery, FeedService } from './feed.service.js';
import type { WebhookService } from './webhook.service.js';

export interface EventRoutesOptions {
  feed: FeedService;
  webhooks: WebhookService;
}

type OrgParams = { orgId: string };
type HookParams = OrgParams & { webhookId: string };
type ListQuery = { limit?: string; cursor?: string };

function webhookId(value: string): string {
  if (!/^wh_[A-Za-z0-9_-]{1,64}$/.test(value))
    throw new AppError('not_found', `webhook ${value} does not exist`);
  return value;
}

/** The event feed and the webhook endpoints of the management API (inside its authenticated scope). */
export async function eventRoutes(app: FastifyInstance, { feed, webhooks }: EventRoutesOptions) {
  const opts = { config: { envelope: 'admin' as const } };
  const base = '/admin/v1/orgs/:orgId';
  const org = (params: OrgParams) => pathId(params.orgId, 'orgId');

  app.get<{ Params: OrgParams; Querystring: FeedQuery }>(`${base}/events`, opts, async (request) =>
    feed.page(org(request.params), request.query),
  );

  app.post<{ Params: OrgParams }>(`${base}/webhooks`, opts, async (request, reply) =>
    reply.code(201).send(await webhooks.create(org(request.params), request.body)),
  );
  app.get<{ Params: OrgParams; Querystring: ListQuery }>(`${base}/webhooks`, opts, async (request) =>
    webhooks.list(org(request.params), request.query),
  );
  app.get<{ Params: HookParams }>(`${base}/webhooks/:webhookId`, opts, async (request) =>
    webhooks.get(org(request.params), webhookId(request.params.webhookId)),
  );
  app.patch<{ Params: HookParams }>(`${base}/webhooks/:webhookId`, opts, async (request) =>
    webhooks.update(org(request.params), webhookId(request.params.webhookId), request.body),
  );
  app.delete<{ Params: HookParams }>(`${base}/webhooks/:webhookId`, opts, async (request, reply) => {
    await webhooks.remove(org(request.params), webhookId(request.params.webhookId));
    return reply.code(204).send();
  });
  app.post<{ Params: HookParams }>(`${base}/webhooks/:webhookId/rotate-secret`, opts, async (request) =>
    webhooks.rotateSecret(org(request.params), webhookId(request.params.webhookId)),
  );
  app.get<{ Params: HookParams; Querystring: ListQuery }>(
    `${base}/webhooks/:webhookId/deliveries`,
    opts,
    async (request) =>
      webhooks.deliveries(org(request.params), webhookId(request.params.webhookId), request.query),
  );
  app.post<{ Params: HookParams }>(`${base}/webhooks/:webhookId/replay`, opts, async (request) =>
    webhooks.replay(org(request.params), webhookId(request.params.webhookId), request.body),
  );
}

/**
 * Until the management API's routes take sub-plugins, this scope checks the admin token as the
 * management API does (TODO(issue 12): register eventRoutes inside the admin scope instead).
 */
export function adminScope(app: FastifyInstance, adminToken: string | undefined): void {
  const enabled = adminToken !== undefined && Buffer.byteLength(adminToken) >= MIN_ADMIN_TOKEN_BYTES;
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s/i.test(header) ? header.slice(7).trim() : '';
    if (!enabled || !token || !safeEqual(token, adminToken as string)) throw new AppError('unauthorized');
    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 ||
      request.headers['transfer-encoding'] !== undefined;
    if ((request.method === 'POST' || request.method === 'PATCH') && hasBody) requireJson(request);
  });
}
