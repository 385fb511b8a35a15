import { useState } from 'preact/hooks';
import type { PageProps } from '../app.js';
import { PromotionSelect, Section, useLoad, usePromotions } from './common.js';

interface Job {
  id: string;
  action: string;
  dryRun: boolean;
  rows: { total: number; processed: number };
}
interface Webhook {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
}
interface Day {
  date: string;
  issuals: number;
  earns: number;
}
interface Counts {
  enrolled: number;
  earned: number;
  uniqueCustomers: number;
  days: Day[];
}

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function OverviewPage({ orgId }: PageProps) {
  const promotions = usePromotions(orgId);
  const [promotionId, setPromotionId] = useState<number | undefined>(undefined);
  const [range, setRange] = useState(() => ({
    from: isoDay(Date.now() - 29 * DAY_MS),
    to: isoDay(Date.now()),
  }));
  const chosen = promotionId ?? promotions[0]?.id;
  // Counters kept per promotion and day: a handful of rows read, whatever the number of customers.
  const counts = useLoad<Counts>(
    chosen === undefined
      ? null
      : `/admin/v1/orgs/${orgId}/promotions/${chosen}/counts?from=${range.from}&to=${range.to}`,
  );
  const running = useLoad<{ jobs: Job[] }>(`/admin/v1/orgs/${orgId}/jobs?status=running&limit=20`);
  const hooks = useLoad<{ webhooks: Webhook[] }>(`/admin/v1/orgs/${orgId}/webhooks?limit=20`);

  return (
    <>
      <Section title="Enrolments and earns per day">
        <form class="grid" aria-label="Chart range" onSubmit={(e) => e.preventDefault()}>
          <PromotionSelect promotions={promotions} value={chosen} onChange={setPromotionId} />
          <label>
            From
            <input
              type="date"
              value={range.from}
              onChange={(e) => setRange({ ...range, from: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            To
            <input
              type="date"
              value={range.to}
              onChange={(e) => setRange({ ...range, to: (e.target as HTMLInputElement).value })}
            />
          </label>
        </form>
        {counts.error && <p>{counts.error}</p>}
        {counts.data && (
          <>
            <p>
              {counts.data.enrolled} enrolled, {counts.data.earned} earned, {counts.data.uniqueCustomers}{' '}
              customers in all.
            </p>
            <DayChart from={range.from} to={range.to} days={counts.data.days} />
          </>
        )}
      </Section>
      <div class="two">
        <Section title="Jobs running">
          {running.error ? (
            <p>{running.error}</p>
          ) : (
            <ul>
              {(running.data?.jobs ?? []).map((j) => (
                <li key={j.id}>
                  {j.action}
                  {j.dryRun ? ' (dry run)' : ''} job {j.id}: {j.rows.processed} of {j.rows.total} rows
                </li>
              ))}
              {running.data?.jobs.length === 0 && <li>None.</li>}
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
                  {w.url}: {w.enabled ? 'delivering' : `disabled (${w.disabledReason ?? 'by hand'})`}
                </li>
              ))}
              {hooks.data?.webhooks.length === 0 && <li>No webhooks.</li>}
            </ul>
          )}
        </Section>
      </div>
    </>
  );
}

/** Bars of issuals and earns per day, drawn as SVG (no chart library), with the numbers as a table too. */
function DayChart({ from, to, days }: { from: string; to: string; days: Day[] }) {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const all: Day[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to) && all.length < 366; t += DAY_MS) {
    const date = isoDay(t);
    all.push(byDate.get(date) ?? { date, issuals: 0, earns: 0 });
  }
  const max = Math.max(1, ...all.map((d) => Math.max(d.issuals, d.earns)));
  const width = 960;
  const height = 200;
  const step = width / Math.max(all.length, 1);
  const bar = Math.max(1, step / 2 - 1);
  const y = (n: number) => height - (height * n) / max;
  const total = (key: 'issuals' | 'earns') => all.reduce((sum, d) => sum + d[key], 0);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height + 20}`}
        role="img"
        aria-label={`Enrolments (${total('issuals')}) and earns (${total('earns')}) per day from ${from} to ${to}`}
      >
        {all.map((d, i) => (
          <g key={d.date}>
            <rect class="issuals" x={i * step} y={y(d.issuals)} width={bar} height={height - y(d.issuals)} />
            <rect class="earns" x={i * step + bar} y={y(d.earns)} width={bar} height={height - y(d.earns)} />
          </g>
        ))}
        <text x="0" y={height + 16}>
          {from}
        </text>
        <text x={width} y={height + 16} text-anchor="end">
          {to}
        </text>
      </svg>
      <figcaption>
        <span class="key issuals" /> enrolments <span class="key earns" /> earns, most in a day: {max}
      </figcaption>
      <details>
        <summary>The numbers</summary>
        <table>
          <caption>Enrolments and earns per day</caption>
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Enrolments</th>
              <th scope="col">Earns</th>
            </tr>
          </thead>
          <tbody>
            {all
              .filter((d) => d.issuals > 0 || d.earns > 0)
              .map((d) => (
                <tr key={d.date}>
                  <td>{d.date}</td>
                  <td>{d.issuals}</td>
                  <td>{d.earns}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
