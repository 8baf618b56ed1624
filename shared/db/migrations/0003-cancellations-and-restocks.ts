import type { Migration } from '../migrator';
import { CONSTRAINT, INDEX, RETIRED_CONSTRAINT } from '../schema-names';

/**
 * Order cancellation and product restocks (the order lifecycle):
 *
 * - orders: `CANCELLED`, `cancelled_at` (a contract column) and `refunded_amount`.
 * - balance_ledger: `refund` rows, one per cancelled paid order (source_id = the order id).
 * - order_cancellations: every cancellation request a worker applied, with its outcome — its
 *   idempotency backstop (user, key) and the record the reconcile reads for stuck requests.
 * - product_restocks: every restock made through the API, once per Idempotency-Key, with the
 *   stock it left (the first answer, replayed). Restocks made in SQL are counted by the
 *   products triggers as before (stock_received), so conservation holds for both.
 */
const up: Migration = async ({ context: sequelize }) => {
  const run = (sql: string) => sequelize.query(sql);

  await run(`
    ALTER TABLE orders
      ADD COLUMN cancelled_at DATETIME(3) NULL AFTER paid_at,
      ADD COLUMN refunded_amount BIGINT NULL AFTER cancelled_at,
      DROP CONSTRAINT ${RETIRED_CONSTRAINT.ordersStatusKnown},
      ADD CONSTRAINT ${CONSTRAINT.ordersStatusKnownWithCancelled}
        CHECK (status IN ('PENDING', 'PROCESSING', 'PAID', 'FAILED', 'ON_HOLD', 'CANCELLED')),
      ADD CONSTRAINT ${CONSTRAINT.ordersRefundedNonnegative}
        CHECK (refunded_amount IS NULL OR refunded_amount >= 0)`);

  await run(`
    ALTER TABLE balance_ledger
      DROP CONSTRAINT ${RETIRED_CONSTRAINT.balanceLedgerSourceKnown},
      ADD CONSTRAINT ${CONSTRAINT.balanceLedgerSourceKnownWithRefund}
        CHECK (source_type IN ('charge', 'order', 'refund'))`);

  await run(`
    CREATE TABLE order_cancellations (
      id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      order_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      outcome VARCHAR(16) NOT NULL,
      request_id VARCHAR(128) NULL,
      created_at DATETIME(3) NOT NULL,
      applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY ${INDEX.orderCancellationsUserIdempotency} (user_id, idempotency_key),
      KEY ${INDEX.orderCancellationsOrder} (order_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    CREATE TABLE product_restocks (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      product_id BIGINT UNSIGNED NOT NULL,
      quantity INT NOT NULL,
      idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      stock_after INT NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY ${INDEX.productRestocksIdempotency} (idempotency_key),
      KEY ${INDEX.productRestocksProduct} (product_id, id),
      CONSTRAINT ${CONSTRAINT.productRestocksProduct}
        FOREIGN KEY (product_id) REFERENCES products (id),
      CONSTRAINT ${CONSTRAINT.productRestocksQuantityRange} CHECK (quantity BETWEEN 1 AND 1000000)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
};

const down: Migration = async ({ context: sequelize }) => {
  const run = (sql: string) => sequelize.query(sql);
  await run('DROP TABLE IF EXISTS product_restocks');
  await run('DROP TABLE IF EXISTS order_cancellations');
  await run(`
    ALTER TABLE balance_ledger
      DROP CONSTRAINT ${CONSTRAINT.balanceLedgerSourceKnownWithRefund},
      ADD CONSTRAINT ${RETIRED_CONSTRAINT.balanceLedgerSourceKnown}
        CHECK (source_type IN ('charge', 'order'))`);
  await run(`
    ALTER TABLE orders
      DROP CONSTRAINT ${CONSTRAINT.ordersRefundedNonnegative},
      DROP CONSTRAINT ${CONSTRAINT.ordersStatusKnownWithCancelled},
      ADD CONSTRAINT ${RETIRED_CONSTRAINT.ordersStatusKnown}
        CHECK (status IN ('PENDING', 'PROCESSING', 'PAID', 'FAILED', 'ON_HOLD')),
      DROP COLUMN refunded_amount,
      DROP COLUMN cancelled_at`);
};

export const migration = { name: '0003-cancellations-and-restocks', up, down };
