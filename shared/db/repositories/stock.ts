import type { Sequelize, Transaction } from 'sequelize';
import { select, write } from '../sql';

/** Stock and price reads and writes made inside an order's transaction. */
export function createStockRepository(sequelize: Sequelize) {
  return {
    /**
     * Takes `quantity` units if that many are in stock; false otherwise (or if the product does
     * not exist). A conditional update: the check and the write are one statement, and the row
     * stays locked until the transaction ends.
     */
    async take(tx: Transaction, productId: number, quantity: number): Promise<boolean> {
      const result = await write(
        sequelize,
        `UPDATE products SET stock = stock - ?, sold_quantity = sold_quantity + ?
         WHERE id = ? AND stock >= ?`,
        [quantity, quantity, productId, quantity],
        tx,
      );
      return result.affectedRows === 1;
    },

    async exists(tx: Transaction, productId: number): Promise<boolean> {
      const rows = await select(
        sequelize,
        'SELECT 1 AS found FROM products WHERE id = ?',
        [productId],
        tx,
      );
      return rows.length > 0;
    },

    /** Current prices of rows this transaction has locked, so they cannot change before commit. */
    async pricesOf(tx: Transaction, productIds: number[]): Promise<Map<number, number>> {
      const rows = await select<{ id: number; price: number }>(
        sequelize,
        'SELECT id, price FROM products WHERE id IN (?)',
        [productIds],
        tx,
      );
      return new Map(rows.map((row) => [row.id, row.price]));
    },
  };
}

export type StockRepository = ReturnType<typeof createStockRepository>;
