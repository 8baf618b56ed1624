import { setTimeout as sleep } from 'node:timers/promises';
import { reconcile } from '../../shared/db/reconcile';
import type { OrderView } from '../../shared/views';
import {
  fund,
  insertProduct,
  submitCancel,
  submitOrder,
  usePipelineWorld,
  waitForCancelled,
  waitForFinal,
} from '../harness/pipeline';

/**
 * A recent reconcile (`reconcile(db, since)`, what the workers' schedule runs between full
 * runs): over a history the workers really wrote, it sees a drift in what was written after
 * its moment, by every check it scopes, and nothing of what came before; a full run sees both.
 */
const world = usePipelineWorld();

/** What one user's history left: a charge, an order PAID, an order PAID then cancelled. */
interface History {
  userId: number;
  productId: number;
  paidId: string;
  cancelledId: string;
}

async function history(userId: number, productId: number): Promise<History> {
  const base = world.api.baseUrl;
  const token = await world.ctx.tokenFor(userId);
  await fund(base, token, 100_000);
  const paid = async (quantity: number) => {
    const submitted = await submitOrder(base, token, [{ productId, quantity }]);
    const order = await waitForFinal<OrderView>(base, token, submitted.statusUrl);
    expect(order.status).toBe('PAID');
    return order.orderId;
  };
  const paidId = await paid(1);
  const cancelledId = await paid(2);
  const cancel = await submitCancel(base, token, cancelledId);
  expect((await waitForCancelled<OrderView>(base, token, cancel.statusUrl)).status).toBe(
    'CANCELLED',
  );
  return { userId, productId, paidId, cancelledId };
}

let older: History;
let newer: History;
let since: Date;

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 1_000, stock: 100 });
  await insertProduct(world.ctx, { id: 2, price: 1_000, stock: 100 });
  older = await history(401, 1);
  await sleep(20);
  since = new Date();
  await sleep(20);
  newer = await history(402, 2);
});

/** The drifting checks and their row counts: every row, or with `from` the recent ones. */
async function drifting(from?: Date): Promise<Record<string, number>> {
  const checks = await reconcile(world.ctx.sequelize, from);
  return Object.fromEntries(
    checks.filter((c) => c.violations.length > 0).map((c) => [c.name, c.violations.length]),
  );
}

const sql = (text: string, replacements: unknown[]) =>
  world.ctx.sequelize.query(text, { replacements });

/**
 * A drift made by hand in one user's history, and its undoing. Rows keep their `updated_at`
 * where a drift changes them, as an edit that names no such column would not.
 */
interface Breakage {
  what: string;
  checks: string[];
  apply(h: History): Promise<unknown>;
  undo(h: History): Promise<unknown>;
}

