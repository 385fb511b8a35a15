import type { Clock } from '../clock.js';
import type {
  CustomerDetail,
  CustomerSearchInput,
  CustomerView,
  PageInput,
  PatchCustomerInput,
} from '../contract/admin.contract.js';
import type { ImportMode } from '../contract/enums.contract.js';
import { AppError, badRequest } from '../errors.js';
import { normalizeEmail, normalizeMobile } from '../promotions/identifiers.js';
import type { AdminQueries, AdminRepository } from './admin.repository.js';
import {
  type ChunkPlan,
  type CustomerChange,
  planCustomerChanges,
  type RowRefusal,
} from './customer-changes.plan.js';
import { readChange } from './customer-row.mapper.js';
import {
  ConcurrentChange,
  type CustomerLookup,
  type DirectoryQueries,
  type DirectoryRepository,
  type StoredCustomer,
} from './directory.repository.js';
import { cutPage, parsePage } from './page.js';
import { guarded, requireOrg } from './record-guards.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function customerView({ createdAt: _c, deletedAt: _d, ...c }: StoredCustomer): CustomerView {
  return c;
}

export interface CustomerDirectoryDeps {
  directory: DirectoryRepository;
  admin: AdminRepository;
  clock: Clock;
}

export type CustomerDirectoryService = ReturnType<typeof createCustomerDirectoryService>;

