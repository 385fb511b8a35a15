import { useState } from 'preact/hooks';
import { api, can } from '../api.js';
import type { PageProps } from '../app.js';
import {
  fields,
  type PromotionRef,
  PromotionSelect,
  Section,
  useAction,
  usePromotions,
  when,
} from './common.js';

interface Earn {
  earnedId: string;
  createdAt: string;
  revoked: boolean;
}
interface Issual {
  issualId: string;
  createdAt: string;
  revoked: boolean;
  earns: Earn[];
}
interface Customer {
  id: number;
  mobile: string | null;
  email: string | null;
  externalId: string | null;
  sources: string[];
  programIds: number[];
  promotions: { promotionId: number; issuals: Issual[] }[];
}
interface BulkAnswer {
  response: { errors: { code: number; message: string }[] }[];
}

export function CustomersPage({ session, orgId }: PageProps) {
  const base = `/admin/v1/orgs/${orgId}/customers`;
  const [found, setFound] = useState<Customer[] | undefined>(undefined);
  const [query, setQuery] = useState('');
  const promotions = usePromotions(orgId);
  const byId = new Map(promotions.map((p) => [p.id, p]));
  const action = useAction();

  // Search by one identifier: an index lookup on (org_id, mobile | email | id), whatever the org's size.
  const search = async (q: string) => {
    const answer = await api<{ customers: Customer[] }>('GET', `${base}/search?${q}`);
    setFound(answer.customers);
    return answer.customers.length === 0 ? 'No customer found.' : undefined;
  };
  const find = (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    const q = `${String(f.get('by'))}=${encodeURIComponent(String(f.get('value')).trim())}`;
    setQuery(q);
    action.run(() => search(q));
  };

  /** Enrol, earn or revoke for one customer; the answer is the bulk API's item for them. */
  const change = (customer: Customer, promotion: PromotionRef, what: string, earnIds?: string[]) =>
    action.run(async () => {
      const answer = await api<BulkAnswer>('POST', `${base}/${customer.id}/rewards`, {
        action: what,
        programId: promotion.programId,
        promotionId: promotion.id,
        ...(earnIds ? { earnIds: earnIds.map(Number) } : {}),
      });
      const refused = answer.response[0]?.errors[0];
      await search(query);
      if (refused) throw new Error(`${refused.message} (${refused.code})`);
      return `${what} done for customer ${customer.id} in ${promotion.name}.`;
    });

  const grant = (customer: Customer) => (e: Event) => {
    e.preventDefault();
    const f = fields(e);
    const promotion = byId.get(Number(f.get('promotionId')));
    if (promotion) change(customer, promotion, String(f.get('action')));
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
            <option value="externalId">External id</option>
          </select>
        </label>
        <label>
          Value
          <input name="value" required />
        </label>
        <button type="submit">Find customer</button>
      </form>
      {action.view}
      {found?.map((c) => (
        <Section key={c.id} title={`Customer ${c.id}`}>
          <dl class="facts">
            <dt>Mobile</dt>
            <dd>{c.mobile ?? '—'}</dd>
            <dt>Email</dt>
            <dd>{c.email ?? '—'}</dd>
            <dt>Sources</dt>
            <dd>{c.sources.join(', ') || '—'}</dd>
            <dt>Programs</dt>
            <dd>{c.programIds.join(', ') || '—'}</dd>
          </dl>
          <table>
            <caption>Promotions, issuals and earns of customer {c.id}</caption>
            <thead>
              <tr>
                <th scope="col">Promotion</th>
                <th scope="col">Issual</th>
                <th scope="col">Earns</th>
                {can.operate(session) && <th scope="col">Revoke</th>}
              </tr>
            </thead>
            <tbody>
              {c.promotions.flatMap((p) =>
                p.issuals.map((i) => {
                  const promotion = byId.get(p.promotionId);
                  const activeEarns = i.earns.filter((x) => !x.revoked);
                  return (
                    <tr key={i.issualId}>
                      <td>{promotion?.name ?? p.promotionId}</td>
                      <td>
                        {i.issualId} {i.revoked ? '(revoked)' : ''} · {when(i.createdAt)}
                      </td>
                      <td>
                        {i.earns.map((x) => `${x.earnedId}${x.revoked ? ' (revoked)' : ''}`).join(', ') ||
                          '—'}
                      </td>
                      {can.operate(session) && (
                        <td class="cell-actions">
                          {promotion &&
                            activeEarns.map((x) => (
                              <button
                                key={x.earnedId}
                                type="button"
                                onClick={() => change(c, promotion, 'REVOKE_EARN', [x.earnedId])}
                              >
                                Revoke earn {x.earnedId}
                              </button>
                            ))}
                          {promotion && !i.revoked && promotion.type !== 'DIRECT' && (
                            <button type="button" onClick={() => change(c, promotion, 'REVOKE_ENROL')}>
                              Revoke issual {i.issualId}
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
          {can.operate(session) && promotions.length > 0 && (
            <form onSubmit={grant(c)} class="grid" aria-label={`Enrol or earn for customer ${c.id}`}>
              <PromotionSelect promotions={promotions} />
              <label>
                Action
                <select name="action">
                  <option value="ENROL">Enrol</option>
                  <option value="EARN">Earn</option>
                </select>
              </label>
              <button type="submit">Apply to customer {c.id}</button>
            </form>
          )}
        </Section>
      ))}
    </>
  );
}
