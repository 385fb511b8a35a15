import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { startTestApp } from '../helpers/test-app.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = value as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

describeEachStore('metrics', (t, kind) => {
  let org: StandardOrg;
  beforeAll(async () => {
    org = await seedStandardOrg(t);
  });

  const scrape = async () => {
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return { text: res.body, samples: parse(res.body) };
  };

  it('counts requests by route pattern and status, and customers by action and outcome', async () => {
    const [a, b] = org.customers.map((c) => String(c.id)) as [string, string];
    const promotion = { promotionId: org.promotions.enrolAndIssue };
    const before = await scrape();
    const enrol = (ids: string[]) =>
      t.v2(
        BULK_URL,
        bulkBody(
          'ENROL',
          org.programId,
          promotion,
          'id',
          ids.map((id) => [id, 'INSTORE']),
        ),
        org.auth.write,
      );
    expect((await enrol([a, b])).status).toBe(200);
    expect((await enrol([a, '987654321'])).status).toBe(201); // a warning (already enrolled) and a failure
    expect((await t.v2(BULK_URL, { type: 'USERGROUP2' }, org.auth.write)).status).toBe(400);
    const lookupUrl = `/v2/customers/lookup/promotionData?identifierName=id&identifierValue=${b}&source=INSTORE`;
    expect(
      (await t.app.inject({ method: 'GET', url: lookupUrl, headers: { authorization: org.auth.read } }))
        .statusCode,
    ).toBe(200);
    await t.app.inject({ method: 'GET', url: '/no/such/page-4242' });

    const { text, samples } = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      (value(samples, name, labels) ?? 0) - (value(before.samples, name, labels) ?? 0);
    const route = '/v2/promotion/bulk/enrolAndEarn';
    expect(delta('loyalty_http_requests_total', { method: 'POST', route, status: '200' })).toBe(1);
    expect(delta('loyalty_http_requests_total', { method: 'POST', route, status: '201' })).toBe(1);
    expect(delta('loyalty_http_requests_total', { method: 'POST', route, status: '400' })).toBe(1);
    expect(
      delta('loyalty_http_request_duration_seconds_count', { method: 'POST', route, status: '200' }),
    ).toBe(1);
    expect(
      value(samples, 'loyalty_http_request_duration_seconds_bucket', {
        method: 'POST',
        route,
        status: '200',
        le: '+Inf',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      delta('loyalty_http_requests_total', {
        method: 'GET',
        route: '/v2/customers/lookup/promotionData',
        status: '200',
      }),
    ).toBe(1);
    expect(delta('loyalty_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(
      1,
    );
    expect(delta('loyalty_customers_processed_total', { action: 'ENROL', outcome: 'ok' })).toBe(2);
    expect(delta('loyalty_customers_processed_total', { action: 'ENROL', outcome: 'warning' })).toBe(1);
    expect(delta('loyalty_customers_processed_total', { action: 'ENROL', outcome: 'failed' })).toBe(1);

    // Bounded labels only: no raw URL, no customer, no credential.
    const ours = samples.filter((x) => x.name.startsWith('loyalty_'));
    const labelValues = new Set(
      ours.flatMap((x) =>
        Object.entries(x.labels)
          .filter(([k]) => k !== 'le')
          .map(([, v]) => v),
      ),
    );
    expect(labelValues.has(b)).toBe(false);
    expect([...labelValues].some((v) => v.includes('identifierValue'))).toBe(false);
    expect(text).not.toContain('987654321');
    expect(text).not.toContain('page-4242');
    expect(text).not.toContain('till-');
    for (const s of samples.filter((x) => x.name.startsWith('loyalty_http_'))) {
      expect(Object.keys(s.labels).sort()).toEqual(
        s.name.endsWith('_bucket') ? ['le', 'method', 'route', 'status'] : ['method', 'route', 'status'],
      );
    }
  });

  it('counts the single-customer issue as EARN', async () => {
    const before = (await scrape()).samples;
    const id = String(org.customers[2]?.id);
    const res = await t.app.inject({
      method: 'POST',
      url: `/v2/promotion/issue?identifierName=id&identifierValue=${id}&source=INSTORE`,
      headers: { authorization: org.auth.write, 'content-type': 'application/json' },
      payload: JSON.stringify({ programId: org.programId, promotionId: org.promotions.direct }),
    });
    expect(res.statusCode).toBe(200);
    const after = (await scrape()).samples;
    const labels = { action: 'EARN', outcome: 'ok' };
    expect(
      (value(after, 'loyalty_customers_processed_total', labels) ?? 0) -
        (value(before, 'loyalty_customers_processed_total', labels) ?? 0),
    ).toBe(1);
  });

  it('times store transactions and shows the pool and the process', async () => {
    const { samples } = await scrape();
    expect(
      value(samples, 'loyalty_store_transaction_duration_seconds_count', { outcome: 'commit' }),
    ).toBeGreaterThan(0);
    expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    const total = value(samples, 'loyalty_store_pool_connections');
    if (kind === 'postgres') {
      expect(total).toBeGreaterThan(0);
      expect(value(samples, 'loyalty_store_pool_idle_connections')).toBeGreaterThanOrEqual(0);
      expect(value(samples, 'loyalty_store_pool_waiting_clients')).toBe(0);
    } else {
      expect(total).toBeUndefined();
    }
  });

  it('counts the time the event loop was busy, and not the time it waited', async () => {
    const busy = async () => value((await scrape()).samples, 'loyalty_event_loop_busy_seconds_total') ?? -1;
    const first = await busy();
    expect(first).toBeGreaterThanOrEqual(0);
    // 200 ms of running code between two scrapes: counted.
    const until = performance.now() + 200;
    while (performance.now() < until) {
      // spin: a callback that holds the loop
    }
    const second = await busy();
    expect(second - first).toBeGreaterThanOrEqual(0.19);
    // 300 ms of waiting on a timer: not counted (the scrapes and the timer's callback take a little).
    await new Promise((r) => setTimeout(r, 300));
    const third = await busy();
    expect(third - second).toBeGreaterThanOrEqual(0);
    expect(third - second).toBeLessThan(0.2);
  });

  it('needs no credentials, and is off with LOYALTY_METRICS=0', async () => {
    const off = await startTestApp(kind, { config: { metrics: false } });
    try {
      expect((await off.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
      const doc = (await off.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(doc.paths['/metrics']).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

describe('LOYALTY_METRICS', () => {
  it('is on by default, 0 turns it off, and anything else is refused', () => {
    expect(loadConfig({}).metrics).toBe(true);
    expect(loadConfig({ LOYALTY_METRICS: '0' }).metrics).toBe(false);
    expect(loadConfig({ LOYALTY_METRICS: '1' }).metrics).toBe(true);
    expect(() => loadConfig({ LOYALTY_METRICS: 'yes' })).toThrow(ConfigError);
  });
});
