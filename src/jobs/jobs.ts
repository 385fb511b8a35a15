import type { FastifyInstance } from 'fastify';
import type { Management } from '../admin/management.js';
import type { AuthThrottle } from '../auth/auth-throttle.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { auditWho } from '../console-auth/console-session.hook.js';
import type { Store } from '../db/database.js';
import { createEnrolmentRepository } from '../promotions/enrolment.repository.js';
import type { EnrolmentService } from '../promotions/enrolment.service.js';
import { createJobRunner } from './job-runner.js';
import { createJobsRepository } from './jobs.repository.js';
import { jobsRoutes } from './jobs.routes.js';
import { createJobsService } from './jobs.service.js';

/** Server-side bulk jobs: their routes, and a runner in this process that polls the store for work. */
export async function registerJobs(
  app: FastifyInstance,
  config: Config,
  store: Store,
  clock: Clock,
  enrolment: EnrolmentService,
  management: Management,
  throttle: AuthThrottle,
): Promise<void> {
  const repository = createJobsRepository(store);
  const runner = createJobRunner({
    store,
    jobs: repository,
    enrolment,
    enrolmentRepository: createEnrolmentRepository(store),
    clock,
    pollMs: config.jobPollMs,
    leaseMs: config.jobLeaseMs,
    onError: (err) => app.log.error({ err }, 'a bulk job runner step failed'),
  });
  const service = createJobsService({
    repository,
    enrolment,
    clock,
    maxUploadBytes: config.jobUploadLimitBytes,
    onQueued: () => runner.kick(),
  });
  await app.register(jobsRoutes, {
    service,
    adminToken: config.adminToken,
    throttle,
    onChange: async (request, status) => {
      const params = request.params as Record<string, unknown>;
      await management.audit
        .record({
          orgId: Number(params.orgId),
          who: auditWho(request),
          method: request.method,
          route: request.routeOptions.url ?? request.url,
          params,
          status,
          requestId: request.id,
        })
        .catch((err) => request.log.error({ err }, 'the audit log could not be written'));
    },
  });
  app.addHook('onReady', async () => runner.start());
  app.addHook('preClose', async () => runner.stop());
}
