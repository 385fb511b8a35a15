import http from 'node:http';

/**
 * What the proxy does to one request:
 * - `drop`: closes the connection before forwarding (the server never sees the request);
 * - `lose-response`: forwards, waits for the server's whole answer (so it committed), then closes the
 *   connection instead of answering;
 * - `503`: answers 503 itself; `429`: answers 429 with `Retry-After: 1`.
 */
export type Fault = 'drop' | 'lose-response' | '503' | '429';

export interface FaultyProxy {
  url: string;
  /** Requests that met each fault, and those passed through untouched. */
  counts: Record<Fault | 'passed', number>;
  close(): Promise<void>;
}

function envelope(code: number, message: string): string {
  return JSON.stringify({
    response: [{ errors: [{ status: false, code, message }], warnings: [] }],
    totalCount: 1,
    failureCount: 1,
  });
}

/**
 * An HTTP proxy on 127.0.0.1 in front of `target` that applies `schedule(n)` to the n-th request
 * (1-based) whose path starts with `faultyPrefix`; other requests pass through. A schedule that
 * answers undefined from some n on makes the faults bounded.
 */
export async function startFaultyProxy(
  target: string,
  schedule: (n: number) => Fault | undefined,
  faultyPrefix = '/v2/',
): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const counts: FaultyProxy['counts'] = { drop: 0, 'lose-response': 0, '503': 0, '429': 0, passed: 0 };
  let n = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const fault = req.url?.startsWith(faultyPrefix) ? schedule(++n) : undefined;
      counts[fault ?? 'passed'] += 1;
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault === '503' || fault === '429') {
        res.writeHead(Number(fault), {
          'content-type': 'application/json',
          ...(fault === '429' ? { 'retry-after': '1' } : {}),
        });
        res.end(envelope(Number(fault), fault === '429' ? 'Too many requests' : 'Service unavailable'));
        return;
      }
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
          agent,
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            if (fault === 'lose-response') {
              req.socket.destroy();
              return;
            }
            const headers = { ...answer.headers };
            delete headers['transfer-encoding'];
            delete headers.connection;
            headers['content-length'] = String(Buffer.concat(body).length);
            res.writeHead(answer.statusCode ?? 502, headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway');
      });
      forward.end(Buffer.concat(chunks));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
