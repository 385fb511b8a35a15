import { expect, it } from 'vitest';
import { describeEachStore } from '../helpers/each-store.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

describeEachStore('audit log and response headers', (t, kind) => {
  it('records every successful management change with who, what and when, and never a secret', async () => {
    const org = await t.admin('POST', '/admin/v1/orgs', { name: 'Audited' });
    expect(org.status).toBe(201);
    const till = await t.admin('POST', `/admin/v1/orgs/${org.body.id}/tills`, {
      username: `audited-${kind}`,
      password: 'very-secret-password',
      customerAccess: 'WRITE',
    });
    expect(till.status).toBe(201);
    const refused = await t.admin('POST', `/admin/v1/orgs/${org.body.id}/programs`, { name: 42 });
    expect(refused.status).toBe(400);
    await t.admin('PATCH', `/admin/v1/orgs/${org.body.id}/tills/audited-${kind}`, { disabled: true });

    const log = await t.admin('GET', `/admin/v1/audit?orgId=${org.body.id}`);
    expect(log.status).toBe(200);
    expect(log.body.entries.map((e: any) => e.action)).toEqual([
      'POST /admin/v1/orgs',
      'POST /admin/v1/orgs/:orgId/tills',
      'PATCH /admin/v1/orgs/:orgId/tills/:name',
    ]);
    for (const entry of log.body.entries) {
      expect(entry.orgId).toBe(org.body.id);
      expect(entry.who).toMatch(/^admin@/);
      expect(Date.parse(entry.at)).not.toBeNaN();
      expect(entry.requestId).toBeTruthy();
    }
    expect(log.body.entries[2].target).toEqual({ orgId: String(org.body.id), name: `audited-${kind}` });
    const text = JSON.stringify(log.body);
    expect(text).not.toContain('very-secret-password');
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(log.body.nextCursor).toBeNull();
  });

  it('filters the log by who, action and time, newest first, a page at a time', async () => {
    const org = await t.admin('POST', '/admin/v1/orgs', { name: `Filtered ${kind}` });
    const base = `/admin/v1/orgs/${org.body.id}`;
    for (const name of ['A', 'B', 'C']) await t.admin('POST', `${base}/programs`, { name });
    const audit = (query: string) => t.admin('GET', `/admin/v1/audit?orgId=${org.body.id}&${query}`);
    const programs = encodeURIComponent('POST /admin/v1/orgs/:orgId/programs');
    const newest = await audit(`action=${programs}&order=desc&limit=2`);
    expect(newest.status).toBe(200);
    const ids = newest.body.entries.map((e: any) => Number(e.id));
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBeGreaterThan(ids[1]);
    const older = await audit(`action=${programs}&order=desc&limit=2&cursor=${newest.body.nextCursor}`);
    expect(older.body.entries).toHaveLength(1);
    expect(Number(older.body.entries[0].id)).toBeLessThan(ids[1]);
    expect(older.body.nextCursor).toBeNull();
    const who = newest.body.entries[0].who as string;
    expect((await audit(`who=${encodeURIComponent(who)}`)).body.entries).toHaveLength(4);
    expect((await audit('who=user%3Anobody')).body.entries).toHaveLength(0);
    const at = newest.body.entries[0].at as string;
    expect(
      (await audit(`from=${encodeURIComponent(at)}&action=${programs}`)).body.entries.length,
    ).toBeGreaterThan(0);
    const before = new Date(Date.parse(at) - 3_600_000).toISOString();
    expect((await audit(`to=${encodeURIComponent(before)}`)).body.entries).toHaveLength(0);
    expect((await audit('order=sideways')).status).toBe(400);
  });

  it('pages the log with limit and cursor, and refuses a bad limit', async () => {
    const first = await t.admin('GET', '/admin/v1/audit?limit=1');
    expect(first.body.entries).toHaveLength(1);
    expect(first.body.nextCursor).toMatch(/^\d+$/);
    const second = await t.admin('GET', `/admin/v1/audit?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.entries[0].id).not.toBe(first.body.entries[0].id);
    // Pages of two, followed to the end, give the whole log once, in its order, and then stop.
    await t.admin('POST', '/admin/v1/orgs', { name: 'Paged 1' });
    await t.admin('POST', '/admin/v1/orgs', { name: 'Paged 2' });
    const whole = await t.admin('GET', '/admin/v1/audit?limit=1000');
    expect(whole.body.nextCursor).toBeNull();
    const all = whole.body.entries.map((e: any) => e.id);
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect([...all].sort((x: number, y: number) => x - y)).toStrictEqual(all);
    expect(new Set(all).size).toBe(all.length);
    const paged: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < all.length; page++) {
      const res = await t.admin('GET', `/admin/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.entries.length).toBeLessThanOrEqual(2);
      paged.push(...res.body.entries.map((e: any) => e.id));
      cursor = res.body.nextCursor;
      if (cursor === null) break;
    }
    expect(cursor).toBeNull();
    expect(paged).toStrictEqual(all);
    expect(first.body.entries[0].id).toBe(all[0]);
    expect(second.body.entries[0].id).toBe(all[1]);
    expect((await t.admin('GET', '/admin/v1/audit?limit=1001')).status).toBe(400);
    const anonymous = await t.app.inject({ method: 'GET', url: '/admin/v1/audit' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('sends security headers and a request id on every answer', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/health',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const ready = await t.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });
});
