import type { Sequelize } from 'sequelize';
import type { RequestKind } from '../requests/records';
import { FINAL_STATUSES, type CancellationView, type ChargeView, type OrderView } from '../views';
import { createCancellationsRepository } from './repositories/cancellations';
import { createChargesRepository } from './repositories/charges';
import { createOrdersRepository } from './repositories/orders';
import { salesHourSql } from './repositories/stock';
import { select } from './sql';

/** One invariant of the contract and the rows that break it (empty when it holds). */
export interface InvariantCheck {
  name: string;
  description: string;
  violations: Record<string, unknown>[];
  /** How long its query took: the checks scan the whole history, so this grows with it. */
  ms: number;
}

const CHECKS: { name: string; description: string; sql: string }[] = [
  {
    name: 'balance-nonnegative',
    description: 'No balance is negative',
    sql: 'SELECT id AS userId, balance FROM users WHERE balance < 0',
  },
  {
    name: 'stock-nonnegative',
    description: 'No stock is negative',
    sql: 'SELECT id AS productId, stock FROM products WHERE stock < 0',
  },
  {
    name: 'balance-equals-ledger-and-history',
    description: 'Per user: balance = ledger sum = COMPLETED charges - PAID orders',
    sql: `
      SELECT u.id AS userId, u.balance,
        CAST(COALESCE((SELECT SUM(l.delta) FROM balance_ledger l WHERE l.user_id = u.id), 0) AS SIGNED) AS ledger,
        CAST(COALESCE((SELECT SUM(c.amount) FROM charges c WHERE c.user_id = u.id AND c.status = 'COMPLETED'), 0)
          - COALESCE((SELECT SUM(o.total_amount) FROM orders o WHERE o.user_id = u.id AND o.status = 'PAID'), 0)
          AS SIGNED) AS expected
      FROM users u
      HAVING balance <> ledger OR balance <> expected`,
  },
  {
    name: 'money-without-user',
    description: 'Every user with a COMPLETED charge or a paid total has a balance row',
    sql: `
      SELECT DISTINCT user_id AS userId FROM charges
        WHERE status = 'COMPLETED' AND user_id NOT IN (SELECT id FROM users)
      UNION
      SELECT DISTINCT user_id FROM orders
        WHERE status = 'PAID' AND total_amount > 0 AND user_id NOT IN (SELECT id FROM users)`,
  },
  {
    name: 'stock-conservation',
    // received (stock_received, kept by the products triggers) = initial stock + every restock
    // however it was made: through the API (also listed in product_restocks, shown as
    // apiRestocked for the operator) or in SQL.
    description:
      'Per product: stock = initial stock + restocks (API and SQL) - quantities in PAID orders',
    sql: `
      SELECT p.id AS productId, p.stock, p.stock_received AS received,
        CAST(COALESCE((SELECT SUM(r.quantity) FROM product_restocks r WHERE r.product_id = p.id), 0)
          AS SIGNED) AS apiRestocked,
        p.sold_quantity AS soldCounter, CAST(COALESCE(s.sold, 0) AS SIGNED) AS paidQuantity
      FROM products p
      LEFT JOIN (
        SELECT oi.product_id, SUM(oi.quantity) AS sold
        FROM order_items oi JOIN orders o ON o.id = oi.order_id
        WHERE o.status = 'PAID' GROUP BY oi.product_id
      ) s ON s.product_id = p.id
      HAVING stock <> received - paidQuantity OR soldCounter <> paidQuantity`,
  },
  {
    name: 'top-sellers-sums',
    // The hours that reach into the last 72 (by the database's clock): the ones the ranking
    // reads, which the refresh keeps a day longer.
    description:
      'Per product and hour of the last 72: the sales sums = units and revenue of the PAID orders paid in that hour',
    sql: `
      SELECT hourStart, productId,
        CAST(SUM(keptQuantity) AS SIGNED) AS keptQuantity,
        CAST(SUM(paidQuantity) AS SIGNED) AS paidQuantity,
        CAST(SUM(keptRevenue) AS SIGNED) AS keptRevenue,
        CAST(SUM(paidRevenue) AS SIGNED) AS paidRevenue
      FROM (
        SELECT ${salesHourSql('hour_start')} AS hourStart, product_id AS productId,
          quantity AS keptQuantity, revenue AS keptRevenue, 0 AS paidQuantity, 0 AS paidRevenue
        FROM product_sales_hourly
        WHERE hour_start >= ${salesHourSql('UTC_TIMESTAMP() - INTERVAL 72 HOUR')}
        UNION ALL
        SELECT ${salesHourSql('o.paid_at')}, oi.product_id,
          0, 0, oi.quantity, oi.quantity * oi.unit_price
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.status = 'PAID'
          AND o.paid_at >= ${salesHourSql('UTC_TIMESTAMP() - INTERVAL 72 HOUR')}
      ) sums
      GROUP BY hourStart, productId
      HAVING keptQuantity <> paidQuantity OR keptRevenue <> paidRevenue
      ORDER BY hourStart, productId`,
  },
  {
    name: 'paid-orders-complete',
    description: 'Every PAID order: total = its items, one ledger debit (if total > 0), one event',
    sql: `
      SELECT o.id AS orderId, o.total_amount AS total,
        CAST((SELECT COALESCE(SUM(oi.quantity * oi.unit_price), -1) FROM order_items oi WHERE oi.order_id = o.id) AS SIGNED) AS itemsTotal,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'order' AND l.source_id = o.id AND l.delta = -o.total_amount) AS ledgerRows,
        (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.type = 'order.paid') AS events
      FROM orders o WHERE o.status = 'PAID'
      HAVING itemsTotal <> total OR ledgerRows <> IF(total > 0, 1, 0) OR events <> 1`,
  },
  {
    name: 'cancelled-orders-complete',
    description:
      'Every CANCELLED order: paid before → refunded its total, one debit and one refund ledger row (if total > 0), one order.paid and one order.cancelled event; never paid → refunded 0, no ledger rows, no events',
    sql: `
      SELECT o.id AS orderId, o.total_amount AS total, o.refunded_amount AS refunded,
        o.paid_at IS NOT NULL AS wasPaid, o.cancelled_at IS NOT NULL AS hasCancelledAt,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'order' AND l.source_id = o.id AND l.delta = -o.total_amount) AS debits,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'refund' AND l.source_id = o.id AND l.delta = o.refunded_amount) AS refunds,
        (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.type = 'order.paid') AS paidEvents,
        (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.type = 'order.cancelled') AS cancelledEvents
      FROM orders o WHERE o.status = 'CANCELLED'
      HAVING NOT hasCancelledAt
        OR (wasPaid AND (refunded <> total OR debits <> IF(total > 0, 1, 0)
          OR refunds <> IF(total > 0, 1, 0) OR paidEvents <> 1 OR cancelledEvents <> 1))
        OR (NOT wasPaid AND (refunded <> 0 OR debits <> 0 OR refunds <> 0
          OR paidEvents <> 0 OR cancelledEvents <> 0))`,
  },
  {
    name: 'cancellations-applied',
    description:
      'Every applied cancellation left its order as it says: CANCELLED, or FAILED as it was',
    sql: `
      SELECT c.id AS cancellationId, c.order_id AS orderId, c.outcome, o.status
      FROM order_cancellations c LEFT JOIN orders o ON o.id = c.order_id
      WHERE c.outcome <> 'ON_HOLD' AND (o.status IS NULL OR o.status <> c.outcome)`,
  },
  {
    name: 'completed-charges-credited',
    description: 'Every COMPLETED charge has exactly one ledger credit of its amount',
    sql: `
      SELECT c.id AS chargeId, c.amount,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'charge' AND l.source_id = c.id AND l.delta = c.amount) AS ledgerRows
      FROM charges c WHERE c.status = 'COMPLETED'
      HAVING ledgerRows <> 1`,
  },
  {
    name: 'ledger-has-source',
    description:
      'Every ledger row belongs to a COMPLETED charge, a PAID order (or one cancelled after it was paid), or the refund of a cancelled paid order',
    sql: `
      SELECT l.id AS ledgerId, l.source_type AS sourceType, l.source_id AS sourceId
      FROM balance_ledger l
      LEFT JOIN charges c ON l.source_type = 'charge' AND c.id = l.source_id AND c.status = 'COMPLETED'
      LEFT JOIN orders o ON l.source_type = 'order' AND o.id = l.source_id
        AND (o.status = 'PAID' OR (o.status = 'CANCELLED' AND o.paid_at IS NOT NULL))
      LEFT JOIN orders r ON l.source_type = 'refund' AND r.id = l.source_id
        AND r.status = 'CANCELLED' AND r.paid_at IS NOT NULL
      WHERE c.id IS NULL AND o.id IS NULL AND r.id IS NULL`,
  },
  {
    name: 'no-events-for-unpaid-orders',
    description:
      'Only paid orders have an order.paid event (PAID, or cancelled after it), only cancelled paid orders an order.cancelled one',
    sql: `
      SELECT e.id AS eventId, e.order_id AS orderId, e.type FROM order_events e
      LEFT JOIN orders o ON o.id = e.order_id AND (
        (e.type = 'order.paid' AND (o.status = 'PAID' OR (o.status = 'CANCELLED' AND o.paid_at IS NOT NULL)))
        OR (e.type = 'order.cancelled' AND o.status = 'CANCELLED' AND o.paid_at IS NOT NULL))
      WHERE o.id IS NULL`,
  },
];

