import type { Sequelize } from 'sequelize';
import { uuidv7Floor } from '../ids';
import type { RequestKind } from '../requests/records';
import { FINAL_STATUSES, type CancellationView, type ChargeView, type OrderView } from '../views';
import { createCancellationsRepository } from './repositories/cancellations';
import { createChargesRepository } from './repositories/charges';
import { createOrdersRepository } from './repositories/orders';
import { salesHourSql } from './repositories/stock';
import { select, sqlDateTime } from './sql';

/** One invariant of the contract and the rows that break it (empty when it holds). */
export interface InvariantCheck {
  name: string;
  description: string;
  violations: Record<string, unknown>[];
  /** How long its query took: a full run scans the whole history, so this grows with it. */
  ms: number;
}

/**
 * Where a recent run starts, in the forms its checks compare with: the moment as DATETIME(3)
 * text, the least id made from then on (ids are UUID version 7: a primary-key range), and the
 * last ledger row written before it (ledger ids only grow).
 */
interface Bounds {
  since: string;
  idFloor: string;
  ledgerBefore: number;
}

interface Check {
  name: string;
  description: string;
  /** Every row. */
  sql: string;
  /**
   * The rows written or changed since a moment, and their arguments; absent for a check that
   * reads only the users or the products, whose cost the history does not grow.
   */
  recent?: { sql: string; args(bounds: Bounds): unknown[] };
}

/** One form of a check: the same select, and a condition each form puts in its place. */
const scoped = (sql: string, full: string, recent: string) => ({
  full: sql.replaceAll('$SCOPE', full),
  recent: sql.replaceAll('$SCOPE', recent),
});

// A recent run compares each balance changed since its moment with its user's newest ledger
// row: the rows before that moment were summed by an earlier full run, and the rows after it
// follow on from them (ledger-chain).
const balanceSql = {
  full: `
      SELECT u.id AS userId, u.balance,
        CAST(COALESCE((SELECT SUM(l.delta) FROM balance_ledger l WHERE l.user_id = u.id), 0) AS SIGNED) AS ledger,
        CAST(COALESCE((SELECT SUM(c.amount) FROM charges c WHERE c.user_id = u.id AND c.status = 'COMPLETED'), 0)
          - COALESCE((SELECT SUM(o.total_amount) FROM orders o WHERE o.user_id = u.id AND o.status = 'PAID'), 0)
          AS SIGNED) AS expected
      FROM users u
      HAVING balance <> ledger OR balance <> expected`,
  recent: `
      SELECT u.id AS userId, u.balance,
        CAST(COALESCE((SELECT l.balance_after FROM balance_ledger l WHERE l.user_id = u.id
          ORDER BY l.id DESC LIMIT 1), 0) AS SIGNED) AS ledger
      FROM users u
      WHERE u.updated_at >= ? OR u.id IN (SELECT user_id FROM balance_ledger WHERE id > ?)
      HAVING balance <> ledger`,
};

// In full, one pass over the ledger in its users' order; a recent run looks up the row before
// each of its rows.
const chainSql = {
  full: `
      SELECT ledgerId, userId, delta, balanceAfter, previousAfter FROM (
        SELECT l.id AS ledgerId, l.user_id AS userId, l.delta, l.balance_after AS balanceAfter,
          COALESCE(LAG(l.balance_after) OVER (PARTITION BY l.user_id ORDER BY l.id), 0) AS previousAfter
        FROM balance_ledger l
      ) chain
      WHERE balanceAfter <> previousAfter + delta`,
  recent: `
      SELECT l.id AS ledgerId, l.user_id AS userId, l.delta, l.balance_after AS balanceAfter,
        CAST(COALESCE((SELECT p.balance_after FROM balance_ledger p
          WHERE p.user_id = l.user_id AND p.id < l.id ORDER BY p.id DESC LIMIT 1), 0) AS SIGNED) AS previousAfter
      FROM balance_ledger l
      WHERE l.id > ?
      HAVING balanceAfter <> previousAfter + delta`,
};

