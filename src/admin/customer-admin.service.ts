import type { Clock } from '../clock.js';
import type { CreateCustomersInput, CustomerItemInput, CustomerView } from '../contract/admin.contract.js';
import { AppError, badRequest } from '../errors.js';
import { normalizeEmail, normalizeMobile } from '../promotions/identifiers.js';
import { parseSource, SOURCES } from '../promotions/promotion.model.js';
import type { AdminRepository, CustomerInsert } from './admin.repository.js';
import { toInt, toOptionalInt } from './admin-input.js';
import { guarded, requireOrg } from './record-guards.js';

export { MAX_CUSTOMERS_PER_CALL } from '../contract/admin.contract.js';

type ReadCustomer = Omit<CustomerInsert, 'id'> & { id: number | undefined };

/** One customer of a call in the store's terms; the schema checked the shapes, this the values. */
function readCustomer(item: CustomerItemInput, index: number): ReadCustomer {
  const path = `customers[${index}]`;
  const mobile = item.mobile == null ? null : normalizeMobile(item.mobile);
  if (mobile === undefined) throw badRequest(`${path}.mobile`, `${path}.mobile must hold digits only`);
  const email = item.email == null ? null : normalizeEmail(item.email);
  if (email === undefined) throw badRequest(`${path}.email`, `${path}.email is not an email address`);
  const sources = (item.sources ?? ['INSTORE']).map((s, i) => {
    const source = parseSource(s);
    if (!source) {
      throw badRequest(`${path}.sources[${i}]`, `${path}.sources[${i}] must be one of ${SOURCES.join(', ')}`);
    }
    return source;
  });
  const programIds = (item.programIds ?? []).map((p, i) => toInt(p, `${path}.programIds[${i}]`));
  return {
    id: toOptionalInt(item.id, `${path}.id`),
    mobile,
    email,
    externalId: item.externalId ?? null,
    sources: [...new Set(sources)],
    programIds: [...new Set(programIds)],
  };
}

/** Duplicates inside one call are refused before the store is asked. */
function refuseRepeats(customers: ReadCustomer[]): void {
  for (const key of ['id', 'mobile', 'email', 'externalId'] as const) {
    const seen = new Map<unknown, number>();
    customers.forEach((c, i) => {
      const v = c[key];
      if (v === null || v === undefined) return;
      const first = seen.get(v);
      if (first !== undefined) {
        throw new AppError(
          'conflict',
          `customers[${i}].${key} repeats customers[${first}].${key}`,
          `customers[${i}].${key}`,
        );
      }
      seen.set(v, i);
    });
  }
}

export type CustomerAdminService = ReturnType<typeof createCustomerAdminService>;

/** Customers of the management API: up to 10,000 a call, all or nothing. */
export function createCustomerAdminService({
  repository,
  clock,
}: {
  repository: AdminRepository;
  clock: Clock;
}) {
  async function create(orgId: number, body: CreateCustomersInput): Promise<{ customers: CustomerView[] }> {
    const parsed = body.customers.map(readCustomer);
    refuseRepeats(parsed);
    const at = clock.now();
    const created = await guarded(() =>
      repository.transaction(async (repo) => {
        await requireOrg(repo, orgId);
        const programIds = [...new Set(parsed.flatMap((c) => c.programIds))];
        const known = await repo.existingProgramIds(orgId, programIds);
        const missing = programIds.find((id) => !known.has(id));
        if (missing !== undefined) {
          throw new AppError('not_found', `program ${missing} does not exist in org ${orgId}`, 'programIds');
        }
        const explicit = parsed.flatMap((c) => (c.id === undefined ? [] : [c.id]));
        if (explicit.length > 0) await repo.lockKind('customers');
        const taken = await repo.takenIds('customers', explicit);
        if (taken.length > 0) throw new AppError('conflict', `customer id ${taken[0]} is taken`, 'id');
        for (const key of ['mobile', 'email', 'externalId'] as const) {
          const values = parsed.flatMap((c) => (c[key] === null ? [] : [c[key] as string]));
          const clash = await repo.takenCustomerValues(orgId, key, values);
          if (clash.length > 0)
            throw new AppError('conflict', `a customer with ${key} ${clash[0]} exists`, key);
        }
        if (explicit.length > 0) await repo.advanceSequence('customers', Math.max(...explicit));
        const fresh = await repo.nextIds('customers', parsed.length - explicit.length);
        let next = 0;
        const customers: CustomerInsert[] = parsed.map((c) => ({
          ...c,
          id: c.id ?? (fresh[next++] as number),
        }));
        await repo.insertCustomers(orgId, customers, at);
        return { customers };
      }),
    );
    // A large import changes the shape of the tables the bulk path reads; tell the planner now.
    if (parsed.length >= 1000) await repository.refreshStatistics();
    return created;
  }

  return { create };
}
