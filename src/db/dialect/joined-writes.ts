import { CompiledQuery } from 'kysely';

// PostgreSQL's side of StoreDialect.runWrites: writes of different tables joined into one statement,
// each but the last a WITH part. On a server that shares its cores with PostgreSQL, each statement a
// request sends wakes a backend that then runs in the server's place: a bulk request's ten
// statements were 40% of the server's main thread (its wall time in the socket write), so a request's
// three writes after its plan (records, events, counters) go as one.

const TARGET = /^\s*(?:insert\s+into|update|delete\s+from)\s+("?[a-z_][a-z0-9_]*"?)/i;

interface Part {
  /** The part's parameters: $1 to $count. */
  count: number;
  table: string;
}

interface Joined {
  text: string;
  /** Each part's number of parameters. */
  counts: number[];
}

interface Node {
  next: Map<string, Node>;
  joined?: Joined | null;
}

const root: Node = { next: new Map() };

function partOf(text: string): Part | null {
  const target = TARGET.exec(text);
  // A `$` that is not a parameter (a dollar-quoted string) would be renumbered with them.
  if (!target?.[1] || /\$(?!\d)/.test(text)) return null;
  let count = 0;
  for (const [, n] of text.matchAll(/\$(\d+)/g)) count = Math.max(count, Number(n));
  return { count, table: target[1].replaceAll('"', '') };
}

/** One statement for `texts`, or null when they cannot be joined (made once for each list of texts). */
function joinedText(texts: readonly string[]): Joined | null {
  let node = root;
  for (const text of texts) {
    let next = node.next.get(text);
    if (!next) {
      next = { next: new Map() };
      node.next.set(text, next);
    }
    node = next;
  }
  if (node.joined !== undefined) return node.joined;
  const parts = texts.map(partOf);
  const tables = new Set(parts.map((p) => p?.table));
  let joined: Joined | null = null;
  if (parts.every((p) => p !== null) && tables.size === parts.length) {
    let offset = 0;
    const renumbered = texts.map((text, i) => {
      const from = offset;
      offset += (parts[i] as Part).count;
      return text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + from}`);
    });
    const last = renumbered.pop() as string;
    joined = {
      text: `with ${renumbered.map((text, i) => `w${i + 1} as (${text})`).join(', ')} ${last}`,
      counts: parts.map((p) => (p as Part).count),
    };
  }
  node.joined = joined;
  return joined;
}

/**
 * `queries` as PostgreSQL should send them: one statement when each writes a table of its own (and
 * its placeholders are $1 to $n of its n parameters), else each on its own, in order.
 */
export function joinedWrites(queries: readonly CompiledQuery[]): readonly CompiledQuery[] {
  if (queries.length < 2) return queries;
  const joined = joinedText(queries.map((q) => q.sql));
  if (joined === null) return queries;
  const parameters: unknown[] = [];
  queries.forEach((query, i) => {
    if (query.parameters.length !== joined.counts[i])
      throw new Error(`a write of ${query.parameters.length} parameters has $${joined.counts[i]} at most`);
    for (const p of query.parameters) parameters.push(p);
  });
  return [CompiledQuery.raw(joined.text, parameters)];
}
