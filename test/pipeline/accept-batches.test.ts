import type { Job } from 'bullmq';
import { QueryTypes } from 'sequelize';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { isBatch, MAX_REQUESTS_PER_JOB, type JobPayload } from '../../shared/queues/batch';
import type { OrderJob } from '../../shared/queues/orders';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import {
  fund,
  insertProduct,
  runOps,
  startBrokenWorkers,
  startInProcessWorkers,
  submitOrder,
  waitForFinal,
} from '../harness/pipeline';
import { rawRequest } from '../harness/http';
import { setTimeout as sleep } from 'node:timers/promises';
import { allOf } from '../harness/queues';

/**
 * Accept micro-batches (`api/accepts/accept-path.ts`): accepts arriving together share one Redis
 * script and one job; each order in a job is still applied, retried, put ON_HOLD and replayed
 * on its own, exactly once.
 */
let ctx: TestContext;
let api: RunningApi;
let queues: RequestQueues;

beforeAll(async () => {
  // Two attempts, 10 ms apart: an unusable database puts jobs ON_HOLD within a second.
  ctx = await createTestContext({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' });
  api = await startApi(ctx);
  queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
  await insertProduct(ctx, { id: 1, price: 100, stock: 1_000 });
});

afterAll(async () => {
  await queues.close();
  await api.close();
  await ctx.destroy();
});

const orderIdsOf = (jobs: Job<JobPayload<OrderJob>>[]) =>
  jobs.flatMap((job) => (isBatch(job.data) ? job.data.requests : [job.data]).map((o) => o.orderId));

async function paidRows(): Promise<{ id: string; total_amount: number }[]> {
  return ctx.sequelize.query("SELECT id, total_amount FROM orders WHERE status = 'PAID'", {
    type: QueryTypes.SELECT,
  });
}

const ops = (command: string) => runOps(ctx, command);

describe('Accepts arriving together', () => {
  it('When 150 orders arrive at once, then they are enqueued as jobs of several orders (at most 64 each), every order in exactly one job, and each is PAID exactly once', async () => {
    const token = await ctx.tokenFor(701);
    const funding = await startInProcessWorkers(ctx);
    await fund(api.baseUrl, token, 100_000);
    await funding.close();

    const submitted = await Promise.all(
      Array.from({ length: 150 }, () =>
        submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]),
      ),
    );
    expect(submitted.map((s) => s.status)).toEqual(Array(150).fill(202));

    const jobs = await allOf(queues.orders).getJobs(['wait'], 0, -1);
    const ids = orderIdsOf(jobs);
    expect(ids.sort()).toEqual(submitted.map((s) => s.id).sort());
    expect(jobs.length).toBeLessThan(150);
    expect(jobs.some((job) => isBatch(job.data))).toBe(true);
    for (const job of jobs) {
      if (isBatch(job.data))
        expect(job.data.requests.length).toBeLessThanOrEqual(MAX_REQUESTS_PER_JOB);
    }

    // Admission control counts the backlog in requests, not jobs (refreshed every 500 ms).
    const backlog = async () => {
      const metrics = await rawRequest(api.baseUrl, { method: 'GET', path: '/metrics' });
      const line = /^shop_queue_backlog_requests\{[^}]*queue="orders"[^}]*\} (\d+)$/m.exec(
        metrics.text,
      );
      return Number(line?.[1]);
    };
    const deadline = Date.now() + 5_000;
    while ((await backlog()) !== 150 && Date.now() < deadline) await sleep(100);
    expect(await backlog()).toBe(150);

    const workers = await startInProcessWorkers(ctx);
    try {
      for (const s of submitted) {
        expect(await waitForFinal(api.baseUrl, token, s.statusUrl)).toMatchObject({
          status: 'PAID',
        });
      }
    } finally {
      await workers.close();
    }
    const paid = await paidRows();
    expect(paid.map((r) => r.id).sort()).toEqual(submitted.map((s) => s.id).sort());
    expect(
      await ctx.sequelize.query('SELECT stock FROM products WHERE id = 1', {
        type: QueryTypes.SELECT,
      }),
    ).toEqual([{ stock: 850 }]);
    expect((await ops('reconcile')).code).toBe(0);
  }, 60_000);

  it('When an order arrives alone, then its job is a job of its own under the order id', async () => {
    const token = await ctx.tokenFor(702);
    const order = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    expect(order.status).toBe(202);
    const job = await allOf(queues.orders).getJob(order.id);
    expect(job?.data).toMatchObject({ orderId: order.id, userId: 702 });
    await job?.remove();
  });

  it('When every attempt of a batch job fails, then each of its orders goes ON_HOLD, and replay-on-hold re-queues the job and applies each order exactly once', async () => {
    const token = await ctx.tokenFor(703);
    const funding = await startInProcessWorkers(ctx);
    await fund(api.baseUrl, token, 10_000);
    await funding.close();

    const submitted = await Promise.all(
      Array.from({ length: 5 }, () =>
        submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 2 }]),
      ),
    );
    const jobs = await allOf(queues.orders).getJobs(['wait'], 0, -1);
    expect(jobs.some((job) => isBatch(job.data))).toBe(true);

    const broken = await startBrokenWorkers(ctx);
    try {
      for (const s of submitted) {
        const held = await waitForFinal(api.baseUrl, token, s.statusUrl, { stopOnHold: true });
        expect(held.status).toBe('ON_HOLD');
      }
    } finally {
      await broken.close();
    }

    // ops on-hold names every request, also those inside a batch job.
    const listed = await ops('on-hold');
    expect(listed.out).toContain(', 5 request(s)');
    for (const s of submitted) expect(listed.out).toContain(s.id);

    const replay = await ops('replay-on-hold');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('0 charge(s), 5 order(s) and 0 cancellation(s) re-queued');

    const workers = await startInProcessWorkers(ctx);
    try {
      for (const s of submitted) {
        expect(await waitForFinal(api.baseUrl, token, s.statusUrl)).toMatchObject({
          status: 'PAID',
          totalAmount: 200,
        });
      }
    } finally {
      await workers.close();
    }
    const paid = (await paidRows()).filter((r) => submitted.some((s) => s.id === r.id));
    expect(paid).toHaveLength(5);
    expect((await ops('reconcile')).code).toBe(0);
    expect((await ops('replay-on-hold')).out).toContain(
      '0 charge(s), 0 order(s) and 0 cancellation(s) re-queued',
    );
  }, 60_000);
});