// Each table's column its status index holds: created_at of charges, paid_at of orders.
const moneySql = {
  full: moneyWithoutUser('TRUE', 'TRUE'),
  recent: moneyWithoutUser('created_at >= ?', 'paid_at >= ?'),
};
function moneyWithoutUser(charges: string, orders: string): string {
  return `
      SELECT DISTINCT user_id AS userId FROM charges
        WHERE status = 'COMPLETED' AND ${charges} AND user_id NOT IN (SELECT id FROM users)
      UNION
      SELECT DISTINCT user_id FROM orders
        WHERE status = 'PAID' AND ${orders} AND total_amount > 0 AND user_id NOT IN (SELECT id FROM users)`;
}

// A recent run reads the whole history of the products changed since its moment (a sale
// changes its product's row): what they sold is a sum over all of it.
const stockSql = {
  full: stockConservation('', ''),
  recent: stockConservation(
    'AND oi.product_id IN (SELECT id FROM products WHERE updated_at >= ?)',
    'WHERE p.updated_at >= ?',
  ),
};
function stockConservation(items: string, products: string): string {
  return `
      SELECT p.id AS productId, p.stock, p.stock_received AS received,
        CAST(COALESCE((SELECT SUM(r.quantity) FROM product_restocks r WHERE r.product_id = p.id), 0)
          AS SIGNED) AS apiRestocked,
        p.sold_quantity AS soldCounter, CAST(COALESCE(s.sold, 0) AS SIGNED) AS paidQuantity
      FROM products p
      LEFT JOIN (
        SELECT oi.product_id, SUM(oi.quantity) AS sold
        FROM order_items oi JOIN orders o ON o.id = oi.order_id
        WHERE o.status = 'PAID' ${items} GROUP BY oi.product_id
      ) s ON s.product_id = p.id
      ${products}
      HAVING stock <> received - paidQuantity OR soldCounter <> paidQuantity`;
}

// The hours the ranking reads, reaching into the last 72 (by the database's clock); a recent
// run starts at the hour of its moment if that is later.
const salesSql = scoped(
  `
      SELECT hourStart, productId,
        CAST(SUM(keptQuantity) AS SIGNED) AS keptQuantity,
        CAST(SUM(paidQuantity) AS SIGNED) AS paidQuantity,
        CAST(SUM(keptRevenue) AS SIGNED) AS keptRevenue,
        CAST(SUM(paidRevenue) AS SIGNED) AS paidRevenue
      FROM (
        SELECT ${salesHourSql('hour_start')} AS hourStart, product_id AS productId,
          quantity AS keptQuantity, revenue AS keptRevenue, 0 AS paidQuantity, 0 AS paidRevenue
        FROM product_sales_hourly
        WHERE hour_start >= ${salesHourSql('$SCOPE')}
        UNION ALL
        SELECT ${salesHourSql('o.paid_at')}, oi.product_id,
          0, 0, oi.quantity, oi.quantity * oi.unit_price
        FROM orders o JOIN order_items oi ON oi.order_id = o.id
        WHERE o.status = 'PAID'
          AND o.paid_at >= ${salesHourSql('$SCOPE')}
      ) sums
      GROUP BY hourStart, productId
      HAVING keptQuantity <> paidQuantity OR keptRevenue <> paidRevenue
      ORDER BY hourStart, productId`,
  'UTC_TIMESTAMP() - INTERVAL 72 HOUR',
  'GREATEST(CAST(? AS DATETIME(3)), UTC_TIMESTAMP() - INTERVAL 72 HOUR)',
);

const paidSql = scoped(
  `
      SELECT o.id AS orderId, o.total_amount AS total,
        CAST((SELECT COALESCE(SUM(oi.quantity * oi.unit_price), -1) FROM order_items oi WHERE oi.order_id = o.id) AS SIGNED) AS itemsTotal,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'order' AND l.source_id = o.id AND l.delta = -o.total_amount) AS ledgerRows,
        (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.type = 'order.paid') AS events
      FROM orders o WHERE o.status = 'PAID' AND $SCOPE
      HAVING itemsTotal <> total OR ledgerRows <> IF(total > 0, 1, 0) OR events <> 1`,
  'TRUE',
  'o.paid_at >= ?',
);

