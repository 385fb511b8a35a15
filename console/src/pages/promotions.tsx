import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import type { PageProps } from '../app.js';
import { fields, Problem, Section, useAction, useLoad, when } from './common.js';

interface Promotion {
  id: number;
  programId: number;
  name: string;
  type: string;
  active: boolean;
  state?: string;
  startDate: string | null;
  endDate: string | null;
  maxIssualsPerCustomer: number | null;
  maxEarnsPerCustomer: number | null;
}

/** As the management API's state filter defines it (docs/management-api.md), at the time of reading. */
function stateOf(p: Promotion, now = Date.now()): string {
  if (p.endDate && Date.parse(p.endDate) < now) return 'ended';
  if (!p.active) return 'paused';
  if (p.startDate && Date.parse(p.startDate) > now) return 'upcoming';
  return 'live';
}

interface Counts {
  promotionId: number;
  enrolled: number;
  earned: number;
  uniqueCustomers: number;
}

const TYPES = ['ENROL_AND_ISSUE', 'DIRECT', 'GENERIC', 'LOYALTY_EARNING'];
const iso = (local: FormDataEntryValue | null) => (local ? new Date(String(local)).toISOString() : undefined);
const limit = (v: FormDataEntryValue | null) => (v === null || v === '' ? undefined : Number(v));
const localOf = (isoDate: string | null) => (isoDate ? isoDate.slice(0, 16) : '');

export function PromotionsPage({ session, orgId }: PageProps) {
  const base = `/admin/v1/orgs/${orgId}/promotions`;
  const [search, setSearch] = useState('');
  const list = useLoad<{ promotions: Promotion[] }>(
    `${base}?limit=100${search ? `&name=${encodeURIComponent(search)}` : ''}`,
  );
  const [made, setMade] = useState<Promotion[]>([]);
  const [editing, setEditing] = useState<number | null>(null);
  const action = useAction();
  const known = new Map<number, Promotion>();
  for (const p of [...(list.data?.promotions ?? []), ...made]) known.set(p.id, p);
  const rows = [...known.values()].filter(
    (p) => !search || p.name.toLowerCase().includes(search.toLowerCase()),
  );
  // The shown page's counters in one read (a few rows per promotion, never its issuals).
  const ids = rows
    .slice(0, 100)
    .map((p) => p.id)
    .join(',');
  const counts = useLoad<{ counts: Counts[] }>(
    ids ? `/admin/v1/orgs/${orgId}/promotion-counts?ids=${ids}` : null,
  );
  const countOf = new Map((counts.data?.counts ?? []).map((c) => [c.promotionId, c]));

  const create = (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    action.run(async () => {
      const made = await api<Promotion>('POST', base, {
        programId: Number(f.get('programId')),
        name: String(f.get('name')),
        type: String(f.get('type')),
        active: f.get('active') === 'on',
        ...(f.get('startDate') ? { startDate: iso(f.get('startDate')) } : {}),
        ...(f.get('endDate') ? { endDate: iso(f.get('endDate')) } : {}),
        ...(limit(f.get('maxIssuals')) ? { maxIssualsPerCustomer: limit(f.get('maxIssuals')) } : {}),
        ...(limit(f.get('maxEarns')) ? { maxEarnsPerCustomer: limit(f.get('maxEarns')) } : {}),
      });
      setMade((all) => [...all, made]);
      (e.target as HTMLFormElement).reset();
      return `Promotion ${made.name} created (id ${made.id}).`;
    });
  };

  const save = (p: Promotion) => (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    action.run(async () => {
      const changed = await api<Promotion>('PATCH', `${base}/${p.id}`, {
        active: f.get('active') === 'on',
        startDate: f.get('startDate') ? iso(f.get('startDate')) : null,
        endDate: f.get('endDate') ? iso(f.get('endDate')) : null,
        maxIssualsPerCustomer: limit(f.get('maxIssuals')) ?? null,
        maxEarnsPerCustomer: limit(f.get('maxEarns')) ?? null,
      });
      setMade((all) => [...all.filter((x) => x.id !== p.id), changed]);
      setEditing(null);
      return `Promotion ${changed.name} saved.`;
    });
  };

  return (
    <>
      <label class="search">
        Search promotions
        <input
          type="search"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
        />
      </label>
      {action.view}
      <Problem text={list.error} />
      <table>
        <caption>Promotions of org {orgId}</caption>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">State</th>
            <th scope="col">Starts</th>
            <th scope="col">Ends</th>
            <th scope="col">Limits (issuals / earns)</th>
            <th scope="col">Enrolled / earned / customers</th>
            {can.operate(session) && <th scope="col">Change</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.id}>
              <td>{p.id}</td>
              <td>{p.name}</td>
              <td>{p.type}</td>
              <td>{p.state ?? stateOf(p)}</td>
              <td>{when(p.startDate)}</td>
              <td>{when(p.endDate)}</td>
              <td>
                {p.maxIssualsPerCustomer ?? '∞'} / {p.maxEarnsPerCustomer ?? '∞'}
              </td>
              <td>
                {countOf.get(p.id)?.enrolled ?? '…'} / {countOf.get(p.id)?.earned ?? '…'} /{' '}
                {countOf.get(p.id)?.uniqueCustomers ?? '…'}
              </td>
              {can.operate(session) && (
                <td>
                  <button type="button" aria-label={`Edit ${p.name}`} onClick={() => setEditing(p.id)}>
                    Edit
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {editing !== null && known.get(editing) && (
        <Section title={`Edit ${known.get(editing)?.name}`}>
          <PromotionForm
            promotion={known.get(editing) as Promotion}
            onSubmit={save(known.get(editing) as Promotion)}
          />
        </Section>
      )}
      {can.operate(session) && (
        <Section title="New promotion">
          <form onSubmit={create} class="grid">
            <label>
              Program id
              <input name="programId" type="number" min="1" required />
            </label>
            <label>
              Name
              <input name="name" required maxLength={200} />
            </label>
            <label>
              Type
              <select name="type">
                {TYPES.map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            </label>
            <DateAndLimitFields />
            <button type="submit">Create promotion</button>
          </form>
        </Section>
      )}
    </>
  );
}

function DateAndLimitFields({ promotion }: { promotion?: Promotion }) {
  return (
    <>
      <label>
        Start
        <input name="startDate" type="datetime-local" value={localOf(promotion?.startDate ?? null)} />
      </label>
      <label>
        End
        <input name="endDate" type="datetime-local" value={localOf(promotion?.endDate ?? null)} />
      </label>
      <label>
        Max issuals per customer
        <input name="maxIssuals" type="number" min="1" value={promotion?.maxIssualsPerCustomer ?? ''} />
      </label>
      <label>
        Max earns per customer
        <input name="maxEarns" type="number" min="1" value={promotion?.maxEarnsPerCustomer ?? ''} />
      </label>
      <label class="check">
        <input name="active" type="checkbox" checked={promotion?.active ?? true} /> Active
      </label>
    </>
  );
}

function PromotionForm({ promotion, onSubmit }: { promotion: Promotion; onSubmit: (e: Event) => void }) {
  return (
    <form onSubmit={onSubmit} class="grid">
      <DateAndLimitFields promotion={promotion} />
      <button type="submit">Save promotion</button>
    </form>
  );
}
