/** True when the store refused a write because a unique key or index already holds the value. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** True when the store itself cannot be reached or is shutting down, rather than refusing a query. */
export function isStoreUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : '';
  // node-postgres reports a connection lost mid-query, or a pool wait that timed out, by message only.
  if (
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  ) {
    return true;
  }
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === '57P01' || // admin_shutdown
    code === '57P03' || // cannot_connect_now
    code === '57P02' || // crash_shutdown
    code === '08006' || // connection_failure
    code === '08001' || // unable to connect
    code === 'ENOTFOUND' ||
    code === 'EPIPE' ||
    code === 'SQLITE_BUSY'
  );
}

/** True when the store refused a value it cannot hold (a NUL character, bad encoding): the input's fault. */
export function isInvalidValue(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/**
 * The connection to PostgreSQL was lost while COMMIT was under way: the transaction may have been
 * written or not, and nothing here can tell which (the client can, with its Idempotency-Key).
 */
export class CommitOutcomeUnknown extends Error {
  readonly code = 'LOYALTY_COMMIT_OUTCOME_UNKNOWN';
  constructor(
    cause: unknown,
    message = 'the store went away during COMMIT: the transaction may or may not have been written',
  ) {
    super(message, { cause });
    this.name = 'CommitOutcomeUnknown';
  }
}

export function isCommitOutcomeUnknown(err: unknown): err is CommitOutcomeUnknown {
  return err instanceof CommitOutcomeUnknown;
}

/**
 * True when an error of COMMIT leaves its outcome open: anything but an answer of the store itself
 * that refused the commit (a serialization failure, a deferred constraint), which rolled it back. A
 * lost connection, an administrator's shutdown (class 57) or a connection failure (class 08) do not say.
 */
export function commitMayHaveHappened(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('57') || code.startsWith('08');
}

/**
 * A sequence would hand out an id past 2^53-1, which JavaScript cannot hold exactly. Only a store
 * that took a given id above the ceiling (before the ceiling existed) can get here; the operator's
 * fix is in docs/reliability-and-security.md ("Id ceilings").
 */
export class SequenceExhaustedError extends Error {
  readonly code = 'SEQUENCE_EXHAUSTED';
  constructor(readonly sequence: string) {
    super(
      `The ${sequence} id sequence has passed 2^53-1, so no new ${sequence} can be numbered: ` +
        'see "Id ceilings" in docs/reliability-and-security.md',
    );
    this.name = 'SequenceExhaustedError';
  }
}

/** The id that a sequence's counter (a number, or int8 digits from PostgreSQL) stands for, if exact. */
export function exactId(sequence: string, value: number | string | bigint): number {
  const big = typeof value === 'number' ? value : BigInt(value);
  if (typeof big === 'number' ? !Number.isSafeInteger(big) : big > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SequenceExhaustedError(sequence);
  }
  return Number(big);
}

export function isSequenceExhausted(err: unknown): err is SequenceExhaustedError {
  return err instanceof SequenceExhaustedError;
}
