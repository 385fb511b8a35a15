import { Readable } from 'node:stream';
import type { InjectOptions } from 'fastify';
import { beforeAll, expect, it } from 'vitest';
import { adminCalls, countRows, expectAdminError } from '../helpers/admin-helpers.js';
import { describeEachStore } from '../helpers/each-store.js';
import { ADMIN_TOKEN, type TestApp } from '../helpers/test-app.js';

// Customer imports through POST /admin/v1/orgs/:orgId/customers/import, JSON and CSV, create and
// upsert: an answer per row, whole-file refusals at once, the size limit, and a 100,000-row file.

interface RowAnswer {
  row: number;
  outcome: 'created' | 'updated' | 'unchanged' | 'refused';
  id?: number;
  reason?: string;
  field?: string;
}

function importer(t: TestApp) {
  const { raw } = adminCalls(t);
  const url = (orgId: number, mode?: string) =>
    `/admin/v1/orgs/${orgId}/customers/import${mode ? `?mode=${mode}` : ''}`;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    json: (orgId: number, mode: string | undefined, customers: unknown[]) =>
      raw({
        method: 'POST',
        url: url(orgId, mode),
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ customers }),
      }),
    /** A CSV body: a string goes with its length, a stream without one (as a chunked upload). */
    csv: (orgId: number, mode: string | undefined, body: string | Readable) =>
      raw({
        method: 'POST',
        url: url(orgId, mode),
        headers: { ...auth, 'content-type': 'text/csv; charset=utf-8' },
        payload: body as InjectOptions['payload'],
      }),
  };
}

const get = async (t: TestApp, orgId: number, id: number) =>
  (await t.admin('GET', `/admin/v1/orgs/${orgId}/customers/${id}`)).body;

