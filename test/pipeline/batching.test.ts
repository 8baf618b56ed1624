import { reconcile } from '../../shared/db/reconcile';
import { createBalancesRepository } from '../../shared/db/repositories/balances';
import { createEventsRepository } from '../../shared/db/repositories/events';
import { createOrdersRepository } from '../../shared/db/repositories/orders';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { uuidv7 } from '../../shared/ids';
import type { OrderJob } from '../../shared/queues/orders';
import { createOrderBatcher } from '../../workers/orders/batcher';
import { fund, insertProduct, newKey, usePipelineWorld } from '../harness/pipeline';

const world = usePipelineWorld();

const one = async (sql: string, replacements: unknown[] = []): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0] ?? NaN);
};

const batcher = () =>
  createOrderBatcher({
    sequelize: world.ctx.sequelize,
    orders: createOrdersRepository(world.ctx.sequelize),
    stock: createStockRepository(world.ctx.sequelize),
    balances: createBalancesRepository(world.ctx.sequelize),
    events: createEventsRepository(world.ctx.sequelize),
  });

const job = (
  userId: number,
  items: { productId: number; quantity: number }[],
  key = newKey(),
): OrderJob => ({
  orderId: uuidv7(),
  userId,
  items,
  idempotencyKey: key,
  acceptedAt: new Date().toISOString(),
});

describe('Orders applied in one batched transaction', () => {
  it('When a batch mixes payable, refused, repeated and duplicate-key orders, then each gets its own right outcome and nothing is applied twice', async () => {
    await insertProduct(world.ctx, { id: 1, price: 100, stock: 5 });
    await insertProduct(world.ctx, { id: 2, price: 1_000, stock: 100 });
    const token = await world.ctx.tokenFor(1);
    await fund(world.api.baseUrl, token, 2_500);

    const b = batcher();
    const repeated = job(1, [{ productId: 2, quantity: 1 }]);
    const sharedKey = newKey();
    const jobs = [
      job(1, [{ productId: 1, quantity: 2 }]), // pays 200
      job(1, [{ productId: 1, quantity: 10 }]), // INSUFFICIENT_STOCK
      job(1, [{ productId: 99, quantity: 1 }]), // PRODUCT_NOT_FOUND
      repeated, // pays 1,000
      repeated, // the same job again: one effect
      job(1, [{ productId: 2, quantity: 1 }], sharedKey), // pays 1,000
      job(1, [{ productId: 2, quantity: 1 }], sharedKey), // same key, other id: resolves to the first
      job(1, [{ productId: 2, quantity: 1 }]), // 300 left: INSUFFICIENT_BALANCE
      job(1, [{ productId: 1, quantity: 3 }]), // pays 300
    ];
    const views = await Promise.all(jobs.map((j) => b.place(j)));
    expect(views.map((v) => `${v.status}:${v.failureCode ?? ''}`)).toEqual([
      'PAID:',
      'FAILED:INSUFFICIENT_STOCK',
      'FAILED:PRODUCT_NOT_FOUND',
      'PAID:',
      'PAID:',
      'PAID:',
      'PAID:',
      'FAILED:INSUFFICIENT_BALANCE',
      'PAID:',
    ]);
    expect(views[4]?.orderId).toBe(repeated.orderId);
    expect(views[6]?.orderId).toBe(jobs[5]?.orderId);
    expect(await one('SELECT balance FROM users WHERE id = 1')).toBe(0);
    expect(await one('SELECT stock FROM products WHERE id = 1')).toBe(0);
    expect(await one("SELECT COUNT(*) FROM orders WHERE status = 'PAID'")).toBe(4);
    expect((await reconcile(world.ctx.sequelize)).filter((c) => c.violations.length > 0)).toEqual(
      [],
    );
  });
});
