/** The wire types of the bulk jobs of the management API (docs/jobs.md). */

export type { Job, JobPage } from '../contract/jobs.contract.js';
export { JOB_STATUSES, type JobStatus, RESULT_COLUMNS } from '../contract/jobs.contract.js';
