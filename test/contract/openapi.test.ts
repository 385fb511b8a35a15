import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, expect, it } from 'vitest';
import { ajv, type Doc, documentedPath as pathOf, validatorOf } from '../helpers/documented-answers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { BULK_URL, bulkBody, type StandardOrg, seedStandardOrg } from '../helpers/fixtures.js';
import { ADMIN_TOKEN } from '../helpers/test-app.js';

describeEachStore('OpenAPI document', (t, kind) => {
  let org: StandardOrg;
  let doc: Doc;
  const exercised = new Set<string>();

  function documentedPath(url: string): string {
    const found = pathOf(doc, url);
    if (!found) throw new Error(`${url.split('?', 1)[0]} is not in the document`);
    return found;
  }

  /** Sends a request and checks its answer against the schema the document gives for its status. */
  async function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    options: { body?: unknown; csv?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: any }> {
    // A string body goes as it is (a CSV import names its own type); anything else as JSON.
    const text = typeof options.body === 'string';
    const res = await t.app.inject({
      method,
      url,
      headers: {
        ...(options.body === undefined || text ? {} : { 'content-type': 'application/json' }),
        ...(options.csv === undefined ? {} : { 'content-type': 'text/csv' }),
        ...options.headers,
      },
      ...(options.body === undefined
        ? {}
        : { payload: text ? (options.body as string) : JSON.stringify(options.body) }),
      ...(options.csv === undefined ? {} : { payload: options.csv }),
    });
    const path = documentedPath(url);
    const operation = doc.paths[path]?.[method.toLowerCase()];
    expect(operation, `${method} ${path} is documented`).toBeDefined();
    const documented = operation?.responses[String(res.statusCode)];
    expect(documented, `${method} ${path} documents status ${res.statusCode}`).toBeDefined();
    const ref: string | undefined = documented?.content?.['application/json']?.schema?.$ref;
    if (ref) {
      const name = ref.split('/').pop() as string;
      const validate = validatorOf(name);
      const body = res.json();
      const ok = validate(body);
      expect(
        ok,
        `${method} ${url} ${res.statusCode} as ${name}: ${ajv.errorsText(validate.errors)}\n${res.body}`,
      ).toBe(true);
      exercised.add(`${method} ${path} ${res.statusCode}`);
      return { status: res.statusCode, body };
    }
    exercised.add(`${method} ${path} ${res.statusCode}`);
    return { status: res.statusCode, body: res.body };
  }

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    call(method, url, {
      ...(body === undefined ? {} : { body }),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });

  beforeAll(async () => {
    org = await seedStandardOrg(t);
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // And the validator does refuse a broken one.
    const broken = { ...structuredClone(doc), paths: { '/x': { get: { responses: 'none' } } } };
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  it('gives every operation a unique operationId', () => {
    const ids: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations) as [string, { operationId?: string }][]) {
        expect(operation.operationId, `${method} ${path} has an operationId`).toMatch(
          /^[A-Za-z][A-Za-z0-9]*$/,
        );
        ids.push(operation.operationId as string);
      }
    }
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents every route the server has, and no other', () => {
    const routes = new Set<string>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const method of Object.keys(operations)) {
        const url = path.replace(/\{([^}]+)\}/g, ':$1');
        expect(t.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${url}`).toBe(true);
        routes.add(`${method.toUpperCase()} ${url}`);
      }
    }
    // Every operation of the real API (HEAD routes aside) appears above: the printed tree names them.
    const printed = t.app.printRoutes({ commonPrefix: false, includeHooks: false });
    const methods = printed.match(/\((?:[A-Z]+, )*[A-Z]+\)/g) ?? [];
    const count = methods.flatMap((m) => m.slice(1, -1).split(', ')).filter((m) => m !== 'HEAD').length;
    // /docs/init.js and /docs/:file serve the reference's own static files and are left out of it, as
    // are the console's page and files (/, /console, /console/, /console/assets/:file).
    expect(routes.size).toBe(count - 6);
  });

  it('holds the reference page examples, every error code and the security schemes', () => {
    const text = JSON.stringify(doc);
    for (const code of [
      8892, 8015, 1101, 8874, 8899, 8881, 8901, 11013, 8902, 8896, 8890, 1060, 8013, 8003,
    ]) {
      expect(text).toContain(`${code}`);
    }
    const enrol = doc.paths['/v2/promotion/bulk/enrolAndEarn']?.post as any;
    const examples = enrol.requestBody.content['application/json'].examples;
    expect(Object.keys(examples)).toHaveLength(4);
    expect(examples.enrolById.value.customers[0].identifierValue).toBe('555567088');
    const sec = (doc.components as any).securitySchemes;
    expect(Object.keys(sec).sort()).toEqual([
      'adminToken',
      'basicAuth',
      'bearerToken',
      'capOAuthToken',
      'consoleSession',
    ]);
    expect(sec.capOAuthToken.name).toBe('X-CAP-API-OAUTH-TOKEN');
    // Documentation examples match their own schemas.
    for (const [status, name] of [
      ['200', 'BulkResponse'],
      ['201', 'BulkResponse'],
      ['400', 'BulkResponse'],
    ] as const) {
      const content = enrol.responses[status].content['application/json'];
      for (const example of Object.values(content.examples ?? {}) as { value: unknown }[]) {
        expect(validatorOf(name)(example.value), `${status} example`).toBe(true);
      }
    }
    for (const example of Object.values(examples) as { value: unknown }[]) {
      expect(validatorOf('BulkRequest')(example.value)).toBe(true);
    }
  });

  it('serves an interactive reference from the package itself', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).not.toMatch(/https?:\/\//);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    const scripts = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(scripts).toContain('/docs/swagger-ui-bundle.js');
    for (const asset of scripts) {
      const res = await t.app.inject({ method: 'GET', url: asset });
      expect(res.statusCode, asset).toBe(200);
      expect(res.body.length).toBeGreaterThan(0);
    }
    const init = await t.app.inject({ method: 'GET', url: '/docs/init.js' });
    expect(init.body).toContain("url: '/openapi.json'");
    expect((await t.app.inject({ method: 'GET', url: '/docs/package.json' })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/docs/..%2Fpackage.json' })).statusCode).toBe(404);
    // The API's own answers keep the strict policy.
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('answers the operations endpoints and OAuth as documented', async () => {
    await call('GET', '/health');
    await call('GET', '/ready');
    const client = await admin('POST', `/admin/v1/orgs/${org.orgId}/api-clients`, {
      key: `oa-client-${kind}`,
      secret: 'a-secret-of-the-test',
      customerAccess: 'WRITE',
    });
    expect(client.status).toBe(201);
    const token = await call('POST', '/v3/oauth/token/generate', {
      body: { key: `oa-client-${kind}`, secret: 'a-secret-of-the-test' },
    });
    expect(token.status).toBe(200);
    const wrong = await call('POST', '/v3/oauth/token/generate', {
      body: { key: `oa-client-${kind}`, secret: 'wrong' },
    });
    expect(wrong.status).toBe(401);
    const lookup = await call(
      'GET',
      `/v2/customers/lookup/promotionData?identifierName=id&identifierValue=${org.customers[0]?.id}&source=INSTORE`,
      { headers: { 'x-cap-api-oauth-token': token.body.data.accessToken } },
    );
    expect(lookup.status).toBe(200);
  });

  it('answers every /v2 endpoint as documented', async () => {
    const [a, b] = org.customers.map((c) => String(c.id)) as [string, string];
    const w = { authorization: org.auth.write };
    const enrolAndIssue = { promotionId: org.promotions.enrolAndIssue };
    const direct = { promotionId: org.promotions.direct };
    const bulk = (url: string, body: unknown, headers: Record<string, string> = w) =>
      call('POST', url, { body, headers });

    expect(
      (await bulk(BULK_URL, bulkBody('ENROL', org.programId, enrolAndIssue, 'id', [[a, 'INSTORE']]))).status,
    ).toBe(200);
    const earned = await bulk(
      BULK_URL,
      bulkBody('EARN', org.programId, enrolAndIssue, 'id', [
        [a, 'INSTORE'],
        ['999999999', 'INSTORE'],
      ]),
    );
    expect(earned.status).toBe(201);
    // The wire order is Capillary's: result first, then errors and warnings.
    expect(Object.keys(earned.body.response[0])).toEqual(['result', 'errors', 'warnings']);
    expect(Object.keys(earned.body.response[0].result)).toEqual([
      'entityType',
      'entityId',
      'promotionId',
      'programId',
      'issualId',
      'earnedId',
    ]);
    expect(Object.keys(earned.body)).toEqual(['response', 'totalCount', 'failureCount']);
    const byIdentifier = await bulk(
      BULK_URL,
      bulkBody('ENROL', org.programId, { promoIdentifier: org.promoIdentifier }, 'id', [[a, 'INSTORE']]),
    );
    expect(Object.keys(byIdentifier.body.response[0].result)).toEqual([
      'entityType',
      'entityId',
      'promotionId',
      'promoIdentifier',
      'programId',
      'issualId',
    ]);
    expect(
      (await bulk(BULK_URL, bulkBody('ENROL', org.programId, enrolAndIssue, 'id', [[a, 'INSTORE']]))).body
        .response[0].warnings,
    ).toHaveLength(1);
    expect((await bulk(BULK_URL, { type: 'USERGROUP2' })).status).toBe(400);
    expect((await bulk(BULK_URL, {}, { authorization: 'Basic bm9ib2R5Om5vdGhpbmc=' })).status).toBe(401);
    expect((await bulk(BULK_URL, {}, { authorization: org.auth.read })).status).toBe(403);
    const wrongType = await call('POST', BULK_URL, { headers: { ...w, 'content-type': 'text/plain' } });
    expect(wrongType.status).toBe(415);

    const directUrl = '/v2/promotion/bulk/directEarn';
    expect(
      (await bulk(directUrl, bulkBody('EARN', org.programId, direct, 'id', [[b, 'INSTORE']]))).status,
    ).toBe(200);
    const someMissing = bulkBody('EARN', org.programId, direct, 'id', [
      [b, 'INSTORE'],
      ['999999999', 'INSTORE'],
    ]);
    expect((await bulk(directUrl, someMissing)).status).toBe(201);
    const revokeMissing = await bulk('/v2/promotion/bulk/revokeDirectEarn', {
      ...bulkBody('EARN', org.programId, direct, 'id', [['999999999', 'INSTORE']]),
      bulkAction: 'REVOKE_EARN',
    });
    expect(revokeMissing.status).toBe(201);
    const revokeEarn = await bulk('/v2/promotion/bulk/revokeEnrolAndEarn', {
      ...bulkBody('EARN', org.programId, enrolAndIssue, 'id', [[a, 'INSTORE']]),
      bulkAction: 'REVOKE_EARN',
    });
    expect(revokeEarn.status).toBe(200);
    expect(revokeEarn.body.response[0].result.revokedEarnIds).toHaveLength(1);
    const revokeDirect = await bulk('/v2/promotion/bulk/revokeDirectEarn', {
      ...bulkBody('EARN', org.programId, direct, 'id', [[b, 'INSTORE']]),
      bulkAction: 'REVOKE_EARN',
    });
    expect(revokeDirect.status).toBe(200);
    expect(revokeDirect.body.response[0].result.revokedEarnIds).toHaveLength(2);
    const revoke = await bulk('/v2/promotion/bulk/revokeEnrolAndEarn', {
      ...bulkBody('EARN', org.programId, enrolAndIssue, 'id', [
        [a, 'INSTORE'],
        [b, 'INSTORE'],
      ]),
      bulkAction: 'REVOKE_ENROL',
    });
    expect(revoke.status).toBe(201);
    // The revoke pages answer the revoked issual as an integer (and as the string issualId).
    expect(Number.isSafeInteger(revoke.body.response[0].result.revokedIssualId)).toBe(true);
    expect(revoke.body.response[0].result.issualId).toBe(
      String(revoke.body.response[0].result.revokedIssualId),
    );

    const issue = (query: string, body: unknown, headers = w) =>
      call('POST', `/v2/promotion/issue?${query}`, { body, headers });
    const ok = await issue(`identifierName=id&identifierValue=${b}&source=INSTORE`, {
      programId: org.programId,
      promotionId: org.promotions.direct,
    });
    expect(ok.status).toBe(200);
    expect(ok.body.sideEffects).toHaveLength(1);
    const missing = await issue('identifierName=id&identifierValue=999999999&source=INSTORE', {
      programId: org.programId,
      promotionId: org.promotions.direct,
    });
    expect(missing.status).toBe(400);
    expect((await issue('identifierName=id&identifierValue=1&source=INSTORE', { programId: 0 })).status).toBe(
      400,
    );
    expect((await issue('x=1', {}, { authorization: org.auth.read })).status).toBe(403);

    const lookup = (query: string, headers = w) =>
      call('GET', `/v2/customers/lookup/promotionData?${query}`, { headers });
    const found = await lookup(`identifierName=id&identifierValue=${a}&source=INSTORE`, {
      authorization: org.auth.read,
    });
    expect(found.status).toBe(200);
    expect(found.body.promotions.length).toBeGreaterThan(0);
    expect((await lookup('identifierName=id&identifierValue=999999999&source=INSTORE')).status).toBe(400);
    expect((await lookup('identifierName=id', { authorization: org.auth.none })).status).toBe(403);
    expect((await lookup('identifierName=id', { authorization: 'Basic eDp5' })).status).toBe(401);
  });

  it('answers every management endpoint as documented', async () => {
    const created = await admin('POST', '/admin/v1/orgs', { name: `Docs ${kind}` });
    expect(created.status).toBe(201);
    const base = `/admin/v1/orgs/${created.body.id}`;
    expect((await admin('POST', '/admin/v1/orgs', { name: 'x', colour: 'red' })).status).toBe(400);
    expect((await call('POST', '/admin/v1/orgs', { body: { name: 'x' } })).status).toBe(401);
    const program = await admin('POST', `${base}/programs`, { name: 'P' });
    expect(program.status).toBe(201);
    expect((await admin('POST', '/admin/v1/orgs/999999/programs', { name: 'P' })).status).toBe(404);
    const promotion = await admin('POST', `${base}/promotions`, {
      programId: program.body.id,
      name: 'Docs',
      type: 'DIRECT',
      promoIdentifier: `DOCS-${kind}`,
      startDate: '2026-01-01T00:00:00+05:30',
    });
    expect(promotion.status).toBe(201);
    const again = await admin('POST', `${base}/promotions`, {
      programId: program.body.id,
      name: 'Docs',
      type: 'DIRECT',
      promoIdentifier: `DOCS-${kind}`,
    });
    expect(again.status).toBe(409);
    const promo = `${base}/promotions/${promotion.body.id}`;
    expect((await admin('GET', promo)).status).toBe(200);
    expect((await admin('PATCH', promo, { maxEarnsPerCustomer: 2, active: true })).status).toBe(200);
    const customers = await admin('POST', `${base}/customers`, {
      customers: [
        { mobile: '+91 98450 00001', email: `docs.${kind}@example.com`, programIds: [program.body.id] },
        {},
      ],
    });
    expect(customers.status).toBe(201);
    for (const [path, name, secret] of [
      ['tills', 'username', 'password'],
      ['api-clients', 'key', 'secret'],
    ] as const) {
      const login = `docs-${path}-${kind}`;
      const made = await admin('POST', `${base}/${path}`, {
        [name]: login,
        [secret]: 'docs-secret-of-the-test',
        customerAccess: 'WRITE',
        rateLimitPerMinute: 600,
      });
      expect(made.status).toBe(201);
      expect((await admin('GET', `${base}/${path}`)).status).toBe(200);
      expect((await admin('PATCH', `${base}/${path}/${login}`, { disabled: true })).status).toBe(200);
      const rotated = await admin('POST', `${base}/${path}/${login}/rotate`);
      expect(rotated.status).toBe(200);
      expect(typeof rotated.body[secret]).toBe('string');
      expect(
        (await admin('POST', `${base}/${path}/${login}/rotate`, { [secret]: 'another-secret-1234' })).status,
      ).toBe(200);
      expect((await admin('PATCH', `${base}/${path}/no-such-login`, { disabled: true })).status).toBe(404);
    }
    const orgBase = `/admin/v1/orgs/${org.orgId}/promotions/${org.promotions.enrolAndIssue}`;
    const report = await admin('GET', `${orgBase}/issuals?limit=1`);
    expect(report.status).toBe(200);
    expect(report.body.issuals.length).toBeGreaterThan(0);
    const csv = await admin('GET', `${orgBase}/issuals.csv`);
    expect(csv.status).toBe(200);
    expect((await admin('GET', `${orgBase}/issuals?limit=5000`)).status).toBe(400);
    const audit = await admin('GET', '/admin/v1/audit?limit=3');
    expect(audit.status).toBe(200);
    expect(audit.body.entries).toHaveLength(3);
  });

  it('answers the event feed and every webhook endpoint as documented', async () => {
    const feed = await admin('GET', `/admin/v1/orgs/${org.orgId}/events?limit=5`);
    expect(feed.status).toBe(200);
    expect(feed.body.events.length).toBeGreaterThan(0);
    expect((await admin('GET', `/admin/v1/orgs/${org.orgId}/events?limit=0`)).status).toBe(400);
    // A fresh org has no events, so nothing is sent to the (unreachable) public address below.
    const fresh = await admin('POST', '/admin/v1/orgs', { name: `Webhooks ${kind}` });
    const base = `/admin/v1/orgs/${fresh.body.id}/webhooks`;
    const made = await admin('POST', base, { url: 'https://93.184.216.34/hook', maxBatchSize: 10 });
    expect(made.status).toBe(201);
    expect((await admin('POST', base, { url: 'http://127.0.0.1/hook' })).status).toBe(400);
    const hook = `${base}/${made.body.id}`;
    expect((await admin('GET', base)).status).toBe(200);
    expect((await admin('GET', hook)).status).toBe(200);
    expect((await admin('PATCH', hook, { enabled: false })).status).toBe(200);
    expect((await admin('POST', `${hook}/rotate-secret`)).status).toBe(200);
    expect((await admin('GET', `${hook}/deliveries`)).status).toBe(200);
    expect((await admin('POST', `${hook}/replay`, { after: feed.body.nextCursor })).status).toBe(200);
    expect((await admin('DELETE', hook)).status).toBe(204);
    expect((await admin('GET', hook)).status).toBe(404);
  });

  it('answers every endpoint of the directory as documented', async () => {
    const made = await admin('POST', '/admin/v1/orgs', { name: `Directory ${kind}` });
    const orgId = made.body.id as number;
    const base = `/admin/v1/orgs/${orgId}`;
    expect((await admin('GET', '/admin/v1/orgs?limit=1')).status).toBe(200);
    expect((await admin('GET', '/admin/v1/orgs?limit=1001')).status).toBe(400);
    expect((await admin('GET', base)).status).toBe(200);
    expect((await admin('GET', '/admin/v1/orgs/999999999')).status).toBe(404);
    expect((await admin('PATCH', base, { name: `Directory ${kind} renamed` })).status).toBe(200);
    expect((await admin('PATCH', base, { id: 1 })).status).toBe(400);

    const program = await admin('POST', `${base}/programs`, { name: 'P' });
    const programUrl = `${base}/programs/${program.body.id}`;
    expect((await admin('GET', `${base}/programs`)).status).toBe(200);
    expect((await admin('GET', programUrl)).status).toBe(200);
    expect((await admin('GET', `${base}/programs/999999999`)).status).toBe(404);
    expect((await admin('PATCH', programUrl, { name: 'P2' })).status).toBe(200);
    const promotion = await admin('POST', `${base}/promotions`, {
      programId: program.body.id,
      name: 'Listed',
      type: 'ENROL_AND_ISSUE',
    });
    expect((await admin('GET', `${base}/promotions?state=live&name=list`)).body.promotions).toHaveLength(1);
    expect((await admin('GET', `${base}/promotions?state=gone`)).status).toBe(400);
    const counts = await admin('GET', `${base}/promotions/${promotion.body.id}/counts`);
    expect(counts.status).toBe(200);
    expect((await admin('GET', `${base}/promotions/999999999/counts`)).status).toBe(404);
    const many = await admin('GET', `${base}/promotion-counts?ids=${promotion.body.id},999999999`);
    expect(many.status).toBe(200);
    expect(many.body.counts.map((c: any) => c.promotionId)).toEqual([promotion.body.id, 999999999]);
    expect((await admin('GET', `${base}/promotion-counts?ids=x`)).status).toBe(400);

    for (const [path, name, secret] of [
      ['tills', 'username', 'password'],
      ['api-clients', 'key', 'secret'],
    ] as const) {
      const login = `dir-${path}-${kind}`;
      const credential = await admin('POST', `${base}/${path}`, {
        [name]: login,
        [secret]: 'dir-secret-of-the-test',
        customerAccess: 'READ',
      });
      expect(credential.status).toBe(201);
      expect((await admin('GET', `${base}/${path}/${login}`)).status).toBe(200);
      expect((await admin('GET', `${base}/${path}/nobody`)).status).toBe(404);
    }

    const imported = await admin('POST', `${base}/customers/import?mode=upsert`, {
      customers: [{ mobile: '919845000101', programIds: [program.body.id] }, { mobile: 'x' }],
    });
    expect(imported.status).toBe(200);
    expect(imported.body.totals).toMatchObject({ created: 1, refused: 1 });
    const csv = await call('POST', `${base}/customers/import?mode=upsert`, {
      body: 'mobile,email\n919845000101,dir@example.com\n919845000102,\n',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' },
    });
    expect(csv.status).toBe(200);
    expect(csv.body.totals).toMatchObject({ created: 1, updated: 1 });
    const badCsv = await call('POST', `${base}/customers/import`, {
      body: 'name\nx\n',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/csv' },
    });
    expect(badCsv.status).toBe(400);

    const id = imported.body.rows[0].id as number;
    expect((await admin('GET', `${base}/customers?limit=1`)).status).toBe(200);
    const search = await admin('GET', `${base}/customers/search?email=DIR@example.com`);
    expect(search.body.customers[0].id).toBe(id);
    expect((await admin('GET', `${base}/customers/search`)).status).toBe(400);
    expect((await admin('GET', `${base}/customers/${id}`)).status).toBe(200);
    expect((await admin('PATCH', `${base}/customers/${id}`, { externalId: 'dir-1' })).status).toBe(200);
    expect((await admin('PATCH', `${base}/customers/${id}`, { mobile: '919845000102' })).status).toBe(409);
    expect((await admin('PATCH', `${base}/customers/${id}`, { programIds: [999999999] })).status).toBe(404);
    const removed = await admin('DELETE', `${base}/customers/${id}`);
    expect(removed.status).toBe(200);
    expect(removed.body.deletedAt).not.toBeNull();
    expect((await admin('DELETE', `${base}/customers/${id}`)).status).toBe(404);
  });

  it("answers a change of one customer's reward as documented", async () => {
    const customer = org.customers[0]?.id as number;
    const url = `/admin/v1/orgs/${org.orgId}/customers/${customer}/rewards`;
    const body = { programId: org.programId, promotionId: org.promotions.direct };
    const earned = await admin('POST', url, { ...body, action: 'EARN' });
    expect(earned.status).toBe(200);
    expect(earned.body.response[0].result.entityId).toBe(customer);
    const revoked = await admin('POST', url, { ...body, action: 'REVOKE_EARN' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.response[0].result.revokedEarnIds).toEqual([
      Number(earned.body.response[0].result.earnedId),
    ]);
    expect((await admin('POST', url, { ...body, action: 'MAKE' })).status).toBe(400);
    expect((await admin('POST', url, { ...body, promotionId: 999999999, action: 'EARN' })).status).toBe(400);
  });

  it('answers every bulk job endpoint as documented', async () => {
    const base = `/admin/v1/orgs/${org.orgId}/jobs`;
    const upload = (query: string, csv: string) =>
      call('POST', `${base}?${query}`, { csv, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const promotion = `programId=${org.programId}&promotionId=${org.promotions.enrolAndIssue}`;
    const rows = `identifierValue,source\n${org.customers.map((c) => `${c.id},INSTORE`).join('\n')}\n`;
    const finished = async (id: string) => {
      for (let i = 0; i < 600; i++) {
        const job = await admin('GET', `${base}/${id}`);
        expect(job.status).toBe(200);
        if (!['queued', 'running'].includes(job.body.status)) return job.body;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`job ${id} did not finish`);
    };

    const submitted = await upload(`action=ENROL&${promotion}&identifierName=id`, rows);
    expect(submitted.status).toBe(202);
    expect((await finished(submitted.body.id)).status).toBe('succeeded');
    expect((await admin('GET', `${base}?status=succeeded&limit=10`)).status).toBe(200);
    const results = await admin('GET', `${base}/${submitted.body.id}/results`);
    expect(results.status).toBe(200);
    expect(results.body.split('\r\n')[0]).toBe(
      'row,identifierValue,source,entityId,issualId,earnedId,code,message',
    );
    const undo = await admin('POST', `${base}/${submitted.body.id}/undo`);
    expect(undo.status).toBe(202);
    expect((await finished(undo.body.id)).status).toBe('succeeded');
    // A finished job cannot be cancelled; a queued one can.
    expect((await admin('POST', `${base}/${undo.body.id}/cancel`)).status).toBe(409);
    // A dry run of 20,000 rows takes seconds: the cancel sent at once finds it still under way.
    const many = `identifierValue\n${`${org.customers[0]?.id}\n`.repeat(20_000)}`;
    const dry = await upload(`action=ENROL&${promotion}&identifierName=id&dryRun=true`, many);
    expect(dry.status).toBe(202);
    const cancel = await admin('POST', `${base}/${dry.body.id}/cancel`);
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('cancelled');
    // The refusals are documented too.
    expect((await upload(`action=ENROL&programId=${org.programId}&identifierName=id`, rows)).status).toBe(
      400,
    );
    expect((await admin('GET', `${base}/999999999`)).status).toBe(404);
    expect((await call('GET', base)).status).toBe(401);
  });

  it('answers every console user and session endpoint as documented', async () => {
    const user = { username: `docs-${kind}`, password: 'docs password of the test', role: 'admin' };
    expect((await admin('POST', '/admin/v1/users', user)).status).toBe(201);
    expect((await admin('GET', '/admin/v1/users?limit=1')).status).toBe(200);
    expect((await admin('GET', `/admin/v1/users/${user.username}`)).status).toBe(200);
    expect((await admin('PATCH', `/admin/v1/users/${user.username}`, { role: 'operator' })).status).toBe(200);
    expect((await admin('PATCH', `/admin/v1/users/${user.username}`, { role: 'admin' })).status).toBe(200);
    const reset = await admin('POST', `/admin/v1/users/${user.username}/password`, {
      password: user.password,
    });
    expect(reset.status).toBe(200);
    const signIn = await call('POST', '/console/api/session', {
      body: { username: user.username, password: user.password },
    });
    expect(signIn.status).toBe(200);
    const res = await t.app.inject({
      method: 'POST',
      url: '/console/api/session',
      payload: { username: user.username, password: user.password },
    });
    const headers = { cookie: String(res.headers['set-cookie']).split(';')[0] as string };
    expect((await call('GET', '/console/api/session', { headers })).status).toBe(200);
    expect((await call('GET', '/console/api/orgs', { headers })).status).toBe(200);
    const csrf = { ...headers, 'x-csrf-token': res.json().csrfToken };
    expect((await call('DELETE', '/console/api/session', { headers: csrf })).status).toBe(204);
  });

  it('exercised every documented JSON success answer', () => {
    const missing: string[] = [];
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        for (const status of Object.keys(operation.responses)) {
          if (!/^2/.test(status)) continue;
          if (['/openapi.json', '/docs', '/metrics'].includes(path)) continue;
          if (!exercised.has(`${method.toUpperCase()} ${path} ${status}`))
            missing.push(`${method} ${path} ${status}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
