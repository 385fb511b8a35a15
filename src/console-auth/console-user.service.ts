import { createHash, randomBytes } from 'node:crypto';
import { hashSecret, verifySecret } from '../auth/secret-hash.js';
import type { Clock } from '../clock.js';
import type {
  ConsoleUser,
  CreateUserInput,
  PatchUserInput,
  SessionInfo,
  SignInInput,
} from '../contract/console.contract.js';
import type { ConsoleRole } from '../contract/enums.contract.js';
import { AppError } from '../errors.js';
import type { ConsoleUserRepository, StoredUser } from './console-user.repository.js';

export interface SessionTimes {
  /** A session unused this long, in ms, is over. */
  idleMs: number;
  /** A session this old, in ms, is over however busy. */
  absoluteMs: number;
}

/** The signed-in user a request acts as, once its session checked out. */
export interface ConsoleCaller {
  username: string;
  role: ConsoleRole;
  orgIds: number[] | null;
  csrfToken: string;
  expiresAt: number;
}

export type ConsoleUserService = ReturnType<typeof createConsoleUserService>;

// Seen every so often rather than on every request: a session's idle clock is this coarse, and a busy
// page does not write a row per call.
const TOUCH_EVERY_MS = 15_000;

const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');

function publicUser(user: StoredUser): ConsoleUser {
  return {
    username: user.username,
    role: user.role as ConsoleRole,
    orgIds: user.orgIds,
    disabled: user.disabled,
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: new Date(user.updatedAt).toISOString(),
  };
}

/** Console users (people, not credentials) and their sessions. */
export function createConsoleUserService(deps: {
  repository: ConsoleUserRepository;
  clock: Clock;
  times: SessionTimes;
}) {
  const { repository, clock, times } = deps;
  // Hashed once, so that a sign-in with an unknown name costs what one with a known name costs.
  let decoy: Promise<string> | undefined;

  const expiresAt = (createdAt: number, lastSeenAt: number) =>
    Math.min(lastSeenAt + times.idleMs, createdAt + times.absoluteMs);

  return {
    async create(input: CreateUserInput): Promise<ConsoleUser> {
      const now = clock.now();
      const user: StoredUser = {
        username: input.username,
        passwordHash: await hashSecret(input.password),
        role: input.role,
        orgIds: input.orgIds ?? null,
        disabled: false,
        createdAt: now,
        updatedAt: now,
      };
      if (!(await repository.insert(user))) {
        throw new AppError('conflict', `A user named ${input.username} exists`, 'username');
      }
      return publicUser(user);
    },

    async get(username: string): Promise<ConsoleUser> {
      const user = await repository.find(username);
      if (!user) throw new AppError('not_found', `No user named ${username}`);
      return publicUser(user);
    },

    async page(query: {
      limit?: number;
      cursor?: string;
    }): Promise<{ users: ConsoleUser[]; nextCursor: string | null }> {
      const limit = query.limit ?? 100;
      const rows = await repository.page(query.cursor ?? '', limit + 1);
      const users = rows.slice(0, limit);
      const last = users[users.length - 1];
      return {
        users: users.map(publicUser),
        nextCursor: rows.length > limit && last ? last.username : null,
      };
    },

    /** A change of role, orgs or a disabling signs the user out everywhere. */
    async update(username: string, change: PatchUserInput): Promise<ConsoleUser> {
      if (!(await repository.update(username, change, clock.now()))) {
        throw new AppError('not_found', `No user named ${username}`);
      }
      await repository.deleteSessionsOf(username);
      return this.get(username);
    },

    async resetPassword(username: string, password: string): Promise<ConsoleUser> {
      const passwordHash = await hashSecret(password);
      if (!(await repository.update(username, { passwordHash }, clock.now()))) {
        throw new AppError('not_found', `No user named ${username}`);
      }
      await repository.deleteSessionsOf(username);
      return this.get(username);
    },

    /** A new session for the right password of an enabled user; undefined for anything else. */
    async signIn(input: SignInInput): Promise<{ cookie: string; session: SessionInfo } | undefined> {
      const user = await repository.find(input.username);
      if (!user) {
        decoy ??= hashSecret(randomBytes(16).toString('hex'));
        await verifySecret(input.password, await decoy);
        return undefined;
      }
      const matches = await verifySecret(input.password, user.passwordHash);
      if (!matches || user.disabled) return undefined;
      const now = clock.now();
      const cookie = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      await repository.deleteExpiredSessions(now - times.idleMs, now - times.absoluteMs);
      await repository.insertSession(hashId(cookie), {
        username: user.username,
        csrfToken,
        createdAt: now,
        lastSeenAt: now,
      });
      return {
        cookie,
        session: {
          username: user.username,
          role: user.role as ConsoleRole,
          orgIds: user.orgIds,
          csrfToken,
          expiresAt: new Date(expiresAt(now, now)).toISOString(),
        },
      };
    },

    /** The caller behind a session cookie, or undefined when it is unknown, expired or its user disabled. */
    async resolve(cookie: string): Promise<ConsoleCaller | undefined> {
      const idHash = hashId(cookie);
      const session = await repository.findSession(idHash);
      if (!session) return undefined;
      const now = clock.now();
      if (now >= expiresAt(session.createdAt, session.lastSeenAt)) {
        await repository.deleteSession(idHash);
        return undefined;
      }
      const user = await repository.find(session.username);
      if (!user || user.disabled) return undefined;
      let lastSeenAt = session.lastSeenAt;
      if (now - lastSeenAt >= TOUCH_EVERY_MS) {
        lastSeenAt = now;
        await repository.touchSession(idHash, now);
      }
      return {
        username: user.username,
        role: user.role as ConsoleRole,
        orgIds: user.orgIds,
        csrfToken: session.csrfToken,
        expiresAt: expiresAt(session.createdAt, lastSeenAt),
      };
    },

    async signOut(cookie: string): Promise<void> {
      await repository.deleteSession(hashId(cookie));
    },

    /** The orgs a caller may act on, with their names. */
    orgsOf(caller: ConsoleCaller): Promise<{ id: number; name: string }[]> {
      return repository.orgs(caller.orgIds);
    },
  };
}
