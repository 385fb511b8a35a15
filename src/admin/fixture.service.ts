import { Fixture, MAX_CUSTOMERS_PER_CALL } from '../contract/admin.contract.js';
import { AppError } from '../errors.js';
import { validated } from './admin-validation.js';
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
 * through the management services, so it gets the same schemas and checks as the management API.
 * The whole file is checked against the schema before anything is written.
 */
export async function loadFixture(
  { records, customers: customerService, credentials }: Management,
  fixture: unknown,
): Promise<FixtureSummary> {
  const { orgs } = validated(Fixture, fixture);
  const summary: FixtureSummary = {
    orgs: 0,
    programs: 0,
    promotions: 0,
    customers: 0,
    tills: 0,
    apiClients: 0,
  };
  for (const [i, given] of orgs.entries()) {
    const path = `orgs[${i}]`;
    const { programs = [], promotions = [], customers = [], tills = [], apiClients = [], ...body } = given;
    const org = await at(path, () => records.createOrg(body));
    summary.orgs += 1;
    for (const [j, program] of programs.entries()) {
      await at(`${path}.programs[${j}]`, () => records.createProgram(org.id, program));
      summary.programs += 1;
    }
    for (const [j, promotion] of promotions.entries()) {
      await at(`${path}.promotions[${j}]`, () => records.createPromotion(org.id, promotion));
      summary.promotions += 1;
    }
    for (let start = 0; start < customers.length; start += MAX_CUSTOMERS_PER_CALL) {
      const chunk = customers.slice(start, start + MAX_CUSTOMERS_PER_CALL);
      await at(`${path}.customers from ${start}`, () => customerService.create(org.id, { customers: chunk }));
      summary.customers += chunk.length;
    }
    for (const [j, till] of tills.entries()) {
      await at(`${path}.tills[${j}]`, () => credentials.create('till', org.id, till));
      summary.tills += 1;
    }
    for (const [j, client] of apiClients.entries()) {
      await at(`${path}.apiClients[${j}]`, () => credentials.create('apiClient', org.id, client));
      summary.apiClients += 1;
    }
  }
  return summary;
}
