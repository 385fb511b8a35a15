import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import type { PageProps } from '../app.js';
import { fields, Problem, Section, useAction, useLoad, when } from './common.js';

interface Webhook {
  id: string;
  url: string;
  types: string[] | null;
  enabled: boolean;
  disabledReason: string | null;
  secret?: string;
}
interface Delivery {
  messageId: string;
  eventIds: string[];
  attempt: number;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  at: string;
}

export function WebhooksPage({ session, orgId }: PageProps) {
  const base = `/admin/v1/orgs/${orgId}/webhooks`;
  const list = useLoad<{ webhooks: Webhook[] }>(`${base}?limit=100`);
  const [secret, setSecret] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const action = useAction();
  const admin = can.administer(session);

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
  const rotate = (w: Webhook) =>
    action.run(async () => {
      const rotated = await api<Webhook>('POST', `${base}/${w.id}/rotate-secret`);
      setSecret(rotated.secret ?? '');
      return `The secret of ${w.url} is rotated: the old one no longer signs. Copy the new one now.`;
    });
  const replay = (w: Webhook) =>
    action.run(async () => {
      await api('POST', `${base}/${w.id}/replay`, {});
      return `Every kept event will be sent to ${w.url} again.`;
    });

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
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.webhooks ?? []).map((w) => (
            <tr key={w.id}>
              <td>{w.url}</td>
              <td>{w.types?.join(', ') || 'all'}</td>
              <td>{w.enabled ? 'enabled' : `disabled (${w.disabledReason ?? 'by hand'})`}</td>
              <td class="cell-actions">
                <button
                  type="button"
                  aria-label={`Deliveries of ${w.url}`}
                  aria-expanded={open === w.id}
                  onClick={() => setOpen(open === w.id ? null : w.id)}
                >
                  Deliveries
                </button>
                {admin && (
                  <>
                    <button type="button" aria-label={`Rotate secret of ${w.url}`} onClick={() => rotate(w)}>
                      Rotate secret
                    </button>
                    <button type="button" aria-label={`Replay to ${w.url}`} onClick={() => replay(w)}>
                      Replay
                    </button>
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <Deliveries url={`${base}/${open}/deliveries?limit=50`} />}
      {admin && (
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

/** The newest delivery attempts of one endpoint. */
function Deliveries({ url }: { url: string }) {
  const log = useLoad<{ deliveries: Delivery[] }>(url);
  return (
    <Section title="Deliveries">
      <Problem text={log.error} />
      <table>
        <caption>Newest delivery attempts</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Message</th>
            <th scope="col">Events</th>
            <th scope="col">Attempt</th>
            <th scope="col">Outcome</th>
            <th scope="col">Status</th>
            <th scope="col">Time (ms)</th>
          </tr>
        </thead>
        <tbody>
          {(log.data?.deliveries ?? []).map((d) => (
            <tr key={`${d.messageId}-${d.attempt}`}>
              <td>{when(d.at)}</td>
              <td>{d.messageId}</td>
              <td>{d.eventIds.length}</td>
              <td>{d.attempt}</td>
              <td>
                {d.outcome}
                {d.error ? `: ${d.error}` : ''}
              </td>
              <td>{d.statusCode ?? '—'}</td>
              <td>{d.durationMs}</td>
            </tr>
          ))}
          {log.data?.deliveries.length === 0 && (
            <tr>
              <td colSpan={7}>No deliveries yet.</td>
            </tr>
          )}
        </tbody>
      </table>
    </Section>
  );
}
