import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CredentialKind } from '../auth/credential.repository.js';
import { safeEqual } from '../auth/secret-hash.js';
import { requireJson } from '../auth/v2-auth.hook.js';
import type { Clock } from '../clock.js';
import { MIN_ADMIN_TOKEN_BYTES } from '../config.js';
import { AppError } from '../errors.js';
import { pathId } from './admin-input.js';
import type { AuditRepository } from './audit.repository.js';
import type { Management } from './management.js';

export const ADMIN_BODY_LIMIT = 32 * 1024 * 1024;

export interface AdminRoutesOptions {
  management: Management;
  adminToken: string | undefined;
  audit: AuditRepository;
  clock: Clock;
}

type OrgParams = { orgId: string };
type PromotionParams = OrgParams & { promotionId: string };

const org = (request: FastifyRequest<{ Params: OrgParams }>) => pathId(request.params.orgId, 'orgId');
const promotion = (request: FastifyRequest<{ Params: PromotionParams }>) =>
  pathId(request.params.promotionId, 'promotionId');

/** The management API under /admin/v1, behind the operator's bearer token. */
export async function adminRoutes(
  app: FastifyInstance,
  { management, adminToken, audit, clock }: AdminRoutesOptions,
) {
  const { records: service, credentials } = management;
  const enabled = adminToken !== undefined && Buffer.byteLength(adminToken) >= MIN_ADMIN_TOKEN_BYTES;
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization ?? '';
    const token = /^Bearer\s/i.test(header) ? header.slice(7).trim() : '';
    // Without a configured token of 32 bytes or more the management API is off: nothing can open it.
    if (!enabled || !token || !safeEqual(token, adminToken as string)) throw new AppError('unauthorized');
    // Later log lines of the request say who made it (the token itself never).
    const log = request.log as typeof request.log & { setBindings?: (bindings: object) => void };
    log.setBindings?.({ credential: 'admin' });
    // A body must be JSON; a POST without one (a rotation that generates the secret) needs no type.
    const hasBody =
      Number(request.headers['content-length'] ?? 0) > 0 ||
      request.headers['transfer-encoding'] !== undefined;
    if ((request.method === 'POST' || request.method === 'PATCH') && hasBody) requireJson(request);
  });

  // Every change that succeeded is written to the audit log before its answer leaves.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'GET' || reply.statusCode >= 400 || !request.routeOptions.url) return payload;
    const params = (request.params ?? {}) as Record<string, string>;
    let orgId = Number(params.orgId ?? 0);
    if (!params.orgId && typeof payload === 'string') {
      // Creating an org: the log belongs to the org just made.
      orgId = Number((JSON.parse(payload) as { id?: unknown }).id ?? 0);
    }
    try {
      await audit.append({
        orgId: Number.isSafeInteger(orgId) ? orgId : 0,
        at: clock.now(),
        who: `admin@${request.ip}`,
        action: `${request.method} ${request.routeOptions.url}`,
        target: params,
        status: reply.statusCode,
        requestId: request.id,
      });
    } catch (err) {
      request.log.error({ err }, 'the audit log could not be written');
    }
    return payload;
  });

  const opts = { bodyLimit: ADMIN_BODY_LIMIT, config: { envelope: 'admin' as const } };

  app.get<{ Querystring: { orgId?: string; limit?: string; cursor?: string } }>(
    '/admin/v1/audit',
    opts,
    async (request) => {
      const { orgId, limit = '100', cursor = '0' } = request.query;
      const size = Number(limit);
      if (!Number.isInteger(size) || size < 1 || size > 1000) {
        throw new AppError('invalid_request', 'limit must be an integer from 1 to 1000', 'limit');
      }
      const after = Number(cursor || 0);
      if (!Number.isSafeInteger(after) || after < 0)
        throw new AppError('invalid_request', 'bad cursor', 'cursor');
      const org = orgId === undefined ? undefined : pathId(orgId, 'orgId');
      const rows = await audit.page(org, after, size + 1);
      const page = rows.slice(0, size);
      return {
        entries: page.map((r) => ({
          id: String(r.id),
          orgId: r.org_id,
          at: new Date(r.at).toISOString(),
          who: r.who,
          action: r.action,
          target: JSON.parse(r.target) as Record<string, string>,
          status: r.status,
          requestId: r.request_id,
        })),
        nextCursor: rows.length > size ? String(page[page.length - 1]?.id) : null,
      };
    },
  );

  app.post('/admin/v1/orgs', opts, async (request, reply) =>
    reply.code(201).send(await service.createOrg(request.body)),
  );

  app.post<{ Params: OrgParams }>('/admin/v1/orgs/:orgId/programs', opts, async (request, reply) =>
    reply.code(201).send(await service.createProgram(org(request), request.body)),
  );

  app.post<{ Params: OrgParams }>('/admin/v1/orgs/:orgId/promotions', opts, async (request, reply) =>
    reply.code(201).send(await service.createPromotion(org(request), request.body)),
  );

  app.get<{ Params: PromotionParams }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId',
    opts,
    async (request) => service.getPromotion(org(request), promotion(request)),
  );

  app.patch<{ Params: PromotionParams }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId',
    opts,
    async (request) => service.patchPromotion(org(request), promotion(request), request.body),
  );

  app.post<{ Params: OrgParams }>('/admin/v1/orgs/:orgId/customers', opts, async (request, reply) =>
    reply.code(201).send(await service.createCustomers(org(request), request.body)),
  );

  const kinds: [CredentialKind, string][] = [
    ['till', 'tills'],
    ['apiClient', 'api-clients'],
  ];
  for (const [kind, path] of kinds) {
    type NameParams = OrgParams & { name: string };
    app.post<{ Params: OrgParams }>(`/admin/v1/orgs/:orgId/${path}`, opts, async (request, reply) =>
      reply.code(201).send(await credentials.create(kind, org(request), request.body)),
    );
    app.get<{ Params: OrgParams }>(`/admin/v1/orgs/:orgId/${path}`, opts, async (request) =>
      credentials.list(kind, org(request)),
    );
    app.patch<{ Params: NameParams }>(`/admin/v1/orgs/:orgId/${path}/:name`, opts, async (request) =>
      credentials.update(kind, org(request), request.params.name, request.body),
    );
    app.post<{ Params: NameParams }>(`/admin/v1/orgs/:orgId/${path}/:name/rotate`, opts, async (request) =>
      credentials.rotate(kind, org(request), request.params.name, request.body),
    );
  }

  app.get<{ Params: PromotionParams }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/issuals.csv',
    opts,
    async (request, reply) => {
      const lines = await service.issualReportCsv(org(request), promotion(request));
      const name = `promotion-${request.params.promotionId}-issuals.csv`;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(Readable.from(lines));
    },
  );

  app.get<{ Params: PromotionParams; Querystring: { limit?: string; cursor?: string } }>(
    '/admin/v1/orgs/:orgId/promotions/:promotionId/issuals',
    opts,
    async (request) => service.issualReport(org(request), promotion(request), request.query),
  );
}
