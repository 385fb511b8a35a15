import type { ConsoleRole } from '../contract/enums.contract.js';

/** What a console call asks for: its method, its route's pattern, and the org it names, if any. */
export interface ConsoleCall {
  method: string;
  /** The route as registered, e.g. `/admin/v1/orgs/:orgId/tills`. */
  route: string;
  /** The org named by the path or the query; undefined for a deployment-level call. */
  orgId: number | undefined;
}

export interface ConsoleCallerScope {
  role: ConsoleRole;
  /** null: every org. */
  orgIds: readonly number[] | null;
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

const READS = new Set(['GET', 'HEAD']);
// An operator runs the promotions: edits them, enrols, earns and revokes, imports customers, runs jobs.
const OPERATOR_WRITES = /^\/(admin\/v1|console\/api)\/orgs\/:orgId\/(promotions|customers|jobs)(\/|$)/;
const USERS = /^\/admin\/v1\/users(\/|$)/;

/**
 * Whether a console user may make a call: viewer reads; operator also acts on promotions, customers
 * and jobs; admin also manages credentials, webhooks, orgs and users. A user limited to some orgs acts
 * only on those, and never on the deployment as a whole (users, new orgs, the whole audit log).
 * The server decides with this on every console call; the page only mirrors it.
 */
export function consoleMayCall(caller: ConsoleCallerScope, call: ConsoleCall): Decision {
  const everyOrg = caller.orgIds === null;
  if (USERS.test(call.route)) {
    return caller.role === 'admin' && everyOrg
      ? { allowed: true }
      : { allowed: false, reason: 'Only an admin of every org manages console users' };
  }
  if (call.orgId === undefined) {
    if (!everyOrg) return { allowed: false, reason: 'Name one of your orgs' };
  } else if (!everyOrg && !caller.orgIds?.includes(call.orgId)) {
    return { allowed: false, reason: `You may not act on org ${call.orgId}` };
  }
  if (READS.has(call.method)) return { allowed: true };
  if (caller.role === 'admin') return { allowed: true };
  if (caller.role === 'operator' && OPERATOR_WRITES.test(call.route)) return { allowed: true };
  return { allowed: false, reason: `A ${caller.role} may not make this change` };
}
