import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import { expect } from 'vitest';
import type { StoreKind } from './stores.js';
import type { TestApp } from './test-app.js';

// What the plan tests share: the statements a request sent (caught through the store's onQuery hook),
// each statement's plan on either store, and the check that every large table is read through the
// index meant for it. A plan is deterministic: no timing here.

/** How a table must be read: through one of these indexes, naming this in its condition. */
export interface Intended {
  indexes: string[];
  cond: { postgres: RegExp; sqlite: RegExp };
}

/** One read of a table in a plan. */
export interface Read {
  table: string;
  /** null: the whole table is scanned. */
  index: string | null;
  cond: string;
}

export interface Explained {
  reads: Read[];
  /** PostgreSQL: the unique indexes an INSERT ... ON CONFLICT checks. */
  arbiters: string[];
}

interface PgNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'TID Cond'?: string;
  'Conflict Arbiter Indexes'?: string[];
  Plans?: PgNode[];
}

function pgReads(node: PgNode, out: Explained): Explained {
  const table = node['Relation Name'];
  if (node['Node Type'] === 'ModifyTable') {
    out.arbiters.push(...(node['Conflict Arbiter Indexes'] ?? []));
  } else if (table && node['Node Type'] === 'Bitmap Heap Scan') {
    const probes: PgNode[] = [];
    const collect = (n: PgNode) => {
      if (n['Node Type'] === 'Bitmap Index Scan') probes.push(n);
      for (const child of n.Plans ?? []) collect(child);
    };
    for (const child of node.Plans ?? []) collect(child);
    for (const p of probes)
      out.reads.push({ table, index: p['Index Name'] ?? null, cond: p['Index Cond'] ?? '' });
  } else if (table && node['Node Type'] === 'Tid Scan') {
    // Rows read by their addresses, which a probe elsewhere in the plan found.
    out.reads.push({ table, index: 'ctid', cond: node['TID Cond'] ?? '' });
  } else if (table) {
    out.reads.push({ table, index: node['Index Name'] ?? null, cond: node['Index Cond'] ?? '' });
  }
  for (const child of node.Plans ?? []) pgReads(child, out);
  return out;
}

// SQLite names a table by its alias in the plan; these are the aliases the repositories use.
const SQLITE_ALIASES: Record<string, string> = {
  c: 'customers',
  m: 'program_members',
  s: 'customer_sources',
  i: 'issuals',
  e: 'earns',
};

function sqliteReads(details: string[]): Explained {
  const out: Explained = { reads: [], arbiters: [] };
  for (const detail of details) {
    const match = /^(?:SCAN|SEARCH) (\S+)(?: USING (?:COVERING )?INDEX (\S+)(?: \((.*)\))?)?/.exec(detail);
    if (!match) continue;
    const [, name, index, cond] = match as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const table = SQLITE_ALIASES[name] ?? name;
    // SQLite names a table's primary key index itself.
    const named = index?.replace(/^sqlite_autoindex_(\w+)_1$/, '$1_pk') ?? null;
    out.reads.push({ table, index: named, cond: cond ?? '' });
  }
  return out;
}

/** The statements worth a plan: reads and writes, not BEGIN, SAVEPOINT or COMMIT. */
export const planned = (text: string) => /^\s*(select|insert|update|delete|with)\b/i.test(text);

export interface Statement {
  text: string;
  parameters: readonly unknown[];
}

/**
 * SQLite's plan for the statement with its parameters. PostgreSQL's two: the custom plan made for
 * these parameters, which a named statement gets on its first runs, and the generic plan it may
 * keep after five, which depends on no value.
 */
export function explainer(kind: StoreKind, t: TestApp, client: pg.Client | undefined) {
  return async function explain({ text, parameters }: Statement): Promise<Explained[]> {
    if (kind === 'sqlite') {
      const { rows } = await t.testStore.store.db.executeQuery<{ detail: string }>(
        CompiledQuery.raw(`explain query plan ${text}`, [...parameters]),
      );
      return [sqliteReads(rows.map((r) => r.detail))];
    }
    const db = client as pg.Client;
    const tree = (rows: { 'QUERY PLAN': { Plan: PgNode }[] }[]) =>
      pgReads((rows[0] as { 'QUERY PLAN': { Plan: PgNode }[] })['QUERY PLAN'][0]?.Plan as PgNode, {
        reads: [],
        arbiters: [],
      });
    await db.query('set plan_cache_mode = force_custom_plan');
    const custom = tree((await db.query(`explain (format json) ${text}`, [...parameters])).rows);
    await db.query('set plan_cache_mode = force_generic_plan');
    await db.query(`prepare planned_statement as ${text}`);
    try {
      const { rows } = await db.query<{ n: number }>(
        `select cardinality(parameter_types) as n from pg_prepared_statements where name = 'planned_statement'`,
      );
      const nulls = Array.from({ length: Number(rows[0]?.n ?? 0) }, () => 'null').join(', ');
      const generic = tree(
        (await db.query(`explain (format json) execute planned_statement${nulls ? `(${nulls})` : ''}`)).rows,
      );
      return [custom, generic];
    } finally {
      await db.query('deallocate planned_statement');
    }
  };
}

/** What one request sent, and how each large table must be read by it. */
export interface Captured {
  statements: Statement[];
  intended: Record<string, Intended>;
  /** Large tables read by the request that this test leaves alone (with the reason at the call). */
  unchecked: string[];
  /** PostgreSQL: the unique index an INSERT ... ON CONFLICT must check. */
  arbiter?: string;
}

/** Every read of a large table by each request goes through its intended index, and each is read. */
export async function expectIntendedPlans(
  kind: StoreKind,
  explain: (statement: Statement) => Promise<Explained[]>,
  large: readonly string[],
  captured: Map<string, Captured>,
): Promise<void> {
  for (const [label, request] of captured) {
    const read = new Set<string>();
    const arbiters: string[] = [];
    for (const statement of request.statements) {
      for (const plan of await explain(statement)) {
        arbiters.push(...plan.arbiters);
        for (const r of plan.reads) {
          if (!large.includes(r.table) || request.unchecked.includes(r.table)) continue;
          const where = `${label}: ${r.table} in ${statement.text.replace(/\s+/g, ' ').slice(0, 160)}`;
          const want = request.intended[r.table];
          expect(want, `${where} is read, which the request should not need`).toBeDefined();
          expect(want?.indexes, `${where} is read through ${r.index ?? 'a full scan'}`).toContain(r.index);
          expect(r.cond, where).toMatch((want as Intended).cond[kind]);
          read.add(r.table);
        }
      }
    }
    // Every table the request needs was seen, so that no statement escaped the check.
    expect([...read].sort(), label).toStrictEqual(Object.keys(request.intended).sort());
    if (request.arbiter && kind === 'postgres') expect(arbiters, label).toContain(request.arbiter);
  }
}
