import type { Migration } from '../migrator';
import { CONSTRAINT } from '../schema-names';

/**
 * product_sales_hourly: per product and UTC hour, the units and revenue of the orders paid in
 * that hour that are still PAID. The order workers add to it in the transaction that pays a
 * batch, cancellations subtract in the one that refunds, so the top-sellers ranking sums a
 * product's hours instead of every order item of 72 h (load/REPORT.md, "The swings
 * explained").
 *
 * The backfill covers the PAID orders of the last 96 hours: the ranking's window and the day of
 * margin the ranking's refresh keeps before it prunes. Worker processes of an earlier version
 * that still pay orders after this ran do not add to it: `npm run ops -- reconcile` names such
 * hours (check `top-sellers-sums`), `npm run ops -- rebuild-sales` rebuilds them.
 */
const up: Migration = async ({ context: sequelize }) => {
  const run = (sql: string) => sequelize.query(sql);

  await run(`
    CREATE TABLE product_sales_hourly (
      hour_start DATETIME NOT NULL,
      product_id BIGINT UNSIGNED NOT NULL,
      quantity BIGINT NOT NULL,
      revenue BIGINT NOT NULL,
      PRIMARY KEY (hour_start, product_id),
      CONSTRAINT ${CONSTRAINT.productSalesHourlyNonnegative}
        CHECK (quantity >= 0 AND revenue >= 0)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    INSERT INTO product_sales_hourly (hour_start, product_id, quantity, revenue)
    SELECT DATE_FORMAT(o.paid_at, '%Y-%m-%d %H:00:00'), oi.product_id,
           SUM(oi.quantity), SUM(oi.quantity * oi.unit_price)
    FROM orders o JOIN order_items oi ON oi.order_id = o.id
    WHERE o.status = 'PAID' AND o.paid_at >= UTC_TIMESTAMP() - INTERVAL 96 HOUR
    GROUP BY 1, 2`);
};

const down: Migration = async ({ context: sequelize }) => {
  await sequelize.query('DROP TABLE IF EXISTS product_sales_hourly');
};

export const migration = { name: '0004-product-sales-hourly', up, down };
