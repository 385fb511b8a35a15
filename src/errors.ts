import type { ApiMessage } from './contract/common.contract.js';

/**
 * Every error this service can answer with, in one table: its HTTP status and default message.
 * Numeric codes are the Capillary-compatible ones of the /v2 API (HTTP-like numbers are used where
 * Capillary uses the HTTP status as the code); string codes belong to the management API.
 */
export const ERROR_TABLE = {
  // Transport and authentication, shared by every API.
  400: { status: 400, message: 'Invalid JSON body' },
  401: { status: 401, message: 'Authentication failed. Please check username and password.' },
  4000: { status: 403, message: 'Not authorized. Access is denied!' },
  404: { status: 404, message: 'Not found' },
  405: { status: 405, message: 'Method not allowed' },
  // A bulk job's cancel or undo that its state forbids (the job has finished, or is still running).
  409: { status: 409, message: 'The job is not in a state that allows this' },
  413: { status: 413, message: 'Request body is too large' },
  415: { status: 415, message: 'Content-Type must be application/json' },
  422: { status: 422, message: 'Idempotency-Key was already used with a different request' },
  429: { status: 429, message: 'Too many requests' },
  500: { status: 500, message: 'Internal server error' },
  503: { status: 503, message: 'Service unavailable, try again later' },

  // Whole-request rejections of the bulk endpoints, in the order they are checked.
  8899: { status: 400, message: 'Cannot enrol/issue to the user group.' },
  8901: { status: 400, message: 'invalid entity type passed' },
  8902: { status: 400, message: 'bulk action passed not supported' },
  8881: {
    status: 400,
    message:
      'Insufficient parameters passed; program ID and one of the promotion ID/identifiers are required',
  },
  11013: { status: 400, message: 'identifierName, identifierValue, source can not be empty' },
  8013: { status: 400, message: 'identifierName is invalid' },
  1060: { status: 400, message: 'Batch limit size exceeded' },
  1101: { status: 400, message: 'invalid programId passed' },
  8874: { status: 400, message: 'promotion id passed is invalid' },
  8892: { status: 400, message: 'promotion is inactive' },
  // `issue`: an entity type other than CUSTOMER in the query string.
  1212: { status: 400, message: 'Entity type invalid' },

  // Per-customer outcomes (they travel inside a 200/201 response, never as a status of their own).
  8003: { status: 400, message: 'Invalid source' },
  8015: { status: 400, message: 'Customer not found for the given identifiers' },
  8890: { status: 200, message: 'Customer is already enrolled' },
  8896: { status: 400, message: 'Error occurred while issuing promotion to the customer' },
  8903: { status: 400, message: 'Earn IDs passed are either invalid or already revoked' },
  2305: { status: 400, message: 'Active issued promotion is not available for the customer' },
  // Ours: REVOKE_ENROL of a customer whose earns are still active (Capillary: revoke them first).
  8905: { status: 400, message: 'Issued promotions must be revoked before the customer can be unenrolled' },

  // Management API.
  invalid_request: { status: 400, message: 'The request is malformed' },
  unauthorized: { status: 401, message: 'A valid admin bearer token is required' },
  forbidden: { status: 403, message: 'Your role or org scope does not allow this' },
  not_found: { status: 404, message: 'No such record' },
  conflict: { status: 409, message: 'The record conflicts with an existing one' },
  payload_too_large: { status: 413, message: 'Request body is too large' },
  unsupported_media_type: { status: 415, message: 'Content-Type must be application/json' },
  internal: { status: 500, message: 'Internal server error' },
  unavailable: { status: 503, message: 'Service unavailable, try again later' },
  too_many_requests: { status: 429, message: 'Too many failed sign-ins from this address, try again later' },
} as const satisfies Record<string | number, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;
export type ApiCode = Extract<ErrorCode, number>;
export type AdminCode = Extract<ErrorCode, string>;

export const MESSAGES = {
  commitOutcomeUnknown:
    'Service unavailable: the store went away while this request was being committed, so it may have ' +
    'been written. Send it again with the same Idempotency-Key to get its answer',
  unsupportedForPromotionType: 'bulk action passed not supported for loyalty/generic promotion type',
  issualLimitReached: 'Customer has reached the maximum number of enrolments for this promotion',
  earnLimitReached: 'Customer has reached the maximum number of earns for this promotion',
  // The messages of the family's own pages, where they differ from the seed page's.
  notIssuedLimits: 'promotion not issued due to config issues or customer exhausted limits',
  revokeUnsupported: 'revoke bulk action passed not supported for loyalty/generic promotion type',
  userGroupDirect: 'Cannot enrol/issue to the user group',
  insufficientDirect:
    'insufficient parameters passed, program id and one of promotion id/identifier are required',
} as const;

/** An error the service means to answer with; anything else that is thrown is a 500. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** For management API validation errors: the offending field, as a JSON path. */
    readonly field?: string,
  ) {
    super(message ?? ERROR_TABLE[code].message);
    this.name = 'AppError';
    this.status = ERROR_TABLE[code].status;
  }
}

/** The `{status: false, code, message}` item that both errors and warnings of the /v2 API use. */
export type { ApiMessage };

export function apiMessage(code: ApiCode, message?: string): ApiMessage {
  return { status: false, code, message: message ?? ERROR_TABLE[code].message };
}

export const badRequest = (field: string, message: string) => new AppError('invalid_request', message, field);
