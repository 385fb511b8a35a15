import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import type { PageProps } from '../app.js';
import { Problem, when } from './common.js';

interface Entry {
  id: string;
  at: string;
  who: string;
  action: string;
  target: Record<string, string>;
  status: number;
}

const ACTIONS = [
  'POST /admin/v1/orgs/:orgId/promotions',
  'PATCH /admin/v1/orgs/:orgId/promotions/:promotionId',
  'POST /admin/v1/orgs/:orgId/customers/:customerId/rewards',
  'POST /admin/v1/orgs/:orgId/jobs',
  'POST /admin/v1/orgs/:orgId/jobs/:jobId/cancel',
  'POST /admin/v1/orgs/:orgId/jobs/:jobId/undo',
  'POST /admin/v1/orgs/:orgId/tills',
  'POST /admin/v1/orgs/:orgId/api-clients',
  'POST /admin/v1/orgs/:orgId/webhooks',
  'POST /admin/v1/orgs/:orgId/webhooks/:webhookId/rotate-secret',
];
const PAGE = 100;

export function AuditPage({ orgId }: PageProps) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState('');
  const [filter, setFilter] = useState({ who: '', credential: '', action: '', from: '', to: '' });

  // The server filters by person, action and time, newest first, a page at a time (an index range
  // however long the log); the credential is looked for in the page's targets.
  const query = (cursor: string | null) => {
    const q = new URLSearchParams({ orgId: String(orgId), order: 'desc', limit: String(PAGE) });
    const who = filter.who.trim();
    if (who) q.set('who', /^(user:|admin@)/.test(who) ? who : `user:${who}`);
    if (filter.action) q.set('action', filter.action);
    if (filter.from) q.set('from', new Date(filter.from).toISOString());
    if (filter.to) q.set('to', new Date(filter.to).toISOString());
    if (cursor) q.set('cursor', cursor);
    return `/admin/v1/audit?${q}`;
  };
  // Typing in a filter sends a read per key: only the answer to the latest one is shown.
  const latest = useRef(0);
  const load = async (cursor: string | null) => {
    const asked = ++latest.current;
    const page = await api<{ entries: Entry[]; nextCursor: string | null }>('GET', query(cursor));
    if (asked !== latest.current) return;
    setEntries((all) => (cursor ? [...all, ...page.entries] : page.entries));
    setNext(page.nextCursor);
  };
  useEffect(() => {
    setError('');
    load(null).catch((err) => setError(messageOf(err)));
  }, [orgId, filter.who, filter.action, filter.from, filter.to]);

  const set = (key: keyof typeof filter) => (e: Event) =>
    setFilter({ ...filter, [key]: (e.target as HTMLInputElement).value });
  const shown = entries.filter(
    (e) => !filter.credential || Object.values(e.target).some((v) => v.includes(filter.credential)),
  );

  return (
    <>
      <form class="grid filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          User
          <input value={filter.who} onInput={set('who')} />
        </label>
        <label>
          Credential
          <input value={filter.credential} onInput={set('credential')} />
        </label>
        <label>
          Action
          <select value={filter.action} onChange={set('action')}>
            <option value="">Any</option>
            {ACTIONS.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="datetime-local" value={filter.from} onInput={set('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" value={filter.to} onInput={set('to')} />
        </label>
      </form>
      <Problem text={error} />
      <table>
        <caption>{shown.length} changes, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id}>
              <td>{when(e.at)}</td>
              <td>{e.who}</td>
              <td>{e.action}</td>
              <td>
                {Object.entries(e.target)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(' ')}
              </td>
              <td>{e.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && (
        <button type="button" onClick={() => load(next).catch((err) => setError(messageOf(err)))}>
          Older changes
        </button>
      )}
    </>
  );
}
