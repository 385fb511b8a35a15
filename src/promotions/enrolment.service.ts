import type { RequestContext } from '../auth/actor.js';
import type { BulkItem, BulkResponse, BulkResult, IssueResponse } from '../client/types.js';
import type { Clock } from '../clock.js';
import { type ApiMessage, AppError, apiMessage, MESSAGES } from '../errors.js';
import { type CustomerRef, type ParsedBulkRequest, parseBulkRequest } from './bulk-request.js';
import type {
  CustomerMatch,
  EnrolmentRepository,
  EnrolmentTx,
  NewEarn,
  NewIssual,
  WriteStamp,
} from './enrolment.repository.js';
import { type IdempotencyKey, IdempotencyRace } from './idempotency.repository.js';
import {
  ANY_SOURCE,
  actionSupported,
  type BulkAction,
  isLive,
  type Promotion,
  type PromotionType,
} from './promotion.model.js';

// The answers are the client's wire types, so that the server and its client cannot drift apart.
export type { BulkItem, BulkResponse, BulkResult, IssueResponse } from '../client/types.js';

/** What one bulk endpoint accepts: its actions, and the promotion types it serves (all when absent). */
export interface BulkEndpoint {
  actions: readonly BulkAction[];
  types?: readonly PromotionType[];
}

export interface EnrolmentServiceDeps {
  repository: EnrolmentRepository;
  clock: Clock;
}

/** Per-customer state while a request is planned: what the store held, plus what this request adds. */
interface PlanState {
  totalIssuals: number;
  active: { id: number } | null;
  activeEarns: number;
}

type ItemError = 11013 | 8003 | 8015 | 8896 | 8903 | 8904;
/** An item's answer, built once the ids of new records are known. */
type PlannedItem = () => BulkItem;

export type EnrolmentService = ReturnType<typeof createEnrolmentService>;

const failed = (code: ItemError): PlannedItem => {
  const item = { errors: [apiMessage(code)], warnings: [] };
  return () => item;
};

function baseResult(promotion: Promotion, customerId: number): BulkResult {
  return {
    entityType: 'CUSTOMER',
    entityId: customerId,
    promotionId: promotion.id,
    ...(promotion.promoIdentifier !== null ? { promoIdentifier: promotion.promoIdentifier } : {}),
    programId: promotion.programId,
  };
}

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

