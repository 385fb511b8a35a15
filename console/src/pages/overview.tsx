import type { PageProps } from '../app.js';
import { Section, useLoad } from './common.js';

interface Job {
  id: string;
  status: string;
  action: string;
  rows: { total: number; processed: number };
}
interface Webhook {
  id: string;
  url: string;
  enabled: boolean;
}

export function OverviewPage({ session, orgId }: PageProps) {
  const jobs = useLoad<{ jobs: Job[] }>(`/admin/v1/orgs/${orgId}/jobs?status=running`);
  const hooks = useLoad<{ webhooks: Webhook[] }>(`/admin/v1/orgs/${orgId}/webhooks`);
  return (
    <>
      <p>
        Signed in as <strong>{session.username}</strong> ({session.role}), looking after org {orgId}.
      </p>
      <Section title="Jobs running">
        {jobs.error ? (
          <p>{jobs.error}</p>
        ) : (
          <ul>
            {(jobs.data?.jobs ?? []).map((j) => (
              <li key={j.id}>
                {j.action} {j.id}: {j.rows.processed} of {j.rows.total} rows
              </li>
            ))}
            {jobs.data?.jobs.length === 0 && <li>None.</li>}
          </ul>
        )}
      </Section>
      <Section title="Webhook health">
        {hooks.error ? (
          <p>{hooks.error}</p>
        ) : (
          <ul>
            {(hooks.data?.webhooks ?? []).map((w) => (
              <li key={w.id}>
                {w.url}: {w.enabled ? 'enabled' : 'disabled'}
              </li>
            ))}
            {hooks.data?.webhooks.length === 0 && <li>No webhooks.</li>}
          </ul>
        )}
      </Section>
    </>
  );
}
