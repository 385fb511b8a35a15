import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, DEFAULT_LIMITS, type ServerLimits } from '../../src/app.js';
import { defineConfig } from '../../src/config.js';
import { describeEachStore } from '../helpers/each-store.js';
import { type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

/**
 * A limit on everything a client controls: the body, the headers, how long a request and an idle
 * connection may take, how many requests a connection and how many connections the server takes,
 * the length of string fields and the size of batches. The transport limits are tried on a real
 * listening server over raw sockets; a limit is shown to hold, never how fast.
 */

const MIB = 1024 * 1024;

/** Shorter timeouts and fewer connections than production, so that the tests see them act. */
const TEST_LIMITS: Partial<ServerLimits> = {
  headersTimeout: 1_000,
  requestTimeout: 1_500,
  uploadTimeout: 4_000,
  keepAliveTimeout: 500,
  connectionTimeout: 5_000,
  maxRequestsPerSocket: 3,
  maxConnections: 4,
};

interface Exchange {
  /** Everything the server sent before it closed the connection (or before `waitMs`). */
  text: string;
  closed: boolean;
}

/** Opens a raw connection, writes `chunks` (then keeps it open), and collects what comes back. */
function exchange(port: number, chunks: string[], waitMs = 20_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
    });
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;

describe('transport limits of a listening server', () => {
  let store: TestStore;
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    store = await openTestStore('sqlite');
    app = await buildApp(defineConfig({ adminToken: ADMIN_TOKEN, store: store.config }), {
      store: store.store,
      limits: TEST_LIMITS,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it('the production defaults are the documented ones', () => {
    expect(DEFAULT_LIMITS).toStrictEqual({
      maxHeaderSize: 16 * 1024,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      uploadTimeout: 3_600_000,
      connectionTimeout: 60_000,
      keepAliveTimeout: 72_000,
      maxRequestsPerSocket: 10_000,
      maxConnections: 2_048,
      maxConnectionsPerAddress: 256,
    });
  });

  it('headers over 16 KiB are refused with 431 and the connection closed', async () => {
    const res = await exchange(port, [get('/health', `X-Big: ${'a'.repeat(17 * 1024)}\r\n`)]);
    expect(res.text).toMatch(/^HTTP\/1\.1 431 /);
    expect(res.closed).toBe(true);
    // Just under the limit is fine.
    const ok = await exchange(port, [
      get('/health', `X-Big: ${'a'.repeat(15 * 1024)}\r\nConnection: close\r\n`),
    ]);
    expect(ok.text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('headers that never finish are cut off with 408', async () => {
    const res = await exchange(port, ['GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a']);
    expect(res.closed).toBe(true);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a body that never finishes is cut off with 408', async () => {
    const res = await exchange(port, [
      'POST /v3/oauth/token/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"key":',
    ]);
    expect(res.closed).toBe(true);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  /** A bulk job's CSV upload, its rows written `everyMs` apart, and what the server answers. */
  async function slowUpload(rows: number, everyMs: number, finish: boolean): Promise<Exchange> {
    const admin = async (url: string, payload: object) =>
      (
        await app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          payload,
        })
      ).json();
    const org = await admin('/admin/v1/orgs', { name: `Slow upload ${Math.random()}` });
    const program = await admin(`/admin/v1/orgs/${org.id}/programs`, { name: 'Main' });
    const promotion = await admin(`/admin/v1/orgs/${org.id}/promotions`, {
      programId: program.id,
      name: 'Slow',
      type: 'ENROL_AND_ISSUE',
    });
    const lines = [
      'identifierValue,source\n',
      ...Array.from({ length: rows }, (_, i) => `${i + 1},INSTORE\n`),
    ];
    const length = Buffer.byteLength(lines.join('')) + (finish ? 0 : 1);
    const head =
      `POST /admin/v1/orgs/${org.id}/jobs?action=ENROL&programId=${program.id}&promotionId=${promotion.id}&identifierName=id&dryRun=true HTTP/1.1\r\n` +
      `Host: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: text/csv\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      let sent = 0;
      let timer: NodeJS.Timeout | undefined;
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
      });
      const done = () => {
        clearInterval(timer);
        resolve({ text, closed: true });
      };
      socket.on('close', done);
      socket.on('error', done);
      socket.on('connect', () => {
        socket.write(head + lines[sent++]);
        // Past the last row the writer keeps the socket busy without finishing the body.
        timer = setInterval(() => {
          if (sent < lines.length) socket.write(lines[sent++] ?? '');
          else if (!finish) socket.write('');
        }, everyMs);
      });
    });
  }

  it('a bulk job upload may take longer than other bodies, up to its own deadline', async () => {
    // Sent over about 2.4 s, past the 1.5 s any other body gets: accepted.
    const slow = await slowUpload(6, 400, true);
    expect(slow.text).toMatch(/^HTTP\/1\.1 202 /);
    // One that never finishes is cut off at the upload deadline (4 s) with 408.
    const endless = await slowUpload(20, 300, false);
    expect(endless.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(endless.closed).toBe(true);
  });

  it('an idle kept-alive connection is closed after its answer', async () => {
    const res = await exchange(port, [get('/health')]);
    expect(res.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(res.text.toLowerCase()).toContain('connection: keep-alive');
    expect(res.closed).toBe(true);
  });

  it('a connection takes a bounded number of requests; the last is answered with Connection: close', async () => {
    const res = await exchange(port, [get('/health'), get('/health'), get('/health'), get('/health')]);
    const answers = res.text.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
    expect(answers.slice(0, 3).map((a) => a.slice(0, 12))).toStrictEqual(Array(3).fill('HTTP/1.1 200'));
    expect(answers[2]?.toLowerCase()).toContain('connection: close');
    // The fourth, already sent on the same connection, is refused rather than served or dropped.
    expect(answers).toHaveLength(4);
    expect(answers[3]).toMatch(/^HTTP\/1\.1 503 /);
    expect(res.closed).toBe(true);
  });

  it('connections past the limit are dropped, and taken again once others close', async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise<void>((resolve, reject) => {
          socket.once('data', () => resolve());
          socket.once('error', reject);
          socket.write(get('/health'));
        });
        held.push(socket);
      }
      const extra = await exchange(port, [get('/health')], 10_000);
      expect(extra).toStrictEqual({ text: '', closed: true });
    } finally {
      for (const socket of held) socket.destroy();
    }
    let answered = '';
    for (let attempt = 0; attempt < 50 && !answered.startsWith('HTTP/1.1 200'); attempt++) {
      answered = (await exchange(port, [get('/health', 'Connection: close\r\n')], 5_000)).text;
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describeEachStore('limits on bodies, string fields and batches', (t) => {
  let org: StandardOrg;

  beforeAll(async () => {
    org = await seedStandardOrg(t, 1);
  });

  /** The rows a request could write, for the whole store. */
  const rowCounts = async () => {
    const counts: Record<string, number> = {};
    for (const table of ['customers', 'customer_sources', 'program_members', 'issuals', 'earns'] as const) {
      const row = await t.testStore.store.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      counts[table] = Number(row.n);
    }
    return counts;
  };

  const post = (url: string, payload: string | Buffer, headers: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });

  it('bodies: 1 MiB on /v2, 16 KiB on the token endpoint, 32 MiB on the management API, each in its envelope', async () => {
    const v2 = await post('/v2/promotion/bulk/enrolAndEarn', `"${'x'.repeat(MIB)}"`, {
      authorization: org.auth.write,
    });
    expect(v2.statusCode).toBe(413);
    expect(v2.json().response[0].errors[0].code).toBe(413);
    const token = await post('/v3/oauth/token/generate', `"${'x'.repeat(16 * 1024)}"`, {});
    expect(token.statusCode).toBe(413);
    expect(token.json()).toMatchObject({ data: null, errors: [{ code: 413 }] });
    const admin = await post('/admin/v1/orgs', Buffer.alloc(32 * MIB + 1, 0x20), {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(admin.statusCode).toBe(413);
    expect(admin.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('string fields of /v2 requests: an over-long value names nothing and writes nothing', async () => {
    const body = (promotionDetails: Record<string, unknown>, identifierValue: string) =>
      JSON.stringify({
        type: 'CUSTOMER',
        bulkAction: 'ENROL',
        promotionDetails: { programId: org.programId, ...promotionDetails },
        identifierName: 'email',
        customers: [{ identifierValue, source: 'INSTORE' }],
      });
    const auth = { authorization: org.auth.write };
    const email = `${'a'.repeat(310)}@example.com`; // 322 characters, over the 320 an email may have
    const before = await rowCounts();
    const long = await post(
      '/v2/promotion/bulk/enrolAndEarn',
      body({ promotionId: org.promotions.enrolAndIssue }, email),
      auth,
    );
    expect(long.statusCode).toBe(201);
    // The customer is not found, and the answer names nothing: not the value, nor a customer.
    expect(long.json()).toStrictEqual({
      response: [
        {
          errors: [{ status: false, code: 8015, message: 'Customer not found for the given identifiers' }],
          warnings: [],
        },
      ],
      totalCount: 1,
      failureCount: 1,
    });
    const identifier = await post(
      '/v2/promotion/bulk/enrolAndEarn',
      body(
        { promoIdentifier: `${org.promoIdentifier}${'x'.repeat(200)}` },
        org.customers[0]?.email as string,
      ),
      auth,
    );
    expect(identifier.statusCode).toBe(400);
    expect(identifier.json().response[0].errors[0].code).toBe(8874);
    expect(identifier.body).not.toContain('x'.repeat(200));
    expect(await rowCounts()).toStrictEqual(before);
  });

  it('headers: an Idempotency-Key over 255 characters is 400; a request id over 128 is replaced', async () => {
    const body = JSON.stringify({
      type: 'CUSTOMER',
      bulkAction: 'ENROL',
      promotionDetails: { programId: org.programId, promotionId: org.promotions.enrolAndIssue },
      identifierName: 'id',
      customers: [{ identifierValue: String(org.customers[0]?.id), source: 'INSTORE' }],
    });
    const key = await post('/v2/promotion/bulk/enrolAndEarn', body, {
      authorization: org.auth.write,
      'idempotency-key': 'k'.repeat(256),
    });
    expect(key.statusCode).toBe(400);
    expect(key.json().response[0].errors[0].code).toBe(400);
    const id = await post('/v2/promotion/bulk/enrolAndEarn', body, {
      authorization: org.auth.write,
      'x-request-id': 'r'.repeat(129),
    });
    expect(id.statusCode).toBe(200);
    expect(id.headers['x-request-id']).not.toBe('r'.repeat(129));
  });

  it('the token endpoint refuses a key or secret over 200 characters', async () => {
    const res = await post(
      '/v3/oauth/token/generate',
      JSON.stringify({ key: 'k'.repeat(201), secret: 's' }),
      {},
    );
    expect(res.statusCode).toBe(401);
  });

  it('management string fields are bounded, and the field is named', async () => {
    const cases: [string, unknown, string][] = [
      ['/admin/v1/orgs', { name: 'n'.repeat(201) }, 'name'],
      [`/admin/v1/orgs/${org.orgId}/programs`, { name: 'n'.repeat(201) }, 'name'],
      [
        `/admin/v1/orgs/${org.orgId}/promotions`,
        { programId: org.programId, name: 'P', type: 'DIRECT', promoIdentifier: 'p'.repeat(101) },
        'promoIdentifier',
      ],
      [
        `/admin/v1/orgs/${org.orgId}/customers`,
        { customers: [{ mobile: '9'.repeat(41) }] },
        'customers[0].mobile',
      ],
      [
        `/admin/v1/orgs/${org.orgId}/customers`,
        { customers: [{ email: `${'e'.repeat(320)}@x.io` }] },
        'customers[0].email',
      ],
      [
        `/admin/v1/orgs/${org.orgId}/customers`,
        { customers: [{ externalId: 'x'.repeat(101) }] },
        'customers[0].externalId',
      ],
      [
        `/admin/v1/orgs/${org.orgId}/tills`,
        { username: 'u'.repeat(101), password: 'p', customerAccess: 'READ' },
        'username',
      ],
      [
        `/admin/v1/orgs/${org.orgId}/api-clients`,
        { key: 'k', secret: 's'.repeat(201), customerAccess: 'READ' },
        'secret',
      ],
    ];
    for (const [url, body, field] of cases) {
      const res = await t.admin('POST', url, body);
      expect({ url, status: res.status, code: res.body.error?.code }).toStrictEqual({
        url,
        status: 400,
        code: 'invalid_request',
      });
      expect(res.body.error.field).toBe(field);
    }
  });

  it('batches: 10,000 customers a call, 1,000 rows a report page, 100 promotions a lookup page', async () => {
    const tooMany = await t.admin('POST', `/admin/v1/orgs/${org.orgId}/customers`, {
      customers: Array.from({ length: 10_001 }, () => ({})),
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.field).toBe('customers');
    const report = await t.admin(
      'GET',
      `/admin/v1/orgs/${org.orgId}/promotions/${org.promotions.direct}/issuals?limit=1001`,
    );
    expect(report.status).toBe(400);
    const audit = await t.admin('GET', '/admin/v1/audit?limit=1001');
    expect(audit.status).toBe(400);
    const lookup = await t.app.inject({
      method: 'GET',
      url: `/v2/customers/lookup/promotionData?identifierName=id&identifierValue=${org.customers[0]?.id}&source=INSTORE&limit=101`,
      headers: { authorization: org.auth.read },
    });
    expect(lookup.statusCode).toBe(400);
    const earnIds = Array.from({ length: 1001 }, (_, i) => String(i + 1));
    const revoke = await post(
      '/v2/promotion/bulk/revokeDirectEarn',
      JSON.stringify({
        type: 'CUSTOMER',
        bulkAction: 'REVOKE_EARN',
        promotionDetails: { programId: org.programId, promotionId: org.promotions.direct },
        identifierName: 'id',
        customers: [{ identifierValue: String(org.customers[0]?.id), source: 'INSTORE', earnIds }],
      }),
      { authorization: org.auth.write },
    );
    expect(revoke.statusCode).toBe(201);
    expect(revoke.json().response[0].errors[0].code).toBe(8903);
  });
});
