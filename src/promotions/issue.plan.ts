import type { BulkResponse, IssueResponse } from '../client/types.js';
import type { IssueRefusal } from '../contract/v2.contract.js';

export type { IssueQuery } from './bulk-request.js';

/** The answer of `issue`: granted (HTTP 200, with sideEffects) or refused (HTTP 400, without). */
export type IssueAnswer = IssueResponse | IssueRefusal;

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
