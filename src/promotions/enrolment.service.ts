import type { RequestContext } from '../auth/actor.js';
import type { Clock } from '../clock.js';
import { type ApiMessage, AppError, apiMessage, MESSAGES } from '../errors.js';
import { type CustomerRef, parseBulkRequest } from './bulk-request.js';
import type { CustomerMatch, EnrolmentRepository, NewEarn, NewIssual } from './enrolment.repository.js';
import { ANY_SOURCE, actionSupported, type BulkAction, isLive, type Promotion } from './promotion.model.js';

export interface BulkResult {
  entityType: 'CUSTOMER';
  entityId: number;
  promotionId: number;
  promoIdentifier?: string;
  programId: number;
  issualId?: string;
  earnedId?: string;
}

export interface BulkItem {
  result?: BulkResult;
  errors: ApiMessage[];
  warnings: ApiMessage[];
}

export interface BulkResponse {
  response: BulkItem[];
  totalCount: number;
  failureCount: number;
}

export interface EnrolmentServiceDeps {
  repository: EnrolmentRepository;
  clock: Clock;
}

/** Per-customer state while a request is planned: what the store held, plus what this request adds. */
interface CustomerState {
  totalIssuals: number;
  active: { id: number } | null;
  activeEarns: number;
}

type Outcome =
  | { kind: 'error'; code: 11013 | 8003 | 8015 | 8896 }
  | {
      kind: 'ok';
      customerId: number;
      issual: { id: number } | null;
      earn: { id: number } | null;
      warning?: ApiMessage;
    };

export type EnrolmentService = ReturnType<typeof createEnrolmentService>;

