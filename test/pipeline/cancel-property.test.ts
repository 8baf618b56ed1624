import fc from 'fast-check';
import { reconcile } from '../../shared/db/reconcile';
import { createBalancesRepository } from '../../shared/db/repositories/balances';
import { createCancellationsRepository } from '../../shared/db/repositories/cancellations';
import { createEventsRepository } from '../../shared/db/repositories/events';
import { createOrdersRepository } from '../../shared/db/repositories/orders';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { uuidv7 } from '../../shared/ids';
import type { CancellationJob } from '../../shared/queues/cancellations';
import type { OrderJob } from '../../shared/queues/orders';
import { cancelOrder } from '../../workers/cancellations/cancel-order';
import { createOrderBatcher } from '../../workers/orders/batcher';
import { insertProduct, newKey, usePipelineWorld } from '../harness/pipeline';
import { specify } from './order-rule-spec';

/**
 * The batch rule with cancellations in the mix: a random history of order batches (group
 * commit) and cancellations — of orders already paid, failed, cancelled, or not applied yet —
 * ends in exactly the rows a plain model of the contract gives, and reconcile is clean.
 */
const world = usePipelineWorld({}, { workers: false });

const PRODUCTS = [1, 2, 3];
const USERS = [1, 2];

const repositories = () => {
  const { sequelize } = world.ctx;
  return {
    sequelize,
    orders: createOrdersRepository(sequelize),
    stock: createStockRepository(sequelize),
    balances: createBalancesRepository(sequelize),
    events: createEventsRepository(sequelize),
    cancellations: createCancellationsRepository(sequelize),
  };
};

interface Model {
  stock: Map<number, number>;
  sold: Map<number, number>;
  price: Map<number, number>;
  balance: Map<number, number>;
  /** By order index: what the model says the order is now. */
  status: Map<number, { status: string; total: number | null; refunded: number | null }>;
}

const item = fc.record({
  productId: fc.integer({ min: 1, max: 4 }),
  quantity: fc.integer({ min: 1, max: 3 }),
});
const orderSpec = fc.record({
  userId: fc.constantFrom(...USERS),
  items: fc.uniqueArray(item, { minLength: 1, maxLength: 3, selector: (i) => i.productId }),
});
/** A step: a batch of orders placed together, or a cancellation of the n-th order (placed or not). */
const step = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ place: fc.array(orderSpec, { minLength: 1, maxLength: 4 }) }),
  },
  { weight: 2, arbitrary: fc.record({ cancel: fc.nat({ max: 11 }) }) },
);
const start = fc.record({
  stock: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 3, maxLength: 3 }),
  prices: fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 3, maxLength: 3 }),
  balances: fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 2, maxLength: 2 }),
});

async function reset(from: { stock: number[]; prices: number[]; balances: number[] }) {
  const query = (sql: string, replacements: unknown[] = []) =>
    world.ctx.sequelize.query(sql, { replacements });
  for (const table of [
    'order_events',
    'balance_ledger',
    'order_cancellations',
    'orders',
    'product_sales_hourly',
  ]) {
    await query(`DELETE FROM ${table}`);
  }
  for (const [i, id] of PRODUCTS.entries()) {
    await query('UPDATE products SET stock = ?, price = ?, sold_quantity = 0 WHERE id = ?', [
      from.stock[i],
      from.prices[i],
      id,
    ]);
  }
  for (const [i, id] of USERS.entries()) {
    await query(
      'INSERT INTO users (id, balance) VALUES (?, ?) ON DUPLICATE KEY UPDATE balance = VALUES(balance)',
      [id, from.balances[i]],
    );
  }
}

