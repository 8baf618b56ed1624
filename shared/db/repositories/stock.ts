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

    /**
     * Locks these products' rows in ascending id (the order every writer locks in) and returns
     * stock and price; a product that does not exist has no entry.
     */
    async lockRows(
      tx: Transaction,
      productIds: readonly number[],
    ): Promise<Map<number, { stock: number; price: number }>> {
      if (productIds.length === 0) return new Map();
      const rows = await select<{ id: number; stock: number; price: number }>(
        sequelize,
        'SELECT id, stock, price FROM products WHERE id IN (?) ORDER BY id FOR UPDATE',
        [productIds],
        tx,
      );
      return new Map(rows.map(({ id, ...row }) => [id, row]));
    },

    /**
     * Takes units from rows this transaction has locked and checked, one statement for the
     * batch; stock and sold_quantity move together (the CHECK keeps stock >= 0 regardless).
     */
    async takeLocked(tx: Transaction, quantities: ReadonlyMap<number, number>): Promise<void> {
      if (quantities.size === 0) return;
      const cases = [...quantities].flatMap(([id, quantity]) => [id, quantity]);
      const byId = `CASE id ${'WHEN ? THEN ? '.repeat(quantities.size)}END`;
      await write(
        sequelize,
        `UPDATE products SET stock = stock - ${byId}, sold_quantity = sold_quantity + ${byId}
         WHERE id IN (?)`,
        [...cases, ...cases, [...quantities.keys()]],
        tx,
      );
    },
  };
}

export type StockRepository = ReturnType<typeof createStockRepository>;
