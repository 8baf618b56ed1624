import type { Migration } from '../migrator';
import { CONSTRAINT, INDEX, RETIRED_CONSTRAINT, TRIGGER } from '../schema-names';

/**
 * The whole product's schema. Table and column names in the contract (products, orders,
 * order_items and their listed columns) are fixed; the rest is ours. See ../README.md for the
 * ERD and the reason behind each index.
 */
const up: Migration = async ({ context: sequelize }) => {
  const run = (sql: string) => sequelize.query(sql);

  await run(`
    CREATE TABLE users (
      id BIGINT UNSIGNED NOT NULL,
      balance BIGINT NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      CONSTRAINT ${CONSTRAINT.usersBalanceRange} CHECK (balance >= 0 AND balance <= 1000000000000)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    CREATE TABLE products (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      name VARCHAR(200) NOT NULL,
      description VARCHAR(2000) NOT NULL DEFAULT '',
      price BIGINT NOT NULL,
      stock INT NOT NULL DEFAULT 0,
      sold_quantity BIGINT NOT NULL DEFAULT 0,
      stock_received BIGINT NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      KEY ${INDEX.productsUpdatedAt} (updated_at),
      CONSTRAINT ${CONSTRAINT.productsPriceRange} CHECK (price >= 0 AND price <= 1000000000000),
      CONSTRAINT ${CONSTRAINT.productsStockNonnegative} CHECK (stock >= 0),
      CONSTRAINT ${CONSTRAINT.productsSoldNonnegative} CHECK (sold_quantity >= 0)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  // stock_received = initial stock + every restock, however it was made (API, SQL console):
  // any change of stock not matched by a change of sold_quantity is a delivery or a write-off.
  // Order workers move stock and sold_quantity together, so the conservation invariant
  // stock = stock_received - SUM(quantity of PAID order items) can be checked at any time.
  await run(`
    CREATE TRIGGER ${TRIGGER.productsStockReceivedOnInsert} BEFORE INSERT ON products FOR EACH ROW
      SET NEW.stock_received = NEW.stock + NEW.sold_quantity`);
  await run(`
    CREATE TRIGGER ${TRIGGER.productsStockReceivedOnUpdate} BEFORE UPDATE ON products FOR EACH ROW
      SET NEW.stock_received = OLD.stock_received
        + (NEW.stock - OLD.stock) + (NEW.sold_quantity - OLD.sold_quantity)`);

  await run(`
    CREATE TABLE charges (
      id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      amount BIGINT NOT NULL,
      status VARCHAR(16) NOT NULL,
      failure_code VARCHAR(64) NULL,
      balance_after BIGINT NULL,
      idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      request_id VARCHAR(128) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      completed_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY ${INDEX.chargesUserIdempotency} (user_id, idempotency_key),
      KEY ${INDEX.chargesStatusCreated} (status, created_at),
      CONSTRAINT ${CONSTRAINT.chargesAmountRange} CHECK (amount BETWEEN 1 AND 10000000),
      CONSTRAINT ${CONSTRAINT.chargesStatusKnown}
        CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'ON_HOLD'))
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    CREATE TABLE orders (
      id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      status VARCHAR(16) NOT NULL,
      total_amount BIGINT NULL,
      failure_code VARCHAR(64) NULL,
      idempotency_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      request_id VARCHAR(128) NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      paid_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY ${INDEX.ordersUserIdempotency} (user_id, idempotency_key),
      KEY ${INDEX.ordersUserCreated} (user_id, created_at, id),
      KEY ${INDEX.ordersStatusPaid} (status, paid_at),
      CONSTRAINT ${CONSTRAINT.ordersTotalNonnegative} CHECK (total_amount IS NULL OR total_amount >= 0),
      CONSTRAINT ${RETIRED_CONSTRAINT.ordersStatusKnown}
        CHECK (status IN ('PENDING', 'PROCESSING', 'PAID', 'FAILED', 'ON_HOLD'))
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    CREATE TABLE order_items (
      order_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      product_id BIGINT UNSIGNED NOT NULL,
      quantity INT NOT NULL,
      unit_price BIGINT NULL,
      PRIMARY KEY (order_id, product_id),
      KEY ${INDEX.orderItemsProduct} (product_id),
      CONSTRAINT ${CONSTRAINT.orderItemsOrder} FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
      CONSTRAINT ${CONSTRAINT.orderItemsQuantityRange} CHECK (quantity BETWEEN 1 AND 100)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    CREATE TABLE balance_ledger (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      user_id BIGINT UNSIGNED NOT NULL,
      source_type VARCHAR(16) NOT NULL,
      source_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      delta BIGINT NOT NULL,
      balance_after BIGINT NOT NULL,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY ${INDEX.balanceLedgerSource} (source_type, source_id),
      KEY ${INDEX.balanceLedgerUser} (user_id, id),
      CONSTRAINT ${RETIRED_CONSTRAINT.balanceLedgerSourceKnown} CHECK (source_type IN ('charge', 'order')),
      CONSTRAINT ${CONSTRAINT.balanceLedgerAfterNonnegative} CHECK (balance_after >= 0)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);

  await run(`
    CREATE TABLE order_events (
      id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      order_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      type VARCHAR(32) NOT NULL,
      payload JSON NOT NULL,
      status VARCHAR(16) NOT NULL DEFAULT 'PENDING',
      attempts INT NOT NULL DEFAULT 0,
      last_error VARCHAR(500) NULL,
      occurred_at DATETIME(3) NOT NULL,
      enqueued_at DATETIME(3) NULL,
      delivered_at DATETIME(3) NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (id),
      UNIQUE KEY ${INDEX.orderEventsOrderType} (order_id, type),
      KEY ${INDEX.orderEventsStatusOccurred} (status, occurred_at),
      CONSTRAINT ${CONSTRAINT.orderEventsStatusKnown} CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD'))
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
};

const down: Migration = async ({ context: sequelize }) => {
  for (const table of [
    'order_events',
    'balance_ledger',
    'order_items',
    'orders',
    'charges',
    'products',
    'users',
  ]) {
    await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
  }
};

export const migration = { name: '0001-initial-schema', up, down };