/** Customers of the management API: listed, searched, shown with their rewards, changed, deleted. */
export function createCustomerDirectoryService({ directory, admin, clock }: CustomerDirectoryDeps) {
  async function detail(orgId: number, customer: StoredCustomer): Promise<CustomerDetail> {
    const issuals = await directory.issualsOfCustomer(orgId, customer.id);
    const earns = await admin.earnsOfIssuals(
      orgId,
      issuals.map((i) => i.id),
    );
    const byPromotion = new Map<number, CustomerDetail['promotions'][number]>();
    const byIssual = new Map<number, CustomerDetail['promotions'][number]['issuals'][number]>();
    for (const i of issuals) {
      const entry = {
        issualId: String(i.id),
        createdAt: iso(i.createdAt) as string,
        revokedAt: iso(i.revokedAt),
        revoked: i.revokedAt !== null,
        earns: [],
      };
      byIssual.set(i.id, entry);
      const promotion = byPromotion.get(i.promotionId) ?? { promotionId: i.promotionId, issuals: [] };
      promotion.issuals.push(entry);
      byPromotion.set(i.promotionId, promotion);
    }
    for (const e of earns) {
      byIssual.get(e.issualId)?.earns.push({
        earnedId: String(e.id),
        createdAt: iso(e.createdAt) as string,
        revokedAt: iso(e.revokedAt),
        revoked: e.revokedAt !== null,
      });
    }
    return {
      ...customerView(customer),
      createdAt: iso(customer.createdAt) as string,
      deletedAt: iso(customer.deletedAt),
      promotions: [...byPromotion.values()],
    };
  }

  async function requireOrgOf(orgId: number) {
    await requireOrg(admin, orgId);
  }

  async function list(orgId: number, query: PageInput) {
    await requireOrgOf(orgId);
    const page = parsePage(query);
    const ids = await directory.customerIds(orgId, page.after, page.limit + 1);
    const { items, nextCursor } = cutPage(ids, page, (id) => id);
    return { customers: (await directory.customers(orgId, items)).map(customerView), nextCursor };
  }

  /** A customer by id: a deleted one too (with `deletedAt`), since its rewards stay in the reports. */
  async function get(orgId: number, customerId: number): Promise<CustomerDetail> {
    await requireOrgOf(orgId);
    const [live] = await directory.customers(orgId, [customerId]);
    const found = live ?? (await directory.deletedCustomer(orgId, customerId));
    if (!found) throw new AppError('not_found', `customer ${customerId} does not exist in org ${orgId}`);
    return detail(orgId, found);
  }

  /** The customer an identifier names, compared as the /v2 API compares it; deleted ones are not found. */
  async function search(orgId: number, query: CustomerSearchInput) {
    await requireOrgOf(orgId);
    const given = (['id', 'mobile', 'email', 'externalId'] as const).filter((k) => query[k] !== undefined);
    if (given.length !== 1) {
      throw badRequest(given[1] ?? 'id', 'give exactly one of id, mobile, email, externalId');
    }
    const by = given[0] as CustomerLookup;
    const raw = query[by] as string | number;
    const value =
      by === 'mobile' ? normalizeMobile(String(raw)) : by === 'email' ? normalizeEmail(String(raw)) : raw;
    const id = value === undefined ? undefined : await directory.findCustomerId(orgId, by, value);
    const customers = id === undefined ? [] : await directory.customers(orgId, [id]);
    return { customers: await Promise.all(customers.map((c) => detail(orgId, c))), nextCursor: null };
  }

  /** Plans and writes one chunk of changes in its own transaction; answers the plan with real ids. */
  async function applyChunk(
    orgId: number,
    mode: ImportMode,
    rows: (CustomerChange | RowRefusal)[],
    only?: number,
  ): Promise<ChunkPlan> {
    // A chunk that met a concurrent change to one of its customers rolled back whole: run it again on
    // what is stored now (a few times; a customer changed that often answers 503 to try later).
    for (let attempt = 1; ; attempt++) {
      try {
        return await applyChunkOnce(orgId, mode, rows, only);
      } catch (err) {
        if (!(err instanceof ConcurrentChange)) throw err;
        if (attempt === 3)
          throw new AppError(
            'unavailable',
            'customers of this request kept changing while it was written; send it again',
          );
      }
    }
  }

  async function applyChunkOnce(
    orgId: number,
    mode: ImportMode,
    rows: (CustomerChange | RowRefusal)[],
    only?: number,
  ): Promise<ChunkPlan> {
    const changes = rows.filter((r): r is CustomerChange => !('refused' in r));
    const at = clock.now();
    return guarded(() =>
      directory.transaction(async (repo, adminTx) => {
        const values = (key: 'mobile' | 'email' | 'externalId') => [
          ...new Set(changes.flatMap((c) => (typeof c[key] === 'string' ? [c[key] as string] : []))),
        ];
        const holders = new Map([
          ...(await repo.holders(orgId, 'mobile', values('mobile'))),
          ...(await repo.holders(orgId, 'email', values('email'))),
          ...(await repo.holders(orgId, 'externalId', values('externalId'))),
        ]);
        const named = [
          ...new Set([...changes.flatMap((c) => (c.id === undefined ? [] : [c.id])), ...holders.values()]),
        ];
        const stored = await repo.customers(orgId, named);
        for (const c of stored) {
          for (const key of ['mobile', 'email', 'externalId'] as const) {
            if (c[key]) holders.set(`${key}:${c[key]}`, c.id);
          }
        }
        const programs = await adminTx.existingProgramIds(orgId, [
          ...new Set(changes.flatMap((c) => c.programIds ?? [])),
        ]);
        const deletedIds = new Set(await repo.deletedIds(named));
        const plan = planCustomerChanges(
          mode,
          rows,
          {
            customers: new Map(stored.map((c) => [c.id, c])),
            holders,
            programs,
            deletedIds,
          },
          only,
        );
        await writePlan(repo, adminTx, orgId, plan, at);
        return plan;
      }),
    );
  }

  async function writePlan(
    repo: DirectoryQueries,
    admin: AdminQueries,
    orgId: number,
    plan: ChunkPlan,
    at: number,
  ) {
    const creates = [...plan.creates.values()];
    const explicit = creates.filter((c) => c.id > 0).map((c) => c.id);
    if (explicit.length > 0) {
      // Ids are unique across the deployment: another org's customer may hold one.
      await admin.lockKind('customers');
      const taken = new Set(await admin.takenIds('customers', explicit));
      for (const answer of plan.answers) {
        if (answer.id !== undefined && taken.has(answer.id) && plan.creates.has(answer.id)) {
          Object.assign(answer, { outcome: 'refused', reason: `id ${answer.id} is taken`, field: 'id' });
          delete answer.id;
        }
      }
      for (const id of taken) plan.creates.delete(id);
      await admin.advanceSequence('customers', Math.max(...explicit));
    }
    const fresh = [...plan.creates.values()].filter((c) => c.id < 0);
    const ids = await admin.nextIds('customers', fresh.length);
    const given = new Map(fresh.map((c, i) => [c.id, ids[i] as number]));
    for (const answer of plan.answers) {
      if (answer.id !== undefined && answer.id < 0) answer.id = given.get(answer.id) as number;
    }
    const inserts = [...plan.creates.values()].map((c) => ({
      ...c,
      id: c.id < 0 ? (given.get(c.id) as number) : c.id,
    }));
    if (inserts.length > 0) await admin.insertCustomers(orgId, inserts, at);
    await repo.updateCustomers(orgId, [...plan.updates.values()]);
  }

  async function patch(orgId: number, customerId: number, body: PatchCustomerInput): Promise<CustomerDetail> {
    await requireOrgOf(orgId);
    const row = readChange({ ...body, id: customerId }, '');
    const plan = await applyChunk(orgId, 'upsert', [row], customerId);
    const answer = plan.answers[0];
    if (answer?.outcome === 'refused') {
      if (answer.reason === 'no such customer') {
        throw new AppError('not_found', `customer ${customerId} does not exist in org ${orgId}`);
      }
      const status =
        answer.field === 'programIds'
          ? 'not_found'
          : /held by/.test(answer.reason ?? '')
            ? 'conflict'
            : 'invalid_request';
      throw new AppError(status, answer.reason as string, answer.field);
    }
    return get(orgId, customerId);
  }

  /** Soft delete: the customer leaves every lookup; its issuals and earns stay, as do the audit entries. */
  async function remove(orgId: number, customerId: number): Promise<CustomerDetail> {
    await requireOrgOf(orgId);
    const at = clock.now();
    const removed = await directory.transaction(async (repo) => {
      const [customer] = await repo.customers(orgId, [customerId]);
      if (!customer) throw new AppError('not_found', `customer ${customerId} does not exist in org ${orgId}`);
      await repo.softDeleteCustomer(orgId, customer, at);
      return { ...customer, deletedAt: at };
    });
    return detail(orgId, removed);
  }

  return { list, get, search, patch, remove, applyChunk };
}