export function createEnrolmentService({ repository, clock }: EnrolmentServiceDeps) {
  /** Checks 9 to 12 of contract section 2: the program, the promotion, its window and its type. */
  async function findPromotion(
    orgId: number,
    request: ParsedBulkRequest,
    endpoint: BulkEndpoint,
  ): Promise<Promotion> {
    const { programExists, promotion } = await repository.findPromotion(orgId, request.programId, request);
    if (!programExists) throw new AppError(1101);
    if (!promotion) throw new AppError(8874);
    // Undoing a wrong enrolment must stay possible after a promotion has ended.
    const revoking = request.action === 'REVOKE_ENROL' || request.action === 'REVOKE_EARN';
    if (!revoking && !isLive(promotion, clock.now())) throw new AppError(8892);
    if (
      !actionSupported(request.action, promotion.type) ||
      (endpoint.types && !endpoint.types.includes(promotion.type))
    ) {
      throw new AppError(8902, MESSAGES.unsupportedForPromotionType);
    }
    return promotion;
  }

  /** ENROL and EARN: plans every customer in order, then writes all new records at once. */
  async function grant(
    tx: EnrolmentTx,
    stamp: WriteStamp,
    request: ParsedBulkRequest,
    promotion: Promotion,
    resolved: (CustomerMatch | ItemError)[],
    customerIds: number[],
  ): Promise<PlannedItem[]> {
    const stored = await tx.customerStates(stamp.orgId, promotion.id, customerIds, request.action === 'EARN');
    const states = new Map<number, PlanState>();
    for (const id of customerIds) {
      const state = stored.get(id);
      states.set(id, {
        totalIssuals: state?.totalIssuals ?? 0,
        active: state?.activeIssualId ? { id: state.activeIssualId } : null,
        activeEarns: state?.activeEarns ?? 0,
      });
    }

    const newIssuals: (NewIssual & { ref: { id: number } })[] = [];
    const newEarns: (Omit<NewEarn, 'issualId'> & { ref: { id: number }; issual: { id: number } })[] = [];
    const ok = (
      customerId: number,
      issual: { id: number } | null,
      earn: { id: number } | null,
      warning?: ApiMessage,
    ) =>
      (() => {
        const result = baseResult(promotion, customerId);
        if (issual) result.issualId = String(issual.id);
        if (earn) result.earnedId = String(earn.id);
        return { result, errors: [], warnings: warning ? [warning] : [] };
      }) satisfies PlannedItem;

    const items = request.customers.map((ref, index): PlannedItem => {
      const customer = resolved[index];
      if (customer === undefined || typeof customer === 'number') return failed(customer ?? 8015);
      const state = states.get(customer.id) as PlanState;
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
      const issualLimit = apiMessage(8890, MESSAGES.issualLimitReached);

      if (request.action === 'ENROL') {
        if (state.active) return ok(customer.id, state.active, null, apiMessage(8890));
        const issual = enrol();
        return issual ? ok(customer.id, issual, null) : ok(customer.id, null, null, issualLimit);
      }

      let issual = state.active;
      if (!issual) {
        if (promotion.type !== 'DIRECT') return failed(8896);
        issual = enrol();
        if (!issual) return ok(customer.id, null, null, issualLimit);
      }
      const earnLimit = promotion.maxEarnsPerCustomer;
      if (earnLimit !== null && state.activeEarns >= earnLimit) {
        return ok(customer.id, issual, null, apiMessage(8890, MESSAGES.earnLimitReached));
      }
      const earn = { id: 0 };
      newEarns.push({ id: 0, promotionId: promotion.id, customerId: customer.id, source, ref: earn, issual });
      state.activeEarns += 1;
      return ok(customer.id, issual, earn);
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
        stamp,
        newIssuals,
        newEarns.map((e) => ({ ...e, issualId: e.issual.id })),
      );
    }
    return items;
  }

  /** REVOKE_ENROL and REVOKE_EARN: marks records revoked; revoking an enrolment revokes its earns. */
  async function revoke(
    tx: EnrolmentTx,
    stamp: WriteStamp,
    request: ParsedBulkRequest,
    promotion: Promotion,
    resolved: (CustomerMatch | ItemError)[],
    customerIds: number[],
  ): Promise<PlannedItem[]> {
    const stored = await tx.customerStates(stamp.orgId, promotion.id, customerIds, false);
    const earns = await tx.activeEarns(stamp.orgId, promotion.id, customerIds);
    const active = new Map<number, number | null>();
    for (const id of customerIds) active.set(id, stored.get(id)?.activeIssualId ?? null);
    const earnsOf = new Map<number, number[]>();
    for (const earn of earns)
      earnsOf.set(earn.customerId, [...(earnsOf.get(earn.customerId) ?? []), earn.id]);
    const revokedIssuals: number[] = [];
    const revokedEarns: number[] = [];

    const items = request.customers.map((ref, index): PlannedItem => {
      const customer = resolved[index];
      if (customer === undefined || typeof customer === 'number') return failed(customer ?? 8015);
      const current = earnsOf.get(customer.id) ?? [];
      const result = baseResult(promotion, customer.id);
      if (request.action === 'REVOKE_ENROL') {
        const issualId = active.get(customer.id);
        if (!issualId) return failed(8904);
        active.set(customer.id, null);
        earnsOf.set(customer.id, []);
        revokedIssuals.push(issualId);
        revokedEarns.push(...current);
        result.revokedIssualId = String(issualId);
        result.revokedEarnIds = current.map(String);
        return () => ({ result, errors: [], warnings: [] });
      }
      const wanted = ref.kind === 'lookup' ? ref.earnIds : undefined;
      if (wanted === 'invalid' || (wanted && !wanted.every((id) => current.includes(id))))
        return failed(8903);
      const chosen = wanted ?? current;
      earnsOf.set(
        customer.id,
        current.filter((id) => !chosen.includes(id)),
      );
      revokedEarns.push(...chosen);
      const issualId = active.get(customer.id);
      if (issualId) result.issualId = String(issualId);
      result.revokedEarnIds = chosen.map(String);
      return () => ({ result, errors: [], warnings: [] });
    });

    await tx.revoke(stamp, revokedIssuals, revokedEarns);
    return items;
  }

  async function run(ctx: RequestContext, body: unknown, endpoint: BulkEndpoint): Promise<BulkResponse> {
    const request = parseBulkRequest(body, endpoint.actions);
    const { orgId } = ctx.actor;
    const promotion = await findPromotion(orgId, request, endpoint);
    const keys = [...new Set(request.customers.flatMap((c) => (c.kind === 'lookup' ? [c.key] : [])))];
    const now = clock.now();
    const stamp: WriteStamp = { orgId, at: now, by: ctx.actor.credential, requestId: ctx.requestId };
    const idempotency = ctx.idempotency && { ...idempotencyKey(ctx), now };

    return repository.transaction(async (tx) => {
      const matches = await tx.findCustomers(orgId, request.programId, request.identifierName, keys);
      const found = new Map(matches.map((m) => [m.key, m]));
      const resolved = request.customers.map((ref) => resolve(ref, found));
      const customerIds = [...new Set(resolved.flatMap((r) => (typeof r === 'number' ? [] : [r.id])))];
      await tx.lockCustomers(promotion.id, customerIds);
      const plan = request.action === 'ENROL' || request.action === 'EARN' ? grant : revoke;
      const items = (await plan(tx, stamp, request, promotion, resolved, customerIds)).map((item) => item());
      const failureCount = items.filter((item) => item.errors.length > 0).length;
      return { response: items, totalCount: items.length, failureCount };
    }, idempotency);
  }

  function idempotencyKey(ctx: RequestContext): IdempotencyKey {
    const given = ctx.idempotency as NonNullable<RequestContext['idempotency']>;
    return {
      orgId: ctx.actor.orgId,
      credential: ctx.actor.credential,
      key: given.key,
      requestHash: given.requestHash,
    };
  }

  /** The stored answer to an earlier request with the same key, or a 422 if it asked something else. */
  async function replay(ctx: RequestContext): Promise<BulkResponse | undefined> {
    if (!ctx.idempotency) return undefined;
    const stored = await repository.findReplay(idempotencyKey(ctx), clock.now());
    if (!stored) return undefined;
    if (stored.requestHash !== ctx.idempotency.requestHash) throw new AppError(422);
    return stored.response as BulkResponse;
  }

  /**
   * A bulk endpoint (`enrolAndEarn`, `directEarn`, `revokeEnrolAndEarn`, `revokeDirectEarn`): the
   * whole-request checks, then each customer in request order, all written in one transaction with a
   * fixed number of statements. With an Idempotency-Key, a repeat gets the first answer and writes nothing.
   */
  async function bulk(ctx: RequestContext, body: unknown, endpoint: BulkEndpoint): Promise<BulkResponse> {
    const earlier = await replay(ctx);
    if (earlier) return earlier;
    try {
      return await run(ctx, body, endpoint);
    } catch (err) {
      if (!(err instanceof IdempotencyRace)) throw err;
      // A twin with the same key committed while this one ran; this one's writes were rolled back.
      return (await replay(ctx)) as BulkResponse;
    }
  }

  /**
   * `POST /v2/promotion/issue`: EARN for one customer named in the query string, answered as side
   * effects. It is the bulk EARN of one customer, so every rule (and the idempotency) is the same.
   */
  async function issue(ctx: RequestContext, query: IssueQuery, body: unknown): Promise<IssueResponse> {
    const details = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {};
    const { programId, promotionId, promoIdentifier } = details as Record<string, unknown>;
    const answer = await bulk(
      ctx,
      {
        type: 'CUSTOMER',
        bulkAction: 'EARN',
        promotionDetails: { programId, promotionId, promoIdentifier },
        identifierName: query.identifierName,
        customers: [{ identifierValue: query.identifierValue, source: query.source }],
      },
      { actions: ['EARN'] },
    );
    const item = answer.response[0] as BulkItem;
    const result = item.result;
    return {
      warnings: item.warnings,
      errors: item.errors,
      sideEffects:
        result?.issualId && result.earnedId
          ? [
              {
                programId: result.programId,
                promotionId: result.promotionId,
                ...(result.promoIdentifier ? { promoIdentifier: result.promoIdentifier } : {}),
                issualId: result.issualId,
                earnedId: result.earnedId,
                type: 'EARN',
              },
            ]
          : [],
    };
  }

  return { bulk, issue };
}

export interface IssueQuery {
  identifierName?: string;
  identifierValue?: string;
  source?: string;
}
