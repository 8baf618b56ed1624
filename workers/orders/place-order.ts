import type { Sequelize, Transaction } from 'sequelize';
import type { BalancesRepository, LedgerEntry } from '../../shared/db/repositories/balances';
import type { EventsRepository, NewEvent } from '../../shared/db/repositories/events';
import type {
  NewOrder,
  OrderItemRecord,
  OrdersRepository,
} from '../../shared/db/repositories/orders';
import type { StockRepository } from '../../shared/db/repositories/stock';
import { duplicateKeyName } from '../../shared/db/sql';
import { inTransaction } from '../../shared/db/transaction';
import { uuidv7 } from '../../shared/ids';
import { ORDER_PAID, type OrderPaidPayload } from '../../shared/order-events';
import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';

export type OrderFailureCode = 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_BALANCE' | 'PRODUCT_NOT_FOUND';

/**
 * A business rule refused the order. Thrown inside the transaction to roll it back; the order
 * then ends FAILED with {@link code} and is never retried.
 */
export class OrderRejected extends Error {
  constructor(
    readonly code: OrderFailureCode,
    /** Items with the prices known when the order was refused (null where unknown). */
    readonly items: OrderItemRecord[],
    readonly totalAmount: number | null,
  ) {
    super(code);
    this.name = 'OrderRejected';
  }
}

export interface PlaceOrderDeps {
  sequelize: Sequelize;
  orders: OrdersRepository;
  stock: StockRepository;
  balances: BalancesRepository;
  events: EventsRepository;
  /**
   * Told the recorded event's id once the paying transaction has committed (never for a
   * rolled-back attempt or a redelivery that changed nothing). Must return at once and never
   * throw: it only hurries delivery along, the outbox row is what guarantees it.
   */
  eventRecorded?(eventId: string): void;
}

/**
 * Applies an accepted order exactly once, all or nothing: takes every item's stock, debits the
 * total, records the order, its items, the ledger row and the order.paid event in one
 * transaction. Returns the order's final view.
 *
 * Delivered twice, it changes nothing the second time: the order's primary key (and the
 * ledger's and outbox's unique keys) refuse a second insert, which rolls the attempt back.
 */
export async function placeOrder(deps: PlaceOrderDeps, job: OrderJob): Promise<OrderView> {
  // Ascending product id: concurrent orders lock rows in one global order, so never deadlock.
  const items = [...job.items].sort((a, b) => a.productId - b.productId);
  let paid: { view: OrderView; eventId: string };
  try {
    paid = await inTransaction(deps.sequelize, (tx) => payInTransaction(deps, tx, job, items));
  } catch (error) {
    if (error instanceof OrderRejected) return recordFailure(deps, job, error);
    return resolveDuplicate(deps, job, error, () => placeOrder(deps, job));
  }
  deps.eventRecorded?.(paid.eventId);
  return paid.view;
}

export async function payInTransaction(
  deps: PlaceOrderDeps,
  tx: Transaction,
  job: OrderJob,
  items: OrderJob['items'],
): Promise<{ view: OrderView; eventId: string }> {
  for (const item of items) {
    if (!(await deps.stock.take(tx, item.productId, item.quantity))) {
      const found = await deps.stock.exists(tx, item.productId);
      throw new OrderRejected(
        found ? 'INSUFFICIENT_STOCK' : 'PRODUCT_NOT_FOUND',
        items.map((i) => ({ ...i, unitPrice: null })),
        null,
      );
    }
  }

  const prices = await deps.stock.pricesOf(
    tx,
    items.map((i) => i.productId),
  );
  const priced = items.map((i) => ({ ...i, unitPrice: prices.get(i.productId) ?? 0 }));
  const total = priced.reduce((sum, i) => sum + i.unitPrice * i.quantity, 0);

  let balanceAfter: number | null = null;
  if (total > 0) {
    balanceAfter = await deps.balances.debit(tx, job.userId, total);
    if (balanceAfter === null) throw new OrderRejected('INSUFFICIENT_BALANCE', priced, total);
  }

  const paid = paidRecords(job, priced, total, new Date());
  await deps.orders.insert(tx, paid.order, priced);
  if (balanceAfter !== null) {
    await deps.balances.recordLedger(tx, ledgerEntry(job, total, balanceAfter));
  }
  await deps.events.record(tx, paid.event);
  return { view: paid.view, eventId: paid.event.id };
}

export type PricedItem = OrderJob['items'][number] & { unitPrice: number };

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

async function recordFailure(
  deps: PlaceOrderDeps,
  job: OrderJob,
  rejection: OrderRejected,
): Promise<OrderView> {
  const failedAt = new Date();
  try {
    await inTransaction(deps.sequelize, (tx) => insertFailure(deps, tx, job, rejection, failedAt));
  } catch (error) {
    return resolveDuplicate(deps, job, error, () => recordFailure(deps, job, rejection));
  }
  return failedView(job, rejection, failedAt);
}

/** Records a refused order as FAILED (items with the prices known when it was refused). */
export async function insertFailure(
  deps: PlaceOrderDeps,
  tx: Transaction,
  job: OrderJob,
  rejection: OrderRejected,
  failedAt: Date,
): Promise<void> {
  await deps.orders.insert(tx, failedRecord(job, rejection, failedAt), rejection.items);
}

/** The order row of a refused order. */
export function failedRecord(job: OrderJob, rejection: OrderRejected, failedAt: Date): NewOrder {
  return {
    id: job.orderId,
    userId: job.userId,
    status: 'FAILED',
    totalAmount: rejection.totalAmount,
    failureCode: rejection.code,
    idempotencyKey: job.idempotencyKey,
    requestId: job.requestId ?? null,
    createdAt: new Date(job.acceptedAt),
    paidAt: null,
    updatedAt: failedAt,
  };
}

export function failedView(job: OrderJob, rejection: OrderRejected, failedAt: Date): OrderView {
  return {
    orderId: job.orderId,
    userId: job.userId,
    status: 'FAILED',
    items: rejection.items.map((i) => ({
      ...i,
      subtotal: i.unitPrice === null ? null : i.unitPrice * i.quantity,
    })),
    totalAmount: rejection.totalAmount,
    failureCode: rejection.code,
    createdAt: job.acceptedAt,
    paidAt: null,
    updatedAt: failedAt.toISOString(),
  };
}

/**
 * The order could not be inserted because a row already holds its id or its idempotency key:
 * - the same order, final: an earlier delivery applied it — return that outcome, change nothing;
 * - the same order, ON_HOLD placeholder: drop the placeholder and apply the order (`retry`);
 * - another order with this user's idempotency key (its Redis record was lost): this is a
 *   duplicate request, so it resolves to the first order and applies nothing.
 */
async function resolveDuplicate(
  deps: PlaceOrderDeps,
  job: OrderJob,
  error: unknown,
  retry: () => Promise<OrderView>,
): Promise<OrderView> {
  const key = duplicateKeyName(error);
  if (key === 'PRIMARY') {
    const existing = await deps.orders.findView(job.orderId);
    if (existing?.status === 'ON_HOLD') {
      await inTransaction(deps.sequelize, (tx) => deps.orders.deleteOnHold(tx, job.orderId));
      return retry();
    }
    if (existing) return existing;
  }
  if (key === 'orders_user_idempotency') {
    const first = await deps.orders.findViewByIdempotencyKey(job.userId, job.idempotencyKey);
    if (first) return first;
  }
  throw error;
}
