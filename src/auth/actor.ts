import type { Access } from '../db/schema.js';

/** The authenticated caller of a /v2 endpoint. */
export interface Actor {
  orgId: number;
  /** `till:<username>` or `client:<key>`: recorded on every record the caller writes. */
  credential: string;
  access: Access;
  /** Requests a minute this credential may make; null falls back to the server's setting. */
  rateLimitPerMinute: number | null;
}

/** What a service needs to know of one request: who asks, and the id to stamp on what it writes. */
export interface RequestContext {
  actor: Actor;
  requestId: string;
  /** The request's Idempotency-Key and a hash of what it asked, when it sent one. */
  idempotency?: { key: string; requestHash: string };
}
