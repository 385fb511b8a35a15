import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppError } from '../errors.js';

/*
 * The management API is validated by its contract schemas (TypeBox's own compiler), and every refusal
 * answers the admin envelope's 400 naming the field as a JSON path, `customers[1].sources[0]`.
 */

/** `/customers/1/sources/0` -> `customers[1].sources[0]` (JSON pointer to the API's field naming). */
function fieldPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(segment) ? `[${segment}]` : path ? `.${segment}` : segment;
  }
  return path;
}

const join = (prefix: string, path: string) => (prefix && path ? `${prefix}.${path}` : prefix || path);

/** The field that the first of a validator's errors names; a missing or unknown one included. */
export function schemaFieldError(errors: FastifySchemaValidationError[], prefix: string): AppError {
  const first = errors[0];
  if (!first) return new AppError('invalid_request', `${prefix || 'body'} is malformed`, prefix || 'body');
  let path = fieldPath(first.instancePath);
  const params = first.params as {
    requiredProperties?: string[];
    missingProperty?: string;
    additionalProperties?: string[];
    additionalProperty?: string;
  };
  const named =
    first.keyword === 'required'
      ? (params.requiredProperties?.[0] ?? params.missingProperty)
      : first.keyword === 'additionalProperties'
        ? (params.additionalProperties?.[0] ?? params.additionalProperty)
        : undefined;
  if (named !== undefined) path = join(path, named);
  const field = join(prefix, path) || 'body';
  const message =
    first.keyword === 'required'
      ? `${field} is required`
      : first.keyword === 'additionalProperties' || (first.keyword === 'boolean' && path)
        ? `unknown field ${field}`
        : `${field} ${first.message ?? 'is malformed'}`;
  return new AppError('invalid_request', message, field);
}

/** Fastify's formatter for the admin scope: the body's fields are named bare, like parameters. */
export const adminSchemaErrorFormatter = (errors: FastifySchemaValidationError[]) =>
  schemaFieldError(errors, '');

/**
 * Parameters and query strings arrive as text: an integer field written as whole digits becomes that
 * integer, and anything else stays text for the check to refuse (TypeBox's own conversion would cut
 * `1.5` down to 1).
 */
function integersOfText(schema: TSchema, value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const out: Record<string, unknown> = { ...value };
  for (const [key, text] of Object.entries(out)) {
    if (properties[key]?.type === 'integer' && typeof text === 'string' && /^-?[0-9]{1,16}$/.test(text)) {
      out[key] = Number(text);
    }
  }
  return out;
}

/** A body is checked as sent (no coercion: `"true"` is not a boolean, `42` is not a name). */
export const adminValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = Compile(schema);
  return (value: unknown) => {
    const converted = httpPart === 'body' ? value : integersOfText(schema, value);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) as FastifySchemaValidationError[] };
  };
};

/** Checks a value outside HTTP (a fixture) against a contract schema, naming the field under `prefix`. */
export function validated<T extends TSchema>(schema: T, value: unknown, prefix = ''): Static<T> {
  const check = Compile(schema);
  if (check.Check(value)) return value as Static<T>;
  throw schemaFieldError(check.Errors(value) as FastifySchemaValidationError[], prefix);
}
