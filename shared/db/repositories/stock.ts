import type { Sequelize, Transaction } from 'sequelize';
import { select, write } from '../sql';

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
  };
}

export type StockRepository = ReturnType<typeof createStockRepository>;
