import type { Sequelize, Transaction } from 'sequelize';
import type { OrderJob } from '../../queues/orders';
import type { OrderStatus, OrderView } from '../../views';
import { select, sqlDateTime, sqlDateTimeOrNull, write } from '../sql';

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
  updatedAt: Date;
}

export interface OrderItemRecord {
  productId: number;
  quantity: number;
  unitPrice: number | null;
}

/** A row to insert: every column the repository writes (updatedAt = when this state was reached). */
export type NewOrder = OrderRecord;

/** Keyset position in a user's orders, newest first. */
export interface OrderCursor {
  createdAt: Date;
  id: string;
}

const ORDER_COLUMNS = `id, user_id AS userId, status, total_amount AS totalAmount,
  failure_code AS failureCode, idempotency_key AS idempotencyKey, request_id AS requestId,
  created_at AS createdAt, paid_at AS paidAt, updated_at AS updatedAt`;

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
    updatedAt: order.updatedAt.toISOString(),
  };
}

export function createOrdersRepository(sequelize: Sequelize) {
  async function itemsOf(
    orderIds: string[],
    tx?: Transaction,
  ): Promise<Map<string, OrderItemRecord[]>> {
    const byOrder = new Map<string, OrderItemRecord[]>();
    if (orderIds.length === 0) return byOrder;
    const rows = await select<OrderItemRecord & { orderId: string }>(
      sequelize,
      `SELECT order_id AS orderId, product_id AS productId, quantity, unit_price AS unitPrice
       FROM order_items WHERE order_id IN (?) ORDER BY product_id`,
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
  ): Promise<OrderView | null> {
    const [order] = await select<OrderRecord>(
      sequelize,
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE ${where}`,
      params,
      tx,
    );
    if (!order) return null;
    return toOrderView(order, (await itemsOf([order.id], tx)).get(order.id) ?? []);
  }

  /** Orders with their items, in two multi-row statements (group commit writes a batch). */
  async function insertMany(
    tx: Transaction,
    rows: readonly { order: NewOrder; items: readonly OrderItemRecord[] }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await write(
      sequelize,
      `INSERT INTO orders (id, user_id, status, total_amount, failure_code, idempotency_key,
         request_id, created_at, paid_at, updated_at)
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
          sqlDateTime(order.updatedAt),
        ]),
      ],
      tx,
    );
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
  }

  return {
    async insert(tx: Transaction, order: NewOrder, items: OrderItemRecord[]): Promise<void> {
      await insertMany(tx, [{ order, items }]);
    },

    insertMany,

    /** Which of these order ids already have a row (redeliveries, ON_HOLD placeholders). */
    async existingIds(tx: Transaction, ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await select<{ id: string }>(
        sequelize,
        'SELECT id FROM orders WHERE id IN (?)',
        [ids],
        tx,
      );
      return new Set(rows.map((row) => row.id));
    },

    /** Removes an ON_HOLD placeholder so a replayed order can be recorded for real. */
    async deleteOnHold(tx: Transaction, id: string): Promise<void> {
      await write(sequelize, "DELETE FROM orders WHERE id = ? AND status = 'ON_HOLD'", [id], tx);
    },

    findView(id: string, tx?: Transaction): Promise<OrderView | null> {
      return viewWhere('id = ?', [id], tx);
    },

    findViewByIdempotencyKey(
      userId: number,
      key: string,
      tx?: Transaction,
    ): Promise<OrderView | null> {
      return viewWhere('user_id = ? AND idempotency_key = ?', [userId, key], tx);
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
