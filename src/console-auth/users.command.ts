import { randomUUID } from 'node:crypto';
import { createAuditRepository } from '../admin/audit.repository.js';
import { createAuditService } from '../admin/audit.service.js';
import { requireSecretBox } from '../auth/secret-keys.service.js';
import { systemClock } from '../clock.js';
import type { Config } from '../config.js';
import { CONSOLE_ROLES, type ConsoleRole } from '../contract/enums.contract.js';
import { createStore } from '../db/database.js';
import { migrateToLatest } from '../db/migrator.js';
import { createConsoleUserRepository } from './console-user.repository.js';
import { createConsoleUserService } from './console-user.service.js';

export const USERS_USAGE = `loyalty users add USERNAME --role viewer|operator|admin [--org N ...]
      the password is read from standard input (one line), never from the command line
loyalty users list
loyalty users disable USERNAME
loyalty users enable USERNAME
loyalty users password USERNAME      the new password from standard input`;

export class UsersUsageError extends Error {}

async function readPassword(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) text += String(chunk);
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password.length < 12)
    throw new UsersUsageError('the password (standard input) needs 12 characters or more');
  return password;
}

/** `loyalty users …`: console users, straight on the store (a first admin before any exists). */
export async function runUsersCommand(
  args: string[],
  config: Config,
  io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream },
): Promise<void> {
  const [verb, username, ...rest] = args;
  const store = createStore(config.store);
  try {
    // As `loyalty migrate` does: a store that still holds secrets in the clear needs the key to seal them.
    await migrateToLatest(store.db, { secrets: requireSecretBox(config) });
    const users = createConsoleUserService({
      repository: createConsoleUserRepository(store),
      clock: systemClock,
      times: {
        idleMs: config.consoleIdleMinutes * 60_000,
        absoluteMs: config.consoleSessionHours * 3_600_000,
      },
    });
    const audit = createAuditService(createAuditRepository(store), systemClock);
    const record = (method: string, route: string, status: number) =>
      audit.record({
        orgId: 0,
        who: 'cli',
        method,
        route,
        params: { username: username ?? '' },
        status,
        requestId: randomUUID(),
      });
    const print = (value: unknown) => io.stdout.write(`${JSON.stringify(value)}\n`);
    if (verb === 'list') {
      let cursor: string | undefined;
      do {
        const page = await users.page({ limit: 1000, ...(cursor ? { cursor } : {}) });
        for (const user of page.users) print(user);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return;
    }
    if (!username) throw new UsersUsageError(`users ${verb ?? ''} needs a USERNAME`);
    if (verb === 'add') {
      let role: ConsoleRole | undefined;
      const orgIds: number[] = [];
      for (let i = 0; i < rest.length; i += 2) {
        const [flag, value] = [rest[i], rest[i + 1]];
        if (flag === '--role' && CONSOLE_ROLES.includes(value as ConsoleRole)) role = value as ConsoleRole;
        else if (flag === '--org' && /^[1-9][0-9]*$/.test(value ?? '')) orgIds.push(Number(value));
        else throw new UsersUsageError(`unexpected ${flag ?? ''} ${value ?? ''}`);
      }
      if (!role) throw new UsersUsageError('users add needs --role viewer|operator|admin');
      const password = await readPassword(io.stdin);
      print(await users.create({ username, password, role, ...(orgIds.length > 0 ? { orgIds } : {}) }));
      await record('POST', '/admin/v1/users', 201);
      return;
    }
    if (verb === 'disable' || verb === 'enable') {
      print(await users.update(username, { disabled: verb === 'disable' }));
      await record('PATCH', '/admin/v1/users/:username', 200);
      return;
    }
    if (verb === 'password') {
      print(await users.resetPassword(username, await readPassword(io.stdin)));
      await record('POST', '/admin/v1/users/:username/password', 200);
      return;
    }
    throw new UsersUsageError(`unknown users command "${verb ?? ''}"`);
  } finally {
    await store.destroy();
  }
}
