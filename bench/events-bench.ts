import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { seedBenchOrg, sleep, startLocalServer } from './local-server.js';

const TOKEN = 'events-bench-admin-token-0123456789abcdef';
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '8' },
    database: { type: 'string' },
    customers: { type: 'string', default: '5000' },
    promotions: { type: 'string', default: '40' },
  },
});
const SECONDS = Number(values.seconds);
const CLIENTS = Number(values.clients);
const CUSTOMERS = Number(values.customers);
const PROMOTIONS = Number(values.promotions);
const dir = mkdtempSync(path.join(tmpdir(), 'lp-events-bench-'));
const database = values.database ?? `sqlite:${path.join(dir, 'bench.db')}`;

// The receiver: answers 204 about 1 ms after the whole body arrived, counting events. It has a thread
// of its own, as another system would have: on the load generator's event loop, its answers waited
// behind the clients' work (tens of ms under a full load), and that, not the server, set the pace.
const counter = new Int32Array(new SharedArrayBuffer(4));
const receiver = new Worker(
  `const http = require('node:http');
  const { parentPort, workerData } = require('node:worker_threads');
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      Atomics.add(workerData.counter, 0, body.type === 'batch' ? body.events.length : 1);
      setTimeout(() => res.writeHead(204).end(), 1);
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
  { eval: true, workerData: { counter } },
);
const [receiverPort] = (await once(receiver, 'message')) as [number];
const delivered = () => Atomics.load(counter, 0);

const server = await startLocalServer(database, TOKEN, {
  LOYALTY_WEBHOOK_ALLOW_PRIVATE: '1',
  LOYALTY_WEBHOOK_POLL_MS: '50',
});
const { base, admin } = server;

const { org, programId, customerIds, tillAuth: auth } = await seedBenchOrg(server, 'Events bench', CUSTOMERS);
const promotions: number[] = [];
for (let i = 0; i < PROMOTIONS; i++)
  promotions.push(
    (await admin(`${org}/promotions`, { programId, name: `P${i}`, type: 'ENROL_AND_ISSUE' })).id,
  );
await admin(`${org}/webhooks`, { url: `http://127.0.0.1:${receiverPort}/hook`, maxBatchSize: 100 });

// Every batch enrols 100 customers not yet enrolled in its promotion, so each ENROL writes 100 events.
const batches = PROMOTIONS * Math.floor(CUSTOMERS / 100);
let next = 0;
let written = 0;
let stop = false;
async function client(): Promise<void> {
  while (!stop) {
    const k = next++;
    if (k >= batches) return;
    const promotionId = promotions[k % PROMOTIONS] as number;
    const block = Math.floor(k / PROMOTIONS) * 100;
    const res = await fetch(`${base}/v2/promotion/bulk/enrolAndEarn`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'CUSTOMER',
        bulkAction: 'ENROL',
        promotionDetails: { programId, promotionId },
        identifierName: 'id',
        customers: customerIds
          .slice(block, block + 100)
          .map((id) => ({ identifierValue: String(id), source: 'INSTORE' })),
      }),
    });
    const body = (await res.json()) as {
      response: { result?: { issualId?: string }; warnings: unknown[] }[];
    };
    written += body.response.filter((i) => i.result?.issualId && i.warnings.length === 0).length;
  }
}

const started = Date.now();
const samples: string[] = [];
const sampler = setInterval(() => {
  samples.push(`${((Date.now() - started) / 1000).toFixed(0)}s written ${written} delivered ${delivered()}`);
}, 1000);
const timer = setTimeout(() => {
  stop = true;
}, SECONDS * 1000);
await Promise.all(Array.from({ length: CLIENTS }, client));
clearTimeout(timer);
const loadSeconds = (Date.now() - started) / 1000;
const writtenDuringLoad = written;
const deliveredDuringLoad = delivered();
while (delivered() < written && Date.now() - started < (SECONDS + 120) * 1000) await sleep(20);
const caughtUp = (Date.now() - started) / 1000 - loadSeconds;
clearInterval(sampler);

console.log(samples.join('\n'));
console.log(`
store ${database.startsWith('sqlite') ? 'sqlite' : 'postgres'}, ${CLIENTS} clients of 100-customer ENROL for ${loadSeconds.toFixed(1)} s, one endpoint, maxBatchSize 100
written   ${writtenDuringLoad} events, ${(writtenDuringLoad / loadSeconds).toFixed(0)}/s
delivered ${deliveredDuringLoad} events during the load, ${(deliveredDuringLoad / loadSeconds).toFixed(0)}/s
behind at the end of the load: ${writtenDuringLoad - deliveredDuringLoad} events; all ${written} delivered ${caughtUp.toFixed(2)} s after it${delivered() < written ? ' (NOT caught up)' : ''}`);

await server.stop();
await receiver.terminate();
rmSync(dir, { recursive: true, force: true });
