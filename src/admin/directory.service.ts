import type { Static } from 'typebox';
import type { CredentialKind } from '../auth/credential.repository.js';
import type { Clock } from '../clock.js';
import type {
  CountsQuery,
  PageInput,
  PromotionCounts,
  PromotionListInput,
} from '../contract/admin.contract.js';
import { AppError, badRequest } from '../errors.js';
import { PROMOTION_TYPES, parsePromotionType } from '../promotions/promotion.model.js';
import { MS_PER_DAY } from '../promotions/promotion-counts.plan.js';
import type { AdminRepository } from './admin.repository.js';
import { promotionView } from './admin.service.js';
import { credentialView } from './credential-admin.service.js';
import type { DirectoryRepository, NamedRecord } from './directory.repository.js';
import { cutNamedPage, cutPage, parseNamedPage, parsePage } from './page.js';
import { requireOrg } from './record-guards.js';

/** The longest range of days one counts call answers. */
export const MAX_COUNT_DAYS = 366;

const iso = (ms: number) => new Date(ms).toISOString();
const dayOf = (text: string, field: string) => {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) {
    throw badRequest(field, `${field} is not a day that exists`);
  }
  return ms / MS_PER_DAY;
};

export type DirectoryService = ReturnType<typeof createDirectoryService>;

/** Orgs, programs, promotions and credentials listed and read; names changed; promotion counts. */
export function createDirectoryService({
  directory,
  admin,
  clock,
}: {
  directory: DirectoryRepository;
  admin: AdminRepository;
  clock: Clock;
}) {
  const notFound = (what: string) => new AppError('not_found', `${what} does not exist`);
  const orgView = (o: NamedRecord) => ({ id: o.id, name: o.name, createdAt: iso(o.createdAt) });
  const programView = (orgId: number) => (p: NamedRecord) => ({ ...orgView(p), orgId });

  async function orgs(query: PageInput) {
    const page = parsePage(query);
    const { items, nextCursor } = cutPage(
      await directory.orgs(page.after, page.limit + 1),
      page,
      (o) => o.id,
    );
    return { orgs: items.map(orgView), nextCursor };
  }

  async function org(orgId: number) {
    const [found] = await directory.orgs(orgId - 1, 1);
    if (found?.id !== orgId) throw notFound(`org ${orgId}`);
    return orgView(found);
  }

  async function renameOrg(orgId: number, name: string) {
    if (!(await directory.renameOrg(orgId, name))) throw notFound(`org ${orgId}`);
    return org(orgId);
  }

  async function programs(orgId: number, query: PageInput) {
    await requireOrg(admin, orgId);
    const page = parsePage(query);
    const rows = await directory.programs(orgId, page.after, page.limit + 1);
    const { items, nextCursor } = cutPage(rows, page, (p) => p.id);
    return { programs: items.map(programView(orgId)), nextCursor };
  }

  async function program(orgId: number, programId: number) {
    const [found] = await directory.programs(orgId, 0, 1, programId);
    if (!found) throw notFound(`program ${programId} in org ${orgId}`);
    return programView(orgId)(found);
  }

  async function renameProgram(orgId: number, programId: number, name: string) {
    if (!(await directory.renameProgram(orgId, programId, name)))
      throw notFound(`program ${programId} in org ${orgId}`);
    return program(orgId, programId);
  }

  async function promotions(orgId: number, query: PromotionListInput) {
    await requireOrg(admin, orgId);
    const page = parsePage(query);
    const type = query.type === undefined ? undefined : parsePromotionType(query.type);
    if (query.type !== undefined && type === undefined) {
      throw badRequest('type', `type must be one of ${PROMOTION_TYPES.join(', ')} or one of their aliases`);
    }
    const filter = {
      programId: query.programId,
      type,
      state: query.state,
      name: query.name?.toLowerCase(),
      now: clock.now(),
    };
    const rows = await directory.promotions(orgId, filter, page.after, page.limit + 1);
    const { items, nextCursor } = cutPage(rows, page, (p) => p.id);
    return { promotions: items.map(promotionView), nextCursor };
  }

  async function credentials(kind: CredentialKind, orgId: number, query: PageInput) {
    await requireOrg(admin, orgId);
    const page = parseNamedPage(query);
    const rows = await directory.credentials(kind, orgId, page.after, page.limit + 1);
    const { items, nextCursor } = cutNamedPage(rows, page, (c) => c.name);
    return {
      [kind === 'till' ? 'tills' : 'apiClients']: items.map((c) => credentialView(kind, c)),
      nextCursor,
    };
  }

  async function credential(kind: CredentialKind, orgId: number, name: string) {
    const [found] = await directory.credentials(kind, orgId, '', 1, name);
    if (!found) throw notFound(`${kind === 'till' ? 'till' : 'API client'} ${name}`);
    return credentialView(kind, found);
  }

  /** A promotion's counters (a few rows, never its issuals) and those of each day of a range. */
  async function counts(
    orgId: number,
    promotionId: number,
    query: Static<typeof CountsQuery>,
  ): Promise<PromotionCounts> {
    if (!(await admin.findPromotion(orgId, promotionId)))
      throw notFound(`promotion ${promotionId} in org ${orgId}`);
    const today = Math.floor(clock.now() / MS_PER_DAY);
    const to = query.to === undefined ? today : dayOf(query.to, 'to');
    const from = query.from === undefined ? to - 29 : dayOf(query.from, 'from');
    if (from > to) throw badRequest('from', 'from is after to');
    if (to - from >= MAX_COUNT_DAYS) throw badRequest('from', `a range holds at most ${MAX_COUNT_DAYS} days`);
    const sums = await directory.counts(orgId, promotionId);
    const days = await directory.dayCounts(orgId, promotionId, from, to);
    return {
      promotionId,
      enrolled: sums.issuals - sums.issualsRevoked,
      earned: sums.earns - sums.earnsRevoked,
      revokedIssuals: sums.issualsRevoked,
      revokedEarns: sums.earnsRevoked,
      uniqueCustomers: sums.customers,
      days: days.map((d) => ({
        date: iso(d.day * MS_PER_DAY).slice(0, 10),
        issuals: d.issuals,
        earns: d.earns,
        revokedIssuals: d.issualsRevoked,
        revokedEarns: d.earnsRevoked,
        newCustomers: d.customers,
      })),
    };
  }

  /** The counts in all of up to 100 promotions (a promotion list's page): one statement. */
  async function countsOf(orgId: number, ids: string) {
    await requireOrg(admin, orgId);
    const wanted = [...new Set(ids.split(',').map(Number))];
    const found = new Map((await directory.countsOf(orgId, wanted)).map((c) => [c.promotionId, c]));
    return {
      // A promotion with no counter rows (none, or not in this org) counts nothing.
      counts: wanted.map((promotionId) => {
        const sums = found.get(promotionId);
        return {
          promotionId,
          enrolled: (sums?.issuals ?? 0) - (sums?.issualsRevoked ?? 0),
          earned: (sums?.earns ?? 0) - (sums?.earnsRevoked ?? 0),
          revokedIssuals: sums?.issualsRevoked ?? 0,
          revokedEarns: sums?.earnsRevoked ?? 0,
          uniqueCustomers: sums?.customers ?? 0,
        };
      }),
    };
  }

  return {
    orgs,
    org,
    renameOrg,
    programs,
    program,
    renameProgram,
    promotions,
    credentials,
    credential,
    counts,
    countsOf,
  };
}
