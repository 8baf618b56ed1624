/**
 * The names of the schema's keys, constraints and triggers: written once here, used by the
 * migrations that create them, and checked against the database by test/db/schema.test.ts.
 *
 * A name, once released, does not change here: a database keeps the name its migration gave
 * it when it ran, so a rename is a new migration (and a new constant), never an edit.
 *
 * No code decides anything from a name the database reports (a duplicate is errno 1062 and a
 * lookup, see `shared/db/sql.ts`); the names are for people reading `EXPLAIN`, errors and DDL.
 */
export const INDEX = {
  productsUpdatedAt: 'products_updated_at',
  chargesUserIdempotency: 'charges_user_idempotency',
  chargesStatusCreated: 'charges_status_created',
  ordersUserIdempotency: 'orders_user_idempotency',
  ordersUserCreated: 'orders_user_created',
  ordersStatusPaid: 'orders_status_paid',
  orderItemsProduct: 'order_items_product',
  balanceLedgerSource: 'balance_ledger_source',
  balanceLedgerUser: 'balance_ledger_user',
  orderEventsOrderType: 'order_events_order_type',
  orderEventsStatusOccurred: 'order_events_status_occurred',
  orderEventsStatusEnqueued: 'order_events_status_enqueued',
  orderCancellationsUserIdempotency: 'order_cancellations_user_idempotency',
  orderCancellationsOrder: 'order_cancellations_order',
  productRestocksIdempotency: 'product_restocks_idempotency',
  productRestocksProduct: 'product_restocks_product',
} as const;

/** CHECK and foreign-key constraints. */
export const CONSTRAINT = {
  usersBalanceRange: 'users_balance_range',
  productsPriceRange: 'products_price_range',
  productsStockNonnegative: 'products_stock_nonnegative',
  productsSoldNonnegative: 'products_sold_nonnegative',
  chargesAmountRange: 'charges_amount_range',
  chargesStatusKnown: 'charges_status_known',
  ordersTotalNonnegative: 'orders_total_nonnegative',
  orderItemsOrder: 'order_items_order',
  orderItemsQuantityRange: 'order_items_quantity_range',
  balanceLedgerAfterNonnegative: 'balance_ledger_after_nonnegative',
  orderEventsStatusKnown: 'order_events_status_known',
  /** 0003: CANCELLED joins the order statuses (replaces ordersStatusKnown). */
  ordersStatusKnownWithCancelled: 'orders_status_known_v2',
  ordersRefundedNonnegative: 'orders_refunded_nonnegative',
  /** 0003: refunds join the ledger's sources (replaces balanceLedgerSourceKnown). */
  balanceLedgerSourceKnownWithRefund: 'balance_ledger_source_known_v2',
  productRestocksQuantityRange: 'product_restocks_quantity_range',
  productRestocksProduct: 'product_restocks_product_fk',
  productSalesHourlyNonnegative: 'product_sales_hourly_nonnegative',
} as const;

/**
 * Constraints a later migration replaced: still the names their first migration creates and
 * the later one drops (a database that ran them has none of these any more).
 */
export const RETIRED_CONSTRAINT = {
  /** 0001; replaced in 0003 by ordersStatusKnownWithCancelled. */
  ordersStatusKnown: 'orders_status_known',
  /** 0001; replaced in 0003 by balanceLedgerSourceKnownWithRefund. */
  balanceLedgerSourceKnown: 'balance_ledger_source_known',
} as const;

export const TRIGGER = {
  productsStockReceivedOnInsert: 'products_stock_received_on_insert',
  productsStockReceivedOnUpdate: 'products_stock_received_on_update',
} as const;
