/**
 * What of a request URL may be written to a log. A query string carries customers' identifiers
 * (lookups by mobile or email) and, from a misconfigured client, credentials: the first are masked,
 * the second dropped to their name, so a log line tells an operator which call it was and nothing
 * a reader of the log could use.
 */

// Parameters that look like a credential, whatever their case or separators.
const CREDENTIAL = /token|key|secret|passw|pwd|auth|signature|credential|session|cookie|code/i;
// Parameters that hold a customer's identity.
const PERSONAL = /^(identifiervalue|mobile|email|externalid|phone|customerid|username|user)$/i;

export const MASK = '***';

/** The URL with personal query values masked and credential-like ones removed. */
export function loggableUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const parts = url
    .slice(at + 1)
    .split('&')
    .filter((p) => p !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const raw = eq < 0 ? pair : pair.slice(0, eq);
      let name = raw;
      try {
        name = decodeURIComponent(raw.replace(/\+/g, ' '));
      } catch {
        // an undecodable name is judged as it was sent
      }
      const flat = name.replace(/[\s_.-]/g, '');
      if (CREDENTIAL.test(flat) || PERSONAL.test(flat)) return `${raw}=${MASK}`;
      return pair;
    });
  return `${url.slice(0, at)}?${parts.join('&')}`;
}
