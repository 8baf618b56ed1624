import type { Sequelize, Transaction } from 'sequelize';
import { insertUnlessDuplicate, select, write } from '../sql';
import { inTransaction } from '../transaction';
import type { ProductDetail } from './products';

/** The largest stock a product row holds (`products.stock` is a signed INT). */
export const MAX_STOCK = 2_147_483_647;

export interface NewProduct {
  name: string;
  description: string;
  price: number;
  stock: number;
}

/** The fields an operator may change; stock changes only by restocks (and orders). */
export interface ProductChanges {
  name?: string | undefined;
  description?: string | undefined;
  price?: number | undefined;
}

/** What one restock request came to. */
export type RestockOutcome =
  /** Added now: the product right after the addition. */
  | { kind: 'applied'; product: ProductDetail }
  /** The key was used before for this product and quantity: the first answer's stock. */
  | { kind: 'replayed'; productId: number; stock: number }
  /** The key was used before for another product or quantity; nothing was added. */
  | { kind: 'key-reused' }
  | { kind: 'not-found' }
  /** The addition would take the stock past {@link MAX_STOCK}; nothing was added. */
  | { kind: 'stock-limit'; stock: number };

interface RestockRow {
  productId: number;
  quantity: number;
  stockAfter: number;
}

/** Thrown inside the restock's transaction to roll the addition back: the key is taken. */
class KeyTaken extends Error {}

const DETAIL_COLUMNS = 'id, name, description, price, stock, updated_at AS updatedAt';

/**
 * The operator's writes to the catalog, always on the primary. Restocks add to the stock in
 * one conditional statement (`stock = stock + ?`), so they never lose units to an order worker
 * changing the same row: both serialise on the row lock. Each restock's Idempotency-Key is
 * recorded in `product_restocks` in the same transaction (unique key), so a key adds to stock
 * at most once however many processes send it at once.
 *
 * Lock order: a restock locks one product row, then inserts its `product_restocks` row (whose
 * foreign key checks the product row it already holds). Order transactions lock products in
 * ascending id and never touch `product_restocks`, so the two cannot deadlock each other.
 */
export function createProductAdminRepository(sequelize: Sequelize) {
  const findDetail = async (id: number, tx?: Transaction): Promise<ProductDetail | null> => {
    const rows = await select<ProductDetail>(
      sequelize,
      `SELECT ${DETAIL_COLUMNS} FROM products WHERE id = ?`,
      [id],
      tx,
    );
    return rows[0] ?? null;
  };

  const findRestock = async (key: string): Promise<RestockRow | null> => {
    const rows = await select<RestockRow>(
      sequelize,
      `SELECT product_id AS productId, quantity, stock_after AS stockAfter
       FROM product_restocks WHERE idempotency_key = ?`,
      [key],
    );
    return rows[0] ?? null;
  };

  /** The answer to a key used before: the first answer again, or a reuse. */
  const earlier = (row: RestockRow, productId: number, quantity: number): RestockOutcome =>
    row.productId === productId && row.quantity === quantity
      ? { kind: 'replayed', productId, stock: row.stockAfter }
      : { kind: 'key-reused' };

  return {
    /** Inserts a product (the same statement an operator would run) and reads it back. */
    async create(product: NewProduct): Promise<ProductDetail> {
      return inTransaction(sequelize, async (tx) => {
        await write(
          sequelize,
          'INSERT INTO products (name, description, price, stock) VALUES (?, ?, ?, ?)',
          [product.name, product.description, product.price, product.stock],
          tx,
        );
        // LAST_INSERT_ID() is this connection's, and the transaction holds the connection.
        const rows = await select<ProductDetail>(
          sequelize,
          `SELECT ${DETAIL_COLUMNS} FROM products WHERE id = LAST_INSERT_ID()`,
          [],
          tx,
        );
        const created = rows[0];
        if (!created) throw new Error('a new product vanished inside its own transaction');
        return created;
      });
    },

    /** Changes the given fields; the product as it is now, or null when there is none. */
    async update(id: number, changes: ProductChanges): Promise<ProductDetail | null> {
      const fields = (['name', 'description', 'price'] as const).filter(
        (field) => changes[field] !== undefined,
      );
      return inTransaction(sequelize, async (tx) => {
        if (fields.length > 0) {
          await write(
            sequelize,
            `UPDATE products SET ${fields.map((f) => `${f} = ?`).join(', ')} WHERE id = ?`,
            [...fields.map((f) => changes[f]), id],
            tx,
          );
        }
        return findDetail(id, tx);
      });
    },

    /**
     * Adds `quantity` units to a product once per `key`. A key seen before answers the first
     * outcome again (or a reuse) without touching the product. Two requests with a new key
     * racing each other both add, one after the other on the row lock; the second's insert of
     * the key then fails on the unique key, and its addition is rolled back.
     */
    async restock(productId: number, quantity: number, key: string): Promise<RestockOutcome> {
      const seen = await findRestock(key);
      if (seen) return earlier(seen, productId, quantity);
      try {
        return await inTransaction(sequelize, async (tx): Promise<RestockOutcome> => {
          const added = await write(
            sequelize,
            'UPDATE products SET stock = stock + ? WHERE id = ? AND stock <= ? - ?',
            [quantity, productId, MAX_STOCK, quantity],
            tx,
          );
          // Under the row lock the update took: the stock this restock left, orders or not.
          const product = await findDetail(productId, tx);
          if (!product) return { kind: 'not-found' };
          if (added.affectedRows !== 1) return { kind: 'stock-limit', stock: product.stock };
          const recorded = await insertUnlessDuplicate(
            sequelize,
            `INSERT INTO product_restocks (product_id, quantity, idempotency_key, stock_after)
             VALUES (?, ?, ?, ?)`,
            [productId, quantity, key, product.stock],
            tx,
          );
          if (recorded === 'duplicate') throw new KeyTaken();
          return { kind: 'applied', product };
        });
      } catch (error) {
        if (!(error instanceof KeyTaken)) throw error;
        const first = await findRestock(key);
        if (!first) throw new Error("a restock's key was taken, then vanished", { cause: error });
        return earlier(first, productId, quantity);
      }
    },
  };
}

export type ProductAdminRepository = ReturnType<typeof createProductAdminRepository>;