describe('Orders and cancellations by one rule', () => {
  beforeAll(async () => {
    for (const id of PRODUCTS) await insertProduct(world.ctx, { id, price: 1, stock: 0 });
  });

  it('When batches of orders and cancellations (before, after and twice) interleave, then every order ends as the model says and stock, sales and balances match it', async () => {
    await fc.assert(
      fc.asyncProperty(
        start,
        fc.array(step, { minLength: 2, maxLength: 10 }),
        async (from, steps) => {
          await reset(from);
          const model: Model = {
            stock: new Map(PRODUCTS.map((id, i) => [id, from.stock[i] ?? 0])),
            sold: new Map(PRODUCTS.map((id) => [id, 0])),
            price: new Map(PRODUCTS.map((id, i) => [id, from.prices[i] ?? 0])),
            balance: new Map(USERS.map((id, i) => [id, from.balances[i] ?? 0])),
            status: new Map(),
          };
          // Every order the history will name, known before it is placed (a cancellation may come first).
          const jobs: OrderJob[] = [];
          const jobFor = (n: number, spec?: { userId: number; items: OrderJob['items'] }) => {
            for (let i = jobs.length; i <= n; i++) {
              const s =
                i === n && spec ? spec : { userId: 1, items: [{ productId: 1, quantity: 1 }] };
              jobs.push({
                orderId: uuidv7(),
                userId: s.userId,
                items: s.items,
                idempotencyKey: newKey('order'),
                acceptedAt: new Date().toISOString(),
              });
            }
            return jobs[n] as OrderJob;
          };
          let placed = 0;
          const deps = repositories();

          for (const s of steps) {
            if ('place' in s) {
              const batch = s.place.map((spec) => {
                const n = placed++;
                const existing = jobs[n];
                if (existing) return { n, job: existing };
                return { n, job: jobFor(n, spec) };
              });
              const batcher = createOrderBatcher(deps);
              const views = await Promise.all(batch.map(({ job }) => batcher.place(job)));
              // The model: orders cancelled before they were placed stay CANCELLED; the others
              // are decided in order by the contract's rule, from the stock and balances now.
              const live = batch.filter(({ n }) => model.status.get(n)?.status !== 'CANCELLED');
              const spec = specify(
                live.map(({ job }) => job),
                {
                  products: new Map(
                    PRODUCTS.map((id) => [
                      id,
                      { stock: model.stock.get(id) ?? 0, price: model.price.get(id) ?? 0 },
                    ]),
                  ),
                  balances: model.balance,
                },
              );
              live.forEach(({ n }, i) => {
                const o = spec.outcomes[i];
                model.status.set(n, {
                  status: o?.status ?? '?',
                  total: o?.totalAmount ?? null,
                  refunded: null,
                });
              });
              for (const id of PRODUCTS) {
                const after = spec.stock.get(id);
                model.sold.set(id, (model.sold.get(id) ?? 0) + (after?.sold ?? 0));
                model.stock.set(id, after?.stock ?? 0);
              }
              model.balance = new Map(spec.balances);
              batch.forEach(({ n }, i) => {
                expect([n, views[i]?.status]).toEqual([n, model.status.get(n)?.status]);
              });
            } else {
              const n = s.cancel;
              const job = jobFor(n);
              const cancellation: CancellationJob = {
                cancellationId: uuidv7(),
                orderId: job.orderId,
                userId: job.userId,
                idempotencyKey: newKey('cancel'),
                acceptedAt: new Date().toISOString(),
                order: {
                  idempotencyKey: job.idempotencyKey,
                  items: job.items,
                  acceptedAt: job.acceptedAt,
                },
              };
              const view = await cancelOrder(deps, cancellation);
              const before = model.status.get(n);
              if (before === undefined) {
                model.status.set(n, { status: 'CANCELLED', total: null, refunded: 0 });
              } else if (before.status === 'PAID') {
                for (const { productId, quantity } of job.items) {
                  model.stock.set(productId, (model.stock.get(productId) ?? 0) + quantity);
                  model.sold.set(productId, (model.sold.get(productId) ?? 0) - quantity);
                }
                model.balance.set(
                  job.userId,
                  (model.balance.get(job.userId) ?? 0) + (before.total ?? 0),
                );
                model.status.set(n, { ...before, status: 'CANCELLED', refunded: before.total });
              }
              const expected = model.status.get(n);
              expect(view.order).toMatchObject({
                status: expected?.status,
                refundedAmount: expected?.refunded ?? null,
              });
            }
          }

          const [products] = await world.ctx.sequelize.query(
            'SELECT id, stock, sold_quantity AS sold FROM products ORDER BY id',
          );
          expect(products).toEqual(
            PRODUCTS.map((id) => ({ id, stock: model.stock.get(id), sold: model.sold.get(id) })),
          );
          const [users] = await world.ctx.sequelize.query(
            'SELECT id, balance FROM users ORDER BY id',
          );
          expect(users).toEqual(USERS.map((id) => ({ id, balance: model.balance.get(id) })));
          // Start balances are written directly, without the charges and ledger rows that would
          // explain them (a user's first ledger row follows on from no row): every other
          // invariant must hold.
          const unexplained = ['balance-equals-ledger-and-history', 'ledger-chain'];
          const drifting = (await reconcile(world.ctx.sequelize)).filter(
            (c) => c.violations.length > 0 && !unexplained.includes(c.name),
          );
          expect(drifting).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });
});
