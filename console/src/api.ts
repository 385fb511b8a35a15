/** Calls of the console to its server: the session cookie goes by itself, the CSRF token by header. */

export interface Session {
  username: string;
  role: 'viewer' | 'operator' | 'admin';
  orgIds: number[] | null;
  csrfToken: string;
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: (() => void) | undefined;

export function useSession(session: Session | null, signedOut: () => void): void {
  csrfToken = session?.csrfToken ?? '';
  onSignedOut = signedOut;
}

export async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  return send<T>(method, url, headers, body === undefined ? undefined : JSON.stringify(body));
}

/** Uploads a CSV file as the request's body (a bulk job): streamed by the browser, never parsed here. */
export function upload<T>(url: string, file: Blob): Promise<T> {
  return send<T>('POST', url, { 'content-type': 'text/csv' }, file);
}

async function send<T>(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | Blob | undefined,
): Promise<T> {
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  // Calls in flight, on the page's root element: tests (and screenshots) wait for it to reach 0.
  const root = document.documentElement;
  root.dataset.pending = String(Number(root.dataset.pending ?? 0) + 1);
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body } : {}),
    });
    text = await res.text();
  } finally {
    root.dataset.pending = String(Number(root.dataset.pending) - 1);
  }
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    // The session ended (idle, too old, signed out elsewhere): back to the sign-in form.
    if (res.status === 401 && url !== '/console/api/session') onSignedOut?.();
    // The management API answers {error: {code, message}}; jobs answer the v2 {errors: [{code, message}]}.
    const answer = (data ?? {}) as {
      error?: { code?: string; message?: string };
      errors?: { code?: number; message?: string }[];
    };
    const error = answer.error ?? answer.errors?.[0] ?? {};
    const code = String(error.code ?? res.status);
    const message = error.message ?? res.statusText;
    throw new ApiError(res.status, code, /^\d+$/.test(code) ? `${message} (${code})` : message);
  }
  return data as T;
}

/** What a role may change: the server decides; the page only hides what it would refuse. */
export const can = {
  operate: (s: Session) => s.role === 'operator' || s.role === 'admin',
  administer: (s: Session) => s.role === 'admin',
};

export const messageOf = (err: unknown) =>
  err instanceof ApiError && err.status === 404 && err.code === 'not_found'
    ? 'Not available on this server yet.'
    : err instanceof Error
      ? err.message
      : String(err);
