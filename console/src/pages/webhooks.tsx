import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import type { PageProps } from '../app.js';
import { fields, Problem, Section, useAction, useLoad } from './common.js';

interface Webhook {
  id: string;
  url: string;
  types: string[];
  enabled: boolean;
  secret?: string;
}

export function WebhooksPage({ session, orgId }: PageProps) {
  const base = `/admin/v1/orgs/${orgId}/webhooks`;
  const list = useLoad<{ webhooks: Webhook[] }>(base);
  const [secret, setSecret] = useState('');
  const action = useAction();
  const create = (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    action.run(async () => {
      const made = await api<Webhook>('POST', base, { url: String(f.get('url')) });
      setSecret(made.secret ?? '');
      list.reload();
      return 'Webhook created: copy its secret now, it is shown once.';
    });
  };
  return (
    <>
      {action.view}
      {secret && (
        <p class="secret">
          <span>Signing secret (shown once): </span>
          <output aria-label="Signing secret">{secret}</output>
        </p>
      )}
      <Problem text={list.error} />
      <table>
        <caption>Webhooks of org {orgId}</caption>
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.webhooks ?? []).map((w) => (
            <tr key={w.id}>
              <td>{w.url}</td>
              <td>{w.types.join(', ') || 'all'}</td>
              <td>{w.enabled ? 'enabled' : 'disabled'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {can.administer(session) && (
        <Section title="New webhook">
          <form onSubmit={create} class="grid">
            <label>
              URL
              <input name="url" type="url" required />
            </label>
            <button type="submit">Create webhook</button>
          </form>
        </Section>
      )}
    </>
  );
}
