import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AttemptResult } from './delivery.plan.js';
import { parseWebhookUrl, resolveSafely, UnsafeUrl } from './url-guard.js';

export interface SendOptions {
  timeoutMs: number;
  allowPrivate: boolean;
}

// Connections are kept alive between batches; a connection is only ever opened to an address that
// was checked just before (the lookup below hands the socket the checked address, not a new answer).
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 4 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 4 }),
};

/**
 * POSTs one signed message. Never throws: the answer's status, or what went wrong (a timeout, a
 * refused target, a network error), which the delivery plan turns into an outcome.
 */
export async function postMessage(
  urlText: string,
  headers: Record<string, string>,
  body: string,
  options: SendOptions,
): Promise<AttemptResult> {
  let url: URL;
  let addresses: { address: string; family: number }[];
  try {
    url = parseWebhookUrl(urlText, options.allowPrivate);
    addresses = await resolveSafely(url.hostname, options.allowPrivate);
  } catch (err) {
    return { error: err instanceof UnsafeUrl ? err.message : `cannot resolve: ${String(err)}` };
  }
  const [first] = addresses as [{ address: string; family: number }];
  const lookup: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all)
      (callback as (e: null, a: typeof addresses) => void)(null, addresses);
    else callback(null, first.address, first.family);
  };
  const secure = url.protocol === 'https:';
  return new Promise<AttemptResult>((resolve) => {
    const request = (secure ? https : http).request(
      url,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        lookup,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'loyalty-promotions-webhooks',
        },
      },
      (response) => {
        // The answer's body is not used; it is read so that the connection can be kept.
        response.on('data', () => undefined);
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0 });
        });
        response.on('error', (err) => {
          clearTimeout(timer);
          resolve({ error: err.message });
        });
      },
    );
    const timer = setTimeout(
      () => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    request.on('error', (err) => {
      clearTimeout(timer);
      resolve({ error: err.message });
    });
    request.end(body);
  });
}
