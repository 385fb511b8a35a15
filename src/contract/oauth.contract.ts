/** `POST /v3/oauth/token/generate`, and the operations endpoints' answers. */
import { type Static, Type } from 'typebox';

/** Documentation only: the route checks the body itself, answering 401 (not 400) to a malformed one. */
export const TokenRequest = Type.Object({
  key: Type.String({ maxLength: 200 }),
  secret: Type.String({ maxLength: 200 }),
});
export type TokenRequest = Static<typeof TokenRequest>;

/** The `data` of a token answer. */
export const OAuthToken = Type.Object(
  {
    accessToken: Type.String({ description: 'An HS256 JWT with org_id, client_id, iat and exp.' }),
    ttlSeconds: Type.Integer(),
  },
  { additionalProperties: false },
);
export type OAuthToken = Static<typeof OAuthToken>;

export const TokenResponse = Type.Object(
  { data: OAuthToken, errors: Type.Null() },
  { additionalProperties: false },
);
export type TokenResponse = Static<typeof TokenResponse>;

/**
 * Wrong key or secret, or neither given as text (HTTP 401): the Authorization Flows page's body,
 * whose one error has no `status` field.
 */
export const TokenFailure = Type.Object(
  {
    data: Type.Null(),
    errors: Type.Array(
      Type.Object(
        { code: Type.Literal(320001), message: Type.Literal('Invalid client key and secret') },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TokenFailure = Static<typeof TokenFailure>;

export const Health = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false });

export const Ready = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
    reason: Type.Optional(Type.String({ description: 'Why not ready.' })),
  },
  { additionalProperties: false },
);
