import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adminTokenHook } from '../admin/admin-token.hook.js';
import type { AuthThrottle } from '../auth/auth-throttle.js';
import { ref } from '../contract/components.contract.js';
import { AppError } from '../errors.js';
import { ADMIN_SECURITY } from '../openapi/swagger.js';
import type { JobsService, SubmitQuery } from './jobs.service.js';

export interface JobsRoutesOptions {
  service: JobsService;
  adminToken: string | undefined;
  /** Failed admin tokens per address, shared with the management API. */
  throttle?: AuthThrottle;
  /** Told of each change made (submit, cancel, undo), for the audit log. */
  onChange?: (request: FastifyRequest, status: number) => Promise<void>;
}

const BASE = '/admin/v1/orgs/:orgId/jobs';
const V2_CODES =
  'Refusals come as `{warnings: [], errors: [{status: false, code, message}]}` with the bulk API’s codes.';
const error = { description: V2_CODES, ...ref('V2Error') };
const csv = (description: string) => ({
  description,
  content: { 'text/csv': { schema: { type: 'string' } } },
});

/** The documentation only (see openapi/swagger.ts): these routes check their own input, in the bulk API's order. */
function doc(operationId: string, summary: string, parts: object, responses: object) {
  return {
    openapi: {
      operationId,
      summary,
      tags: ['management'],
      security: ADMIN_SECURITY,
      ...parts,
      response: { ...responses, 400: error, 401: error, 404: error, 429: error },
    },
  };
}

const orgJob = {
  type: 'object',
  properties: { orgId: { type: 'integer', minimum: 1 }, jobId: { type: 'integer', minimum: 1 } },
  required: ['orgId', 'jobId'],
};
const orgOnly = {
  type: 'object',
  properties: { orgId: { type: 'integer', minimum: 1 } },
  required: ['orgId'],
};

function pathId(value: unknown): number {
  const n = typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw new AppError(404, 'No such job');
  return n;
}

/** Server-side bulk jobs under /admin/v1/orgs/{orgId}/jobs, behind the admin token. */
export async function jobsRoutes(
  app: FastifyInstance,
  { service, adminToken, throttle, onChange }: JobsRoutesOptions,
) {
  app.addHook('onRequest', adminTokenHook(adminToken, throttle));
  // The upload reaches the service as the request's stream: it is never held whole in memory.
  app.addContentTypeParser('text/csv', (_request, payload, done) => done(null, payload));
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.method === 'POST' && reply.statusCode < 400) await onChange?.(request, reply.statusCode);
    return payload;
  });

  const config = { envelope: 'v2' as const };
  const ids = (request: FastifyRequest) => {
    const params = request.params as { orgId: string; jobId?: string };
    return { orgId: pathId(params.orgId), jobId: pathId(params.jobId) };
  };

  app.post(
    BASE,
    {
      config: {
        ...config,
        longUpload: true,
        ...doc(
          'submitJob',
          'Start a bulk job over a CSV file of any size (the format `loyalty bulk` reads)',
          {
            params: orgOnly,
            querystring: ref('SubmitJobQuery'),
            body: { content: { 'text/csv': { schema: { type: 'string' } } } },
          },
          {
            202: { description: 'Accepted; Location names the job.', ...ref('Job') },
            413: error,
            415: error,
          },
        ),
      },
    },
    async (request, reply) => {
      if (!request.headers['content-type']?.toLowerCase().startsWith('text/csv'))
        throw new AppError(415, 'Content-Type must be text/csv');
      const orgId = pathId((request.params as { orgId: string }).orgId);
      const body = request.body as AsyncIterable<Buffer>;
      const job = await service.submit(orgId, request.query as SubmitQuery, body, 'admin');
      return reply.code(202).header('location', `/admin/v1/orgs/${orgId}/jobs/${job.id}`).send(job);
    },
  );

  app.get(
    BASE,
    {
      config: {
        ...config,
        ...doc(
          'listJobs',
          'The jobs of an org, newest first',
          { params: orgOnly, querystring: ref('ListJobsQuery') },
          {
            200: { description: 'A page of jobs.', ...ref('JobPage') },
          },
        ),
      },
    },
    async (request) =>
      service.list(
        pathId((request.params as { orgId: string }).orgId),
        request.query as Record<string, string>,
      ),
  );

  app.get(
    `${BASE}/:jobId`,
    {
      config: {
        ...config,
        ...doc(
          'getJob',
          'A job and its progress',
          { params: orgJob },
          { 200: { description: 'The job.', ...ref('Job') } },
        ),
      },
    },
    async (request) => {
      const { orgId, jobId } = ids(request);
      return service.get(orgId, jobId);
    },
  );

  app.get(
    `${BASE}/:jobId/results`,
    {
      config: {
        ...config,
        ...doc(
          'getJobResults',
          'The outcome of every processed row, in input order, as CSV',
          { params: orgJob, querystring: ref('JobResultsQuery') },
          { 200: csv('`row,identifierValue,source,entityId,issualId,earnedId,code,message`') },
        ),
      },
    },
    async (request, reply) => {
      const { orgId, jobId } = ids(request);
      const failedOnly = (request.query as { failedOnly?: string }).failedOnly === 'true';
      const lines = await service.results(orgId, jobId, failedOnly);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="job-${jobId}-results.csv"`)
        .send(Readable.from(lines));
    },
  );

  for (const [path, operationId, summary] of [
    ['cancel', 'cancelJob', 'Stop a job after the transaction in progress; what was done stays done'],
    ['undo', 'undoJob', 'A new job that revokes exactly the issuals or earns the job made'],
  ] as const) {
    app.post(
      `${BASE}/:jobId/${path}`,
      {
        config: {
          ...config,
          ...doc(
            operationId,
            summary,
            { params: orgJob },
            {
              [path === 'undo' ? 202 : 200]: { description: 'The job.', ...ref('Job') },
              409: error,
            },
          ),
        },
      },
      async (request, reply) => {
        const { orgId, jobId } = ids(request);
        if (path === 'cancel') return service.cancel(orgId, jobId);
        const job = await service.undo(orgId, jobId, 'admin');
        return reply.code(202).header('location', `/admin/v1/orgs/${orgId}/jobs/${job.id}`).send(job);
      },
    );
  }
}
