/**
 * The named schemas of the OpenAPI document (`#/components/schemas/<name>`). Each is registered with
 * Fastify under its name as `$id`, so a route refers to it with `ref(name)`, Fastify can validate and
 * serialise with it, and @fastify/swagger lists it under its own name.
 */
import type { TSchema } from 'typebox';
import { AdminError, ApiMessage, TokenError, V2Error } from './common.contract.js';
import { Health, Ready, TokenFailure, TokenRequest, TokenResponse } from './oauth.contract.js';
import {
  BulkRequest,
  BulkResponse,
  IssueRefusal,
  IssueRequest,
  IssueResponse,
  PromotionDataRefusal,
  PromotionDataResponse,
} from './v2.contract.js';

export const COMPONENTS = {
  ApiMessage,
  BulkRequest,
  BulkResponse,
  IssueRequest,
  IssueResponse,
  IssueRefusal,
  V2Error,
  PromotionDataResponse,
  PromotionDataRefusal,
  TokenRequest,
  TokenResponse,
  TokenError,
  TokenFailure,
  Health,
  Ready,
  AdminError,
} satisfies Record<string, TSchema>;

export type ComponentName = keyof typeof COMPONENTS;

/** A reference to a named schema, as a route's schema (or another component) gives it. */
export const ref = (name: ComponentName | (string & {})) => ({ $ref: `${name}#` });
