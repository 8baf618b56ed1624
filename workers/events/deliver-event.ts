import { parseStoredEvent } from '../../shared/order-events';
import type { DeliveryRows } from './delivery-rows';
import type { PlatformClient } from './platform';

export interface DeliverEventDeps {
  events: DeliveryRows;
  platform: PlatformClient;
  /** Runs database work (the worker passes its breaker); the HTTP call stays outside it. */
  db<T>(work: () => Promise<T>): Promise<T>;
}

export type DeliveryOutcome =
  | { kind: 'delivered'; occurredAt: Date }
  /** Nothing to send: the row is gone, or an earlier delivery was acknowledged already. */
  | { kind: 'skipped'; reason: 'missing' | 'already delivered' }
  | { kind: 'failed'; reason: string; dead: boolean };

/**
 * The stored row cannot become a contract body (a bug or a hand-edited row). Retrying would
 * not help; the event goes DEAD at once so an operator sees it.
 */
export class UndeliverableEvent extends Error {
  constructor(
    readonly eventId: string,
    detail: string,
  ) {
    super(`event ${eventId} cannot be delivered: ${detail}`);
    this.name = 'UndeliverableEvent';
  }
}

/**
 * Delivers one outbox event at least once: loads the row, POSTs the signed body, and records
 * the answer on the row — DELIVERED on a 2xx, otherwise one more attempt with its reason (DEAD
 * when `lastAttempt`). A DEAD row is still sent: someone retried its job on purpose.
 */
export async function deliverEvent(
  deps: DeliverEventDeps,
  eventId: string,
  { lastAttempt }: { lastAttempt: boolean },
): Promise<DeliveryOutcome> {
  const row = await deps.db(() => deps.events.find(eventId));
  if (!row) return { kind: 'skipped', reason: 'missing' };
  if (row.status === 'DELIVERED') return { kind: 'skipped', reason: 'already delivered' };

  const event = parseStoredEvent(row.id, row.type, row.occurredAt.toISOString(), row.payload);
  if ('invalid' in event) {
    await deps.db(() => deps.events.markFailed(eventId, event.invalid, true, new Date()));
    throw new UndeliverableEvent(eventId, event.invalid);
  }

  const answer = await deps.platform.send(event);
  if (answer.ok) {
    await deps.db(() => deps.events.markDelivered(eventId));
    return { kind: 'delivered', occurredAt: row.occurredAt };
  }
  await deps.db(() => deps.events.markFailed(eventId, answer.reason, lastAttempt, new Date()));
  return { kind: 'failed', reason: answer.reason, dead: lastAttempt };
}