// Every order is CANCELLED by a cancellation, whose row the same transaction writes.
const cancelledSql = scoped(
  `
      SELECT o.id AS orderId, o.total_amount AS total, o.refunded_amount AS refunded,
        o.paid_at IS NOT NULL AS wasPaid, o.cancelled_at IS NOT NULL AS hasCancelledAt,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'order' AND l.source_id = o.id AND l.delta = -o.total_amount) AS debits,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'refund' AND l.source_id = o.id AND l.delta = o.refunded_amount) AS refunds,
        (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.type = 'order.paid') AS paidEvents,
        (SELECT COUNT(*) FROM order_events e WHERE e.order_id = o.id AND e.type = 'order.cancelled') AS cancelledEvents
      FROM orders o WHERE o.status = 'CANCELLED' AND $SCOPE
      HAVING NOT hasCancelledAt
        OR (wasPaid AND (refunded <> total OR debits <> IF(total > 0, 1, 0)
          OR refunds <> IF(total > 0, 1, 0) OR paidEvents <> 1 OR cancelledEvents <> 1))
        OR (NOT wasPaid AND (refunded <> 0 OR debits <> 0 OR refunds <> 0
          OR paidEvents <> 0 OR cancelledEvents <> 0))`,
  'TRUE',
  'o.id IN (SELECT order_id FROM order_cancellations WHERE id >= ?)',
);

const appliedSql = scoped(
  `
      SELECT c.id AS cancellationId, c.order_id AS orderId, c.outcome, o.status
      FROM order_cancellations c LEFT JOIN orders o ON o.id = c.order_id
      WHERE c.outcome <> 'ON_HOLD' AND $SCOPE AND (o.status IS NULL OR o.status <> c.outcome)`,
  'TRUE',
  'c.id >= ?',
);

const creditedSql = scoped(
  `
      SELECT c.id AS chargeId, c.amount,
        (SELECT COUNT(*) FROM balance_ledger l
          WHERE l.source_type = 'charge' AND l.source_id = c.id AND l.delta = c.amount) AS ledgerRows
      FROM charges c WHERE c.status = 'COMPLETED' AND $SCOPE
      HAVING ledgerRows <> 1`,
  'TRUE',
  'c.created_at >= ?',
);

const sourceSql = scoped(
  `
      SELECT l.id AS ledgerId, l.source_type AS sourceType, l.source_id AS sourceId
      FROM balance_ledger l
      LEFT JOIN charges c ON l.source_type = 'charge' AND c.id = l.source_id AND c.status = 'COMPLETED'
      LEFT JOIN orders o ON l.source_type = 'order' AND o.id = l.source_id
        AND (o.status = 'PAID' OR (o.status = 'CANCELLED' AND o.paid_at IS NOT NULL))
      LEFT JOIN orders r ON l.source_type = 'refund' AND r.id = l.source_id
        AND r.status = 'CANCELLED' AND r.paid_at IS NOT NULL
      WHERE $SCOPE AND c.id IS NULL AND o.id IS NULL AND r.id IS NULL`,
  'TRUE',
  'l.id > ?',
);

const eventsSql = scoped(
  `
      SELECT e.id AS eventId, e.order_id AS orderId, e.type FROM order_events e
      LEFT JOIN orders o ON o.id = e.order_id AND (
        (e.type = 'order.paid' AND (o.status = 'PAID' OR (o.status = 'CANCELLED' AND o.paid_at IS NOT NULL)))
        OR (e.type = 'order.cancelled' AND o.status = 'CANCELLED' AND o.paid_at IS NOT NULL))
      WHERE $SCOPE AND o.id IS NULL`,
  'TRUE',
  'e.id >= ?',
);

