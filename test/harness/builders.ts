import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize } from 'sequelize';
import { uuidv7 } from '../../shared/ids';
import { salesHourSql } from '../../shared/db/repositories/stock';

/**
 * Test-data builders: rows inserted with plain SQL, the way operators and reporting tools
 * write them, so tests depend on the contract's tables rather than on the code under test.
 */

export interface ProductSeed {
  id: number;
  name?: string;
  description?: string;
  price?: number;
  stock?: number;
}

/** Inserts products with the contract's INSERT; unspecified fields get plain defaults. */
export async function insertProducts(sequelize: Sequelize, products: ProductSeed[]): Promise<void> {
  for (const p of products) {
    await sequelize.query(
      'INSERT INTO products (id, name, description, price, stock) VALUES (?, ?, ?, ?, ?)',
      {
        replacements: [
          p.id,
          p.name ?? `Product ${p.id}`,
          p.description ?? `Description of product ${p.id}`,
          p.price ?? 1000,
          p.stock ?? 10,
        ],
        type: QueryTypes.INSERT,
      },
    );
  }
}

export interface OrderItemSeed {
  productId: number;
  quantity: number;
  unitPrice: number;
}

export interface OrderSeed {
  userId?: number;
  status?: 'PENDING' | 'PROCESSING' | 'PAID' | 'FAILED' | 'ON_HOLD' | 'CANCELLED';
  /** Defaults to now for PAID orders and to null otherwise. */
  paidAt?: Date | null;
  items: OrderItemSeed[];
}

/** Inserts one order and its items as the order worker would have left them; returns its id. */
export async function insertOrder(sequelize: Sequelize, order: OrderSeed): Promise<string> {
  const id = uuidv7();
  const status = order.status ?? 'PAID';
  const paidAt =
    order.paidAt === undefined ? (status === 'PAID' ? new Date() : null) : order.paidAt;
  const total = order.items.reduce((sum, item) => sum + item.quantity * item.unitPrice, 0);
  await sequelize.query(
    `INSERT INTO orders (id, user_id, status, total_amount, failure_code, idempotency_key, paid_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    {
      replacements: [
        id,
        order.userId ?? 1,
        status,
        total,
        status === 'FAILED' ? 'INSUFFICIENT_BALANCE' : null,
        randomUUID(),
        paidAt === null ? null : sqlDateTime(paidAt),
      ],
      type: QueryTypes.INSERT,
    },
  );
  for (const item of order.items) {
    await sequelize.query(
      'INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (?, ?, ?, ?)',
      {
        replacements: [id, item.productId, item.quantity, item.unitPrice],
        type: QueryTypes.INSERT,
      },
    );
    // A paid order counts in its hour's sales sums, as the worker's transaction adds it.
    if (status === 'PAID' && paidAt !== null) {
      await sequelize.query(
        `INSERT INTO product_sales_hourly (hour_start, product_id, quantity, revenue)
         VALUES (${salesHourSql('?')}, ?, ?, ?)
         ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity),
           revenue = revenue + VALUES(revenue)`,
        {
          replacements: [
            sqlDateTime(paidAt),
            item.productId,
            item.quantity,
            item.quantity * item.unitPrice,
          ],
        },
      );
    }
  }
  return id;
}

/** Inserts a user row as a completed charge would have left it. */
export async function insertUser(
  sequelize: Sequelize,
  user: { id: number; balance: number; updatedAt?: Date },
): Promise<void> {
  await sequelize.query('INSERT INTO users (id, balance, updated_at) VALUES (?, ?, ?)', {
    replacements: [user.id, user.balance, sqlDateTime(user.updatedAt ?? new Date())],
    type: QueryTypes.INSERT,
  });
}

/** Empties the catalog and everything sold from it, so a scenario starts from nothing. */
export async function clearShop(sequelize: Sequelize): Promise<void> {
  await sequelize.query('DELETE FROM order_items');
  await sequelize.query('DELETE FROM orders');
  await sequelize.query('DELETE FROM product_sales_hourly');
  await sequelize.query('DELETE FROM products');
  await sequelize.query('DELETE FROM users');
}

/**
 * A DATETIME(3) literal in UTC. Sequelize's replacements would format a Date without its
 * milliseconds.
 */
export function sqlDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** Hours before now, as a Date. */
export function hoursAgo(hours: number): Date {
  return new Date(Date.now() - hours * 3_600_000);
}
