import type { PageProps } from '../app.js';
import { Problem, useLoad, when } from './common.js';

interface Job {
  id: string;
  status: string;
  action: string;
  dryRun: boolean;
  rows: { total: number; processed: number; succeeded: number; failed: number };
  createdAt: string;
}

export function JobsPage({ orgId }: PageProps) {
  const jobs = useLoad<{ jobs: Job[] }>(`/admin/v1/orgs/${orgId}/jobs?limit=100`);
  return (
    <>
      <Problem text={jobs.error} />
      <table>
        <caption>Jobs of org {orgId}</caption>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Action</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {(jobs.data?.jobs ?? []).map((j) => (
            <tr key={j.id}>
              <td>{j.id}</td>
              <td>
                {j.action}
                {j.dryRun ? ' (dry run)' : ''}
              </td>
              <td>{j.status}</td>
              <td>
                <progress
                  aria-label={`Progress of job ${j.id}`}
                  max={Math.max(1, j.rows.total)}
                  value={j.rows.processed}
                />
              </td>
              <td>{when(j.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
