import { useEffect, useState } from 'preact/hooks';
import { api, can, upload } from '../api.js';
import type { PageProps } from '../app.js';
import { Problem, PromotionSelect, Section, useAction, useLoad, usePromotions, when } from './common.js';

interface Job {
  id: string;
  status: string;
  action: string;
  promotionId: number;
  dryRun: boolean;
  undoOf?: string;
  rows: { total: number; processed: number; succeeded: number; failed: number; warnings: number };
  createdAt: string;
  error?: { code: number; message: string };
}

const ACTIONS = ['ENROL', 'EARN', 'REVOKE_ENROL', 'REVOKE_EARN'] as const;
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** Polls a job until it finishes, so that its progress bar moves by itself. */
function useJob(url: string | null) {
  const [job, setJob] = useState<Job | undefined>(undefined);
  useEffect(() => {
    if (!url) return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const next = await api<Job>('GET', url).catch(() => undefined);
      if (stop) return;
      if (next) setJob(next);
      if (!next || !FINISHED.has(next.status)) timer = setTimeout(poll, 500);
    };
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [url]);
  return job;
}

function Progress({ job }: { job: Job }) {
  const total = Math.max(job.rows.total, 1);
  return (
    <div class="progress">
      <div
        role="progressbar"
        aria-label={`Job ${job.id}${job.dryRun ? ' (dry run)' : ''}`}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={job.rows.processed}
        aria-valuetext={`${job.rows.processed} of ${job.rows.total} rows, ${job.status}`}
        class="bar"
      >
        <span style={{ width: `${(100 * job.rows.processed) / total}%` }} />
      </div>
      <span>
        {job.status}: {job.rows.processed} of {job.rows.total} rows, {job.rows.succeeded} succeeded,{' '}
        {job.rows.failed} failed
        {job.error ? ` (${job.error.message})` : ''}
      </span>
    </div>
  );
}

