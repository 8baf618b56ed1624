import type { Sequelize, Transaction } from 'sequelize';
import type { BalancesRepository } from '../../shared/db/repositories/balances';
import type {
  CancellationOutcome,
  CancellationsRepository,
} from '../../shared/db/repositories/cancellations';
import type { EventsRepository } from '../../shared/db/repositories/events';
import { toOrderView, type OrdersRepository } from '../../shared/db/repositories/orders';
import type { StockRepository } from '../../shared/db/repositories/stock';
import { inTransaction } from '../../shared/db/transaction';
import { uuidv7 } from '../../shared/ids';
import { ORDER_CANCELLED, type OrderCancelledPayload } from '../../shared/order-events';
import type { CancellationResult } from '../../shared/metrics';
import type { CancellationJob } from '../../shared/queues/cancellations';
import type { CancellationView, OrderView } from '../../shared/views';

export interface CancelOrderDeps {
  sequelize: Sequelize;
  orders: OrdersRepository;
  cancellations: CancellationsRepository;
  stock: StockRepository;
  balances: BalancesRepository;
  events: EventsRepository;
  /** As for orders: told a recorded event's id once its transaction committed; never throws. */
  eventRecorded?(eventId: string): void;
  /** Told what each committed cancellation found and refunded (metrics); never throws. */
  applied?(result: CancellationResult, refunded: number): void;
}

interface Applied {
  view: CancellationView;
  result: CancellationResult;
  refunded: number;
  eventId: string | null;
}

/** The cancellation is already recorded: roll back, then read what it came to. */
class AlreadyRecorded extends Error {
  constructor() {
    super('a unique key of order_cancellations already holds the cancellation');
    this.name = 'AlreadyRecorded';
  }
}

/** Lookups after a duplicate before giving up: a conflict nobody holds any more is retried. */
const MAX_ROUNDS = 3;

/**
 * Applies an accepted cancellation exactly once and returns its final view, with the order as
 * it left it. In ONE transaction, locking as every writer does (the order's products, then its
 * user, ascending; then the order's row):
 *
 * - the order PAID: CANCELLED, every item's quantity back to stock, the total refunded to the
 *   balance with a `refund` ledger row, one `order.cancelled` event;
 * - the order not applied yet (no row: its job is still on its way): a CANCELLED row with the
 *   order's own id, items and idempotency key, refunded 0 — applying the order later meets the
 *   row and takes its outcome, so it never will be applied; an ON_HOLD placeholder likewise;
 * - the order CANCELLED already: nothing changes; FAILED: it stays FAILED.
 *
 * The cancellation's own row (order_cancellations) is its exactly-once: a redelivery meets it
 * and answers what the first delivery did. A refund the balance limit refuses throws, so the job
 * is retried and at last put ON_HOLD for an operator: the contract has no failed cancellation.
 */
export async function cancelOrder(
  deps: CancelOrderDeps,
  job: CancellationJob,
): Promise<CancellationView> {
  let replacing = false;
  // The items decide which rows to lock first (every order's items are fixed once accepted).
  const items = (await deps.orders.findView(job.orderId))?.items ?? job.order?.items;
  if (!items) throw new Error(`order ${job.orderId} is neither recorded nor described by the job`);
  const productIds = [...new Set(items.map((i) => i.productId))].sort((a, b) => a - b);
  for (let round = 1; ; round++) {
    try {
      const done = await inTransaction(deps.sequelize, (tx) =>
        cancelInTransaction(deps, tx, job, productIds, replacing),
      );
      if (done.eventId) deps.eventRecorded?.(done.eventId);
      deps.applied?.(done.result, done.refunded);
      return done.view;
    } catch (error) {
      if (!(error instanceof AlreadyRecorded) || round >= MAX_ROUNDS) throw error;
    }
    const recorded = await deps.cancellations.findRecorded(job);
    if (recorded?.heldBy === 'id' && recorded.record.outcome === 'ON_HOLD') {
      replacing = true;
    } else if (recorded) {
      const order = await deps.orders.findView(recorded.record.orderId);
      return cancellationView(job, recorded.record.outcome, order);
    }
  }
}

function cancellationView(
  job: CancellationJob,
  outcome: CancellationOutcome,
  order: OrderView | null,
): CancellationView {
  return {
    cancellationId: job.cancellationId,
    orderId: job.orderId,
    userId: job.userId,
    status: outcome === 'ON_HOLD' ? 'ON_HOLD' : 'COMPLETED',
    outcome: outcome === 'ON_HOLD' ? null : outcome,
    createdAt: job.acceptedAt,
    order,
  };
}

