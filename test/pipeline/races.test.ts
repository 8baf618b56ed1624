import { reconcile } from '../../shared/db/reconcile';
import { createBalancesRepository } from '../../shared/db/repositories/balances';
import { createEventsRepository } from '../../shared/db/repositories/events';
import { createOrdersRepository } from '../../shared/db/repositories/orders';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { setTimeout as sleep } from 'node:timers/promises';
import { uuidv7 } from '../../shared/ids';
import { createQueues } from '../../shared/queues';
import type { OrderJob } from '../../shared/queues/orders';
import { placeOrder } from '../../workers/orders/place-order';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  newKey,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';
import { allOf } from '../harness/queues';

const world = usePipelineWorld({ WORKER_CONCURRENCY: '16' });

const one = async (sql: string, replacements: unknown[] = []): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0] ?? NaN);
};

describe('Concurrency', () => {
  it('When 100 buyers race for 10 units, then exactly 10 orders are PAID and 90 FAIL with INSUFFICIENT_STOCK', async () => {
    await insertProduct(world.ctx, { id: 10, price: 500, stock: 10 });
    const buyers = await Promise.all(
      Array.from({ length: 100 }, (_, i) => world.ctx.tokenFor(1000 + i)),
    );
    await Promise.all(buyers.map((token) => fund(world.api.baseUrl, token, 1_000)));

    const submitted = await Promise.all(
      buyers.map((token) =>
        submitOrder(world.api.baseUrl, token, [{ productId: 10, quantity: 1 }]),
      ),
    );
    expect(submitted.every((s) => s.status === 202)).toBe(true);
    const finals = await Promise.all(
      submitted.map((s, i) =>
        waitForFinal<{ status: string; failureCode: string | null }>(
          world.api.baseUrl,
          buyers[i] ?? '',
          s.statusUrl,
          { timeoutMs: 60_000 },
        ),
      ),
    );
    expect(finals.filter((o) => o.status === 'PAID')).toHaveLength(10);
    expect(
      finals.filter((o) => o.status === 'FAILED' && o.failureCode === 'INSUFFICIENT_STOCK'),
    ).toHaveLength(90);
    expect(await one('SELECT stock FROM products WHERE id = 10')).toBe(0);
    expect(await one('SELECT SUM(balance) FROM users WHERE id BETWEEN 1000 AND 1099')).toBe(
      100 * 1_000 - 10 * 500,
    );
  }, 120_000);

  it('When one user places many orders at once against a small balance, then the balance never goes negative', async () => {
    await insertProduct(world.ctx, { id: 11, price: 300, stock: 1000 });
    const token = await world.ctx.tokenFor(2000);
    await fund(world.api.baseUrl, token, 1_000);
    const submitted = await Promise.all(
      Array.from({ length: 20 }, () =>
        submitOrder(world.api.baseUrl, token, [{ productId: 11, quantity: 1 }]),
      ),
    );
    const finals = await Promise.all(
      submitted.map((s) => waitForFinal<{ status: string }>(world.api.baseUrl, token, s.statusUrl)),
    );
    expect(finals.filter((o) => o.status === 'PAID')).toHaveLength(3);
    const balance = await request<{ balance: number }>(world.api.baseUrl, 'GET', '/api/balance', {
      token,
    });
    expect(balance.body.balance).toBe(100);
  });
});

describe('Duplicate delivery', () => {
  const deps = () => ({
    sequelize: world.ctx.sequelize,
    orders: createOrdersRepository(world.ctx.sequelize),
    stock: createStockRepository(world.ctx.sequelize),
    balances: createBalancesRepository(world.ctx.sequelize),
    events: createEventsRepository(world.ctx.sequelize),
  });

  const jobFor = (userId: number, productId: number): OrderJob => ({
    orderId: uuidv7(),
    userId,
    items: [{ productId, quantity: 2 }],
    idempotencyKey: newKey(),
    acceptedAt: new Date().toISOString(),
  });

  it('When the same order job is applied twice in a row, then the second changes nothing and returns the same outcome', async () => {
    await insertProduct(world.ctx, { id: 20, price: 100, stock: 50 });
    const token = await world.ctx.tokenFor(3000);
    await fund(world.api.baseUrl, token, 1_000);
    const job = jobFor(3000, 20);
    const first = await placeOrder(deps(), job);
    const second = await placeOrder(deps(), job);
    expect(second).toMatchObject({
      orderId: job.orderId,
      status: 'PAID',
      totalAmount: 200,
      paidAt: first.paidAt,
    });
    expect(await one('SELECT stock FROM products WHERE id = 20')).toBe(48);
    expect(await one('SELECT balance FROM users WHERE id = 3000')).toBe(800);
    expect(await one('SELECT COUNT(*) FROM order_events WHERE order_id = ?', [job.orderId])).toBe(
      1,
    );
  });

  it('When the same order job is applied by 10 workers at once, then exactly one application happens', async () => {
    await insertProduct(world.ctx, { id: 21, price: 100, stock: 50 });
    const token = await world.ctx.tokenFor(3001);
    await fund(world.api.baseUrl, token, 1_000);
    const job = jobFor(3001, 21);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => placeOrder(deps(), job)));
    expect(new Set(outcomes.map((o) => `${o.status}:${o.paidAt ?? ''}`)).size).toBe(1);
    expect(await one('SELECT stock FROM products WHERE id = 21')).toBe(48);
    expect(await one('SELECT balance FROM users WHERE id = 3001')).toBe(800);
    expect(
      await one(
        "SELECT COUNT(*) FROM balance_ledger WHERE source_type = 'order' AND source_id = ?",
        [job.orderId],
      ),
    ).toBe(1);
  });

  it('When the queue delivers a finished order again under another job id, then the order is not applied twice', async () => {
    await insertProduct(world.ctx, { id: 22, price: 100, stock: 50 });
    const token = await world.ctx.tokenFor(3002);
    await fund(world.api.baseUrl, token, 1_000);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 22, quantity: 2 }]);
    const paid = await waitForFinal<{ status: string; paidAt: string }>(
      world.api.baseUrl,
      token,
      submitted.statusUrl,
    );
    const queues = createQueues(
      world.ctx.redis,
      world.ctx.config.redis,
      world.ctx.config.jobs,
      world.ctx.logger,
    );
    try {
      const original = await allOf(queues.orders).getJob(submitted.id);
      if (!original) throw new Error('the original job should still be kept as completed');
      const queue = queues.orders.forUser(3002);
      const redelivered = await queue.add('order', original.data, {
        jobId: `${submitted.id}-again`,
      });
      const jobId = redelivered.id ?? '';
      while ((await queue.getJobState(jobId)) !== 'completed') await sleep(20);
      expect((await allOf(queues.orders).getJob(jobId))?.returnvalue).toEqual({ status: 'PAID' });
    } finally {
      await queues.close();
    }
    const after = await waitForFinal<{ status: string; paidAt: string }>(
      world.api.baseUrl,
      token,
      submitted.statusUrl,
    );
    expect(after).toEqual(paid);
    expect(await one('SELECT stock FROM products WHERE id = 22')).toBe(48);
    expect(await one('SELECT balance FROM users WHERE id = 3002')).toBe(800);
  });

  it('After all of the above, every invariant holds', async () => {
    const checks = await reconcile(world.ctx.sequelize);
    expect(checks.filter((c) => c.violations.length > 0)).toEqual([]);
  });
});