describeEachStore('customer import', (t) => {
  const { orgWithProgram } = adminCalls(t);
  const send = importer(t);

  it('imports JSON: create refuses existing customers per row, upsert updates them and creates the rest', async () => {
    const { orgId, programId } = await orgWithProgram();
    const created = await send.json(orgId, undefined, [
      { mobile: '+91 98000 00001', email: 'a@example.com' },
      { email: 'b@example.com', programIds: [programId], sources: ['WEB_ENGAGE'] },
      { mobile: '919800000001' },
      { mobile: 'not a number' },
      { mobile: '919800000003', programIds: [999999999] },
    ]);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const [a, b] = created.body.rows as RowAnswer[];
    expect(created.body).toStrictEqual({
      mode: 'create',
      rowsCommitted: 5,
      totals: { created: 2, updated: 0, unchanged: 0, refused: 3 },
      rows: [
        { row: 0, outcome: 'created', id: expect.any(Number) },
        { row: 1, outcome: 'created', id: expect.any(Number) },
        { row: 2, outcome: 'refused', reason: 'an earlier row creates this customer', field: 'mobile' },
        { row: 3, outcome: 'refused', reason: expect.stringMatching(/digits/), field: 'mobile' },
        { row: 4, outcome: 'refused', reason: 'program 999999999 does not exist', field: 'programIds' },
      ],
    });
    expect(await countRows(t, 'customers', orgId)).toBe(2);
    expect(await get(t, orgId, b?.id as number)).toMatchObject({
      email: 'b@example.com',
      sources: ['WEB_ENGAGE'],
      programIds: [programId],
    });

    const upserted = await send.json(orgId, 'upsert', [
      { mobile: '919800000001', email: 'a2@example.com' },
      { email: ' B@Example.com ', programIds: [programId] },
      { id: b?.id, sources: ['INSTORE', 'WEB_ENGAGE'] },
      { mobile: '919800000004' },
      { mobile: '919800000004', email: 'a2@example.com' },
    ]);
    expect(upserted.status, JSON.stringify(upserted.body)).toBe(200);
    expect(upserted.body.totals).toStrictEqual({ created: 1, updated: 2, unchanged: 1, refused: 1 });
    expect(upserted.body.rows).toStrictEqual([
      { row: 0, outcome: 'updated', id: a?.id },
      { row: 1, outcome: 'unchanged', id: b?.id },
      { row: 2, outcome: 'updated', id: b?.id },
      { row: 3, outcome: 'created', id: expect.any(Number) },
      // Matched by mobile to the customer the row above creates; the email it gives is another's.
      { row: 4, outcome: 'refused', reason: `email is held by customer ${a?.id}`, field: 'email' },
    ]);
    expect(await get(t, orgId, a?.id as number)).toMatchObject({
      mobile: '919800000001',
      email: 'a2@example.com',
    });
    expect((await get(t, orgId, b?.id as number)).sources).toStrictEqual(['INSTORE', 'WEB_ENGAGE']);
    expect(await countRows(t, 'customers', orgId)).toBe(3);
    // Every import is in the audit log.
    const audit = await t.admin('GET', `/admin/v1/audit?orgId=${orgId}&limit=1000`);
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions.filter((x: string) => x === 'POST /admin/v1/orgs/:orgId/customers/import')).toHaveLength(
      2,
    );
  });

  it('imports CSV: rows numbered as the file, quoted fields, ;-lists, and short rows refused', async () => {
    const { orgId, programId } = await orgWithProgram();
    const file = [
      'Mobile,email,sources,programIds',
      `919811111111,"c,1@example.com",INSTORE;web_engage,${programId}`,
      '919811111112,,,',
      '919811111113,x@example.com',
      `"919811111112",c2@example.com,,${programId}`,
      ',,,',
      '919811111114,,NOWHERE,',
    ].join('\r\n');
    const res = await send.csv(orgId, 'upsert', `${file}\r\n`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toStrictEqual({
      mode: 'upsert',
      rowsCommitted: 6,
      totals: { created: 2, updated: 1, unchanged: 0, refused: 3 },
      rows: [
        { row: 2, outcome: 'created', id: expect.any(Number) },
        { row: 3, outcome: 'created', id: expect.any(Number) },
        { row: 4, outcome: 'refused', reason: 'the row has 2 fields, the header 4' },
        { row: 5, outcome: 'updated', id: res.body.rows[1].id },
        { row: 6, outcome: 'refused', reason: 'the row is empty' },
        {
          row: 7,
          outcome: 'refused',
          reason: expect.stringMatching(/sources\[0\] must be one of/),
          field: 'sources[0]',
        },
      ],
    });
    expect(await get(t, orgId, res.body.rows[0].id)).toMatchObject({
      mobile: '919811111111',
      email: 'c,1@example.com',
      sources: ['INSTORE', 'WEB_ENGAGE'],
      programIds: [programId],
    });
    expect(await get(t, orgId, res.body.rows[1].id)).toMatchObject({
      email: 'c2@example.com',
      sources: ['INSTORE'],
      programIds: [programId],
    });
  });

  it('refuses a whole file at once for its header, emptiness or broken CSV, writing nothing', async () => {
    const { orgId } = await orgWithProgram();
    expectAdminError(
      await send.csv(orgId, 'upsert', 'mobile,name\n919822222221,x\n'),
      400,
      'invalid_request',
      'header',
    );
    expectAdminError(
      await send.csv(orgId, 'upsert', 'mobile,mobile\n9198,9198\n'),
      400,
      'invalid_request',
      'header',
    );
    expectAdminError(await send.csv(orgId, 'upsert', 'sources\nINSTORE\n'), 400, 'invalid_request', 'header');
    expectAdminError(await send.csv(orgId, 'upsert', ''), 400, 'invalid_request', 'header');
    expectAdminError(await send.csv(orgId, 'upsert', 'mobile\n"9198222\n'), 400, 'invalid_request', 'body');
    expectAdminError(
      await send.csv(orgId, 'replace', 'mobile\n919822222221\n'),
      400,
      'invalid_request',
      'mode',
    );
    expectAdminError(await send.csv(999999999, 'upsert', 'mobile\n919822222221\n'), 404, 'not_found');
    expect(await countRows(t, 'customers', orgId)).toBe(0);
  });

  it('upserts a 100,000-row CSV: creates, updates and refuses as expected, answered per row', {
    timeout: 600_000,
  }, async () => {
    const { orgId, programId } = await orgWithProgram();
    const EXISTING = 30_000;
    const ROWS = 100_000;
    const mobile = (i: number) => `9197${String(i).padStart(8, '0')}`;
    const email = (i: number) => `m${i}@example.com`;

    // The customers that are there already, made by a CSV import of their own.
    const seed = ['mobile,email', ...Array.from({ length: EXISTING }, (_, i) => `${mobile(i)},${email(i)}`)];
    const seeded = await send.csv(orgId, 'create', `${seed.join('\n')}\n`);
    expect(seeded.status).toBe(200);
    expect(seeded.body.totals).toStrictEqual({ created: EXISTING, updated: 0, unchanged: 0, refused: 0 });
    const idOf = (i: number) => seeded.body.rows[i].id as number;
    const { raw } = adminCalls(t);
    const gone = idOf(7);
    const removed = await raw({
      method: 'DELETE',
      url: `/admin/v1/orgs/${orgId}/customers/${gone}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(removed.status).toBe(200);

    // Existing customers, matched by mobile: a third unchanged, a third with a new email, a third
    // joining the program. Then new customers, and among them rows that must be refused.
    const refusals = new Map<number, { line: string; reason: RegExp; field?: string }>([
      [40_000, { line: 'abc,,,', reason: /digits/, field: 'mobile' }],
      [
        50_000,
        {
          line: `9196000050000,,,${999_999_999}`,
          reason: /program 999999999 does not exist/,
          field: 'programIds',
        },
      ],
      [
        60_000,
        {
          // Matched by its mobile to customer 4, it gives the email that customer 5 holds.
          line: `${mobile(4)},${email(5)},,`,
          reason: new RegExp(`email is held by customer ${idOf(5)}`),
          field: 'email',
        },
      ],
      [70_000, { line: '9196000070000,,SOMEWHERE,', reason: /must be one of/, field: 'sources[0]' }],
      [80_000, { line: '9196000080000,,', reason: /the row has 3 fields, the header 4/ }],
    ]);
    const BY_EMAIL = 65_000;
    const lines = ['mobile,email,sources,programIds'];
    for (let i = 0; i < ROWS; i++) {
      const refused = refusals.get(i);
      if (refused) lines.push(refused.line);
      else if (i === BY_EMAIL)
        lines.push(`,${email(6)},,${programId}`); // no mobile: matched by email, joins the program
      else if (i === 7)
        lines.push(`${mobile(i)},,,`); // the deleted customer's mobile is free: created
      else if (i >= EXISTING) lines.push(`${mobile(i)},${email(i)},INSTORE,`);
      else if (i % 3 === 0) lines.push(`${mobile(i)},${email(i)},,`);
      else if (i % 3 === 1) lines.push(`${mobile(i)},new${i}@example.com,,`);
      else lines.push(`${mobile(i)},,,${programId}`);
    }
    // Streamed in pieces, as a large upload arrives.
    const body = `${lines.join('\n')}\n`;
    const pieces = Array.from({ length: Math.ceil(body.length / 65_536) }, (_, k) =>
      body.slice(k * 65_536, (k + 1) * 65_536),
    );
    const res = await send.csv(orgId, 'upsert', Readable.from(pieces));
    expect(res.status).toBe(200);
    expect(res.body.error).toBeUndefined();
    expect(res.body.rowsCommitted).toBe(ROWS);
    const rows = res.body.rows as RowAnswer[];
    expect(rows).toHaveLength(ROWS);

    const expected = { created: 0, updated: 0, unchanged: 0, refused: 0 };
    for (let i = 0; i < ROWS; i++) {
      const answer = rows[i] as RowAnswer;
      expect(answer.row, `data row ${i}`).toBe(i + 2);
      const refused = refusals.get(i);
      const want = refused
        ? 'refused'
        : i === BY_EMAIL
          ? 'updated'
          : i === 7 || i >= EXISTING
            ? 'created'
            : i % 3 === 0
              ? 'unchanged'
              : 'updated';
      expected[want] += 1;
      if (answer.outcome !== want) expect(answer, `data row ${i}`).toMatchObject({ outcome: want });
      if (refused) {
        expect(answer.reason, `data row ${i}`).toMatch(refused.reason);
        expect(answer.field).toBe(refused.field);
      } else if (want !== 'created') {
        const id = idOf(i === BY_EMAIL ? 6 : i);
        if (answer.id !== id) expect(answer.id, `data row ${i}`).toBe(id);
      }
    }
    expect(res.body.totals).toStrictEqual(expected);
    expect(expected.refused).toBe(refusals.size);

    // What the store holds now: the seeded ones (one deleted) and every created one.
    expect(await countRows(t, 'customers', orgId)).toBe(EXISTING - 1 + expected.created);
    expect(await get(t, orgId, idOf(1))).toMatchObject({ email: 'new1@example.com', programIds: [] });
    expect(await get(t, orgId, idOf(2))).toMatchObject({ email: email(2), programIds: [programId] });
    expect(await get(t, orgId, idOf(3))).toMatchObject({ email: email(3), programIds: [] });
    expect(await get(t, orgId, idOf(4))).toMatchObject({ email: 'new4@example.com' });
    expect(await get(t, orgId, idOf(6))).toMatchObject({ mobile: mobile(6), programIds: [programId] });
    const made = rows[ROWS - 1] as RowAnswer;
    expect(await get(t, orgId, made.id as number)).toMatchObject({
      mobile: mobile(ROWS - 1),
      email: email(ROWS - 1),
      sources: ['INSTORE'],
      deletedAt: null,
    });
    const reborn = rows[7] as RowAnswer;
    expect(reborn.id).not.toBe(gone);
    expect((await get(t, orgId, gone)).deletedAt).toEqual(expect.any(String));
  });
});

const LIMIT = 40_000;
describeEachStore('customer import past its size limit', { config: { importMaxBytes: LIMIT } }, (t) => {
  const { orgWithProgram } = adminCalls(t);
  const send = importer(t);
  let orgId: number;
  beforeAll(async () => {
    orgId = (await orgWithProgram()).orgId;
  });

  // 20 bytes a row, sent a row a piece: the limit falls on the 2,000th row.
  const file = (rows: number) => [
    'mobile\n',
    ...Array.from({ length: rows }, (_, i) => `9195${String(i).padStart(15, '0')}\n`),
  ];

  it('refuses a file whose announced length is past the limit before reading it', async () => {
    const body = file(3_000).join('');
    expect(Buffer.byteLength(body)).toBeGreaterThan(LIMIT);
    expectAdminError(await send.csv(orgId, 'upsert', body), 413, 'payload_too_large');
    expect(await countRows(t, 'customers', orgId)).toBe(0);
  });

  it('stops a streamed file at the limit, keeping the chunks committed before it and saying so', async () => {
    const res = await send.csv(orgId, 'upsert', Readable.from(file(3_000)));
    expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200);
    expect(res.body.error).toMatch(/larger than 40000 bytes; the rows before it are committed/);
    // Whole chunks of 250 rows commit; the rows read after the last one are not written. Where the
    // limit falls depends on how the upload's pieces arrive, but never past the 2,000th row.
    const committed = res.body.rowsCommitted;
    expect(committed % 250).toBe(0);
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(2_000);
    expect(res.body.rows).toHaveLength(committed);
    expect(res.body.totals.created).toBe(committed);
    expect(await countRows(t, 'customers', orgId)).toBe(committed);
  });

  it('refuses a streamed file that passes the limit before its first chunk commits', async () => {
    const other = (await orgWithProgram()).orgId;
    const wide = [
      'mobile,email\n',
      ...Array.from({ length: 200 }, (_, i) => `91940000${i},${'e'.repeat(300)}${i}@x.com\n`),
    ];
    expectAdminError(await send.csv(other, 'upsert', Readable.from(wide)), 413, 'payload_too_large');
    expect(await countRows(t, 'customers', other)).toBe(0);
  });
});
