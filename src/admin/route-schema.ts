import type { TSchema } from 'typebox';
import type { ADMIN_COMPONENTS } from '../contract/admin.contract.js';
import { ref } from '../contract/components.contract.js';
import { ADMIN_SECURITY } from '../openapi/swagger.js';

// The schema pieces of every management route: the admin routes' and the event routes'.

export const ADMIN_BODY_LIMIT = 32 * 1024 * 1024;

/** The refusals a route can answer besides its success, all in the admin envelope. */
export function refusals(...statuses: number[]): Record<number, TSchema> {
  // Every route can be refused for its token (401), and for too many wrong tokens from the caller's
  // address (429, with Retry-After); every write also for its body's size and type.
  return Object.fromEntries([401, 429, ...statuses].map((status) => [status, ref('AdminError') as TSchema]));
}
export const WRITE_REFUSALS = [400, 413, 415] as const;

/** A success answer: a named schema of the contract, so the document lists it once under its name. */
export const answer = (name: keyof typeof ADMIN_COMPONENTS) => ref(name) as TSchema;

/** A route's schema: its inputs (which Fastify validates and types) and its answers, for the document. */
export function schema<Parts extends { params?: TSchema; querystring?: TSchema; body?: TSchema }>(
  operationId: string,
  summary: string,
  parts: Parts,
  answers: Record<number, TSchema>,
  tag = 'management',
) {
  return {
    schema: {
      operationId,
      summary,
      tags: [tag],
      security: ADMIN_SECURITY,
      ...parts,
      response: answers,
    },
  };
}
