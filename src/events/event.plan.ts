import type { BulkItem } from '../client/types.js';
import type { PlanCustomer } from '../promotions/bulk-item.js';
import type { ActiveEarn, NewEarn, NewIssual, WriteStamp } from '../promotions/enrolment.repository.js';
import type { Promotion } from '../promotions/promotion.model.js';
import type { EventData, NewEvent } from './event.model.js';

/**
 * The events of one request's writes: pure, so that "one event per record created or revoked, none
 * for a refused customer" is tested without a store. The service writes them in the transaction
 * that writes the records.
 */

function base(promotion: Promotion, stamp: WriteStamp, customerId: number, source: string, issualId: number) {
  return {
    programId: promotion.programId,
    promotionId: promotion.id,
    ...(promotion.promoIdentifier !== null ? { promoIdentifier: promotion.promoIdentifier } : {}),
    customerId,
    issualId: String(issualId),
    source,
    requestId: stamp.requestId,
    credential: stamp.by,
  } satisfies EventData;
}

/** ENROL and EARN: an event per issual created, then one per earn created (an earn after its issual). */
export function grantEvents(
  promotion: Promotion,
  stamp: WriteStamp,
  issuals: readonly NewIssual[],
  earns: readonly NewEarn[],
): NewEvent[] {
  return [
    ...issuals.map(
      (i): NewEvent => ({
        type: 'promotion.enrolled',
        data: base(promotion, stamp, i.customerId, i.source, i.id),
      }),
    ),
    ...earns.map(
      (e): NewEvent => ({
        type: 'promotion.earned',
        data: { ...base(promotion, stamp, e.customerId, e.source, e.issualId), earnedId: String(e.id) },
      }),
    ),
  ];
}

/**
 * REVOKE_ENROL and REVOKE_EARN: an event per issual revoked and per earn revoked, in request order,
 * carrying the revoking request's id, credential and the source it gave for the customer.
 */
export function revokeEvents(
  promotion: Promotion,
  stamp: WriteStamp,
  customers: readonly PlanCustomer[],
  items: readonly BulkItem[],
  activeEarns: readonly ActiveEarn[],
): NewEvent[] {
  const issualOf = new Map(activeEarns.map((e) => [e.id, e.issualId]));
  const events: NewEvent[] = [];
  items.forEach((item, i) => {
    const customer = customers[i];
    const result = item.result;
    if (!result || item.errors.length > 0 || customer === undefined || typeof customer === 'number') return;
    if (result.revokedIssualId !== undefined) {
      events.push({
        type: 'promotion.enrolment_revoked',
        data: base(promotion, stamp, customer.id, customer.source, Number(result.revokedIssualId)),
      });
    }
    for (const earnedId of result.revokedEarnIds ?? []) {
      const issualId = issualOf.get(earnedId) ?? Number(result.revokedIssualId ?? result.issualId);
      events.push({
        type: 'promotion.earn_revoked',
        // Events keep their string ids (docs/events.md), whatever the revoke page answers.
        data: {
          ...base(promotion, stamp, customer.id, customer.source, issualId),
          earnedId: String(earnedId),
        },
      });
    }
  });
  return events;
}
