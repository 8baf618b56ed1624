import type { Sequelize, Transaction } from 'sequelize';
import { select, sqlDateTime, write } from '../sql';

/** The UTC hour a moment falls in: the key of its sales in product_sales_hourly. */
export function salesHourOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000);
}

/** The same hour in SQL: the `hour_start` of a DATETIME column or expression (UTC). */
export const salesHourSql = (datetime: string) => `DATE_FORMAT(${datetime}, '%Y-%m-%d %H:00:00')`;

/** An order line as the hourly sales sums count it. */
export interface SoldLine {
  productId: number;
  quantity: number;
  unitPrice: number;
}

/** Units and revenue per product, ascending product id (the order every writer locks in). */
function sumByProduct(
  lines: readonly SoldLine[],
): [number, { quantity: number; revenue: number }][] {
  const sums = new Map<number, { quantity: number; revenue: number }>();
  for (const { productId, quantity, unitPrice } of lines) {
    const sum = sums.get(productId) ?? { quantity: 0, revenue: 0 };
    sum.quantity += quantity;
    sum.revenue += quantity * unitPrice;
    sums.set(productId, sum);
  }
  return [...sums].sort(([a], [b]) => a - b);
}

/** What an order transaction read under lock, before deciding anything. */
export interface LockedOrderRows {
  /** Every product named that exists: its stock and price. */
  products: ReadonlyMap<number, { stock: number; price: number }>;
  /** Every user named that has a row: their balance. */
  balances: ReadonlyMap<number, number>;
}

