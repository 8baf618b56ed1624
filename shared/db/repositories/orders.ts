import type { Sequelize, Transaction } from 'sequelize';
import type { OrderJob } from '../../queues/orders';
import type { OrderStatus, OrderView } from '../../views';
import {
  insertUnlessDuplicate,
  select,
  sqlDateTime,
  sqlDateTimeOrNull,
  write,
  type InsertOutcome,
} from '../sql';

export interface OrderRecord {
  id: string;
  userId: number;
  status: OrderStatus;
  totalAmount: number | null;
  failureCode: string | null;
  idempotencyKey: string;
  requestId: string | null;
  createdAt: Date;
  paidAt: Date | null;
  cancelledAt: Date | null;
  refundedAmount: number | null;
  updatedAt: Date;
}

export interface OrderItemRecord {
  productId: number;
  quantity: number;
  unitPrice: number | null;
}

/** A row to insert: every column the repository writes (updatedAt = when this state was reached). */
export type NewOrder = OrderRecord;

/**
 * A recorded order that a unique key holds against a request: the request's own order id
 * (`id`: a redelivery, an ON_HOLD placeholder) or, under another id, the user's idempotency key
 * (`idempotency-key`: the request repeats one whose Redis record was lost).
 */
export interface RecordedOrder {
  heldBy: 'id' | 'idempotency-key';
  view: OrderView;
}

/** What identifies an order request to the table's unique keys. */
export interface OrderKeys {
  orderId: string;
  userId: number;
  idempotencyKey: string;
}

/** Keyset position in a user's orders, newest first. */
export interface OrderCursor {
  createdAt: Date;
  id: string;
}

const ORDER_COLUMNS = `id, user_id AS userId, status, total_amount AS totalAmount,
  failure_code AS failureCode, idempotency_key AS idempotencyKey, request_id AS requestId,
  created_at AS createdAt, paid_at AS paidAt, cancelled_at AS cancelledAt,
  refunded_amount AS refundedAmount, updated_at AS updatedAt`;

export function toOrderView(order: OrderRecord, items: OrderItemRecord[]): OrderView {
  return {
    orderId: order.id,
    userId: order.userId,
    status: order.status,
    items: items.map((item) => ({
      productId: item.productId,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      subtotal: item.unitPrice === null ? null : item.unitPrice * item.quantity,
    })),
    totalAmount: order.totalAmount,
    failureCode: order.failureCode,
    createdAt: order.createdAt.toISOString(),
    paidAt: order.paidAt?.toISOString() ?? null,
    cancelledAt: order.cancelledAt?.toISOString() ?? null,
    refundedAmount: order.refundedAmount,
    updatedAt: order.updatedAt.toISOString(),
  };
}

