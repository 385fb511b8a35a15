import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import { type Config, MIN_ADMIN_TOKEN_BYTES } from '../config.js';
import type { Store } from '../db/database.js';
import { consoleSessionHook } from './console-session.hook.js';
import { consoleSessionRoutes } from './console-session.routes.js';
import { consoleStaticRoutes } from './console-static.routes.js';
import { createConsoleUserRepository } from './console-user.repository.js';
import { type ConsoleUserService, createConsoleUserService } from './console-user.service.js';

/**
 * The console is on when the management API is: people sign in to it, and their sessions act on the
 * management API (its routes, events, webhooks and jobs). Registered before those routes, so that the
 * session hook runs before their token hook. Returns the user service, which /admin/v1/users manages.
 */
export async function registerConsole(
  app: FastifyInstance,
  config: Config,
  store: Store,
  clock: Clock,
): Promise<ConsoleUserService> {
  const managementOn =
    config.adminToken !== undefined && Buffer.byteLength(config.adminToken) >= MIN_ADMIN_TOKEN_BYTES;
  const times = {
    idleMs: config.consoleIdleMinutes * 60_000,
    absoluteMs: config.consoleSessionHours * 3_600_000,
  };
  const users = createConsoleUserService({ repository: createConsoleUserRepository(store), clock, times });
  if (managementOn) {
    app.addHook('onRequest', consoleSessionHook(users));
    await app.register(consoleSessionRoutes, {
      users,
      clock,
      times,
      maxFailedSignIns: config.consoleMaxFailedSignIns,
    });
    await app.register(consoleStaticRoutes);
  }
  return users;
}
