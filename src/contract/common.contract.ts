/**
 * Pieces every part of the contract shares: primitives, the error envelopes of each API family and
 * the cursor page of the management API's lists. Each schema is the one source of its TypeScript type
 * (`Static<typeof X>`).
 */
import { type Static, type TArray, type TSchema, Type } from 'typebox';
import { ERROR_TABLE } from '../errors.js';

// ---- Primitives ----

/** A positive integer: ids in paths and bodies. */
export const PositiveInt = Type.Integer({ minimum: 1 });
/** A positive integer, or a string of its digits (Capillary's parser takes both in a body). */
export const PositiveIntOrDigits = Type.Union(
  [Type.Integer({ minimum: 1 }), Type.String({ pattern: '^[0-9]+$' })],
  {
    description: 'A positive integer, or a string of digits.',
  },
);
/** Ids the service answers with as strings of digits (issualId, earnedId). */
export const idString = (description?: string) =>
  Type.String({ pattern: '^[0-9]+$', ...(description ? { description } : {}) });
export const IdString = idString();
export const DateTime = Type.String({ format: 'date-time' });
export const NullableDateTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
export const NullableString = Type.Union([Type.String(), Type.Null()]);

/** The codes of the /v2 API (numbers) and of the management API (strings), from the one error table. */
export const API_CODES = Object.keys(ERROR_TABLE)
  .filter((code) => /^\d+$/.test(code))
  .map(Number);
export const ADMIN_CODES = Object.keys(ERROR_TABLE).filter((code) => !/^\d+$/.test(code));

// ---- Envelopes of the /v2 and OAuth APIs ----

/** An error or a warning of the /v2 API: `{status: false, code, message}`. */
export const ApiMessage = Type.Object(
  {
    status: Type.Literal(false),
    code: Type.Integer({ enum: API_CODES, description: 'See the error table in info.description.' }),
    message: Type.String(),
  },
  { additionalProperties: false, description: 'An error or a warning (warnings have the shape of errors).' },
);
export type ApiMessage = Static<typeof ApiMessage>;

export const Messages = Type.Array(ApiMessage);

/** `{warnings: [], errors: [...]}`: 401 and 403 of every /v2 endpoint, and the other errors of the non-bulk ones. */
export const V2Error = Type.Object({ warnings: Messages, errors: Messages }, { additionalProperties: false });
export type V2Error = Static<typeof V2Error>;

/** The OAuth endpoint's refusal: `{data: null, errors: [...]}`. */
export const TokenError = Type.Object(
  { data: Type.Null(), errors: Messages },
  { additionalProperties: false },
);
export type TokenError = Static<typeof TokenError>;

// ---- The management API ----

/** `{error: {code, message, field?}}`: every error of the management API. */
export const AdminError = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ enum: ADMIN_CODES }),
        message: Type.String(),
        field: Type.Optional(Type.String({ description: 'The offending field, as a JSON path.' })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type AdminError = Static<typeof AdminError>;

type PageOf<T extends TSchema, P extends string> = { [K in P]: TArray<T> } & {
  nextCursor: typeof NullableString;
};

/**
 * A page of a management list: `{<plural>: [...], nextCursor: string | null}` (contract section 7);
 * the next page is asked for with `?cursor=<nextCursor>`, and null means there is none.
 */
export function Page<T extends TSchema, const P extends string>(item: T, plural: P, description?: string) {
  const properties = { [plural]: Type.Array(item), nextCursor: NullableString } as PageOf<T, P>;
  return Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
}

/** The cursor page's query string: `limit` (1 to `max`, default `fallback`) and `cursor`. */
export function PageQuery(max = 1000, fallback = 100) {
  return Type.Object({
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: max, default: fallback })),
    cursor: Type.Optional(Type.String()),
  });
}
