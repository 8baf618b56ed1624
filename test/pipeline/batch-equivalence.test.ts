import fc from 'fast-check';
import { createBalancesRepository } from '../../shared/db/repositories/balances';
import { createEventsRepository } from '../../shared/db/repositories/events';
import { createOrdersRepository } from '../../shared/db/repositories/orders';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { uuidv7 } from '../../shared/ids';
import type { OrderJob } from '../../shared/queues/orders';
import { createOrderBatcher } from '../../workers/orders/batcher';
import { placeOrder, type PlaceOrderDeps } from '../../workers/orders/place-order';
import { insertProduct, newKey, usePipelineWorld } from '../harness/pipeline';
import { specify } from './order-rule-spec';

const world = usePipelineWorld();

const PRODUCTS = [1, 2, 3, 4];
const USERS = [1, 2, 3];

const deps = (): PlaceOrderDeps => ({
  sequelize: world.ctx.sequelize,
  orders: createOrdersRepository(world.ctx.sequelize),
  stock: createStockRepository(world.ctx.sequelize),
  balances: createBalancesRepository(world.ctx.sequelize),
  events: createEventsRepository(world.ctx.sequelize),
});

interface Start {
  stock: number[];
  prices: number[];
  balances: number[];
}

/** Puts products and balances back where a run starts (product 5 never exists). */
async function reset(start: Start): Promise<void> {
  const query = (sql: string, replacements: unknown[]) =>
    world.ctx.sequelize.query(sql, { replacements });
  for (const [i, id] of PRODUCTS.entries()) {
    await query('UPDATE products SET stock = ?, price = ?, sold_quantity = 0 WHERE id = ?', [
      start.stock[i],
      start.prices[i],
      id,
    ]);
  }
  for (const [i, id] of USERS.entries()) {
    await query(
      'INSERT INTO users (id, balance) VALUES (?, ?) ON DUPLICATE KEY UPDATE balance = VALUES(balance)',
      [id, start.balances[i]],
    );
  }
}

async function state(): Promise<unknown> {
  const [products] = await world.ctx.sequelize.query(
    'SELECT id, stock, sold_quantity FROM products ORDER BY id',
  );
  const [users] = await world.ctx.sequelize.query('SELECT id, balance FROM users ORDER BY id');
  return { products, users };
}

const item = fc.record({
  productId: fc.integer({ min: 1, max: 5 }),
  quantity: fc.integer({ min: 1, max: 3 }),
});
const order = fc.record({
  userId: fc.constantFrom(...USERS),
  // The API refuses an order naming a product twice (order_items is keyed by both).
  items: fc.uniqueArray(item, { minLength: 1, maxLength: 3, selector: (i) => i.productId }),
});
const start = fc.record({
  stock: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 4, maxLength: 4 }),
  prices: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 4, maxLength: 4 }),
  balances: fc.array(fc.integer({ min: 0, max: 1_500 }), { minLength: 3, maxLength: 3 }),
});

const asJob = (o: { userId: number; items: OrderJob['items'] }): OrderJob => ({
  orderId: uuidv7(),
  userId: o.userId,
  items: o.items,
  idempotencyKey: newKey(),
  acceptedAt: new Date().toISOString(),
});

const outcome = (v: { status: string; failureCode: string | null; totalAmount: number | null }) =>
  `${v.status}:${v.failureCode ?? ''}:${String(v.totalAmount)}`;

/**
 * Every path applies orders by one rule (`decideOrders`), so running them one by one no longer
 * checks the batch against another implementation: both runs are compared with the contract's
 * rules written out plainly (./order-rule-spec.ts), and with each other — N orders in one
 * transaction must leave the rows N transactions of one leave.
 */
describe('Group commit decides exactly as one transaction per order, and as the contract says', () => {
  beforeAll(async () => {
    for (const id of PRODUCTS) await insertProduct(world.ctx, { id, price: 1, stock: 0 });
  });

  it('When the same orders run as one batch and one by one from the same stock and balances, then outcomes and final rows are identical, and are what the specification gives', async () => {
    await fc.assert(
      fc.asyncProperty(
        start,
        fc.array(order, { minLength: 2, maxLength: 24 }),
        async (from, orders) => {
          await reset(from);
          const commits: number[] = [];
          const batcher = createOrderBatcher(deps(), { committed: (n) => commits.push(n) });
          const together = await Promise.all(orders.map((o) => batcher.place(asJob(o))));
          // One transaction for all: no order fell back to a transaction of its own.
          expect(commits).toEqual([orders.length]);
          const afterBatch = await state();

          await reset(from);
          const alone = [];
          for (const o of orders) alone.push(await placeOrder(deps(), asJob(o)));
          const afterAlone = await state();

          expect(together.map(outcome)).toEqual(alone.map(outcome));
          expect(afterBatch).toEqual(afterAlone);

          const spec = specify(orders, {
            products: new Map(
              PRODUCTS.map((id, i) => [
                id,
                { stock: from.stock[i] ?? 0, price: from.prices[i] ?? 0 },
              ]),
            ),
            balances: new Map(USERS.map((id, i) => [id, from.balances[i] ?? 0])),
          });
          expect(together.map(outcome)).toEqual(spec.outcomes.map(outcome));
          expect(afterBatch).toEqual({
            products: PRODUCTS.map((id) => ({
              id,
              stock: spec.stock.get(id)?.stock,
              sold_quantity: spec.stock.get(id)?.sold,
            })),
            users: USERS.map((id) => ({ id, balance: spec.balances.get(id) })),
          });
        },
      ),
      { numRuns: 25 },
    );
  });
});