export function JobsPage({ session, orgId }: PageProps) {
  const base = `/admin/v1/orgs/${orgId}/jobs`;
  const jobs = useLoad<{ jobs: Job[] }>(`${base}?limit=20`);
  const promotions = usePromotions(orgId);
  const [file, setFile] = useState<File | null>(null);
  const [form, setForm] = useState({ action: 'ENROL', promotionId: 0, identifierName: 'id' });
  const [dry, setDry] = useState<string | null>(null);
  const [real, setReal] = useState<string | null>(null);
  const dryJob = useJob(dry ? `${base}/${dry}` : null);
  const realJob = useJob(real ? `${base}/${real}` : null);
  const action = useAction();
  const promotion = promotions.find((p) => p.id === form.promotionId) ?? promotions[0];

  // A new file or new settings need a new dry run before they can start.
  const changed = (next: Partial<typeof form>) => {
    setForm({ ...form, ...next });
    setDry(null);
  };
  const submit = (dryRun: boolean) =>
    action.run(async () => {
      if (!file || !promotion) throw new Error('Choose a CSV file and a promotion first.');
      const query = new URLSearchParams({
        action: form.action,
        programId: String(promotion.programId),
        promotionId: String(promotion.id),
        identifierName: form.identifierName,
        dryRun: String(dryRun),
      });
      const job = await upload<Job>(`${base}?${query}`, file);
      if (dryRun) setDry(job.id);
      else setReal(job.id);
      jobs.reload();
      return `${dryRun ? 'Dry run' : 'Job'} ${job.id} submitted.`;
    });
  const post = (id: string, what: 'cancel' | 'undo') =>
    action.run(async () => {
      const job = await api<Job>('POST', `${base}/${id}/${what}`);
      if (what === 'undo') setReal(job.id);
      jobs.reload();
      return what === 'undo' ? `Undo job ${job.id} submitted.` : `Job ${id} cancelled.`;
    });
  const dryDone = dryJob?.status === 'succeeded';
  // The list shows a job's new status once the one being watched finishes.
  const reload = jobs.reload;
  useEffect(() => reload(), [dryJob?.status, realJob?.status]);

  return (
    <>
      {can.operate(session) && (
        <Section title="New job">
          <form class="grid" aria-label="New job" onSubmit={(e) => e.preventDefault()}>
            <label>
              CSV file
              <input
                type="file"
                accept=".csv,text/csv"
                onChange={(e) => {
                  setFile((e.target as HTMLInputElement).files?.[0] ?? null);
                  setDry(null);
                }}
              />
            </label>
            <label>
              Action
              <select
                value={form.action}
                onChange={(e) => changed({ action: (e.target as HTMLSelectElement).value })}
              >
                {ACTIONS.map((a) => (
                  <option key={a}>{a}</option>
                ))}
              </select>
            </label>
            <PromotionSelect
              promotions={promotions}
              value={promotion?.id}
              onChange={(promotionId) => changed({ promotionId })}
            />
            <label>
              Identifier column
              <select
                value={form.identifierName}
                onChange={(e) => changed({ identifierName: (e.target as HTMLSelectElement).value })}
              >
                <option value="id">id</option>
                <option value="mobile">mobile</option>
                <option value="email">email</option>
              </select>
            </label>
            <button type="button" onClick={() => submit(true)}>
              Dry run
            </button>
            <button
              type="button"
              disabled={!dryDone}
              title={dryDone ? undefined : 'A dry run of this file must succeed first'}
              onClick={() => submit(false)}
            >
              Start
            </button>
          </form>
          {action.view}
          {dryJob && <Outcome job={dryJob} base={base} />}
          {realJob && <Outcome job={realJob} base={base} />}
        </Section>
      )}
      <Problem text={jobs.error} />
      <table>
        <caption>Latest jobs of org {orgId}</caption>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Action</th>
            <th scope="col">Status</th>
            <th scope="col">Rows (done / total / failed)</th>
            <th scope="col">Created</th>
            <th scope="col">Results</th>
            {can.operate(session) && <th scope="col">Change</th>}
          </tr>
        </thead>
        <tbody>
          {(jobs.data?.jobs ?? []).map((j) => (
            <tr key={j.id}>
              <td>{j.id}</td>
              <td>
                {j.action}
                {j.dryRun ? ' (dry run)' : ''}
                {j.undoOf ? ` (undo of ${j.undoOf})` : ''}
              </td>
              <td>{j.status}</td>
              <td>
                {j.rows.processed} / {j.rows.total} / {j.rows.failed}
              </td>
              <td>{when(j.createdAt)}</td>
              <td>
                <a href={`${base}/${j.id}/results`} download={`job-${j.id}-results.csv`}>
                  Results of job {j.id}
                </a>
              </td>
              {can.operate(session) && (
                <td class="cell-actions">
                  {!FINISHED.has(j.status) && (
                    <button type="button" onClick={() => post(j.id, 'cancel')}>
                      Cancel job {j.id}
                    </button>
                  )}
                  {FINISHED.has(j.status) && !j.dryRun && ['ENROL', 'EARN'].includes(j.action) && (
                    <button type="button" onClick={() => post(j.id, 'undo')}>
                      Undo job {j.id}
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** A submitted job: its live progress, then its results and failed rows to download. */
function Outcome({ job, base }: { job: Job; base: string }) {
  const name = job.dryRun ? 'dry run' : 'job';
  return (
    <div class="outcome">
      <Progress job={job} />
      {FINISHED.has(job.status) && (
        <p>
          <a href={`${base}/${job.id}/results`} download={`job-${job.id}-results.csv`}>
            Download results of the {name}
          </a>{' '}
          ·{' '}
          <a href={`${base}/${job.id}/results?failedOnly=true`} download={`job-${job.id}-failed.csv`}>
            Download failed rows of the {name}
          </a>
        </p>
      )}
    </div>
  );
}
