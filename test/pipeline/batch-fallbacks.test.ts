import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import winston from 'winston';
import { uuidv7 } from '../../shared/ids';
import { createQueues, type RequestQueues } from '../../shared/queues';
import type { OrderJob } from '../../shared/queues/orders';
import type { RunningWorkers } from '../../workers/wiring';
import {
  fund,
  insertProduct,
  newKey,
  startInProcessWorkers,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';

/**
 * When a transaction of orders does not commit as planned, the worker says so — a warn log
 * line and shop_order_batch_fallbacks_total{cause} — and every order still gets its own right
 * outcome. Each cause is provoked through the real queue and worker: a batch job carries the
 * orders, so they are applied in one transaction.
 */
const world = usePipelineWorld({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '20' }, { workers: false });

const lines: Record<string, unknown>[] = [];
let workers: RunningWorkers;
let queues: RequestQueues;

beforeAll(async () => {
  // The workers' log, captured: the fallback's warn line is part of what is tested.
  const logger = winston.createLogger({
    level: 'warn',
    format: winston.format.json(),
    transports: [
      new winston.transports.Stream({
        stream: new Writable({
          write(chunk: Buffer | string, _encoding, done) {
            lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
            done();
          },
        }),
      }),
    ],
  });
  workers = await startInProcessWorkers({ ...world.ctx, logger });
  queues = createQueues(
    world.ctx.redis,
    world.ctx.config.redis,
    world.ctx.config.jobs,
    world.ctx.logger,
  );
});

afterAll(async () => {
  await queues.close();
  await workers.close();
});

const fallbacks = async (cause: string) =>
  (await workers.metrics.orderBatchFallbacks.get()).values.find((v) => v.labels.cause === cause)
    ?.value ?? 0;

/** Order transactions committed so far, and the orders they held. */
const commits = async () => {
  const { values } = await workers.metrics.orderBatchSize.get();
  const value = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return {
    transactions: value('shop_order_batch_size_count'),
    orders: value('shop_order_batch_size_sum'),
  };
};

const warned = (cause: string) => lines.filter((l) => l.level === 'warn' && l.cause === cause);

const one = async (sql: string, replacements: unknown[] = []): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0] ?? NaN);
};

const order = (userId: number, items: OrderJob['items'], key = newKey()): OrderJob => ({
  orderId: uuidv7(),
  userId,
  items,
  idempotencyKey: key,
  acceptedAt: new Date().toISOString(),
});

/** Adds one job carrying `orders` (as an API process's accept batch would) and waits for it. */
async function runBatchJob(orders: OrderJob[], end: 'completed' | 'failed'): Promise<void> {
  const queue = queues.orders.forUser((orders[0] as OrderJob).userId);
  const job = await queue.add('orders', { requests: orders });
  const id = job.id ?? '';
  const deadline = Date.now() + 20_000;
  while ((await queue.getJobState(id)) !== end) {
    if (Date.now() > deadline) throw new Error(`job ${id} not ${end} in time`);
    await sleep(25);
  }
}

describe('Fallbacks of the group commit', () => {
  it('When a batch holds an order whose idempotency key an earlier order holds (its Redis record was lost), then the batch rolls back once, that order resolves to the earlier one, the others are PAID together, and cause="duplicate" is counted and logged', async () => {
    await insertProduct(world.ctx, { id: 1, price: 100, stock: 10 });
    const token = await world.ctx.tokenFor(1);
    await fund(world.api.baseUrl, token, 1_000);
    const key = newKey();
    const first = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }], key);
    await waitForFinal(world.api.baseUrl, token, first.statusUrl);
    const before = { duplicate: await fallbacks('duplicate'), error: await fallbacks('error') };
    const committed = await commits();

    const again = order(1, [{ productId: 1, quantity: 1 }], key);
    const others = [
      order(1, [{ productId: 1, quantity: 2 }]),
      order(1, [{ productId: 1, quantity: 3 }]),
    ];
    await runBatchJob([others[0] as OrderJob, again, others[1] as OrderJob], 'completed');

    const resolved = await waitForFinal<{ orderId: string; status: string }>(
      world.api.baseUrl,
      token,
      `/api/orders/${again.orderId}`,
    );
    expect(resolved).toMatchObject({ orderId: first.id, status: 'PAID' });
    for (const other of others) {
      const view = await waitForFinal<{ orderId: string; status: string }>(
        world.api.baseUrl,
        token,
        `/api/orders/${other.orderId}`,
      );
      expect(view).toMatchObject({ orderId: other.orderId, status: 'PAID' });
    }
    expect(await one('SELECT COUNT(*) FROM orders WHERE user_id = 1')).toBe(3);
    expect(await one('SELECT stock FROM products WHERE id = 1')).toBe(10 - 1 - 2 - 3);
    expect(await one('SELECT balance FROM users WHERE id = 1')).toBe(1_000 - 600);

    expect(await fallbacks('duplicate')).toBe(before.duplicate + 1);
    expect(await fallbacks('error')).toBe(before.error);
    expect(warned('duplicate')).toEqual([expect.objectContaining({ orders: 3 })]);
    // The two others in one transaction: the rolled-back one does not count.
    expect(await commits()).toEqual({
      transactions: committed.transactions + 1,
      orders: committed.orders + 2,
    });
  });

  it('When the database refuses one order of a batch (a job naming one product twice, which the API never sends), then each order is applied alone: the others are PAID, that one is retried and goes ON_HOLD, and cause="error" is counted and logged', async () => {
    await insertProduct(world.ctx, { id: 2, price: 10, stock: 10 });
    const token = await world.ctx.tokenFor(2);
    await fund(world.api.baseUrl, token, 1_000);
    const before = { duplicate: await fallbacks('duplicate'), error: await fallbacks('error') };

    const good = [
      order(2, [{ productId: 2, quantity: 1 }]),
      order(2, [{ productId: 2, quantity: 2 }]),
    ];
    const bad = order(2, [
      { productId: 2, quantity: 1 },
      { productId: 2, quantity: 1 },
    ]);
    await runBatchJob([good[0] as OrderJob, bad, good[1] as OrderJob], 'failed');

    for (const each of good) {
      const view = await waitForFinal<{ status: string }>(
        world.api.baseUrl,
        token,
        `/api/orders/${each.orderId}`,
      );
      expect(view.status).toBe('PAID');
    }
    const held = await waitForFinal<{ status: string }>(
      world.api.baseUrl,
      token,
      `/api/orders/${bad.orderId}`,
      { stopOnHold: true },
    );
    expect(held.status).toBe('ON_HOLD');
    expect(await one('SELECT stock FROM products WHERE id = 2')).toBe(10 - 3);
    expect(await one('SELECT balance FROM users WHERE id = 2')).toBe(1_000 - 30);
    expect(await one("SELECT COUNT(*) FROM orders WHERE user_id = 2 AND status = 'PAID'")).toBe(2);

    // The first attempt fell back once; the retry found the two PAID orders recorded.
    expect(await fallbacks('error')).toBe(before.error + 1);
    expect(await fallbacks('duplicate')).toBe(before.duplicate + 1);
    expect(warned('error')).toEqual([expect.objectContaining({ orders: 3 })]);
  });
});
