import { Queue, Worker } from 'bullmq';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import {
  insertProduct,
  startInProcessWorkers,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';
import { eventually } from '../harness/wait';

/** The workers of this file start only once the job has stalled. */
const world = usePipelineWorld({}, { workers: false });

describe('Jobs that stall too often', () => {
  it('When a job stalls more often than the workers allow (each worker that takes it dies with it), then the workers put its order ON_HOLD for an operator', async () => {
    await insertProduct(world.ctx, { id: 1, price: 0, stock: 5 });
    const token = await world.ctx.tokenFor(1);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    expect(submitted.status).toBe(202);

    // A worker that takes the job and never finishes it, as a process killed mid-job would:
    // its lock lapses, BullMQ's stall check puts the job back and counts one stall. Six
    // times is one more than the product's workers allow (maxStalledCount 5).
    const { prefix } = world.ctx.config.redis;
    const queue = new Queue(ORDERS_QUEUE, { connection: world.ctx.redis, prefix });
    const dying = new Worker(ORDERS_QUEUE, null, {
      connection: world.ctx.redis,
      prefix,
      autorun: false,
      lockDuration: 100,
      stalledInterval: 100,
      maxStalledCount: 5,
    });
    try {
      void dying.startStalledCheckTimer();
      for (let stall = 1; stall <= 6; stall++) {
        await eventually(`stall ${String(stall)}: job taken`, async () =>
          Boolean(await dying.getNextJob(`dying-${String(stall)}`, { block: false })),
        );
        await eventually(
          `stall ${String(stall)}: job back in waiting`,
          async () => (await queue.getJobState(submitted.id)) === 'waiting',
        );
      }
    } finally {
      await dying.close();
    }
    expect((await queue.getJob(submitted.id))?.stalledCounter).toBe(6);

    const workers = await startInProcessWorkers(world.ctx);
    try {
      const held = await waitForFinal<{ status: string }>(
        world.api.baseUrl,
        token,
        submitted.statusUrl,
        { stopOnHold: true },
      );
      expect(held.status).toBe('ON_HOLD');
      await eventually('the ON_HOLD row', async () => {
        const [rows] = await world.ctx.sequelize.query('SELECT status FROM orders WHERE id = ?', {
          replacements: [submitted.id],
        });
        return (rows as { status: string }[])[0]?.status === 'ON_HOLD';
      });
      expect(await queue.getJobState(submitted.id)).toBe('failed');
    } finally {
      await workers.close();
      await queue.close();
    }
  });
});
