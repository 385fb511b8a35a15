import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import type { PageProps } from '../app.js';
import { fields, Problem, Section, useAction, useLoad } from './common.js';

interface Credential {
  username?: string;
  key?: string;
  customerAccess: string;
  disabled: boolean;
  rateLimitPerMinute: number | null;
  password?: string;
  secret?: string;
}

const KINDS = [
  { path: 'tills', title: 'Tills', list: 'tills', name: 'username', secret: 'password', one: 'till' },
  {
    path: 'api-clients',
    title: 'API clients',
    list: 'apiClients',
    name: 'key',
    secret: 'secret',
    one: 'API client',
  },
] as const;

export function CredentialsPage({ session, orgId }: PageProps) {
  return (
    <>
      {KINDS.map((k) => (
        <CredentialList key={k.path} kind={k} orgId={orgId} admin={can.administer(session)} />
      ))}
    </>
  );
}

function CredentialList({
  kind,
  orgId,
  admin,
}: {
  kind: (typeof KINDS)[number];
  orgId: number;
  admin: boolean;
}) {
  const base = `/admin/v1/orgs/${orgId}/${kind.path}`;
  const list = useLoad<Record<string, Credential[]>>(base);
  const [shown, setShown] = useState('');
  const action = useAction();
  const rows = list.data?.[kind.list] ?? [];
  const nameOf = (c: Credential) => String(c[kind.name] ?? '');

  const create = (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    action.run(async () => {
      await api('POST', base, {
        [kind.name]: String(f.get('name')),
        [kind.secret]: String(f.get('secret')),
        customerAccess: String(f.get('access')),
      });
      (e.target as HTMLFormElement).reset();
      list.reload();
      return `${kind.one} ${String(f.get('name'))} created.`;
    });
  };
  const rotate = (c: Credential) =>
    action.run(async () => {
      const rotated = await api<Credential>('POST', `${base}/${encodeURIComponent(nameOf(c))}/rotate`);
      setShown(`${nameOf(c)}: ${String(rotated[kind.secret] ?? '')}`);
      return `A new secret for ${nameOf(c)}: copy it now, it is shown once.`;
    });
  const toggle = (c: Credential) =>
    action.run(async () => {
      await api('PATCH', `${base}/${encodeURIComponent(nameOf(c))}`, { disabled: !c.disabled });
      list.reload();
      return `${nameOf(c)} ${c.disabled ? 'enabled' : 'disabled'}.`;
    });

  return (
    <Section title={kind.title}>
      {action.view}
      {shown && (
        <p class="secret">
          <span>New secret (shown once): </span>
          <output aria-label={`New secret of ${kind.one}`}>{shown}</output>
        </p>
      )}
      <Problem text={list.error} />
      <table>
        <caption>{kind.title}</caption>
        <thead>
          <tr>
            <th scope="col">{kind.name === 'key' ? 'Key' : 'Username'}</th>
            <th scope="col">Customer access</th>
            <th scope="col">Rate limit a minute</th>
            <th scope="col">Status</th>
            {admin && <th scope="col">Change</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={nameOf(c)}>
              <td>{nameOf(c)}</td>
              <td>{c.customerAccess}</td>
              <td>{c.rateLimitPerMinute ?? 'server default'}</td>
              <td>{c.disabled ? 'disabled' : 'enabled'}</td>
              {admin && (
                <td>
                  <button
                    type="button"
                    aria-label={`Rotate secret of ${nameOf(c)}`}
                    onClick={() => rotate(c)}
                  >
                    Rotate
                  </button>{' '}
                  <button
                    type="button"
                    aria-label={`${c.disabled ? 'Enable' : 'Disable'} ${nameOf(c)}`}
                    onClick={() => toggle(c)}
                  >
                    {c.disabled ? 'Enable' : 'Disable'}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form onSubmit={create} class="grid" aria-label={`New ${kind.one}`}>
          <label>
            {kind.name === 'key' ? 'Key' : 'Username'}
            <input name="name" required />
          </label>
          <label>
            {kind.secret === 'secret' ? 'Secret' : 'Password'}
            <input name="secret" type="password" required minLength={8} autocomplete="new-password" />
          </label>
          <label>
            Customer access
            <select name="access">
              <option>READ</option>
              <option>WRITE</option>
              <option>NONE</option>
            </select>
          </label>
          <button type="submit">Create {kind.one}</button>
        </form>
      )}
    </Section>
  );
}
