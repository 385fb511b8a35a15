import { type AdminCode, type ApiCode, ERROR_TABLE, type ErrorCode } from './errors.js';

/** Which family of error body a route answers with (contract section 4, and ours for /admin). */
export type EnvelopeKind = 'bulk' | 'v2' | 'oauth' | 'admin';

export interface ErrorReply {
  status: number;
  code: ErrorCode;
  message: string;
  field?: string;
}

const ADMIN_CODE_BY_STATUS: Record<number, AdminCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'unauthorized',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** The body of an error answer, in the envelope its route speaks. */
export function errorBody(kind: EnvelopeKind, error: ErrorReply): unknown {
  if (kind === 'admin') {
    const code =
      typeof error.code === 'string' ? error.code : (ADMIN_CODE_BY_STATUS[error.status] ?? 'internal');
    const message = typeof error.code === 'string' ? error.message : ERROR_TABLE[code].message;
    return { error: { code, message, ...(error.field ? { field: error.field } : {}) } };
  }
  const code = typeof error.code === 'number' ? error.code : (error.status as ApiCode);
  const item = { status: false, code, message: error.message };
  // 401 and 403 keep Capillary's plain shape on every /v2 endpoint; the rest of a bulk endpoint's
  // errors come as a one-item bulk response.
  if (kind === 'bulk' && error.status !== 401 && error.status !== 403) {
    return { response: [{ errors: [item], warnings: [] }], totalCount: 1, failureCount: 1 };
  }
  if (kind === 'oauth') return { data: null, errors: [item] };
  return { warnings: [], errors: [item] };
}
