import type { LedgerEntry } from '../../shared/db/repositories/balances';
import type { NewEvent } from '../../shared/db/repositories/events';
import type { NewOrder } from '../../shared/db/repositories/orders';
import { uuidv7 } from '../../shared/ids';
import { ORDER_PAID, type OrderPaidPayload } from '../../shared/order-events';
import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';
import type { PricedItem, Refusal } from './decide-orders';

/** The rows a paid order writes (order, outbox event) and the view clients then see. */
export function paidRecords(
  job: OrderJob,
  priced: readonly PricedItem[],
  total: number,
  paidAt: Date,
): { order: NewOrder; event: NewEvent; view: OrderView } {
  const items = priced.map((i) => ({ ...i, subtotal: i.unitPrice * i.quantity }));
  const order: NewOrder = {
    id: job.orderId,
    userId: job.userId,
    status: 'PAID',
    totalAmount: total,
    failureCode: null,
    idempotencyKey: job.idempotencyKey,
    requestId: job.requestId ?? null,
    createdAt: new Date(job.acceptedAt),
    paidAt,
    cancelledAt: null,
    refundedAmount: null,
    updatedAt: paidAt,
  };
  const payload: OrderPaidPayload = {
    orderId: job.orderId,
    userId: job.userId,
    items,
    totalAmount: total,
    paidAt: paidAt.toISOString(),
  };
  const view: OrderView = {
    orderId: job.orderId,
    userId: job.userId,
    status: 'PAID',
    items,
    totalAmount: total,
    failureCode: null,
    createdAt: job.acceptedAt,
    paidAt: paidAt.toISOString(),
    cancelledAt: null,
    refundedAmount: null,
    updatedAt: paidAt.toISOString(),
  };
  const event: NewEvent = {
    id: uuidv7(),
    orderId: job.orderId,
    type: ORDER_PAID,
    occurredAt: paidAt,
    payload,
  };
  return { order, event, view };
}

/** The ledger row of an order's debit. */
export function ledgerEntry(job: OrderJob, total: number, balanceAfter: number): LedgerEntry {
  return {
    userId: job.userId,
    sourceType: 'order',
    sourceId: job.orderId,
    delta: -total,
    balanceAfter,
  };
}

/** The order row of a refused order. */
export function failedRecord(job: OrderJob, refusal: Refusal, failedAt: Date): NewOrder {
  return {
    id: job.orderId,
    userId: job.userId,
    status: 'FAILED',
    totalAmount: refusal.totalAmount,
    failureCode: refusal.code,
    idempotencyKey: job.idempotencyKey,
    requestId: job.requestId ?? null,
    createdAt: new Date(job.acceptedAt),
    paidAt: null,
    cancelledAt: null,
    refundedAmount: null,
    updatedAt: failedAt,
  };
}

export function failedView(job: OrderJob, refusal: Refusal, failedAt: Date): OrderView {
  return {
    orderId: job.orderId,
    userId: job.userId,
    status: 'FAILED',
    items: refusal.items.map((i) => ({
      ...i,
      subtotal: i.unitPrice === null ? null : i.unitPrice * i.quantity,
    })),
    totalAmount: refusal.totalAmount,
    failureCode: refusal.code,
    createdAt: job.acceptedAt,
    paidAt: null,
    cancelledAt: null,
    refundedAmount: null,
    updatedAt: failedAt.toISOString(),
  };
}

/** The placeholder row of an order put ON_HOLD, for operators reading SQL. */
export function onHoldRecord(job: OrderJob, at: Date): NewOrder {
  return {
    id: job.orderId,
    userId: job.userId,
    status: 'ON_HOLD',
    totalAmount: null,
    failureCode: null,
    idempotencyKey: job.idempotencyKey,
    requestId: job.requestId ?? null,
    createdAt: new Date(job.acceptedAt),
    paidAt: null,
    cancelledAt: null,
    refundedAmount: null,
    updatedAt: at,
  };
}
