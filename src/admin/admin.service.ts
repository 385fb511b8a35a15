import type { Selectable } from 'kysely';
import type { Clock } from '../clock.js';
import type { PromotionsTable } from '../db/schema.js';
import { isUniqueViolation } from '../db/store-errors.js';
import { AppError, badRequest } from '../errors.js';
import { normalizeEmail, normalizeMobile, parsePositiveInt } from '../promotions/identifiers.js';
import { PROMOTION_TYPES, parsePromotionType, parseSource, SOURCES } from '../promotions/promotion.model.js';
import type { AdminQueries, AdminRepository, CustomerInsert } from './admin.repository.js';
import { Fields } from './admin-input.js';

export const MAX_CUSTOMERS_PER_CALL = 10_000;
export const MAX_REPORT_LIMIT = 1_000;

export interface AdminServiceDeps {
  repository: AdminRepository;
  clock: Clock;
}

export interface PromotionView {
  id: number;
  programId: number;
  promoIdentifier: string | null;
  name: string;
  type: string;
  active: boolean;
  startDate: string | null;
  endDate: string | null;
  maxIssualsPerCustomer: number | null;
  maxEarnsPerCustomer: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface CustomerView {
  id: number;
  mobile: string | null;
  email: string | null;
  externalId: string | null;
  sources: string[];
  programIds: number[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function promotionView(row: Selectable<PromotionsTable>): PromotionView {
  return {
    id: row.id,
    programId: row.program_id,
    promoIdentifier: row.promo_identifier,
    name: row.name,
    type: row.type,
    active: row.active === 1,
    startDate: iso(row.start_at),
    endDate: iso(row.end_at),
    maxIssualsPerCustomer: row.max_issuals_per_customer,
    maxEarnsPerCustomer: row.max_earns_per_customer,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

const PROMOTION_FIELDS = [
  'id',
  'programId',
  'promoIdentifier',
  'name',
  'type',
  'active',
  'startDate',
  'endDate',
  'maxIssualsPerCustomer',
  'maxEarnsPerCustomer',
] as const;

function limitField(f: Fields, key: string): number | null | undefined {
  return f.id(key, { nullable: true });
}

export type AdminService = ReturnType<typeof createAdminService>;

/** The management API's rules: validation, uniqueness, references. Knows nothing of HTTP. */
export function createAdminService({ repository, clock }: AdminServiceDeps) {
  async function requireOrg(repo: AdminQueries, orgId: number): Promise<void> {
    if (!(await repo.orgExists(orgId))) throw new AppError('not_found', `org ${orgId} does not exist`);
  }

  /** An explicit id if given and free across the deployment, else a fresh one. */
  async function claimId(
    repo: AdminQueries,
    table: 'programs' | 'promotions' | 'customers',
    id: number | undefined,
  ): Promise<number> {
    if (id === undefined) return (await repo.nextIds(table, 1))[0] as number;
    await repo.lockKind(table);
    if ((await repo.takenIds(table, [id])).length > 0) {
      throw new AppError('conflict', `${table.slice(0, -1)} id ${id} is taken`, 'id');
    }
    await repo.advanceSequence(table, id);
    return id;
  }

  /** Turns a unique-index refusal that slipped past the checks (a concurrent writer) into a 409. */
  async function guarded<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err))
        throw new AppError('conflict', 'a record with the same key was created meanwhile');
      throw err;
    }
  }

  async function createOrg(body: unknown): Promise<{ id: number; name: string; createdAt: string }> {
    const f = Fields.of(body, '', ['id', 'name']);
    const name = f.string('name', { required: true });
    const given = f.id('id') ?? undefined;
    const at = clock.now();
    return guarded(() =>
      repository.transaction(async (repo) => {
        let id: number;
        if (given === undefined) {
          id = (await repo.nextIds('orgs', 1))[0] as number;
        } else {
          await repo.lockKind('orgs');
          if (await repo.orgExists(given)) throw new AppError('conflict', `org id ${given} is taken`, 'id');
          await repo.advanceSequence('orgs', given);
          id = given;
        }
        await repo.insertOrg(id, name, at);
        return { id, name, createdAt: new Date(at).toISOString() };
      }),
    );
  }

  async function createProgram(orgId: number, body: unknown) {
    const f = Fields.of(body, '', ['id', 'name']);
    const name = f.string('name', { required: true });
    const given = f.id('id') ?? undefined;
    const at = clock.now();
    return guarded(() =>
      repository.transaction(async (repo) => {
        await requireOrg(repo, orgId);
        const id = await claimId(repo, 'programs', given);
        await repo.insertProgram(orgId, id, name, at);
        return { id, orgId, name, createdAt: new Date(at).toISOString() };
      }),
    );
  }

  function readPromotionFields(f: Fields, creating: boolean) {
    const typeRaw = f.raw('type');
    const type = typeRaw === undefined ? undefined : parsePromotionType(typeRaw);
    if (typeRaw !== undefined && type === undefined) {
      throw badRequest('type', `type must be one of ${PROMOTION_TYPES.join(', ')} or one of their aliases`);
    }
    if (creating && type === undefined) throw badRequest('type', 'type is required');
    const promoIdentifier =
      f.raw('promoIdentifier') === null ? null : f.string('promoIdentifier', { max: 100 });
    return {
      name: creating ? f.string('name', { required: true }) : f.string('name'),
      type,
      promoIdentifier,
      active: f.boolean('active'),
      startAt: f.dateTime('startDate'),
      endAt: f.dateTime('endDate'),
      maxIssuals: limitField(f, 'maxIssualsPerCustomer'),
      maxEarns: limitField(f, 'maxEarnsPerCustomer'),
    };
  }

  function checkWindow(start: number | null | undefined, end: number | null | undefined): void {
    if (start != null && end != null && end < start)
      throw badRequest('endDate', 'endDate is before startDate');
  }

  async function checkIdentifierFree(
    repo: AdminQueries,
    orgId: number,
    ident: string | null | undefined,
    self?: number,
  ) {
    if (ident == null) return;
    const owner = await repo.promoIdentifierOwner(orgId, ident);
    if (owner !== undefined && owner !== self) {
      throw new AppError(
        'conflict',
        `promoIdentifier ${ident} belongs to promotion ${owner}`,
        'promoIdentifier',
      );
    }
  }

  async function createPromotion(orgId: number, body: unknown): Promise<PromotionView> {
    const f = Fields.of(body, '', PROMOTION_FIELDS);
    const programId = f.id('programId', { required: true });
    const given = f.id('id') ?? undefined;
    const p = readPromotionFields(f, true);
    checkWindow(p.startAt, p.endAt);
    const at = clock.now();
    return guarded(() =>
      repository.transaction(async (repo) => {
        await requireOrg(repo, orgId);
        if (!(await repo.programExists(orgId, programId))) {
          throw new AppError('not_found', `program ${programId} does not exist in org ${orgId}`, 'programId');
        }
        await checkIdentifierFree(repo, orgId, p.promoIdentifier);
        const id = await claimId(repo, 'promotions', given);
        const row = {
          org_id: orgId,
          id,
          program_id: programId,
          promo_identifier: p.promoIdentifier ?? null,
          name: p.name as string,
          type: p.type ?? 'ENROL_AND_ISSUE',
          active: p.active === false ? 0 : 1,
          start_at: p.startAt ?? null,
          end_at: p.endAt ?? null,
          max_issuals_per_customer: p.maxIssuals === undefined ? 1 : p.maxIssuals,
          max_earns_per_customer: p.maxEarns ?? null,
          created_at: at,
          updated_at: at,
        };
        await repo.insertPromotion(row);
        return promotionView(row);
      }),
    );
  }

  async function getPromotion(orgId: number, promotionId: number): Promise<PromotionView> {
    const row = await repository.findPromotion(orgId, promotionId);
    if (!row) throw new AppError('not_found', `promotion ${promotionId} does not exist in org ${orgId}`);
    return promotionView(row);
  }

  async function patchPromotion(orgId: number, promotionId: number, body: unknown): Promise<PromotionView> {
    const f = Fields.of(
      body,
      '',
      PROMOTION_FIELDS.filter((k) => k !== 'id' && k !== 'programId'),
    );
    const p = readPromotionFields(f, false);
    return guarded(() =>
      repository.transaction(async (repo) => {
        const current = await repo.findPromotion(orgId, promotionId);
        if (!current)
          throw new AppError('not_found', `promotion ${promotionId} does not exist in org ${orgId}`);
        checkWindow(
          p.startAt === undefined ? current.start_at : p.startAt,
          p.endAt === undefined ? current.end_at : p.endAt,
        );
        await checkIdentifierFree(repo, orgId, p.promoIdentifier, promotionId);
        const patch = {
          ...(p.name !== undefined ? { name: p.name } : {}),
          ...(p.type !== undefined ? { type: p.type } : {}),
          ...(p.promoIdentifier !== undefined ? { promo_identifier: p.promoIdentifier } : {}),
          ...(p.active !== undefined ? { active: p.active ? 1 : 0 } : {}),
          ...(p.startAt !== undefined ? { start_at: p.startAt } : {}),
          ...(p.endAt !== undefined ? { end_at: p.endAt } : {}),
          ...(p.maxIssuals !== undefined ? { max_issuals_per_customer: p.maxIssuals } : {}),
          ...(p.maxEarns !== undefined ? { max_earns_per_customer: p.maxEarns } : {}),
          updated_at: clock.now(),
        };
        await repo.updatePromotion(orgId, promotionId, patch);
        return promotionView({ ...current, ...patch });
      }),
    );
  }

  function readCustomer(
    item: unknown,
    index: number,
  ): Omit<CustomerInsert, 'id'> & { id: number | undefined } {
    const path = `customers[${index}]`;
    const f = Fields.of(item, path, ['id', 'mobile', 'email', 'externalId', 'sources', 'programIds']);
    const mobileRaw = f.string('mobile', { max: 40 });
    const mobile = mobileRaw === undefined ? null : normalizeMobile(mobileRaw);
    if (mobile === undefined)
      throw badRequest(f.field('mobile'), `${f.field('mobile')} must hold digits only`);
    const emailRaw = f.string('email', { max: 320 });
    const email = emailRaw === undefined ? null : normalizeEmail(emailRaw);
    if (email === undefined)
      throw badRequest(f.field('email'), `${f.field('email')} is not an email address`);
    const sources = (f.array('sources', { max: SOURCES.length * 2 }) ?? ['INSTORE']).map((s, i) => {
      const source = typeof s === 'string' ? parseSource(s) : undefined;
      if (!source)
        throw badRequest(
          `${path}.sources[${i}]`,
          `${path}.sources[${i}] must be one of ${SOURCES.join(', ')}`,
        );
      return source;
    });
    const programIds = (f.array('programIds', { max: 1000 }) ?? []).map((p, i) => {
      const id = parsePositiveInt(p);
      if (id === undefined) {
        throw badRequest(`${path}.programIds[${i}]`, `${path}.programIds[${i}] must be a positive integer`);
      }
      return id;
    });
    return {
      id: f.id('id') ?? undefined,
      mobile,
      email,
      externalId: f.string('externalId', { max: 100 }) ?? null,
      sources: [...new Set(sources)],
      programIds: [...new Set(programIds)],
    };
  }

  /** Up to 10,000 customers, all or nothing. */
  async function createCustomers(orgId: number, body: unknown): Promise<{ customers: CustomerView[] }> {
    const f = Fields.of(body, '', ['customers']);
    const items = f.array('customers', { max: MAX_CUSTOMERS_PER_CALL, required: true }) as unknown[];
    if (items.length === 0) throw badRequest('customers', 'customers must hold at least one customer');
    const parsed = items.map(readCustomer);

    // Duplicates inside the call are refused before the store is asked.
    for (const key of ['id', 'mobile', 'email', 'externalId'] as const) {
      const seen = new Map<unknown, number>();
      parsed.forEach((c, i) => {
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
        for (const [key, column] of [
          ['mobile', 'mobile'],
          ['email', 'email'],
          ['externalId', 'external_id'],
        ] as const) {
          const values = parsed.flatMap((c) => (c[key] === null ? [] : [c[key] as string]));
          const clash = await repo.takenCustomerValues(orgId, column, values);
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

  async function issualReport(
    orgId: number,
    promotionId: number,
    query: { limit?: string; cursor?: string },
  ) {
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPORT_LIMIT) {
      throw badRequest('limit', `limit must be an integer from 1 to ${MAX_REPORT_LIMIT}`);
    }
    const after = query.cursor === undefined || query.cursor === '' ? 0 : Number(query.cursor);
    if (!Number.isSafeInteger(after) || after < 0)
      throw badRequest('cursor', 'cursor is not one this API gave');
    if (!(await repository.findPromotion(orgId, promotionId))) {
      throw new AppError('not_found', `promotion ${promotionId} does not exist in org ${orgId}`);
    }
    const rows = await repository.issualPage(orgId, promotionId, after, limit + 1);
    const page = rows.slice(0, limit);
    const earns = await repository.earnsOfIssuals(
      orgId,
      page.map((r) => r.id),
    );
    const byIssual = new Map<number, { earnedId: string; createdAt: string; revokedAt: string | null }[]>();
    for (const e of earns) {
      const list = byIssual.get(e.issual_id) ?? [];
      list.push({
        earnedId: String(e.id),
        createdAt: new Date(e.created_at).toISOString(),
        revokedAt: iso(e.revoked_at),
      });
      byIssual.set(e.issual_id, list);
    }
    return {
      issuals: page.map((r) => ({
        issualId: String(r.id),
        customerId: r.customer_id,
        createdAt: new Date(r.created_at).toISOString(),
        revokedAt: iso(r.revoked_at),
        earns: byIssual.get(r.id) ?? [],
      })),
      nextCursor: rows.length > limit ? String(page[page.length - 1]?.id) : null,
    };
  }

  /** The whole report as CSV lines (a header, then a row per earn, or per issual without earns). */
  async function issualReportCsv(orgId: number, promotionId: number): Promise<AsyncIterable<string>> {
    // Checked now, so that a missing promotion is a 404 rather than a broken download.
    await issualReport(orgId, promotionId, { limit: '1' });
    return (async function* lines() {
      yield 'issualId,customerId,createdAt,revokedAt,earnedId,earnCreatedAt,earnRevokedAt\n';
      let cursor: string | null = '';
      while (cursor !== null) {
        const page = await issualReport(orgId, promotionId, { limit: String(MAX_REPORT_LIMIT), cursor });
        let chunk = '';
        for (const i of page.issuals) {
          const head = [i.issualId, i.customerId, i.createdAt, i.revokedAt ?? ''].join(',');
          if (i.earns.length === 0) chunk += `${head},,,\n`;
          for (const e of i.earns) chunk += `${head},${e.earnedId},${e.createdAt},${e.revokedAt ?? ''}\n`;
        }
        if (chunk) yield chunk;
        cursor = page.nextCursor;
      }
    })();
  }

  return {
    issualReportCsv,
    createOrg,
    createProgram,
    createPromotion,
    getPromotion,
    patchPromotion,
    createCustomers,
    issualReport,
    isEmpty: () => repository.isEmpty(),
    orgExists: (orgId: number) => repository.orgExists(orgId),
  };
}
