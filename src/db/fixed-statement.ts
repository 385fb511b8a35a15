import { CompiledQuery, type RawBuilder } from 'kysely';
import type { Db, Trx } from './dialect/store-dialect.js';

// Statement texts by the dialect that compiled them (its adapter's class), then by shape.
const texts = new WeakMap<object, Map<string, string>>();

/**
 * Runs a statement of the hot path whose text depends only on `shape`: Kysely compiles `build()` the
 * first time a dialect meets the shape, and every later call sends that text with `values`, skipping
 * the query builder's compile (10-18 µs a statement, a few per request). `build` must place exactly
 * `values`, in their order, as its parameters; the first compile checks it, so a template that
 * inlines or reorders a value fails at once rather than sending wrong parameters later.
 */
export async function runFixed<R>(
  db: Db | Trx,
  shape: string,
  values: readonly unknown[],
  build: () => RawBuilder<R>,
): Promise<R[]> {
  const { rows } = await db.executeQuery<R>(fixedQuery(db, shape, values, build));
  return rows;
}

/** runFixed's statement, not sent: for statements sent together (StoreDialect.runWrites). */
export function fixedQuery(
  db: Db | Trx,
  shape: string,
  values: readonly unknown[],
  build: () => RawBuilder<unknown>,
): CompiledQuery {
  const dialect = db.getExecutor().adapter.constructor;
  let shapes = texts.get(dialect);
  if (!shapes) {
    shapes = new Map();
    texts.set(dialect, shapes);
  }
  let text = shapes.get(shape);
  if (text === undefined) {
    const compiled = build().compile(db);
    const same =
      compiled.parameters.length === values.length && compiled.parameters.every((p, i) => p === values[i]);
    if (!same) throw new Error(`statement "${shape}": its parameters are not the values given, in order`);
    text = compiled.sql;
    shapes.set(shape, text);
  }
  return CompiledQuery.raw(text, values as unknown[]);
}
