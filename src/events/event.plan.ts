import type { BulkItem } from '../client/types.js';
import type { PlanCustomer } from '../promotions/bulk-item.js';
import type { ActiveEarn, NewEarn, NewIssual, WriteStamp } from '../promotions/enrolment.repository.js';
import type { Promotion } from '../promotions/promotion.model.js';
import { type EventData, type NewEvent, newEvent } from './event.model.js';

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

/**
 * `JSON.stringify` of base()'s data, and of it with an earnedId, from text made once a request: a
 * request's hundred events share all but their customer, source and ids, and JSON.stringify of each
 * took about a tenth of the server's time on a request outside the store. Its fields are base()'s,
 * in base()'s order (the unit tests compare it with JSON.stringify of that data); a number's text
 * (String) needs no escaping.
 */
function baseJson(promotion: Promotion, stamp: WriteStamp) {
  const head =
    `{"programId":${JSON.stringify(promotion.programId)},"promotionId":${JSON.stringify(promotion.id)}` +
    (promotion.promoIdentifier !== null
      ? `,"promoIdentifier":${JSON.stringify(promotion.promoIdentifier)}`
      : '') +
    ',"customerId":';
  const tail = `,"requestId":${JSON.stringify(stamp.requestId)},"credential":${JSON.stringify(stamp.by)}`;
  const sources = new Map<string, string>();
  return (customerId: number, source: string, issualId: number, earnedId?: number): string => {
    let quoted = sources.get(source);
    if (quoted === undefined) {
      quoted = JSON.stringify(source);
      sources.set(source, quoted);
    }
    const earned = earnedId === undefined ? '' : `,"earnedId":"${String(earnedId)}"`;
    return `${head}${JSON.stringify(customerId)},"issualId":"${String(issualId)}","source":${quoted}${tail}${earned}}`;
  };
}

/** ENROL and EARN: an event per issual created, then one per earn created (an earn after its issual). */
export function grantEvents(
  promotion: Promotion,
  stamp: WriteStamp,
  issuals: readonly NewIssual[],
  earns: readonly NewEarn[],
): NewEvent[] {
  const json = baseJson(promotion, stamp);
  const events: NewEvent[] = [];
  for (const i of issuals) {
    events.push({ type: 'promotion.enrolled', json: json(i.customerId, i.source, i.id) });
  }
  for (const e of earns) {
    events.push({ type: 'promotion.earned', json: json(e.customerId, e.source, e.issualId, e.id) });
  }
  return events;
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
      events.push(
        newEvent(
          'promotion.enrolment_revoked',
          base(promotion, stamp, customer.id, customer.source, Number(result.revokedIssualId)),
        ),
      );
    }
    for (const earnedId of result.revokedEarnIds ?? []) {
      const issualId = issualOf.get(earnedId) ?? Number(result.revokedIssualId ?? result.issualId);
      // Events keep their string ids (docs/events.md), whatever the revoke page answers.
      events.push(
        newEvent('promotion.earn_revoked', {
          ...base(promotion, stamp, customer.id, customer.source, issualId),
          earnedId: String(earnedId),
        }),
      );
    }
  });
  return events;
}