const BREAKAGES: Breakage[] = [
  {
    what: 'a balance is off by one',
    checks: ['balance-equals-ledger-and-history'],
    apply: (h) =>
      sql('UPDATE users SET balance = balance + 1, updated_at = updated_at WHERE id = ?', [
        h.userId,
      ]),
    undo: (h) =>
      sql('UPDATE users SET balance = balance - 1, updated_at = updated_at WHERE id = ?', [
        h.userId,
      ]),
  },
  {
    what: 'a sold counter is off by one',
    checks: ['stock-conservation'],
    apply: (h) =>
      sql(
        'UPDATE products SET sold_quantity = sold_quantity + 1, updated_at = updated_at WHERE id = ?',
        [h.productId],
      ),
    undo: (h) =>
      sql(
        'UPDATE products SET sold_quantity = sold_quantity - 1, updated_at = updated_at WHERE id = ?',
        [h.productId],
      ),
  },
  {
    what: "a PAID order's order.paid event becomes order.cancelled",
    checks: ['paid-orders-complete', 'no-events-for-unpaid-orders'],
    apply: (h) =>
      sql(
        "UPDATE order_events SET type = 'order.cancelled' WHERE order_id = ? AND type = 'order.paid'",
        [h.paidId],
      ),
    undo: (h) =>
      sql(
        "UPDATE order_events SET type = 'order.paid' WHERE order_id = ? AND type = 'order.cancelled'",
        [h.paidId],
      ),
  },
  {
    what: "a ledger row's balance after is off by one",
    checks: ['ledger-chain'],
    apply: (h) =>
      sql(
        "UPDATE balance_ledger SET balance_after = balance_after + 1 WHERE source_type = 'order' AND source_id = ?",
        [h.paidId],
      ),
    undo: (h) =>
      sql(
        "UPDATE balance_ledger SET balance_after = balance_after - 1 WHERE source_type = 'order' AND source_id = ?",
        [h.paidId],
      ),
  },
  {
    what: "a PAID order's debit points nowhere",
    checks: ['ledger-has-source', 'paid-orders-complete'],
    apply: (h) =>
      sql(
        "UPDATE balance_ledger SET source_id = CONCAT('x', SUBSTRING(source_id, 2)) WHERE source_type = 'order' AND source_id = ?",
        [h.paidId],
      ),
    undo: (h) =>
      sql(
        "UPDATE balance_ledger SET source_id = ? WHERE source_type = 'order' AND source_id = CONCAT('x', SUBSTRING(?, 2))",
        [h.paidId, h.paidId],
      ),
  },
  {
    what: 'a PAID order moves to a user without a balance row',
    checks: ['money-without-user'],
    apply: (h) =>
      sql('UPDATE orders SET user_id = 9999, updated_at = updated_at WHERE id = ?', [h.paidId]),
    undo: (h) =>
      sql('UPDATE orders SET user_id = ?, updated_at = updated_at WHERE id = ?', [
        h.userId,
        h.paidId,
      ]),
  },
  {
    what: "a cancelled order's refund is forgotten",
    checks: ['cancelled-orders-complete'],
    apply: (h) =>
      sql('UPDATE orders SET refunded_amount = 0, updated_at = updated_at WHERE id = ?', [
        h.cancelledId,
      ]),
    undo: (h) =>
      sql(
        'UPDATE orders SET refunded_amount = total_amount, updated_at = updated_at WHERE id = ?',
        [h.cancelledId],
      ),
  },
  {
    what: 'a cancellation says it found the order FAILED',
    checks: ['cancellations-applied'],
    apply: (h) =>
      sql("UPDATE order_cancellations SET outcome = 'FAILED' WHERE order_id = ?", [h.cancelledId]),
    undo: (h) =>
      sql("UPDATE order_cancellations SET outcome = 'CANCELLED' WHERE order_id = ?", [
        h.cancelledId,
      ]),
  },
  {
    what: "a charge's credit has another amount",
    checks: ['completed-charges-credited', 'ledger-chain'],
    apply: (h) =>
      sql(
        "UPDATE balance_ledger SET delta = delta + 1 WHERE source_type = 'charge' AND user_id = ?",
        [h.userId],
      ),
    undo: (h) =>
      sql(
        "UPDATE balance_ledger SET delta = delta - 1 WHERE source_type = 'charge' AND user_id = ?",
        [h.userId],
      ),
  },
];

describe('A recent reconcile', () => {
  it('When the history holds, then a recent run and a full run find nothing, and both run every check', async () => {
    expect(await drifting()).toEqual({});
    expect(await drifting(since)).toEqual({});
    const full = await reconcile(world.ctx.sequelize);
    const recent = await reconcile(world.ctx.sequelize, since);
    expect(recent.map((c) => c.name)).toEqual(full.map((c) => c.name));
  });

  it.each(BREAKAGES)(
    'When $what in rows written before its moment, then only a full run finds it; in rows after it, a recent run does',
    async (breakage) => {
      await breakage.apply(older);
      try {
        const full = await drifting();
        for (const check of breakage.checks) expect(full[check]).toBeGreaterThan(0);
        expect(await drifting(since)).toEqual({});
      } finally {
        await breakage.undo(older);
      }
      expect(await drifting()).toEqual({});

      await breakage.apply(newer);
      try {
        const recent = await drifting(since);
        for (const check of breakage.checks) expect(recent[check]).toBeGreaterThan(0);
      } finally {
        await breakage.undo(newer);
      }
      expect(await drifting()).toEqual({});
    },
  );

  it("When the sales sums of its moment's hour drift, then a recent run finds it (it checks whole hours)", async () => {
    await sql('UPDATE product_sales_hourly SET quantity = quantity + 1 WHERE product_id = ?', [
      newer.productId,
    ]);
    try {
      expect((await drifting(since))['top-sellers-sums']).toBe(1);
    } finally {
      await sql('UPDATE product_sales_hourly SET quantity = quantity - 1 WHERE product_id = ?', [
        newer.productId,
      ]);
    }
    expect(await drifting(since)).toEqual({});
  });
});