export function createOrdersRepository(sequelize: Sequelize) {
  async function itemsOf(
    orderIds: string[],
    tx?: Transaction,
    lock = '',
  ): Promise<Map<string, OrderItemRecord[]>> {
    const byOrder = new Map<string, OrderItemRecord[]>();
    if (orderIds.length === 0) return byOrder;
    const rows = await select<OrderItemRecord & { orderId: string }>(
      sequelize,
      `SELECT order_id AS orderId, product_id AS productId, quantity, unit_price AS unitPrice
       FROM order_items WHERE order_id IN (?) ORDER BY product_id ${lock}`,
      [orderIds],
      tx,
    );
    for (const { orderId, ...item } of rows) {
      byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), item]);
    }
    return byOrder;
  }

  async function viewWhere(
    where: string,
    params: unknown[],
    tx?: Transaction,
    lock = '',
  ): Promise<OrderView | null> {
    const [order] = await select<OrderRecord>(
      sequelize,
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE ${where} ${lock}`,
      params,
      tx,
    );
    if (!order) return null;
    return toOrderView(order, (await itemsOf([order.id], tx, lock)).get(order.id) ?? []);
  }

  /**
   * Orders with their items, in two multi-row statements (group commit writes a batch).
   * `duplicate` when a unique key (the id, or the user's idempotency key) already holds one of
   * the orders: nothing of the batch is written then, and {@link findRecorded} says which.
   */
  async function insertMany(
    tx: Transaction,
    rows: readonly { order: NewOrder; items: readonly OrderItemRecord[] }[],
  ): Promise<InsertOutcome> {
    if (rows.length === 0) return 'inserted';
    const orders = await insertUnlessDuplicate(
      sequelize,
      `INSERT INTO orders (id, user_id, status, total_amount, failure_code, idempotency_key,
         request_id, created_at, paid_at, cancelled_at, refunded_amount, updated_at)
       VALUES ?`,
      [
        rows.map(({ order }) => [
          order.id,
          order.userId,
          order.status,
          order.totalAmount,
          order.failureCode,
          order.idempotencyKey,
          order.requestId,
          sqlDateTime(order.createdAt),
          sqlDateTimeOrNull(order.paidAt),
          sqlDateTimeOrNull(order.cancelledAt),
          order.refundedAmount,
          sqlDateTime(order.updatedAt),
        ]),
      ],
      tx,
    );
    if (orders === 'duplicate') return orders;
    await write(
      sequelize,
      'INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES ?',
      [
        rows.flatMap(({ order, items }) =>
          items.map((item) => [order.id, item.productId, item.quantity, item.unitPrice]),
        ),
      ],
      tx,
    );
    return 'inserted';
  }

  return {
    insert(tx: Transaction, order: NewOrder, items: OrderItemRecord[]): Promise<InsertOutcome> {
      return insertMany(tx, [{ order, items }]);
    },

    insertMany,

    /**
     * For each request (keyed by order id), the recorded order a unique key holds against it:
     * its own id first, else the user's idempotency key; requests with neither have no entry.
     * Read after the failed transaction, so it sees the committed row that refused the insert.
     */
    async findRecorded(
      requests: readonly OrderKeys[],
      tx?: Transaction,
    ): Promise<Map<string, RecordedOrder>> {
      const recorded = new Map<string, RecordedOrder>();
      if (requests.length === 0) return recorded;
      const orders = await select<OrderRecord>(
        sequelize,
        `SELECT ${ORDER_COLUMNS} FROM orders WHERE id IN (?) OR (user_id, idempotency_key) IN (?)`,
        [requests.map((r) => r.orderId), requests.map((r) => [r.userId, r.idempotencyKey])],
        tx,
      );
      const items = await itemsOf(
        orders.map((o) => o.id),
        tx,
      );
      const view = (order: OrderRecord) => toOrderView(order, items.get(order.id) ?? []);
      for (const request of requests) {
        const own = orders.find((o) => o.id === request.orderId);
        const byKey = orders.find(
          (o) => o.userId === request.userId && o.idempotencyKey === request.idempotencyKey,
        );
        if (own) recorded.set(request.orderId, { heldBy: 'id', view: view(own) });
        else if (byKey)
          recorded.set(request.orderId, { heldBy: 'idempotency-key', view: view(byKey) });
      }
      return recorded;
    },

    /** Removes ON_HOLD placeholders so replayed orders can be recorded for real. */
    async deleteOnHold(tx: Transaction, ids: readonly string[]): Promise<void> {
      if (ids.length === 0) return;
      await write(
        sequelize,
        "DELETE FROM orders WHERE id IN (?) AND status = 'ON_HOLD'",
        [ids],
        tx,
      );
    },

    findView(id: string, tx?: Transaction): Promise<OrderView | null> {
      return viewWhere('id = ?', [id], tx);
    },

    /**
     * The order and its items under exclusive row locks (a cancellation decides on it), or
     * null: locking reads, so they see the latest committed rows whatever the snapshot.
     */
    lockView(tx: Transaction, id: string): Promise<OrderView | null> {
      return viewWhere('id = ?', [id], tx, 'FOR UPDATE');
    },

    /**
     * Marks a locked order CANCELLED with what was refunded, from the status it was read in;
     * false if it was no longer in that status (the caller rolls back).
     */
    async markCancelled(
      tx: Transaction,
      id: string,
      from: OrderStatus,
      refundedAmount: number,
      at: Date,
    ): Promise<boolean> {
      const result = await write(
        sequelize,
        `UPDATE orders SET status = 'CANCELLED', cancelled_at = ?, refunded_amount = ?,
           updated_at = ? WHERE id = ? AND status = ?`,
        [sqlDateTime(at), refundedAmount, sqlDateTime(at), id, from],
        tx,
      );
      return result.affectedRows === 1;
    },

    /** ON_HOLD orders as the jobs that would apply them (for `ops replay-on-hold`). */
    async onHoldJobs(): Promise<OrderJob[]> {
      const orders = await select<OrderRecord>(
        sequelize,
        `SELECT ${ORDER_COLUMNS} FROM orders WHERE status = 'ON_HOLD' ORDER BY created_at`,
        [],
      );
      const items = await itemsOf(orders.map((o) => o.id));
      return orders.map((order) => ({
        orderId: order.id,
        userId: order.userId,
        items: (items.get(order.id) ?? []).map(({ productId, quantity }) => ({
          productId,
          quantity,
        })),
        idempotencyKey: order.idempotencyKey,
        ...(order.requestId ? { requestId: order.requestId } : {}),
        acceptedAt: order.createdAt.toISOString(),
      }));
    },

    /** A user's orders, newest first (index orders_user_created, scanned backwards). */
    async listForUser(
      userId: number,
      after: OrderCursor | null,
      limit: number,
    ): Promise<OrderView[]> {
      const orders = after
        ? await select<OrderRecord>(
            sequelize,
            `SELECT ${ORDER_COLUMNS} FROM orders
             WHERE user_id = ? AND (created_at, id) < (?, ?)
             ORDER BY created_at DESC, id DESC LIMIT ?`,
            [userId, sqlDateTime(after.createdAt), after.id, limit],
          )
        : await select<OrderRecord>(
            sequelize,
            `SELECT ${ORDER_COLUMNS} FROM orders WHERE user_id = ?
             ORDER BY created_at DESC, id DESC LIMIT ?`,
            [userId, limit],
          );
      const items = await itemsOf(orders.map((o) => o.id));
      return orders.map((order) => toOrderView(order, items.get(order.id) ?? []));
    },
  };
}

export type OrdersRepository = ReturnType<typeof createOrdersRepository>;
