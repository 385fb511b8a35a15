import type { Clock } from '../clock.js';
import {
  COUNT_RANGE,
  type CreateOrgInput,
  type CreatePromotionInput,
  GIVEN_ID_RANGE,
  type PatchPromotionInput,
  type PromotionView,
} from '../contract/admin.contract.js';
import { AppError, badRequest } from '../errors.js';
import { PROMOTION_TYPES, parsePromotionType } from '../promotions/promotion.model.js';
import type { AdminQueries, AdminRepository, PromotionChanges, StoredPromotion } from './admin.repository.js';
import { parseDateTime, toInt, toOptionalInt } from './admin-input.js';
import { claimId, guarded, requireOrg } from './record-guards.js';

export interface AdminServiceDeps {
  repository: AdminRepository;
  clock: Clock;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function promotionView({
  startAt,
  endAt,
  createdAt,
  updatedAt,
  ...rest
}: StoredPromotion): PromotionView {
  return {
    ...rest,
    startDate: iso(startAt),
    endDate: iso(endAt),
    createdAt: new Date(createdAt).toISOString(),
    updatedAt: new Date(updatedAt).toISOString(),
  };
}

/** A date of the body as epoch ms; the schema checked its shape, this checks that the day exists. */
function dateField(value: string | null | undefined, field: string): number | null | undefined {
  if (value === null || value === undefined) return value;
  const ms = parseDateTime(value);
  if (ms === undefined) throw badRequest(field, `${field} is not a date that exists`);
  return ms;
}

/** The promotion fields of a create or a patch, read into the domain's terms; absent stays absent. */
function promotionChanges(body: PatchPromotionInput): PromotionChanges {
  const type = body.type === undefined ? undefined : parsePromotionType(body.type);
  if (body.type !== undefined && type === undefined) {
    throw badRequest('type', `type must be one of ${PROMOTION_TYPES.join(', ')} or one of their aliases`);
  }
  return {
    name: body.name,
    type,
    promoIdentifier: body.promoIdentifier,
    active: body.active,
    startAt: dateField(body.startDate, 'startDate'),
    endAt: dateField(body.endDate, 'endDate'),
    maxIssualsPerCustomer: toOptionalInt(body.maxIssualsPerCustomer, 'maxIssualsPerCustomer', COUNT_RANGE),
    maxEarnsPerCustomer: toOptionalInt(body.maxEarnsPerCustomer, 'maxEarnsPerCustomer', COUNT_RANGE),
  };
}

function checkWindow(start: number | null | undefined, end: number | null | undefined): void {
  if (start != null && end != null && end < start) throw badRequest('endDate', 'endDate is before startDate');
}

export type AdminService = ReturnType<typeof createAdminService>;

/** Orgs, programs and promotions of the management API: ids, uniqueness, references. No HTTP. */
export function createAdminService({ repository, clock }: AdminServiceDeps) {
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

  async function createOrg(body: CreateOrgInput): Promise<{ id: number; name: string; createdAt: string }> {
    const given = toOptionalInt(body.id, 'id', GIVEN_ID_RANGE);
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
        await repo.insertOrg(id, body.name, at);
        return { id, name: body.name, createdAt: new Date(at).toISOString() };
      }),
    );
  }

  async function createProgram(orgId: number, body: CreateOrgInput) {
    const given = toOptionalInt(body.id, 'id', GIVEN_ID_RANGE);
    const at = clock.now();
    return guarded(() =>
      repository.transaction(async (repo) => {
        await requireOrg(repo, orgId);
        const id = await claimId(repo, 'programs', given);
        await repo.insertProgram(orgId, id, body.name, at);
        return { id, orgId, name: body.name, createdAt: new Date(at).toISOString() };
      }),
    );
  }

  async function createPromotion(orgId: number, body: CreatePromotionInput): Promise<PromotionView> {
    const programId = toInt(body.programId, 'programId');
    const given = toOptionalInt(body.id, 'id', GIVEN_ID_RANGE);
    const p = promotionChanges(body);
    checkWindow(p.startAt, p.endAt);
    const at = clock.now();
    return guarded(() =>
      repository.transaction(async (repo) => {
        await requireOrg(repo, orgId);
        if (!(await repo.programExists(orgId, programId))) {
          throw new AppError('not_found', `program ${programId} does not exist in org ${orgId}`, 'programId');
        }
        await checkIdentifierFree(repo, orgId, p.promoIdentifier);
        const promotion: StoredPromotion = {
          id: await claimId(repo, 'promotions', given),
          programId,
          promoIdentifier: p.promoIdentifier ?? null,
          name: body.name,
          type: p.type ?? 'ENROL_AND_ISSUE',
          active: p.active ?? true,
          startAt: p.startAt ?? null,
          endAt: p.endAt ?? null,
          maxIssualsPerCustomer: p.maxIssualsPerCustomer === undefined ? 1 : p.maxIssualsPerCustomer,
          maxEarnsPerCustomer: p.maxEarnsPerCustomer ?? null,
          createdAt: at,
          updatedAt: at,
        };
        await repo.insertPromotion(orgId, promotion);
        return promotionView(promotion);
      }),
    );
  }

  async function getPromotion(orgId: number, promotionId: number): Promise<PromotionView> {
    const found = await repository.findPromotion(orgId, promotionId);
    if (!found) throw new AppError('not_found', `promotion ${promotionId} does not exist in org ${orgId}`);
    return promotionView(found);
  }

  async function patchPromotion(
    orgId: number,
    promotionId: number,
    body: PatchPromotionInput,
  ): Promise<PromotionView> {
    const p = promotionChanges(body);
    return guarded(() =>
      repository.transaction(async (repo) => {
        const current = await repo.findPromotion(orgId, promotionId);
        if (!current)
          throw new AppError('not_found', `promotion ${promotionId} does not exist in org ${orgId}`);
        checkWindow(
          p.startAt === undefined ? current.startAt : p.startAt,
          p.endAt === undefined ? current.endAt : p.endAt,
        );
        await checkIdentifierFree(repo, orgId, p.promoIdentifier, promotionId);
        const changes = { ...p, updatedAt: clock.now() };
        await repo.updatePromotion(orgId, promotionId, changes);
        const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
        return promotionView({ ...current, ...defined });
      }),
    );
  }

  return {
    createOrg,
    createProgram,
    createPromotion,
    getPromotion,
    patchPromotion,
    isEmpty: () => repository.isEmpty(),
    orgExists: (orgId: number) => repository.orgExists(orgId),
  };
}
