import type { Actor } from './auth/actor.js';
import type { EnvelopeKind } from './envelopes.js';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** The signed-in console user a request acts as, when it came with a console session. */
    consoleUser: import('./console-auth/console-user.service.js').ConsoleCaller | null;
  }
  interface FastifyContextConfig {
    /** Access to the CUSTOMER resource that the route needs. */
    access?: 'READ' | 'WRITE';
    envelope?: EnvelopeKind;
    /** The route takes a long upload: its body has `uploadTimeout`, not `requestTimeout` (body-deadline.hook.ts). */
    longUpload?: boolean;
    /** A Content-Security-Policy of the route's own, for a page (the API reference); else none is allowed. */
    csp?: string;
    /**
     * The route's documentation, read only by the OpenAPI document: for routes whose own checks, not
     * Fastify's validation, decide which error is answered (the /v2 and OAuth endpoints).
     */
    openapi?: import('fastify').FastifySchema;
  }
}
