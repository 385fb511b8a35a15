import { type Static, Type } from 'typebox';
import { DateTime, Page, PageQuery } from './common.contract.js';
import { BULK_ACTIONS, CONSOLE_ROLES } from './enums.contract.js';

/*
 * Console users (managed at /admin/v1/users) and console sessions (/console/api/session): every body
 * and answer, declared once.
 */

const Username = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._@-]+$',
  description: 'Letters, digits and . _ @ -',
});
const Password = Type.String({ minLength: 12, maxLength: 256, description: 'At least 12 characters' });
const Role = Type.Enum(CONSOLE_ROLES, {
  description: 'viewer reads; operator also acts; admin also manages',
});
const OrgIds = Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), {
  minItems: 1,
  maxItems: 1000,
  uniqueItems: true,
  description: 'The orgs the user may act on; absent or null: every org',
});

export const CreateUserBody = Type.Object(
  {
    username: Username,
    password: Password,
    role: Role,
    orgIds: Type.Optional(Type.Union([OrgIds, Type.Null()])),
  },
  { additionalProperties: false },
);
export type CreateUserInput = Static<typeof CreateUserBody>;

export const PatchUserBody = Type.Object(
  {
    role: Type.Optional(Role),
    orgIds: Type.Optional(Type.Union([OrgIds, Type.Null()])),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchUserInput = Static<typeof PatchUserBody>;

export const ResetPasswordBody = Type.Object({ password: Password }, { additionalProperties: false });
export const UserParams = Type.Object({ username: Type.String({ minLength: 1, maxLength: 64 }) });
export const UsersQuery = PageQuery();

export const UserAnswer = Type.Object(
  {
    username: Type.String(),
    role: Role,
    orgIds: Type.Union([Type.Array(Type.Integer()), Type.Null()]),
    disabled: Type.Boolean(),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { additionalProperties: false, description: 'A console user; the password is never returned' },
);
export type ConsoleUser = Static<typeof UserAnswer>;
export const UsersAnswer = Page(UserAnswer, 'users', 'Console users, by username');

export const SignInBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);
export type SignInInput = Static<typeof SignInBody>;

export const SessionAnswer = Type.Object(
  {
    username: Type.String(),
    role: Role,
    orgIds: Type.Union([Type.Array(Type.Integer()), Type.Null()]),
    csrfToken: Type.String({ description: 'Send it as the x-csrf-token header of every change' }),
    expiresAt: DateTime,
  },
  { additionalProperties: false, description: 'The signed-in console user' },
);
export type SessionInfo = Static<typeof SessionAnswer>;

export const ConsoleOrgsAnswer = Type.Object(
  {
    orgs: Type.Array(
      Type.Object({ id: Type.Integer(), name: Type.String() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false, description: 'The orgs the signed-in user may act on' },
);

/**
 * One customer's reward changed by a person (the console's Customers page): the 100-customer API's
 * request for this one customer, named by id, so it gets that request's rules, codes and events.
 */
export const RewardActionBody = Type.Object(
  {
    action: Type.Enum(BULK_ACTIONS),
    programId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    promotionId: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    source: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'A source, or ALL (the default)' }),
    ),
    earnIds: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1 }), {
        minItems: 1,
        maxItems: 1000,
        description: 'REVOKE_EARN: the earns to revoke; absent, all the customer’s active earns',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RewardActionInput = Static<typeof RewardActionBody>;

export const CONSOLE_COMPONENTS = {
  ConsoleUser: UserAnswer,
  ConsoleUsers: UsersAnswer,
  ConsoleSession: SessionAnswer,
  ConsoleOrgs: ConsoleOrgsAnswer,
};
