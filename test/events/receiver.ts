import http from 'node:http';
import { Webhook } from 'standardwebhooks';

/** What a receiver endpoint answers: a status, after an optional delay; `hang` never answers. */
export interface Behaviour {
  status: number;
  delayMs?: number;
  hang?: boolean;
  /** Answer with `Connection: close`, dropping whatever else came on the connection. */
  close?: boolean;
  /** Only for this many requests, then `next`. */
  times?: number;
  next?: Behaviour;
}

export interface Received {
  endpoint: string;
  messageId: string;
  timestamp: number;
  body: any;
  /** The endpoint's requests in flight when this one arrived, this one included. */
  inFlight: number;
  /** The connection it came on (the sender's port). */
  connection: number;
  /** The endpoint's requests in flight on other connections when this one arrived. */
  otherConnections: number;
  status: number;
}

export interface Receiver {
  url(endpoint: string): string;
  /** The secret that signs the endpoint's messages (every request must verify with it). */
  secret(endpoint: string, secret: string): void;
  behave(endpoint: string, behaviour: Behaviour): void;
  /** Every verified request, answered or not yet. */
  readonly received: Received[];
  /** Requests whose signature did not verify (a test expects none). */
  readonly unverified: string[];
  /** The events delivered with a 2xx to an endpoint, batches unpacked, in arrival order. */
  delivered(endpoint: string): { messageId: string; event: any }[];
  waitFor(check: () => boolean, what: string, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 that verifies every signature with the standardwebhooks package. */
export async function startReceiver(): Promise<Receiver> {
  const secrets = new Map<string, string>();
  const behaviours = new Map<string, Behaviour>();
  const inFlight = new Map<string, number>();
  // Per endpoint, the connections with requests in flight, and how many on each.
  const byConnection = new Map<string, Map<number, number>>();
  const received: Received[] = [];
  const unverified: string[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const endpoint = (req.url ?? '').replace(/^\/hook\//, '');
      const body = Buffer.concat(chunks).toString('utf8');
      const secret = secrets.get(endpoint);
      try {
        if (!secret) throw new Error(`no secret for ${endpoint}`);
        new Webhook(secret).verify(body, req.headers as Record<string, string>);
      } catch (err) {
        unverified.push(`${endpoint}: ${(err as Error).message}`);
        res.writeHead(401).end();
        return;
      }
      const behaviour = behaviours.get(endpoint) ?? { status: 200 };
      if (behaviour.times !== undefined && behaviour.times <= 1) {
        if (behaviour.next) behaviours.set(endpoint, behaviour.next);
        else behaviours.delete(endpoint);
      } else if (behaviour.times !== undefined)
        behaviours.set(endpoint, { ...behaviour, times: behaviour.times - 1 });
      const now = (inFlight.get(endpoint) ?? 0) + 1;
      inFlight.set(endpoint, now);
      const connection = req.socket.remotePort ?? 0;
      const open = byConnection.get(endpoint) ?? new Map<number, number>();
      byConnection.set(endpoint, open);
      let otherConnections = 0;
      for (const [port, count] of open) if (port !== connection) otherConnections += count;
      open.set(connection, (open.get(connection) ?? 0) + 1);
      const settle = () => {
        inFlight.set(endpoint, (inFlight.get(endpoint) ?? 1) - 1);
        const left = (open.get(connection) ?? 1) - 1;
        if (left > 0) open.set(connection, left);
        else open.delete(connection);
      };
      const record: Received = {
        endpoint,
        messageId: String(req.headers['webhook-id']),
        timestamp: Number(req.headers['webhook-timestamp']),
        body: JSON.parse(body),
        inFlight: now,
        connection,
        otherConnections,
        status: behaviour.hang ? 0 : behaviour.status,
      };
      received.push(record);
      const answer = () => {
        settle();
        if (behaviour.close) res.setHeader('connection', 'close');
        res.writeHead(behaviour.status).end('ok');
      };
      if (behaviour.hang) {
        hanging.add(res);
        res.on('close', () => {
          if (!res.writableEnded) settle();
          hanging.delete(res);
        });
      } else if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: (endpoint) => `http://127.0.0.1:${port}/hook/${endpoint}`,
    secret: (endpoint, secret) => secrets.set(endpoint, secret),
    behave: (endpoint, behaviour) => behaviours.set(endpoint, behaviour),
    received,
    unverified,
    delivered(endpoint) {
      return received
        .filter((r) => r.endpoint === endpoint && r.status >= 200 && r.status < 300)
        .flatMap((r) =>
          r.body.type === 'batch'
            ? r.body.events.map((event: any) => ({ messageId: r.messageId, event }))
            : [{ messageId: r.messageId, event: r.body }],
        );
    },
    async waitFor(check, what, ms = 30_000) {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
