import { QueryTypes } from 'sequelize';
import { createMigrator } from '../../shared/db/migrator';
import { createProductsRepository } from '../../shared/db/repositories/products';
import { createStockRepository, salesHourOf } from '../../shared/db/repositories/stock';
import { reconcile } from '../../shared/db/reconcile';
import { inTransaction } from '../../shared/db/transaction';
import { createTestContext, type TestContext } from '../harness/context';
import { clearShop, hoursAgo, insertOrder, insertProducts } from '../harness/builders';

/**
 * The hourly sales sums behind the top-sellers ranking (product_sales_hourly): the ranking
 * they give is the one the PAID orders give, to the millisecond of the window's start; the
 * migration backfills them; the reconcile names a drift and `rebuildSales` repairs it.
 */
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

beforeEach(async () => {
  await clearShop(ctx.sequelize);
  await insertProducts(
    ctx.sequelize,
    [1, 2, 3, 4].map((id) => ({ id, name: `Item ${String(id)}` })),
  );
});

afterAll(async () => {
  await ctx.destroy();
});

const HOUR = 3_600_000;
const at = (base: Date, ms: number) => new Date(base.getTime() + ms);
const line = (productId: number, quantity: number, unitPrice = 100) => ({
  productId,
  quantity,
  unitPrice,
});

const sumsRows = () =>
  ctx.sequelize.query<{ hourStart: string; productId: number; quantity: number; revenue: number }>(
    `SELECT DATE_FORMAT(hour_start, '%Y-%m-%d %H:%i:%s') AS hourStart, product_id AS productId,
            quantity, revenue
     FROM product_sales_hourly ORDER BY hour_start, product_id`,
    { type: QueryTypes.SELECT },
  );

/** The ranking the way it was computed before the sums: every PAID order item since `since`. */
const rankingFromOrders = (since: Date) =>
  ctx.sequelize.query(
    `SELECT oi.product_id AS productId, p.name AS name,
            CAST(SUM(oi.quantity) AS SIGNED) AS soldQuantity,
            CAST(SUM(oi.quantity * oi.unit_price) AS SIGNED) AS revenue
     FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id
     WHERE o.status = 'PAID' AND o.paid_at >= ?
     GROUP BY oi.product_id, p.name ORDER BY soldQuantity DESC, productId ASC LIMIT 5`,
    {
      replacements: [since.toISOString().replace('T', ' ').replace('Z', '')],
      type: QueryTypes.SELECT,
    },
  );

describe('The ranking from the hourly sums', () => {
  it('When orders were paid around the start of the window, then only those paid at or after it count, to the millisecond', async () => {
    const hour = salesHourOf(hoursAgo(10));
    const since = at(hour, 30 * 60_000);
    // The window's first hour: before `since` (out), at it and after it (in).
    await insertOrder(ctx.sequelize, { paidAt: at(since, -1), items: [line(1, 50)] });
    await insertOrder(ctx.sequelize, { paidAt: since, items: [line(1, 2)] });
    await insertOrder(ctx.sequelize, { paidAt: at(since, 60_000), items: [line(4, 1, 900)] });
    // Whole hours after it (summed), one far later; an hour before the window.
    await insertOrder(ctx.sequelize, { paidAt: at(hour, HOUR + 5), items: [line(2, 3, 250)] });
    await insertOrder(ctx.sequelize, { paidAt: at(hour, 5 * HOUR), items: [line(2, 1, 300)] });
    await insertOrder(ctx.sequelize, { paidAt: at(hour, -2 * HOUR), items: [line(3, 9)] });
    // Never counted: a cancelled one, a failed one.
    await insertOrder(ctx.sequelize, {
      status: 'CANCELLED',
      paidAt: at(hour, 2 * HOUR),
      items: [line(3, 40)],
    });
    await insertOrder(ctx.sequelize, { status: 'FAILED', items: [line(3, 40)] });

    const top = await createProductsRepository(ctx.sequelize).topSellers(since, 5);
    expect(top).toEqual([
      { productId: 2, name: 'Item 2', soldQuantity: 4, revenue: 1_050 },
      { productId: 1, name: 'Item 1', soldQuantity: 2, revenue: 200 },
      { productId: 4, name: 'Item 4', soldQuantity: 1, revenue: 900 },
    ]);
    expect(top).toEqual(await rankingFromOrders(since));
  });

  it('When a product has sales sums of zero (its orders were cancelled), then it is not ranked', async () => {
    const paidAt = hoursAgo(3);
    await insertOrder(ctx.sequelize, { paidAt, items: [line(1, 2), line(2, 1)] });
    const stock = createStockRepository(ctx.sequelize);
    await inTransaction(ctx.sequelize, (tx) => stock.removeSalesLocked(tx, paidAt, [line(1, 2)]));
    const top = await createProductsRepository(ctx.sequelize).topSellers(hoursAgo(72), 5);
    expect(top).toEqual([{ productId: 2, name: 'Item 2', soldQuantity: 1, revenue: 100 }]);
  });
});

