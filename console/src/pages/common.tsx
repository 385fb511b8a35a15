import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';

/** Loads a URL and shows its answer, a wait, or why it failed. */
export function useLoad<T>(url: string | null, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!url) return;
    setError('');
    api<T>('GET', url)
      .then(setData)
      .catch((err) => setError(messageOf(err)));
  }, [url, tick, ...deps]);
  return { data, error, reload: () => setTick((n) => n + 1), setData };
}

export function Problem({ text }: { text: string }) {
  return text ? (
    <p role="alert" class="error">
      {text}
    </p>
  ) : null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');

/** Runs a change and shows its error or a confirmation. */
export function useAction() {
  const [status, setStatus] = useState<{ ok: boolean; text: string }>({ ok: true, text: '' });
  const run = async (what: () => Promise<string | undefined>) => {
    try {
      setStatus({ ok: true, text: (await what()) ?? '' });
    } catch (err) {
      setStatus({ ok: false, text: messageOf(err) });
    }
  };
  const view = status.text ? (
    <p role={status.ok ? 'status' : 'alert'} class={status.ok ? 'ok' : 'error'}>
      {status.text}
    </p>
  ) : null;
  return { run, view };
}

export const fields = (e: Event) => new FormData(e.target as HTMLFormElement);

export interface PromotionRef {
  id: number;
  programId: number;
  name: string;
  type: string;
}

/** The org's promotions for a picker: the first page by id (the list answers in pages of up to 1000). */
export function usePromotions(orgId: number) {
  const list = useLoad<{ promotions: PromotionRef[] }>(`/admin/v1/orgs/${orgId}/promotions?limit=1000`);
  return list.data?.promotions ?? [];
}

/** A labelled select of promotions; its value is the promotion's id. */
export function PromotionSelect({
  promotions,
  name = 'promotionId',
  label = 'Promotion',
  value,
  onChange,
}: {
  promotions: PromotionRef[];
  name?: string;
  label?: string;
  value?: number | undefined;
  onChange?: (id: number) => void;
}) {
  return (
    <label>
      {label}
      <select
        name={name}
        required
        value={value === undefined ? undefined : String(value)}
        onChange={(e) => onChange?.(Number((e.target as HTMLSelectElement).value))}
      >
        {promotions.map((p) => (
          <option key={p.id} value={String(p.id)}>
            {p.name} ({p.type}, id {p.id})
          </option>
        ))}
      </select>
    </label>
  );
}
