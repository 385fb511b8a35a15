import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { ADMIN_BODY_LIMIT, refusals, schema, WRITE_REFUSALS } from '../admin/route-schema.js';
import { OrgParams } from '../contract/admin.contract.js';
import { ref } from '../contract/components.contract.js';
import * as C from '../contract/events.contract.js';
import type { FeedService } from './feed.service.js';
import type { WebhookService } from './webhook.service.js';

export interface EventRoutesOptions {
  feed: FeedService;
  webhooks: WebhookService;
}

const answer = (name: keyof typeof C.EVENTS_COMPONENTS) => ref(name) as TSchema;

/**
 * The event feed and the webhook endpoints, registered inside the management API's scope, which
 * checks the admin token, validates by these schemas and writes the audit log.
 */
export async function eventRoutes(fastify: FastifyInstance, { feed, webhooks }: EventRoutesOptions) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const opts = { bodyLimit: ADMIN_BODY_LIMIT, config: { envelope: 'admin' as const } };
  const org = '/admin/v1/orgs/:orgId';
  const hook = `${org}/webhooks/:webhookId`;

  app.get(
    `${org}/events`,
    {
      ...opts,
      ...schema(
        'listEvents',
        "An org's events in feed order (commit order), from the oldest kept or after a cursor",
        { params: OrgParams, querystring: C.FeedQuery },
        { 200: answer('EventPage'), ...refusals(400) },
      ),
    },
    async (request) => feed.page(request.params.orgId, request.query),
  );

  app.post(
    `${org}/webhooks`,
    {
      ...opts,
      ...schema(
        'createWebhook',
        'Create a webhook endpoint; its secret is shown in this answer only',
        { params: OrgParams, body: C.CreateWebhookBody },
        { 201: answer('Webhook'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request, reply) => reply.code(201).send(await webhooks.create(request.params.orgId, request.body)),
  );

  app.get(
    `${org}/webhooks`,
    {
      ...opts,
      ...schema(
        'listWebhooks',
        "An org's webhook endpoints",
        { params: OrgParams, querystring: C.DeliveriesQuery },
        { 200: answer('Webhooks'), ...refusals(400) },
      ),
    },
    async (request) => webhooks.list(request.params.orgId, request.query),
  );

  app.get(
    hook,
    {
      ...opts,
      ...schema(
        'getWebhook',
        'A webhook endpoint',
        { params: C.WebhookParams },
        { 200: answer('Webhook'), ...refusals(400, 404) },
      ),
    },
    async (request) => webhooks.get(request.params.orgId, request.params.webhookId),
  );

  app.patch(
    hook,
    {
      ...opts,
      ...schema(
        'updateWebhook',
        'Change a webhook endpoint: url, types, description, maxBatchSize, enabled',
        { params: C.WebhookParams, body: C.PatchWebhookBody },
        { 200: answer('Webhook'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request) => webhooks.update(request.params.orgId, request.params.webhookId, request.body),
  );

  app.delete(
    hook,
    {
      ...opts,
      ...schema(
        'deleteWebhook',
        'Delete a webhook endpoint and its delivery log',
        { params: C.WebhookParams },
        // A body is not needed, but one sent is read as any other (so 413 and 415 too, found by fuzzing).
        {
          204: { type: 'null', description: 'Deleted' } as unknown as TSchema,
          ...refusals(...WRITE_REFUSALS, 404),
        },
      ),
    },
    async (request, reply) => {
      await webhooks.remove(request.params.orgId, request.params.webhookId);
      return reply.code(204).send();
    },
  );

  app.post(
    `${hook}/rotate-secret`,
    {
      ...opts,
      ...schema(
        'rotateWebhookSecret',
        'Give a webhook endpoint a new secret, shown in this answer only',
        { params: C.WebhookParams },
        { 200: answer('Webhook'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request) => webhooks.rotateSecret(request.params.orgId, request.params.webhookId),
  );

  app.get(
    `${hook}/deliveries`,
    {
      ...opts,
      ...schema(
        'listWebhookDeliveries',
        "A webhook endpoint's delivery attempts, newest first",
        { params: C.WebhookParams, querystring: C.DeliveriesQuery },
        { 200: answer('WebhookDeliveries'), ...refusals(400, 404) },
      ),
    },
    async (request) => webhooks.deliveries(request.params.orgId, request.params.webhookId, request.query),
  );

  app.post(
    `${hook}/replay`,
    {
      ...opts,
      ...schema(
        'replayWebhook',
        'Send again every event after a feed cursor (the oldest kept event when none is given)',
        { params: C.WebhookParams, body: C.ReplayWebhookBody },
        { 200: answer('Webhook'), ...refusals(...WRITE_REFUSALS, 404) },
      ),
    },
    async (request) => webhooks.replay(request.params.orgId, request.params.webhookId, request.body ?? {}),
  );
}
