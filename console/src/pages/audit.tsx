import { useEffect, useState } from 'preact/hooks';
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

export function AuditPage({ orgId }: PageProps) {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [error, setError] = useState('');
  const [filter, setFilter] = useState({ who: '', credential: '', action: '', from: '', to: '' });

  useEffect(() => {
    (async () => {
      const all: Entry[] = [];
      let cursor: string | null = null;
      // The newest 5,000 changes of the org at most, read a page at a time.
      do {
        const page: { entries: Entry[]; nextCursor: string | null } = await api(
          'GET',
          `/admin/v1/audit?orgId=${orgId}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        );
        all.push(...page.entries);
        cursor = page.nextCursor;
      } while (cursor && all.length < 5000);
      setEntries(all.reverse());
    })().catch((err) => setError(messageOf(err)));
  }, [orgId]);

  const set = (key: keyof typeof filter) => (e: Event) =>
    setFilter({ ...filter, [key]: (e.target as HTMLInputElement).value });
  const from = filter.from ? Date.parse(filter.from) : -Infinity;
  const to = filter.to ? Date.parse(filter.to) : Infinity;
  const shown = entries.filter(
    (e) =>
      e.who.toLowerCase().includes(filter.who.toLowerCase()) &&
      e.action.toLowerCase().includes(filter.action.toLowerCase()) &&
      (!filter.credential || Object.values(e.target).some((v) => v.includes(filter.credential))) &&
      Date.parse(e.at) >= from &&
      Date.parse(e.at) <= to,
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
          <input value={filter.action} onInput={set('action')} />
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
        <caption>
          {shown.length} of {entries.length} changes, newest first
        </caption>
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
    </>
  );
}
