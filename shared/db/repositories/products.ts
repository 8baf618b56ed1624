import { QueryTypes, type Sequelize } from 'sequelize';
import { sqlDateTime } from '../sql';
import { salesHourOf } from './stock';

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
      // The hours after the one `since` falls in come summed (product_sales_hourly's primary
      // key); that first hour is read exactly from its PAID orders (orders_status_paid). The
      // sums per product come first, then the names of those products (PRIMARY).
      const edgeHourEnd = sqlDateTime(new Date(salesHourOf(since).getTime() + 3_600_000));
      const rows = await sequelize.query<TopSeller>(
        `SELECT sold.productId, p.name AS name, sold.soldQuantity, sold.revenue
         FROM (
           SELECT product_id AS productId, CAST(SUM(quantity) AS SIGNED) AS soldQuantity,
                  CAST(SUM(revenue) AS SIGNED) AS revenue
           FROM (
             SELECT product_id, quantity, revenue FROM product_sales_hourly WHERE hour_start >= ?
             UNION ALL
             SELECT oi.product_id, oi.quantity, oi.quantity * oi.unit_price
             FROM orders o JOIN order_items oi ON oi.order_id = o.id
             WHERE o.status = 'PAID' AND o.paid_at >= ? AND o.paid_at < ?
           ) sale_lines
           GROUP BY product_id
           HAVING soldQuantity > 0
         ) sold
         JOIN products p ON p.id = sold.productId
         ORDER BY sold.soldQuantity DESC, sold.productId ASC
         LIMIT ?`,
        {
          replacements: [edgeHourEnd, sqlDateTime(since), edgeHourEnd, limit],
          type: QueryTypes.SELECT,
        },
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