export function createEnrolmentService({ repository, clock }: EnrolmentServiceDeps) {
  /** Resolves a request's customer to a customer of the org who may take part, or the error code. */
  function resolve(
    ref: CustomerRef,
    found: Map<string | number, CustomerMatch>,
  ): CustomerMatch | 11013 | 8003 | 8015 {
    if (ref.kind === 'error') return ref.code;
    if (ref.kind === 'malformed') return 8015;
    const customer = found.get(ref.key);
    if (!customer?.member) return 8015;
    if (ref.source !== ANY_SOURCE && !customer.sources.has(ref.source)) return 8015;
    return customer;
  }

  /**
   * `POST /v2/promotion/bulk/enrolAndEarn` and its siblings: the whole-request checks, then each
   * customer in request order, all written in one transaction with a fixed number of statements.
   */
  async function bulk(
    ctx: RequestContext,
    body: unknown,
    allowed: readonly BulkAction[],
  ): Promise<BulkResponse> {
    const request = parseBulkRequest(body, allowed);
    const { orgId } = ctx.actor;
    const { programExists, promotion } = await repository.findPromotion(orgId, request.programId, request);
    if (!programExists) throw new AppError(1101);
    if (!promotion) throw new AppError(8874);
    const now = clock.now();
    if (!isLive(promotion, now)) throw new AppError(8892);
    if (!actionSupported(request.action, promotion.type)) {
      throw new AppError(8902, MESSAGES.unsupportedForPromotionType);
    }

    const keys = [...new Set(request.customers.flatMap((c) => (c.kind === 'lookup' ? [c.key] : [])))];

    return repository.transaction(async (tx) => {
      const matches = await tx.findCustomers(orgId, request.programId, request.identifierName, keys);
      const found = new Map(matches.map((m) => [m.key, m]));
      const resolved = request.customers.map((ref) => resolve(ref, found));
      const customerIds = [...new Set(resolved.flatMap((r) => (typeof r === 'number' ? [] : [r.id])))];

      await tx.lockCustomers(promotion.id, customerIds);
      const issualStats = await tx.issualStats(orgId, promotion.id, customerIds);
      const earnCounts =
        request.action === 'EARN' ? await tx.activeEarnCounts(orgId, promotion.id, customerIds) : new Map();

      const states = new Map<number, CustomerState>();
      for (const id of customerIds) {
        const stats = issualStats.get(id);
        states.set(id, {
          totalIssuals: stats?.total ?? 0,
          active: stats?.activeIssualId ? { id: stats.activeIssualId } : null,
          activeEarns: earnCounts.get(id) ?? 0,
        });
      }

      const newIssuals: (NewIssual & { ref: { id: number } })[] = [];
      const newEarns: (Omit<NewEarn, 'issualId'> & { ref: { id: number }; issual: { id: number } })[] = [];

      const outcomes = request.customers.map((ref, index): Outcome => {
        const customer = resolved[index];
        if (customer === undefined || typeof customer === 'number') {
          return { kind: 'error', code: customer ?? 8015 };
        }
        const state = states.get(customer.id) as CustomerState;
        const source = ref.kind === 'lookup' ? ref.source : ANY_SOURCE;
        const enrol = (): { id: number } | null => {
          const limit = promotion.maxIssualsPerCustomer;
          if (limit !== null && state.totalIssuals >= limit) return null;
          const issual = { id: 0 };
          newIssuals.push({ id: 0, promotionId: promotion.id, customerId: customer.id, source, ref: issual });
          state.totalIssuals += 1;
          state.active = issual;
          return issual;
        };
        const limitWarning = (message: string) => apiMessage(8890, message);

        if (request.action === 'ENROL') {
          if (state.active) {
            return {
              kind: 'ok',
              customerId: customer.id,
              issual: state.active,
              earn: null,
              warning: apiMessage(8890),
            };
          }
          const issual = enrol();
          return issual
            ? { kind: 'ok', customerId: customer.id, issual, earn: null }
            : {
                kind: 'ok',
                customerId: customer.id,
                issual: null,
                earn: null,
                warning: limitWarning(MESSAGES.issualLimitReached),
              };
        }

        // EARN
        let issual = state.active;
        if (!issual) {
          if (promotion.type !== 'DIRECT') return { kind: 'error', code: 8896 };
          issual = enrol();
          if (!issual) {
            return {
              kind: 'ok',
              customerId: customer.id,
              issual: null,
              earn: null,
              warning: limitWarning(MESSAGES.issualLimitReached),
            };
          }
        }
        const earnLimit = promotion.maxEarnsPerCustomer;
        if (earnLimit !== null && state.activeEarns >= earnLimit) {
          return {
            kind: 'ok',
            customerId: customer.id,
            issual,
            earn: null,
            warning: limitWarning(MESSAGES.earnLimitReached),
          };
        }
        const earn = { id: 0 };
        newEarns.push({
          id: 0,
          promotionId: promotion.id,
          customerId: customer.id,
          source,
          ref: earn,
          issual,
        });
        state.activeEarns += 1;
        return { kind: 'ok', customerId: customer.id, issual, earn };
      });

      if (newIssuals.length > 0 || newEarns.length > 0) {
        const ids = await tx.allocateIds(newIssuals.length, newEarns.length);
        newIssuals.forEach((issual, i) => {
          issual.id = issual.ref.id = ids.issuals[i] as number;
        });
        newEarns.forEach((earn, i) => {
          earn.id = earn.ref.id = ids.earns[i] as number;
        });
        await tx.insert(
          { orgId, at: now, by: ctx.actor.credential, requestId: ctx.requestId },
          newIssuals,
          newEarns.map((e) => ({ ...e, issualId: e.issual.id })),
        );
      }

      return toResponse(outcomes, promotion, request.action);
    });
  }

  return { bulk };
}

function toResponse(outcomes: Outcome[], promotion: Promotion, action: BulkAction): BulkResponse {
  let failureCount = 0;
  const response = outcomes.map((outcome): BulkItem => {
    if (outcome.kind === 'error') {
      failureCount += 1;
      return { errors: [apiMessage(outcome.code)], warnings: [] };
    }
    const result: BulkResult = {
      entityType: 'CUSTOMER',
      entityId: outcome.customerId,
      promotionId: promotion.id,
      ...(promotion.promoIdentifier !== null ? { promoIdentifier: promotion.promoIdentifier } : {}),
      programId: promotion.programId,
    };
    if (outcome.issual) result.issualId = String(outcome.issual.id);
    if (action === 'EARN' && outcome.earn) result.earnedId = String(outcome.earn.id);
    return { result, errors: [], warnings: outcome.warning ? [outcome.warning] : [] };
  });
  return { response, totalCount: outcomes.length, failureCount };
}
