import { useState } from 'preact/hooks';
import { api } from '../api.js';
import type { PageProps } from '../app.js';
import { fields, Section, useAction } from './common.js';

export function CustomersPage({ orgId }: PageProps) {
  const [found, setFound] = useState<unknown>(undefined);
  const action = useAction();
  const find = (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    action.run(async () => {
      const by = String(f.get('by'));
      const value = encodeURIComponent(String(f.get('value')));
      setFound(await api('GET', `/admin/v1/orgs/${orgId}/customers?${by}=${value}`));
      return undefined;
    });
  };
  return (
    <>
      <form onSubmit={find} class="grid" aria-label="Find a customer">
        <label>
          Find by
          <select name="by">
            <option value="id">Id</option>
            <option value="mobile">Mobile</option>
            <option value="email">Email</option>
          </select>
        </label>
        <label>
          Value
          <input name="value" required />
        </label>
        <button type="submit">Find customer</button>
      </form>
      {action.view}
      {found !== undefined && (
        <Section title="Found">
          <pre>{JSON.stringify(found, null, 2)}</pre>
        </Section>
      )}
    </>
  );
}
