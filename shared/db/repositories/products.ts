import { QueryTypes, type Sequelize } from 'sequelize';
import { sqlDateTime } from '../sql';

export interface ProductSummary {
  id: number;
  name: string;
  price: number;
  stock: number;
}

export interface ProductDetail extends ProductSummary {
  description: string;
  updatedAt: Date;
}

export interface TopSeller {
  productId: number;
  name: string;
  soldQuantity: number;
  revenue: number;
}

export interface ProductsRepository {
  /** Products with id greater than `afterId`, ascending, at most `limit`. */
  listAfter(afterId: number, limit: number): Promise<ProductSummary[]>;
  findById(id: number): Promise<ProductDetail | null>;
  /** Best sellers among PAID orders paid at or after `since`. */
  topSellers(since: Date, limit: number): Promise<TopSeller[]>;
  count(): Promise<number>;
  /** Ids changed (or created) at or after `since`, and the database's clock now. */
  changedSince(since: Date): Promise<{ ids: number[]; now: Date }>;
}

export function createProductsRepository(sequelize: Sequelize): ProductsRepository {
  return {
    async listAfter(afterId, limit) {
      return sequelize.query<ProductSummary>(
        'SELECT id, name, price, stock FROM products WHERE id > ? ORDER BY id LIMIT ?',
        { replacements: [afterId, limit], type: QueryTypes.SELECT },
      );
    },

    async findById(id) {
      const rows = await sequelize.query<ProductDetail>(
        `SELECT id, name, description, price, stock, updated_at AS updatedAt
         FROM products WHERE id = ?`,
        { replacements: [id], type: QueryTypes.SELECT },
      );
      return rows[0] ?? null;
    },

    async topSellers(since, limit) {
      // Served by orders_status_paid (status = 'PAID' AND paid_at >= ?), then order_items' PK.
      const rows = await sequelize.query<TopSeller>(
        `SELECT oi.product_id AS productId, p.name AS name,
                CAST(SUM(oi.quantity) AS SIGNED) AS soldQuantity,
                CAST(SUM(oi.quantity * oi.unit_price) AS SIGNED) AS revenue
         FROM orders o
         JOIN order_items oi ON oi.order_id = o.id
         JOIN products p ON p.id = oi.product_id
         WHERE o.status = 'PAID' AND o.paid_at >= ?
         GROUP BY oi.product_id, p.name
         ORDER BY soldQuantity DESC, productId ASC
         LIMIT ?`,
        { replacements: [sqlDateTime(since), limit], type: QueryTypes.SELECT },
      );
      return rows;
    },

    async changedSince(since) {
      // Served by products_updated_at.
      const rows = await sequelize.query<{ id: number }>(
        'SELECT id FROM products WHERE updated_at >= ? LIMIT 10000',
        { replacements: [sqlDateTime(since)], type: QueryTypes.SELECT },
      );
      const [clock] = await sequelize.query<{ now: Date }>('SELECT NOW(3) AS now', {
        type: QueryTypes.SELECT,
      });
      return { ids: rows.map((r) => r.id), now: clock?.now ?? new Date() };
    },

    async count() {
      const rows = await sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM products', {
        type: QueryTypes.SELECT,
      });
      return rows[0]?.n ?? 0;
    },
  };
}
