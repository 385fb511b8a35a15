import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';

/** What Node itself writes when its request timeout expires, so both read the same to a client. */
const TIMED_OUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/**
 * The time a client has to send a request's body, per route. Node's `requestTimeout` is one figure
 * for the whole server, but a bulk job's CSV (up to 2 GiB, written to the store as it arrives) may
 * rightly take far longer than any other body, which must stay short against slow-body clients. So
 * Node's timeout is set to the longest a route allows (`uploadMs`), and this hook holds every other
 * body to `bodyMs`, counted from the end of the headers (whose own timeout comes before).
 * A route opts into the long deadline with `config: { longUpload: true }`.
 */
export function bodyDeadlineHook(bodyMs: number): onRequestHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const raw = request.raw;
    const length = raw.headers['content-length'];
    const hasBody =
      (length !== undefined && length !== '0') || raw.headers['transfer-encoding'] !== undefined;
    if (!hasBody || raw.complete || request.routeOptions.config.longUpload) return done();
    const timer = setTimeout(() => {
      const socket = raw.socket;
      if (raw.complete || socket.destroyed) return;
      if (reply.raw.headersSent) socket.destroy();
      else socket.end(TIMED_OUT, () => socket.destroy());
    }, bodyMs);
    const clear = () => clearTimeout(timer);
    raw.once('end', clear);
    reply.raw.once('close', clear);
    done();
  };
}