async function cancelInTransaction(
  deps: CancelOrderDeps,
  tx: Transaction,
  job: CancellationJob,
  productIds: readonly number[],
  replacing: boolean,
): Promise<Applied> {
  await deps.stock.lockForOrders(tx, productIds, [job.userId]);
  const order = await deps.orders.lockView(tx, job.orderId);
  if (order && order.userId !== job.userId) {
    throw new Error(`order ${job.orderId} is not the cancelling user's`);
  }

  const now = new Date();
  if (replacing) await deps.cancellations.deleteOnHold(tx, job.cancellationId);
  const recorded = await deps.cancellations.insert(tx, {
    id: job.cancellationId,
    orderId: job.orderId,
    userId: job.userId,
    idempotencyKey: job.idempotencyKey,
    outcome: order?.status === 'FAILED' ? 'FAILED' : 'CANCELLED',
    requestId: job.requestId ?? null,
    createdAt: new Date(job.acceptedAt),
  });
  if (recorded === 'duplicate') throw new AlreadyRecorded();

  if (!order) {
    const view = cancellationView(job, 'CANCELLED', await markNeverApplied(deps, tx, job, now));
    return { view, result: 'never_applied', refunded: 0, eventId: null };
  }
  if (order.status === 'FAILED' || order.status === 'CANCELLED') {
    return {
      view: cancellationView(job, order.status, order),
      result: order.status === 'FAILED' ? 'order_failed' : 'already_cancelled',
      refunded: 0,
      eventId: null,
    };
  }
  const cancelled = (refundedAmount: number): OrderView => ({
    ...order,
    status: 'CANCELLED',
    cancelledAt: now.toISOString(),
    refundedAmount,
    updatedAt: now.toISOString(),
  });
  if (order.status === 'PAID') {
    const eventId = await refund(deps, tx, job, order, now);
    const total = order.totalAmount ?? 0;
    const view = cancellationView(job, 'CANCELLED', cancelled(total));
    return { view, result: 'refunded', refunded: total, eventId };
  }
  // ON_HOLD placeholder (or a state only a hand-edited row has): never applied, never will be.
  if (!(await deps.orders.markCancelled(tx, order.orderId, order.status, 0, now))) {
    throw new Error(`order ${job.orderId} changed under its lock`);
  }
  const view = cancellationView(job, 'CANCELLED', cancelled(0));
  return { view, result: 'never_applied', refunded: 0, eventId: null };
}

/**
 * The row of an order not applied yet, CANCELLED with nothing refunded: its own id, items and
 * idempotency key, so applying the order later meets it and takes its outcome.
 */
async function markNeverApplied(
  deps: CancelOrderDeps,
  tx: Transaction,
  job: CancellationJob,
  now: Date,
): Promise<OrderView> {
  const snapshot = job.order;
  if (!snapshot) throw new Error(`order ${job.orderId} has no row and no snapshot`);
  const items = snapshot.items.map((item) => ({ ...item, unitPrice: null }));
  const row = {
    id: job.orderId,
    userId: job.userId,
    status: 'CANCELLED' as const,
    totalAmount: null,
    failureCode: null,
    idempotencyKey: snapshot.idempotencyKey,
    requestId: null,
    createdAt: new Date(snapshot.acceptedAt),
    paidAt: null,
    cancelledAt: now,
    refundedAmount: 0,
    updatedAt: now,
  };
  if ((await deps.orders.insert(tx, row, items)) === 'duplicate') {
    throw new Error(`order ${job.orderId}: its idempotency key holds another order`);
  }
  return toOrderView(row, items);
}

/** The refund of a locked PAID order: stock, balance, ledger, event. Returns the event's id. */
async function refund(
  deps: CancelOrderDeps,
  tx: Transaction,
  job: CancellationJob,
  order: OrderView,
  now: Date,
): Promise<string> {
  const total = order.totalAmount ?? 0;
  if (!(await deps.orders.markCancelled(tx, order.orderId, 'PAID', total, now))) {
    throw new Error(`order ${order.orderId} changed under its lock`);
  }
  const quantities = new Map<number, number>();
  for (const item of order.items) {
    quantities.set(item.productId, (quantities.get(item.productId) ?? 0) + item.quantity);
  }
  if (!(await deps.stock.returnLocked(tx, quantities))) {
    throw new Error(`order ${order.orderId}: a product sold fewer units than it returns`);
  }
  if (order.paidAt !== null) {
    await deps.stock.removeSalesLocked(
      tx,
      new Date(order.paidAt),
      order.items.map((i) => ({ ...i, unitPrice: i.unitPrice ?? 0 })),
    );
  }
  if (total > 0) {
    const balanceAfter = await deps.balances.credit(tx, job.userId, total);
    if (balanceAfter === null) {
      throw new Error(`refund of order ${order.orderId} would pass the balance limit`);
    }
    await deps.balances.recordLedger(tx, {
      userId: job.userId,
      sourceType: 'refund',
      sourceId: order.orderId,
      delta: total,
      balanceAfter,
    });
  }
  const payload: OrderCancelledPayload = {
    orderId: order.orderId,
    userId: order.userId,
    items: order.items.map((i) => ({
      productId: i.productId,
      quantity: i.quantity,
      unitPrice: i.unitPrice ?? 0,
      subtotal: i.subtotal ?? 0,
    })),
    totalAmount: total,
    refundedAmount: total,
    paidAt: order.paidAt ?? now.toISOString(),
    cancelledAt: now.toISOString(),
  };
  const eventId = uuidv7();
  await deps.events.record(tx, {
    id: eventId,
    orderId: order.orderId,
    type: ORDER_CANCELLED,
    occurredAt: now,
    payload,
  });
  return eventId;
}
