import type { ImportMode, ImportOutcome } from '../contract/enums.contract.js';
import type { CustomerInsert } from './admin.repository.js';

/*
 * What a chunk of customer changes (an import's rows, or one PATCH) does to the customers it names:
 * pure, planned in row order against the stored customers and the rows before it, so that a row
 * repeated later sees what the earlier one did. The service reads the state and writes the plan.
 */

/** A customer as a change leaves it: the fields a customer is written with. */
export type CustomerState = CustomerInsert;

/** One row, read: `undefined` keeps the stored value, `null` clears it. */
export interface CustomerChange {
  id?: number | undefined;
  mobile?: string | null | undefined;
  email?: string | null | undefined;
  externalId?: string | null | undefined;
  sources?: string[] | undefined;
  programIds?: number[] | undefined;
}

/** A row the reader refused already (a malformed value), with its reason and field. */
export interface RowRefusal {
  refused: string;
  field?: string;
}

export interface RowAnswer {
  outcome: ImportOutcome;
  /** The customer's id; for a new customer a placeholder (below zero) until ids are given. */
  id?: number;
  reason?: string;
  field?: string;
}

export interface StoredState {
  /** Stored customers the rows may name, by id. */
  customers: ReadonlyMap<number, CustomerState>;
  /** Who holds each identifier now, by `mobile:`, `email:` or `externalId:` and the value. */
  holders: ReadonlyMap<string, number>;
  programs: ReadonlySet<number>;
  /** Ids that deleted customers keep. */
  deletedIds: ReadonlySet<number>;
}

export interface ChunkPlan {
  answers: RowAnswer[];
  /** New customers, by placeholder id (or the id the row gave). */
  creates: Map<number, CustomerState>;
  /** Stored customers that changed, by id, as they end. */
  updates: Map<number, CustomerState>;
}

const KEYS = ['mobile', 'email', 'externalId'] as const;
const holderKey = (key: (typeof KEYS)[number], value: string) => `${key}:${value}`;

const sameSet = <T>(a: readonly T[], b: readonly T[]) =>
  a.length === b.length && a.every((x) => b.includes(x));

function equal(a: CustomerState, b: CustomerState): boolean {
  return (
    a.mobile === b.mobile &&
    a.email === b.email &&
    a.externalId === b.externalId &&
    sameSet(a.sources, b.sources) &&
    sameSet(a.programIds, b.programIds)
  );
}

/**
 * Plans the rows: with `create` a row naming an existing customer is refused; with `upsert` it
 * changes that customer (matched by id, else by mobile, else by email). A new customer takes the
 * row's id or a placeholder; `INSTORE` is its source when the row names none.
 */
export function planCustomerChanges(
  mode: ImportMode,
  rows: readonly (CustomerChange | RowRefusal)[],
  stored: StoredState,
  /** PATCH: the row must name this stored customer. */
  only?: number,
): ChunkPlan {
  const state = new Map(stored.customers);
  const holders = new Map(stored.holders);
  const plan: ChunkPlan = { answers: [], creates: new Map(), updates: new Map() };
  let placeholder = 0;

  const refuse = (reason: string, field?: string): RowAnswer => ({
    outcome: 'refused',
    reason,
    ...(field ? { field } : {}),
  });

  function match(row: CustomerChange): number | undefined {
    if (row.id !== undefined) return state.has(row.id) ? row.id : undefined;
    for (const key of ['mobile', 'email'] as const) {
      const value = row[key];
      if (value) {
        const holder = holders.get(holderKey(key, value));
        if (holder !== undefined) return holder;
      }
    }
    return undefined;
  }

  function decide(row: CustomerChange | RowRefusal): RowAnswer {
    if ('refused' in row) return refuse(row.refused, row.field);
    const existing = match(row);
    if (only !== undefined && existing !== only) return refuse('no such customer');
    if (existing !== undefined && mode === 'create') {
      // A customer an earlier row of the chunk creates has no id yet, only its placeholder.
      const who = existing < 0 ? 'an earlier row creates this customer' : `customer ${existing} exists`;
      return refuse(who, row.id !== undefined ? 'id' : 'mobile');
    }
    if (existing === undefined && row.id !== undefined && stored.deletedIds.has(row.id)) {
      return refuse(`id ${row.id} belongs to a deleted customer`, 'id');
    }
    const before = existing === undefined ? undefined : (state.get(existing) as CustomerState);
    const id = existing ?? row.id ?? --placeholder;
    const after: CustomerState = {
      id,
      mobile: row.mobile === undefined ? (before?.mobile ?? null) : row.mobile,
      email: row.email === undefined ? (before?.email ?? null) : row.email,
      externalId: row.externalId === undefined ? (before?.externalId ?? null) : row.externalId,
      sources: row.sources ?? before?.sources ?? ['INSTORE'],
      programIds: row.programIds ?? before?.programIds ?? [],
    };
    const missing = row.programIds?.find((p) => !stored.programs.has(p));
    if (missing !== undefined) return refuse(`program ${missing} does not exist`, 'programIds');
    for (const key of KEYS) {
      const value = after[key];
      const holder = value === null ? undefined : holders.get(holderKey(key, value));
      if (holder !== undefined && holder !== id) return refuse(`${key} is held by customer ${holder}`, key);
    }
    if (before && equal(before, after)) return { outcome: 'unchanged', id };
    for (const key of KEYS) {
      if (before?.[key]) holders.delete(holderKey(key, before[key] as string));
      if (after[key]) holders.set(holderKey(key, after[key] as string), id);
    }
    state.set(id, after);
    if (before === undefined || plan.creates.has(id)) {
      plan.creates.set(id, after);
      return { outcome: before === undefined ? 'created' : 'updated', id };
    }
    plan.updates.set(id, after);
    return { outcome: 'updated', id };
  }

  for (const row of rows) plan.answers.push(decide(row));
  return plan;
}