const CHECKS: Check[] = [
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
    sql: balanceSql.full,
    recent: { sql: balanceSql.recent, args: (b) => [b.since, b.ledgerBefore] },
  },
  {
    name: 'ledger-chain',
    description:
      "Every ledger row: balance_after = its user's previous row's balance_after (0 before the first) + delta",
    sql: chainSql.full,
    recent: { sql: chainSql.recent, args: (b) => [b.ledgerBefore] },
  },
  {
    name: 'money-without-user',
    description: 'Every user with a COMPLETED charge or a paid total has a balance row',
    sql: moneySql.full,
    recent: { sql: moneySql.recent, args: (b) => [b.since, b.since] },
  },
  {
    name: 'stock-conservation',
    // received (stock_received, kept by the products triggers) = initial stock + every restock
    // however it was made: through the API (also listed in product_restocks, shown as
    // apiRestocked for the operator) or in SQL.
    description:
      'Per product: stock = initial stock + restocks (API and SQL) - quantities in PAID orders',
    sql: stockSql.full,
    recent: { sql: stockSql.recent, args: (b) => [b.since, b.since] },
  },
  {
    name: 'top-sellers-sums',
    // The hours that reach into the last 72 (by the database's clock): the ones the ranking
    // reads, which the refresh keeps a day longer.
    description:
      'Per product and hour of the last 72: the sales sums = units and revenue of the PAID orders paid in that hour',
    sql: salesSql.full,
    recent: { sql: salesSql.recent, args: (b) => [b.since, b.since] },
  },
  {
    name: 'paid-orders-complete',
    description: 'Every PAID order: total = its items, one ledger debit (if total > 0), one event',
    sql: paidSql.full,
    recent: { sql: paidSql.recent, args: (b) => [b.since] },
  },
  {
    name: 'cancelled-orders-complete',
    description:
      'Every CANCELLED order: paid before → refunded its total, one debit and one refund ledger row (if total > 0), one order.paid and one order.cancelled event; never paid → refunded 0, no ledger rows, no events',
    sql: cancelledSql.full,
    recent: { sql: cancelledSql.recent, args: (b) => [b.idFloor] },
  },
  {
    name: 'cancellations-applied',
    description:
      'Every applied cancellation left its order as it says: CANCELLED, or FAILED as it was',
    sql: appliedSql.full,
    recent: { sql: appliedSql.recent, args: (b) => [b.idFloor] },
  },
  {
    name: 'completed-charges-credited',
    description: 'Every COMPLETED charge has exactly one ledger credit of its amount',
    sql: creditedSql.full,
    recent: { sql: creditedSql.recent, args: (b) => [b.since] },
  },
  {
    name: 'ledger-has-source',
    description:
      'Every ledger row belongs to a COMPLETED charge, a PAID order (or one cancelled after it was paid), or the refund of a cancelled paid order',
    sql: sourceSql.full,
    recent: { sql: sourceSql.recent, args: (b) => [b.ledgerBefore] },
  },
  {
    name: 'no-events-for-unpaid-orders',
    description:
      'Only paid orders have an order.paid event (PAID, or cancelled after it), only cancelled paid orders an order.cancelled one',
    sql: eventsSql.full,
    recent: { sql: eventsSql.recent, args: (b) => [b.idFloor] },
  },
];

/** Every check's name, in order: the `check` label of `shop_reconcile_drift`. */
export const CHECK_NAMES: readonly string[] = Object.freeze(CHECKS.map((c) => c.name));

/**
 * Checks every invariant of the contract against the database: every row (full scans, whose
 * cost grows with the history), or with `since` only the rows written or changed from that
 * moment on (primary-key and index ranges; the users and products tables are still read
 * whole, and a product changed since is checked against all its sales). Meant for an
 * operator, a test or the workers' schedule, not for a request path.
 */
export async function reconcile(sequelize: Sequelize, since?: Date): Promise<InvariantCheck[]> {
  const bounds = since === undefined ? undefined : await boundsOf(sequelize, since);
  const results: InvariantCheck[] = [];
  for (const check of CHECKS) {
    const started = performance.now();
    const [sql, args] =
      bounds !== undefined && check.recent !== undefined
        ? [check.recent.sql, check.recent.args(bounds)]
        : [check.sql, []];
    const violations = await select<Record<string, unknown>>(sequelize, sql, args);
    const ms = Math.round(performance.now() - started);
    results.push({ name: check.name, description: check.description, violations, ms });
  }
  return results;
}

/**
 * The bounds of a recent run. The last ledger row before the moment is found walking the
 * ledger's primary key down from its newest row: as many rows as were written since.
 */
async function boundsOf(sequelize: Sequelize, since: Date): Promise<Bounds> {
  const text = sqlDateTime(since);
  const [before] = await select<{ id: number | string }>(
    sequelize,
    'SELECT id FROM balance_ledger WHERE created_at < ? ORDER BY id DESC LIMIT 1',
    [text],
  );
  return {
    since: text,
    idFloor: uuidv7Floor(since.getTime()),
    ledgerBefore: Number(before?.id ?? 0),
  };
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