/** Stock and price reads and writes made inside an order's transaction. */
export function createStockRepository(sequelize: Sequelize) {
  return {
    /**
     * Locks the rows orders decide on, in the order every writer locks them — products, then
     * users, each in ascending id (a primary-key range is read, and locked, in that order) —
     * and returns their stock, price and balance. One statement for both tables: an order pays
     * its round trips one after another, so the pair costs one. A product or user without a
     * row has no entry.
     */
    async lockForOrders(
      tx: Transaction,
      productIds: readonly number[],
      userIds: readonly number[],
    ): Promise<LockedOrderRows> {
      const products = new Map<number, { stock: number; price: number }>();
      const balances = new Map<number, number>();
      if (productIds.length === 0 && userIds.length === 0) return { products, balances };
      // An empty IN () is a syntax error; NULL matches no id.
      const ids = (list: readonly number[]) => (list.length > 0 ? list : [null]);
      const rows = await select<{
        tableName: 'products' | 'users';
        id: number;
        amount: number;
        price: number;
      }>(
        sequelize,
        `(SELECT 'products' AS tableName, id, stock AS amount, price FROM products
          WHERE id IN (?) ORDER BY id FOR UPDATE)
         UNION ALL
         (SELECT 'users', id, balance, 0 FROM users WHERE id IN (?) ORDER BY id FOR UPDATE)`,
        [ids(productIds), ids(userIds)],
        tx,
      );
      for (const row of rows) {
        if (row.tableName === 'products') {
          products.set(row.id, { stock: row.amount, price: row.price });
        } else {
          balances.set(row.id, row.amount);
        }
      }
      return { products, balances };
    },

    /**
     * Takes units from rows this transaction has locked, one statement for the batch; stock
     * and sold_quantity move together. The condition (`stock >= quantity`) still guards the
     * write: false means some row had fewer units than the decision assumed, and the caller
     * must roll back (the CHECK keeps stock >= 0 regardless).
     */
    async takeLocked(tx: Transaction, quantities: ReadonlyMap<number, number>): Promise<boolean> {
      if (quantities.size === 0) return true;
      const cases = [...quantities].flatMap(([id, quantity]) => [id, quantity]);
      const byId = `CASE id ${'WHEN ? THEN ? '.repeat(quantities.size)}END`;
      const result = await write(
        sequelize,
        `UPDATE products SET stock = stock - ${byId}, sold_quantity = sold_quantity + ${byId}
         WHERE id IN (?) AND stock >= ${byId}`,
        [...cases, ...cases, [...quantities.keys()], ...cases],
        tx,
      );
      return result.affectedRows === quantities.size;
    },

    /**
     * Puts back units a cancelled order had taken, on rows this transaction has locked: stock
     * up and sold_quantity down together (so stock_received, the deliveries, does not move).
     */
    async returnLocked(tx: Transaction, quantities: ReadonlyMap<number, number>): Promise<boolean> {
      if (quantities.size === 0) return true;
      const cases = [...quantities].flatMap(([id, quantity]) => [id, quantity]);
      const byId = `CASE id ${'WHEN ? THEN ? '.repeat(quantities.size)}END`;
      const result = await write(
        sequelize,
        `UPDATE products SET stock = stock + ${byId}, sold_quantity = sold_quantity - ${byId}
         WHERE id IN (?) AND sold_quantity >= ${byId}`,
        [...cases, ...cases, [...quantities.keys()], ...cases],
        tx,
      );
      return result.affectedRows === quantities.size;
    },

    /**
     * Adds lines paid at `paidAt` to their hour's sales sums (product_sales_hourly), one
     * statement for the batch. Only for products this transaction has locked: the sums then
     * move with sold_quantity, and two writers never touch one product's hour at once.
     */
    async addSalesLocked(tx: Transaction, paidAt: Date, lines: readonly SoldLine[]): Promise<void> {
      const sums = sumByProduct(lines);
      if (sums.length === 0) return;
      const hour = sqlDateTime(salesHourOf(paidAt));
      await write(
        sequelize,
        `INSERT INTO product_sales_hourly (hour_start, product_id, quantity, revenue) VALUES ?
         ON DUPLICATE KEY UPDATE quantity = quantity + VALUES(quantity),
           revenue = revenue + VALUES(revenue)`,
        [sums.map(([productId, sum]) => [hour, productId, sum.quantity, sum.revenue])],
        tx,
      );
    },

    /**
     * Takes a cancelled order's lines out of the hour it was paid in, on products this
     * transaction has locked. An hour older than the ranking keeps (pruned) has nothing to take
     * from. The sums never go below zero: they are a statistic, and a drift (the reconcile's
     * `top-sellers-sums` names it) must not block a refund.
     */
    async removeSalesLocked(
      tx: Transaction,
      paidAt: Date,
      lines: readonly SoldLine[],
    ): Promise<void> {
      const sums = sumByProduct(lines);
      if (sums.length === 0) return;
      const by = (field: 'quantity' | 'revenue') => ({
        sql: `CASE product_id ${'WHEN ? THEN ? '.repeat(sums.length)}END`,
        values: sums.flatMap(([productId, sum]) => [productId, sum[field]]),
      });
      const quantity = by('quantity');
      const revenue = by('revenue');
      await write(
        sequelize,
        `UPDATE product_sales_hourly
         SET quantity = GREATEST(quantity - ${quantity.sql}, 0),
             revenue = GREATEST(revenue - ${revenue.sql}, 0)
         WHERE hour_start = ? AND product_id IN (?)`,
        [
          ...quantity.values,
          ...revenue.values,
          sqlDateTime(salesHourOf(paidAt)),
          sums.map(([productId]) => productId),
        ],
        tx,
      );
    },

    /**
     * Recomputes the sales sums of the hour `since` falls in and every later one from the PAID
     * orders, and returns how many product-hours it wrote. It first locks every product row,
     * as every writer of the sums does: orders and cancellations wait while it reads the
     * window's orders, and none commits between that read and the write.
     */
    async rebuildSales(tx: Transaction, since: Date): Promise<number> {
      const from = sqlDateTime(salesHourOf(since));
      await select(sequelize, 'SELECT id FROM products ORDER BY id FOR UPDATE', [], tx);
      await write(sequelize, 'DELETE FROM product_sales_hourly WHERE hour_start >= ?', [from], tx);
      await write(
        sequelize,
        `INSERT INTO product_sales_hourly (hour_start, product_id, quantity, revenue)
         SELECT ${salesHourSql('o.paid_at')}, oi.product_id,
                SUM(oi.quantity), SUM(oi.quantity * oi.unit_price)
         FROM orders o JOIN order_items oi ON oi.order_id = o.id
         WHERE o.status = 'PAID' AND o.paid_at >= ?
         GROUP BY 1, 2`,
        [from],
        tx,
      );
      const [written] = await select<{ n: number }>(
        sequelize,
        'SELECT COUNT(*) AS n FROM product_sales_hourly WHERE hour_start >= ?',
        [from],
        tx,
      );
      return written?.n ?? 0;
    },

    /** Drops the sales sums of the hours before the one `before` falls in (not in a transaction). */
    async pruneSales(before: Date): Promise<void> {
      await write(sequelize, 'DELETE FROM product_sales_hourly WHERE hour_start < ?', [
        sqlDateTime(salesHourOf(before)),
      ]);
    },
  };
}

export type StockRepository = ReturnType<typeof createStockRepository>;