describe('Writing the sums', () => {
  it('When lines are added and taken out, then their hour sums per product, and never below zero', async () => {
    const stock = createStockRepository(ctx.sequelize);
    const paidAt = new Date('2026-01-02T03:04:05.678Z');
    await inTransaction(ctx.sequelize, (tx) =>
      stock.addSalesLocked(tx, paidAt, [line(2, 1, 500), line(1, 2), line(2, 3, 400)]),
    );
    await inTransaction(ctx.sequelize, (tx) =>
      stock.addSalesLocked(tx, at(paidAt, 50 * 60_000), [line(1, 1)]),
    );
    expect(await sumsRows()).toEqual([
      { hourStart: '2026-01-02 03:00:00', productId: 1, quantity: 3, revenue: 300 },
      { hourStart: '2026-01-02 03:00:00', productId: 2, quantity: 4, revenue: 1_700 },
    ]);
    // Product 1 more than it has (a drift): zero, not a refused refund. Product 4 has no row.
    await inTransaction(ctx.sequelize, (tx) =>
      stock.removeSalesLocked(tx, paidAt, [line(1, 5), line(2, 1, 500), line(4, 1)]),
    );
    expect(await sumsRows()).toEqual([
      { hourStart: '2026-01-02 03:00:00', productId: 1, quantity: 0, revenue: 0 },
      { hourStart: '2026-01-02 03:00:00', productId: 2, quantity: 3, revenue: 1_200 },
    ]);
  });

  it('When the sums are pruned, then the hours before the given one go and the rest stay', async () => {
    const now = Date.now();
    const paid = [100, 97, 96, 10].map((hours) => new Date(now - hours * HOUR));
    for (const paidAt of paid) await insertOrder(ctx.sequelize, { paidAt, items: [line(1, 1)] });
    const before = new Date(now - 96.5 * HOUR);
    await createStockRepository(ctx.sequelize).pruneSales(before);
    const kept = (await sumsRows()).map((row) => Date.parse(`${row.hourStart.replace(' ', 'T')}Z`));
    const expected = paid
      .map((paidAt) => salesHourOf(paidAt).getTime())
      .filter((hour) => hour >= salesHourOf(before).getTime());
    expect(kept).toEqual(expected);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(kept.length).toBeLessThan(4);
  });
});

describe('Backfill, drift and rebuild', () => {
  it('When migration 0004 runs on orders already paid, then it sums the PAID ones of the last 96 h', async () => {
    await insertOrder(ctx.sequelize, { paidAt: hoursAgo(2), items: [line(1, 2), line(2, 1)] });
    await insertOrder(ctx.sequelize, { paidAt: hoursAgo(2), items: [line(1, 3, 150)] });
    await insertOrder(ctx.sequelize, { paidAt: hoursAgo(50), items: [line(3, 4)] });
    const expected = await sumsRows();
    // Older than the backfill reaches: the builder summed it, the migration will not.
    await insertOrder(ctx.sequelize, { paidAt: hoursAgo(100), items: [line(4, 7)] });

    const migrator = createMigrator(ctx.sequelize);
    await migrator.down({ to: '0004-product-sales-hourly' });
    await migrator.up();
    expect(expected).toHaveLength(3);
    expect(await sumsRows()).toEqual(expected);
  });

  it('When the sums drift from the orders, then the reconcile names the hour, and rebuildSales repairs it', async () => {
    await insertOrder(ctx.sequelize, { paidAt: hoursAgo(5), items: [line(1, 2)] });
    await insertOrder(ctx.sequelize, { paidAt: hoursAgo(1), items: [line(2, 1)] });
    const drift = async () =>
      (await reconcile(ctx.sequelize)).find((c) => c.name === 'top-sellers-sums')?.violations;
    expect(await drift()).toEqual([]);

    await ctx.sequelize.query('UPDATE product_sales_hourly SET quantity = 7 WHERE product_id = 1');
    await ctx.sequelize.query('DELETE FROM product_sales_hourly WHERE product_id = 2');
    expect(await drift()).toEqual([
      expect.objectContaining({ productId: 1, keptQuantity: 7, paidQuantity: 2 }),
      expect.objectContaining({ productId: 2, keptQuantity: 0, paidQuantity: 1 }),
    ]);

    const stock = createStockRepository(ctx.sequelize);
    const rebuilt = await inTransaction(ctx.sequelize, (tx) =>
      stock.rebuildSales(tx, hoursAgo(96)),
    );
    expect(rebuilt).toBe(2);
    expect(await drift()).toEqual([]);
  });
});
