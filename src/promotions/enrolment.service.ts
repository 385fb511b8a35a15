import type { RequestContext } from '../auth/actor.js';
import type { BulkItem, BulkResponse } from '../client/types.js';
import type { Clock } from '../clock.js';
import { AppError, MESSAGES } from '../errors.js';
import type { NewEvent } from '../events/event.model.js';
import { grantEvents, revokeEvents } from '../events/event.plan.js';
import type { PlanCustomer } from './bulk-item.js';
import {
  type BulkEndpoint,
  type CustomerRef,
  namingOf,
  type ParsedBulkRequest,
  parseBulkRequest,
  parseIssueRequest,
  refusal,
} from './bulk-request.js';
import type { CustomerMatch, EnrolmentRepository, EnrolmentTx, WriteStamp } from './enrolment.repository.js';
import { completeGrant, planGrant } from './grant.plan.js';
import { type IdempotencyKey, IdempotencyRace } from './idempotency.repository.js';
import { type IssueAnswer, type IssueQuery, issueAnswer } from './issue.plan.js';
import { ANY_SOURCE, actionSupported, type BulkAction, isLive, type Promotion } from './promotion.model.js';
import { grantCounts, isNoChange, revokeCounts } from './promotion-counts.plan.js';
import { planRevoke } from './revoke.plan.js';

// The answers are the client's wire types, so that the server and its client cannot drift apart.
export type { BulkItem, BulkResponse, BulkResult, IssueResponse } from '../client/types.js';
export type { BulkEndpoint } from './bulk-request.js';
export type { IssueAnswer, IssueQuery } from './issue.plan.js';

export interface EnrolmentServiceDeps {
  repository: EnrolmentRepository;
  clock: Clock;
  /** Told of the events a request wrote, once its transaction has committed. */
  onEvents?: (events: readonly NewEvent[]) => void;
}

/** A bulk call's answer, with the action the request asked for (metrics count answers by it). */
export interface BulkAnswer {
  action: BulkAction;
  answer: BulkResponse;
}

export type EnrolmentService = ReturnType<typeof createEnrolmentService>;

/** Resolves a request's customer to a customer of the org who may take part, or the error code. */
function resolve(ref: CustomerRef, found: Map<string | number, CustomerMatch>): PlanCustomer {
  if (ref.kind === 'error') return ref.code;
  if (ref.kind === 'malformed') return 8015;
  const customer = found.get(ref.key);
  if (!customer?.member) return 8015;
  if (ref.source !== ANY_SOURCE && !customer.sources.includes(ref.source)) return 8015;
  const planned: Exclude<PlanCustomer, number> = { id: customer.id, source: ref.source };
  if (ref.earnIds !== undefined) planned.earnIds = ref.earnIds;
  if (ref.issualId !== undefined) planned.issualId = ref.issualId;
  return planned;
}

const NO_IDS = { issuals: [], earns: [] };

