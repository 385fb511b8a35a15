/**
 * Server-side bulk jobs (/admin/v1/orgs/{orgId}/jobs): the answers, declared once. The routes check
 * their query strings themselves, in the order of a bulk request's checks, so that a refusal carries
 * the contract's numeric code (1101, 8874, 8892, 8902, ...); these schemas document them.
 */
import { type Static, Type } from 'typebox';
import { DateTime, NullableDateTime, Page } from './common.contract.js';
import { BULK_ACTIONS, IDENTIFIER_NAMES } from './enums.contract.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JobRows = Type.Object(
  {
    total: Type.Integer({ minimum: 0 }),
    processed: Type.Integer({ minimum: 0 }),
    succeeded: Type.Integer({ minimum: 0, description: 'Rows without an error (warnings included).' }),
    failed: Type.Integer({ minimum: 0 }),
    warnings: Type.Integer({ minimum: 0, description: 'Rows that succeeded with a warning, such as 8890.' }),
  },
  { additionalProperties: false },
);

export const Job = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9]+$' }),
    status: Type.Enum(JOB_STATUSES),
    action: Type.Enum(BULK_ACTIONS),
    programId: Type.Integer({ minimum: 1 }),
    promotionId: Type.Integer({ minimum: 1 }),
    identifierName: Type.Enum(IDENTIFIER_NAMES),
    dryRun: Type.Boolean(),
    undoOf: Type.Optional(Type.String({ description: 'The job this one undoes.' })),
    rows: JobRows,
    createdAt: DateTime,
    startedAt: NullableDateTime,
    finishedAt: NullableDateTime,
    error: Type.Optional(
      Type.Object(
        { code: Type.Integer(), message: Type.String() },
        { description: 'Why a failed job stopped (a whole-request code, such as 8892).' },
      ),
    ),
  },
  { additionalProperties: false, description: 'A bulk job and its progress.' },
);
export type Job = Static<typeof Job>;

export const JobPage = Page(Job, 'jobs', 'A page of jobs, newest first.');
export type JobPage = Static<typeof JobPage>;

export const JobParams = Type.Object({
  orgId: Type.Integer({ minimum: 1 }),
  jobId: Type.Integer({ minimum: 1 }),
});

export const SubmitJobQuery = Type.Object({
  action: Type.Enum(BULK_ACTIONS),
  programId: Type.Integer({ minimum: 1 }),
  promotionId: Type.Optional(Type.Integer({ minimum: 1 })),
  promoIdentifier: Type.Optional(Type.String()),
  identifierName: Type.Enum(IDENTIFIER_NAMES),
  source: Type.Optional(Type.String({ description: 'The source of rows that name none; default INSTORE.' })),
  dryRun: Type.Optional(Type.Boolean({ default: false })),
});

export const ListJobsQuery = Type.Object({
  status: Type.Optional(Type.Enum(JOB_STATUSES)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String()),
});

export const ResultsQuery = Type.Object({
  failedOnly: Type.Optional(Type.Boolean({ default: false })),
});

/** The header of a job's results file. */
export const RESULT_COLUMNS = [
  'row',
  'identifierValue',
  'source',
  'entityId',
  'issualId',
  'earnedId',
  'code',
  'message',
] as const;

export const JOB_COMPONENTS = {
  Job,
  JobPage,
  SubmitJobQuery,
  ListJobsQuery,
  JobResultsQuery: ResultsQuery,
};
