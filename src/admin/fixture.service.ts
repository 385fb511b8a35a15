import { AppError, badRequest } from '../errors.js';
import { MAX_CUSTOMERS_PER_CALL } from './admin.service.js';
import { Fields } from './admin-input.js';
import type { Management } from './management.js';

export interface FixtureSummary {
  orgs: number;
  programs: number;
  promotions: number;
  customers: number;
  tills: number;
  apiClients: number;
}

/** Names the record of the fixture that an error belongs to. */
async function at<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) {
      const field = err.field ? `${path}.${err.field}` : path;
      throw new AppError(err.code, `${path}: ${err.message}`, field);
    }
    throw err;
  }
}

/**
 * Loads a fixture (`{orgs: [{id?, name, programs, promotions, customers, tills, apiClients}]}`)
 * through the management service, so it gets the same checks as the management API.
 */
export async function loadFixture(
  { records: service, credentials }: Management,
  fixture: unknown,
): Promise<FixtureSummary> {
  const summary: FixtureSummary = {
    orgs: 0,
    programs: 0,
    promotions: 0,
    customers: 0,
    tills: 0,
    apiClients: 0,
  };
  const root = Fields.of(fixture, '', ['orgs']);
  const orgs = root.array('orgs', { max: 10_000, required: true }) ?? [];
  for (const [i, raw] of orgs.entries()) {
    const path = `orgs[${i}]`;
    const f = Fields.of(raw, path, [
      'id',
      'name',
      'programs',
      'promotions',
      'customers',
      'tills',
      'apiClients',
    ]);
    const list = (key: string) => f.array(key, { max: 10_000_000 }) ?? [];
    const org = await at(path, () => service.createOrg({ id: f.raw('id'), name: f.raw('name') }));
    summary.orgs += 1;
    for (const [j, program] of list('programs').entries()) {
      await at(`${path}.programs[${j}]`, () => service.createProgram(org.id, program));
      summary.programs += 1;
    }
    for (const [j, promotion] of list('promotions').entries()) {
      await at(`${path}.promotions[${j}]`, () => service.createPromotion(org.id, promotion));
      summary.promotions += 1;
    }
    const customers = list('customers');
    for (let start = 0; start < customers.length; start += MAX_CUSTOMERS_PER_CALL) {
      const chunk = customers.slice(start, start + MAX_CUSTOMERS_PER_CALL);
      await at(`${path}.customers from ${start}`, () =>
        service.createCustomers(org.id, { customers: chunk }),
      );
      summary.customers += chunk.length;
    }
    for (const [j, till] of list('tills').entries()) {
      await at(`${path}.tills[${j}]`, () => credentials.create('till', org.id, till));
      summary.tills += 1;
    }
    for (const [j, client] of list('apiClients').entries()) {
      await at(`${path}.apiClients[${j}]`, () => credentials.create('apiClient', org.id, client));
      summary.apiClients += 1;
    }
  }
  if (summary.orgs === 0) throw badRequest('orgs', 'the fixture holds no orgs');
  return summary;
}