export function createEnrolmentService({ repository, clock, onEvents }: EnrolmentServiceDeps) {
  /** Checks 9 to 12 of contract section 2: the program, the promotion, its window and its type. */
  async function findPromotion(
    orgId: number,
    request: ParsedBulkRequest,
    endpoint: BulkEndpoint,
  ): Promise<Promotion> {
    const { programExists, promotion } = await repository.findPromotion(orgId, request.programId, request);
    if (!programExists) throw new AppError(1101);
    if (!promotion) throw new AppError(8874);
    // Revoking needs an active promotion (the revoke pages' 8892), but not one within its dates:
    // undoing a wrong enrolment must stay possible after a promotion has ended.
    const revoking = request.action === 'REVOKE_ENROL' || request.action === 'REVOKE_EARN';
    if (revoking ? !promotion.active : !isLive(promotion, clock.now())) throw refusal(endpoint, 8892);
    if (
      !actionSupported(request.action, promotion.type) ||
      (endpoint.types && !endpoint.types.includes(promotion.type))
    ) {
      throw new AppError(8902, endpoint.messages?.[8902] ?? MESSAGES.unsupportedForPromotionType);
    }
    return promotion;
  }

  /** ENROL and EARN: plans every customer in order, then writes all new records and their events at once. */
  async function grant(
    tx: EnrolmentTx,
    stamp: WriteStamp,
    action: 'ENROL' | 'EARN',
    promotion: Promotion,
    customers: PlanCustomer[],
    customerIds: number[],
    request: ParsedBulkRequest,
    endpoint: BulkEndpoint,
  ): Promise<{ items: BulkItem[]; events: NewEvent[] }> {
    const stored = await tx.customerStates(stamp.orgId, promotion.id, customerIds, action === 'EARN');
    const plan = planGrant(action, promotion, customers, stored, { pageLimits: endpoint.pageLimits });
    const writes = plan.issuals.length > 0 || plan.earns.length > 0;
    const ids = writes ? await tx.allocateIds(plan.issuals.length, plan.earns.length) : NO_IDS;
    const { items, issuals, earns } = completeGrant(plan, promotion, ids, namingOf(request, endpoint));
    const events = grantEvents(promotion, stamp, issuals, earns);
    const counts = writes ? grantCounts(issuals, earns, stored) : null;
    await tx.write(stamp, promotion.id, { issuals, earns, events, counts });
    return { items, events };
  }

  /** REVOKE_ENROL and REVOKE_EARN: marks records revoked (an enrolment only once its earns are). */
  async function revoke(
    tx: EnrolmentTx,
    stamp: WriteStamp,
    action: 'REVOKE_ENROL' | 'REVOKE_EARN',
    promotion: Promotion,
    customers: PlanCustomer[],
    customerIds: number[],
    request: ParsedBulkRequest,
    endpoint: BulkEndpoint,
  ): Promise<{ items: BulkItem[]; events: NewEvent[] }> {
    const stored = await tx.customerStates(stamp.orgId, promotion.id, customerIds, false);
    const earns = await tx.activeEarns(stamp.orgId, promotion.id, customerIds);
    const plan = planRevoke(action, promotion, customers, stored, earns, namingOf(request, endpoint));
    const events = revokeEvents(promotion, stamp, customers, plan.items, earns);
    await tx.revoke(stamp, plan.issualIds, plan.earnIds);
    const counts = revokeCounts(plan.issualIds, plan.earnIds);
    await tx.write(stamp, promotion.id, {
      issuals: [],
      earns: [],
      events,
      counts: isNoChange(counts) ? null : counts,
    });
    return { items: plan.items, events };
  }

  /** The request's customers, planned and written in one transaction (with its idempotency record). */
  async function run(
    ctx: RequestContext,
    request: ParsedBulkRequest,
    endpoint: BulkEndpoint,
    promotion: Promotion,
  ): Promise<BulkResponse> {
    const { orgId } = ctx.actor;
    const now = clock.now();
    const stamp: WriteStamp = { orgId, at: now, by: ctx.actor.credential, requestId: ctx.requestId };
    const idempotency = ctx.idempotency && { ...idempotencyKey(ctx), now };

    let written: readonly NewEvent[] = [];
    const answer = await repository.transaction(async (tx) => {
      const { items, events } = await apply(tx, stamp, request, promotion, endpoint);
      written = events;
      const failureCount = items.filter((item) => item.errors.length > 0).length;
      return { response: items, totalCount: items.length, failureCount };
    }, idempotency);
    // Only now, after the commit: a request rolled back (or lost to an idempotent twin) wrote none.
    onEvents?.(written);
    return answer;
  }

  /**
   * Each customer of the request in order, inside the caller's transaction: a request's whole work,
   * its records and their events written together.
   */
  async function apply(
    tx: EnrolmentTx,
    stamp: WriteStamp,
    request: ParsedBulkRequest,
    promotion: Promotion,
    // A job's rows are answered as enrolAndEarn (or revokeEnrolAndEarn) answers its customers.
    endpoint: BulkEndpoint = { actions: [request.action] },
  ): Promise<{ items: BulkItem[]; events: NewEvent[] }> {
    // Plain loops: this runs for every customer of every request.
    const keys = new Set<string | number>();
    for (const c of request.customers) if (c.kind === 'lookup') keys.add(c.key);
    // Found and locked in the promotion in one statement: the states read next are this request's alone.
    const matches = await tx.findCustomers(
      stamp.orgId,
      request.programId,
      request.identifierName,
      [...keys],
      promotion.id,
    );
    const found = new Map<string | number, CustomerMatch>();
    for (const m of matches) found.set(m.key, m);
    const customers = request.customers.map((ref) => resolve(ref, found));
    const ids = new Set<number>();
    for (const c of customers) if (typeof c !== 'number') ids.add(c.id);
    const customerIds = [...ids];
    const { action } = request;
    return action === 'ENROL' || action === 'EARN'
      ? grant(tx, stamp, action, promotion, customers, customerIds, request, endpoint)
      : revoke(tx, stamp, action, promotion, customers, customerIds, request, endpoint);
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
   * Runs `answer` unless an earlier request with the same Idempotency-Key was answered: then that
   * answer, parsed by `parse` (which runs first either way, so a bad request is refused alike).
   */
  async function once<P>(
    ctx: RequestContext,
    parse: () => P,
    answer: (parsed: P) => Promise<BulkResponse>,
  ): Promise<{ parsed: P; answer: BulkResponse }> {
    const earlier = await replay(ctx);
    // After the replay, whose 422 comes first; a stored answer's body (same hash) parsed before.
    const parsed = parse();
    if (earlier) return { parsed, answer: earlier };
    try {
      return { parsed, answer: await answer(parsed) };
    } catch (err) {
      if (!(err instanceof IdempotencyRace)) throw err;
      // A twin with the same key committed while this one ran; this one's writes were rolled back.
      return { parsed, answer: (await replay(ctx)) as BulkResponse };
    }
  }

  /**
   * A bulk endpoint (`enrolAndEarn`, `directEarn`, `revokeEnrolAndEarn`, `revokeDirectEarn`): the
   * whole-request checks, then each customer in request order, all written in one transaction with a
   * fixed number of statements. With an Idempotency-Key, a repeat gets the first answer and writes nothing.
   */
  async function bulk(ctx: RequestContext, body: unknown, endpoint: BulkEndpoint): Promise<BulkAnswer> {
    const { parsed, answer } = await once(
      ctx,
      () => parseBulkRequest(body, endpoint),
      async (request) => run(ctx, request, endpoint, await findPromotion(ctx.actor.orgId, request, endpoint)),
    );
    return { action: parsed.action, answer };
  }

  /**
   * `POST /v2/promotion/issue`: one customer named in the query string. On a DIRECT promotion it
   * issues (EARN), on an ENROL_AND_ISSUE one it enrols (the issue-promotion page: "enrols the
   * customer, but does not issue"); the rules, and the idempotency, are the bulk ones.
   */
  async function issue(ctx: RequestContext, query: IssueQuery, body: unknown): Promise<IssueAnswer> {
    const { answer } = await once(
      ctx,
      () => parseIssueRequest(query, body),
      async (request) => {
        const promotion = await findPromotion(ctx.actor.orgId, request, ISSUE_ENDPOINT);
        const action = promotion.type === 'DIRECT' ? 'EARN' : 'ENROL';
        return run(ctx, { ...request, action }, ISSUE_ENDPOINT, promotion);
      },
    );
    return issueAnswer(answer);
  }

  return {
    bulk,
    issue,
    /**
     * Server-side jobs (src/jobs): checks 9 to 12 of a request whose customers come later, so that a
     * job is refused at once with the codes a 100-customer request would get.
     */
    checkPromotion: (orgId: number, request: ParsedBulkRequest): Promise<Promotion> =>
      findPromotion(orgId, request, { actions: [request.action] }),
    /**
     * Server-side jobs: one request's worth of customers (parsed by parseBulkRequest, so with the same
     * checks) inside the caller's transaction, which the job's progress shares. The same path as a
     * 100-customer request, so every row gets that request's rules, codes and writes.
     */
    applyInTransaction: apply,
    /** Server-side jobs: the events of a chunk that has committed (see onEvents). */
    committed: (events: readonly NewEvent[]): void => onEvents?.(events),
  };
}

/** `issue` as a bulk endpoint: ENROL or EARN by the promotion's type, limits as its pages show them. */
const ISSUE_ENDPOINT: BulkEndpoint = { actions: ['ENROL', 'EARN'], pageLimits: true };
