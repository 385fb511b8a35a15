/** Pieces of route documentation that several operations share. */
import { Type } from 'typebox';
import { type ComponentName, ref } from '../contract/components.contract.js';
import { ERROR_TABLE } from '../errors.js';

type Json = Record<string, unknown>;

/** `code message` for each code, as the description of a status. */
export function codes(list: readonly (keyof typeof ERROR_TABLE)[]): string {
  return list.map((c) => `\`${c}\` ${ERROR_TABLE[c].message}`).join('; ');
}

/** The error table, for the document's description. */
export function errorTable(): string {
  const rows = Object.entries(ERROR_TABLE).map(
    ([code, { status, message }]) => `| ${code} | ${status} | ${message} |`,
  );
  return ['| code | HTTP | message |', '|---|---|---|', ...rows].join('\n');
}

/** A documented JSON answer: its description, its named schema, and examples or headers if any. */
export function answer(
  description: string,
  name: ComponentName,
  media: Json = {},
  headers?: Record<string, object>,
): Json {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema: ref(name), ...media } },
  };
}

/**
 * A request body of a named schema, with named examples or one example if any. @fastify/swagger moves
 * `x-examples` and a one-item `examples` from the schema to the media type, but drops anything beside
 * a `$ref`: hence the reference inside `allOf`.
 */
export function body(name: ComponentName, media: { examples?: Json; example?: unknown } = {}) {
  if (!media.examples && !media.example) return ref(name);
  return {
    allOf: [ref(name)],
    ...(media.examples ? { 'x-examples': media.examples } : {}),
    ...(media.example ? { examples: [media.example] } : {}),
  };
}

export const retryAfter = { 'Retry-After': { type: 'integer', description: 'Seconds to wait.' } };

/** The headers a /v2 request may send besides its credentials. */
export const v2Headers = (idempotent: boolean) =>
  Type.Object({
    ...(idempotent
      ? {
          'Idempotency-Key': Type.Optional(
            Type.String({
              pattern: '^[\\x21-\\x7e]{1,255}$',
              description:
                'The same key with the same request within 24 hours gets the first answer again and writes nothing; ' +
                'with a different request, 422. Keys belong to the credential that sent them.',
            }),
          ),
        }
      : {}),
    'X-Request-Id': Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._:-]{1,128}$',
        description:
          'Stamped on every log line, issual and earn of the request; made when absent or unusable.',
      }),
    ),
  });

/** 401 and 403 of every /v2 endpoint. */
export const v2Auth = () => ({
  401: answer(`Missing or wrong credentials, or a bad token: ${codes([401])}`, 'V2Error'),
  403: answer(`Too little access on the CUSTOMER resource: ${codes([4000])}`, 'V2Error'),
});

/**
 * A schema for serialising an answer: the same, without `required`, which fast-json-stringify would
 * otherwise honour by writing required fields first (the wire order is Capillary's, result first).
 */
export function forSerialization<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(forSerialization) as T;
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => key !== 'required')
      .map(([key, value]) => [key, forSerialization(value)]),
  ) as T;
}
