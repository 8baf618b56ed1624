import { Queue } from 'bullmq';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import {
  fund,
  insertProduct,
  runOps,
  startInProcessWorkers,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';
import { userBase } from '../harness/keys';
import { eventually } from '../harness/wait';

/** Two attempts, 10 ms apart, so a job uses them up at once; workers start inside the test. */
const world = usePipelineWorld({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' }, { workers: false });

describe('Jobs whose status writes fail', () => {
  it('When every attempt of an order job fails at its status write to Redis, then the order goes ON_HOLD once (status, row, counter) and, the fault gone, replay-on-hold pays it exactly once', async () => {
    const userId = 61;
    await insertProduct(world.ctx, { id: 1, price: 30, stock: 5 });
    const token = await world.ctx.tokenFor(userId);
    const funding = await startInProcessWorkers(world.ctx);
    await fund(world.api.baseUrl, token, 100);
    await funding.close();

    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    expect(submitted.status).toBe(202);
    // The fault: the user's set of open orders holds a string, so the script that writes the
    // order's PROCESSING status fails with WRONGTYPE on every attempt — the job fails for good
    // before anything is applied, outside the step the processor holds requests at.
    const openSet = `${userBase(world.ctx, userId)}:open:order:${String(userId)}`;
    await world.ctx.redis.set(openSet, 'not a sorted set');

    const { prefix } = world.ctx.config.redis;
    const queue = new Queue(ORDERS_QUEUE, { connection: world.ctx.redis, prefix });
    const workers = await startInProcessWorkers(world.ctx);
    try {
      await eventually(
        'the job failed for good',
        async () => (await queue.getJobState(submitted.id)) === 'failed',
      );
      await eventually('the ON_HOLD row', async () => {
        const [rows] = await world.ctx.sequelize.query('SELECT status FROM orders WHERE id = ?', {
          replacements: [submitted.id],
        });
        return (rows as { status: string }[])[0]?.status === 'ON_HOLD';
      });
      // Redis does not undo a script's writes before its error: ON_HOLD stands in the record.
      const held = await waitForFinal(world.api.baseUrl, token, submitted.statusUrl, {
        stopOnHold: true,
      });
      expect(held.status).toBe('ON_HOLD');
      const counted = (await workers.metrics.jobsOnHold.get()).values;
      expect(counted.reduce((sum, v) => sum + v.value, 0)).toBe(1);
    } finally {
      await workers.close();
    }

    await world.ctx.redis.del(openSet);
    const replay = await runOps(world.ctx, 'replay-on-hold');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('0 charge(s), 1 order(s) and 0 cancellation(s) re-queued');
    const again = await startInProcessWorkers(world.ctx);
    try {
      expect(await waitForFinal(world.api.baseUrl, token, submitted.statusUrl)).toMatchObject({
        status: 'PAID',
        totalAmount: 30,
      });
    } finally {
      await again.close();
      await queue.close();
    }
    const [paid] = await world.ctx.sequelize.query(
      "SELECT COUNT(*) AS n FROM orders WHERE user_id = ? AND status = 'PAID'",
      { replacements: [userId] },
    );
    expect(Number((paid as { n: number }[])[0]?.n)).toBe(1);
    expect((await runOps(world.ctx, 'reconcile')).code).toBe(0);
  }, 60_000);
});