/** Every check's name, in order: the `check` label of `shop_reconcile_drift`. */
export const CHECK_NAMES: readonly string[] = Object.freeze(CHECKS.map((c) => c.name));

/**
 * Checks every invariant of the contract against the database. Full scans: meant for an
 * operator or a test, not for a request path.
 */
export async function reconcile(sequelize: Sequelize): Promise<InvariantCheck[]> {
  const results: InvariantCheck[] = [];
  for (const check of CHECKS) {
    const started = performance.now();
    const violations = await select<Record<string, unknown>>(sequelize, check.sql, []);
    const ms = Math.round(performance.now() - started);
    results.push({ name: check.name, description: check.description, violations, ms });
  }
  return results;
}

/**
 * The final views (PAID, FAILED, COMPLETED) the database holds for these ids, by id: requests
 * a worker committed but whose final view never reached Redis. One primary-key lookup for the
 * ids, then a view read per final one (there are few: each is a repair).
 */
export async function recordedFinalViews(
  sequelize: Sequelize,
  kind: RequestKind,
  ids: readonly string[],
): Promise<Map<string, OrderView | ChargeView | CancellationView>> {
  const views = new Map<string, OrderView | ChargeView | CancellationView>();
  if (ids.length === 0) return views;
  if (kind === 'cancel') return recordedCancellations(sequelize, ids);
  const table = kind === 'order' ? 'orders' : 'charges';
  const final = await select<{ id: string }>(
    sequelize,
    `SELECT id FROM ${table} WHERE id IN (?) AND status IN (?)`,
    [ids, [...FINAL_STATUSES]],
  );
  const repository =
    kind === 'order' ? createOrdersRepository(sequelize) : createChargesRepository(sequelize);
  for (const { id } of final) {
    const view = await repository.findView(id);
    if (view) views.set(id, view);
  }
  return views;
}

/** The applied cancellations among these ids, as final views with the order they left. */
async function recordedCancellations(
  sequelize: Sequelize,
  ids: readonly string[],
): Promise<Map<string, CancellationView>> {
  const views = new Map<string, CancellationView>();
  const cancellations = createCancellationsRepository(sequelize);
  const orders = createOrdersRepository(sequelize);
  const applied = await select<{ id: string }>(
    sequelize,
    "SELECT id FROM order_cancellations WHERE id IN (?) AND outcome <> 'ON_HOLD'",
    [ids],
  );
  for (const { id } of applied) {
    const row = await cancellations.find(id);
    if (!row || row.outcome === 'ON_HOLD') continue;
    views.set(id, {
      cancellationId: row.id,
      orderId: row.orderId,
      userId: row.userId,
      status: 'COMPLETED',
      outcome: row.outcome,
      createdAt: row.createdAt.toISOString(),
      order: await orders.findView(row.orderId),
    });
  }
  return views;
}
