import type { Job } from '../contract/jobs.contract.js';
import type { BulkItem } from '../promotions/enrolment.service.js';
import { isPlaceholder } from './job-tx.js';
import type { JobRecord, StoredResult } from './jobs.repository.js';

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());

/** The one mapping of a stored job to its answer. */
export function toJob(record: JobRecord): Job {
  return {
    id: String(record.id),
    status: record.status as Job['status'],
    action: record.action as Job['action'],
    programId: record.program_id,
    promotionId: record.promotion_id,
    identifierName: record.identifier_name as Job['identifierName'],
    dryRun: record.dry_run === 1,
    ...(record.undo_of !== null ? { undoOf: String(record.undo_of) } : {}),
    rows: {
      total: record.total_rows,
      processed: record.processed,
      succeeded: record.succeeded,
      failed: record.failed,
      warnings: record.warnings,
    },
    createdAt: new Date(record.created_at).toISOString(),
    startedAt: iso(record.started_at),
    finishedAt: iso(record.finished_at),
    ...(record.error_code !== null
      ? { error: { code: Number(record.error_code), message: record.error_message ?? '' } }
      : {}),
  };
}

/**
 * A row's outcome as the results file shows it: the ids of an answer item (for revokes, the revoked
 * ones, several earns separated by spaces) and the code and message of its error, else its warning.
 * A dry run's records to be made have no ids yet.
 */
export function toResult(item: BulkItem): StoredResult {
  const result = item.result;
  const id = (value: string | undefined) => (value === undefined || isPlaceholder(value) ? '' : value);
  const revokedIssualId = result?.revokedIssualId;
  const issualId = id(revokedIssualId === undefined ? result?.issualId : String(revokedIssualId));
  const earnedId = result?.revokedEarnIds ? result.revokedEarnIds.join(' ') : id(result?.earnedId);
  const message = item.errors[0] ?? item.warnings[0];
  return [
    result?.entityId ?? '',
    issualId,
    earnedId,
    message?.code ?? '',
    message?.message ?? '',
    item.errors.length > 0 ? 1 : 0,
  ];
}
