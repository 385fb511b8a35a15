/**
 * Events bench: events delivered per second against events written per second while ENROL runs at
 * full speed, to a local receiver answering in about 1 ms, one endpoint with maxBatchSize 100.
 *
 *   node --import tsx bench/events-bench.ts [--seconds 15] [--clients 8] [--database postgres://…]
 *
 * The server is `loyalty serve` in a process of its own (an SQLite file by default); the load
 * generator and the receiver share this process.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateSecretKey } from '../src/auth/secret-box.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The receiver: answers 204 about 1 ms after the whole body arrived, counting events.
let received = 0;
const receiver = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    received += body.type === 'batch' ? body.events.length : 1;
    setTimeout(() => res.writeHead(204).end(), 1);
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverPort = (receiver.address() as { port: number }).port;

const port = 30_000 + Math.floor(Math.random() * 20_000);
const server = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'cli.ts'), 'serve'], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: database,
    LOYALTY_ADMIN_TOKEN: TOKEN,
    LOYALTY_DEMO: '0',
    // A key of this run only: the bench's store lives as long as the run.
    LOYALTY_SECRET_KEY: generateSecretKey(),
    LOG_LEVEL: 'warn',
    LOYALTY_WEBHOOK_ALLOW_PRIVATE: '1',
    LOYALTY_WEBHOOK_POLL_MS: '50',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break;
  } catch {
    // not yet
  }
  if (i > 600) throw new Error('the server did not start');
  await sleep(100);
}

async function admin(p: string, body: unknown): Promise<any> {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

const orgId = (await admin('/admin/v1/orgs', { name: 'Events bench' })).id;
const org = `/admin/v1/orgs/${orgId}`;
const programId = (await admin(`${org}/programs`, { name: 'Main' })).id;
const promotions: number[] = [];
for (let i = 0; i < PROMOTIONS; i++)
  promotions.push(
    (await admin(`${org}/promotions`, { programId, name: `P${i}`, type: 'ENROL_AND_ISSUE' })).id,
  );
const customerIds: number[] = [];
for (let made = 0; made < CUSTOMERS; made += 5000) {
  const n = Math.min(5000, CUSTOMERS - made);
  const answer = await admin(`${org}/customers`, {
    customers: Array.from({ length: n }, () => ({ sources: ['INSTORE'], programIds: [programId] })),
  });
  customerIds.push(...answer.customers.map((c: { id: number }) => c.id));
}
await admin(`${org}/tills`, {
  username: 'bench-till',
  password: 'bench-till-password',
  customerAccess: 'WRITE',
});
const auth = `Basic ${Buffer.from(`bench-till:${createHash('md5').update('bench-till-password').digest('hex')}`).toString('base64')}`;
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
  samples.push(`${((Date.now() - started) / 1000).toFixed(0)}s written ${written} delivered ${received}`);
}, 1000);
const timer = setTimeout(() => {
  stop = true;
}, SECONDS * 1000);
await Promise.all(Array.from({ length: CLIENTS }, client));
clearTimeout(timer);
const loadSeconds = (Date.now() - started) / 1000;
const writtenDuringLoad = written;
const deliveredDuringLoad = received;
while (received < written && Date.now() - started < (SECONDS + 120) * 1000) await sleep(20);
const caughtUp = (Date.now() - started) / 1000 - loadSeconds;
clearInterval(sampler);

console.log(samples.join('\n'));
console.log(`
store ${database.startsWith('sqlite') ? 'sqlite' : 'postgres'}, ${CLIENTS} clients of 100-customer ENROL for ${loadSeconds.toFixed(1)} s, one endpoint, maxBatchSize 100
written   ${writtenDuringLoad} events, ${(writtenDuringLoad / loadSeconds).toFixed(0)}/s
delivered ${deliveredDuringLoad} events during the load, ${(deliveredDuringLoad / loadSeconds).toFixed(0)}/s
behind at the end of the load: ${writtenDuringLoad - deliveredDuringLoad} events; all ${written} delivered ${caughtUp.toFixed(2)} s after it${received < written ? ' (NOT caught up)' : ''}`);

server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
receiver.close();
rmSync(dir, { recursive: true, force: true });
