import type { BulkResponse, IssueResponse } from '../client/types.js';
import { CUSTOMER_IDENTIFIER_NAMES, isOneOf, SOURCES } from '../contract/enums.contract.js';
import type { IssueRefusal } from '../contract/v2.contract.js';
import { AppError } from '../errors.js';
import { type ParsedBulkRequest, parseCustomer, parsePromotionDetails } from './bulk-request.js';

/** The query string of `issue`, as it arrives (a parameter given twice is an array). */
export interface IssueQuery {
  identifierName?: unknown;
  identifierValue?: unknown;
  source?: unknown;
  type?: unknown;
  accountId?: unknown;
}

/** The answer of `issue`: granted (HTTP 200, with sideEffects) or refused (HTTP 400, without). */
export type IssueAnswer = IssueResponse | IssueRefusal;

const given = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * `issue`'s checks, in the order of its pages' error table: the entity type (1212), the customer's
 * query parameters (11013, 8013, 8003), then the body (8881); the program, the promotion and the
 * customer follow as in a bulk request. The action is EARN until the promotion's type is known.
 */
export function parseIssue(query: IssueQuery, body: unknown): ParsedBulkRequest {
  const { identifierName, identifierValue, source, type } = query ?? {};
  if (type !== undefined && type !== 'CUSTOMER') throw new AppError(1212);
  if (!given(identifierName) || !given(identifierValue) || !given(source)) throw new AppError(11013);
  if (!isOneOf(CUSTOMER_IDENTIFIER_NAMES, identifierName)) throw new AppError(8013);
  const customer = parseCustomer({ identifierValue, source }, identifierName, SOURCES);
  if (customer.kind === 'error') throw new AppError(customer.code);
  const promotion = parsePromotionDetails(body);
  if (!promotion) throw new AppError(8881);
  return { action: 'EARN', ...promotion, identifierName, customers: [customer] };
}

/**
 * The one-customer bulk answer as `issue`'s pages show it: side effects with numeric ids and
 * `type: "Points promotion"` (no earnedId on an enrolment; none at all at a limit), or the
 * customer's error alone, without sideEffects.
 */
export function issueAnswer(answer: BulkResponse): IssueAnswer {
  const item = answer.response[0];
  if (!item || item.errors.length > 0) return { warnings: [], errors: item?.errors ?? [] };
  const result = item.result;
  return {
    warnings: item.warnings,
    errors: [],
    sideEffects:
      result?.issualId !== undefined && result.promotionId !== undefined
        ? [
            {
              programId: result.programId,
              issualId: Number(result.issualId),
              ...(result.earnedId !== undefined ? { earnedId: Number(result.earnedId) } : {}),
              promotionId: result.promotionId,
              type: 'Points promotion',
            },
          ]
        : [],
  };
}
