import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../shared/logger';
import { createMetrics, observeQueues } from '../../shared/metrics';
import { watchWorker, type WatchedWorker } from '../../workers/watchdog';
import { DedicatedRedis } from '../harness/redis';
import { eventually } from '../harness/wait';

/**
 * The watchdog rebuilds a worker that looks alive but starts no job while jobs wait: what
 * BullMQ's worker does when its blocking connection never comes back after a Redis restart.
 * Here the stuck worker is a real BullMQ worker that was never started (`autorun: false`):
 * open, connected, taking nothing.
 */
describe('The worker watchdog', () => {
  const logger = createLogger({ level: 'error', service: 'test', silent: true });
  const CHECK_MS = 50;
  let server: DedicatedRedis;
  let redis: Redis;
  let queueCount = 0;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    server = await DedicatedRedis.start({ appendfsync: 'everysec' });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });

  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  afterAll(async () => {
    await redis.quit();
    await server.destroy();
  });

  /**
   * A queue of its own, a watchdog over it whose first worker is stuck (unless `healthy`), and
   * the workers built; each job takes `jobMs`.
   */
  function watched({
    idleExpected = () => false,
    healthy = false,
    jobMs = 0,
    checkMs = CHECK_MS,
  }: { idleExpected?: () => boolean; healthy?: boolean; jobMs?: number; checkMs?: number } = {}) {
    const name = `watched-${String(++queueCount)}`;
    const queue = new Queue(name, { connection: redis });
    const built: Worker[] = [];
    const create = () => {
      const worker = new Worker(name, () => sleep(jobMs).then(() => 'done'), {
        connection: redis,
        autorun: healthy || built.length > 0,
      });
      built.push(worker);
      return worker;
    };
    const watchdog: WatchedWorker = watchWorker({
      create,
      queue,
      logger,
      idleExpected,
      intervalMs: checkMs,
      strikes: 3,
    });
    cleanup.push(
      () => queue.close(),
      () => Promise.all(built.map((worker) => worker.close(true))),
      () => watchdog.close(),
    );
    return { queue, built, watchdog };
  }

  const allCompleted = (queue: Queue, jobs: number) =>
    eventually(`all ${String(jobs)} jobs completed`, async () => {
      const counts = await queue.getJobCounts('completed');
      return counts.completed === jobs;
    });

  it('When jobs wait and the worker starts none for three checks in a row, then it is replaced by a new worker, which processes them', async () => {
    const { queue, built, watchdog } = watched();
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'job', data: { n } })));

    await allCompleted(queue, 3);
    expect(built).toHaveLength(2);
    expect(watchdog.current()).toBe(built[1]);
    expect(built[0]?.closing).toBeTruthy();
  });

  it('When the only jobs are delayed ones (retries after a backoff) that fell due and the worker starts none, then it is replaced by a new worker, which processes them', async () => {
    const { queue, built } = watched();
    // Only a working worker moves due delayed jobs to the wait list: the wait list stays empty.
    await queue.addBulk([1, 2].map((n) => ({ name: 'job', data: { n }, opts: { delay: 10 } })));

    await allCompleted(queue, 2);
    expect(built).toHaveLength(2);
  });

  it('When the only job is delayed and not yet due, then a worker starting no job is left as it is', async () => {
    const { queue, built } = watched();
    await queue.add('job', {}, { delay: 3_600_000 });

    await sleep(20 * CHECK_MS);
    expect(built).toHaveLength(1);
    expect((await queue.getJobCounts('delayed')).delayed).toBe(1);
  });

  it('When jobs wait behind a worker that keeps starting them, then it is left as it is', async () => {
    // One job at a time, ten per check: jobs wait through several checks, and only a stall
    // of three checks (600 ms) without a job started would look stuck.
    const { queue, built } = watched({ healthy: true, jobMs: 20, checkMs: 200 });
    await queue.addBulk(Array.from({ length: 60 }, (_, n) => ({ name: 'job', data: { n } })));

    await allCompleted(queue, 60);
    expect(built).toHaveLength(1);
  });

  it('When the queue is paused, then a worker starting no job is left as it is', async () => {
    const { queue, built } = watched();
    await queue.pause();
    await queue.add('job', {});

    // Twenty checks: far more than the three strikes a rebuild takes.
    await sleep(20 * CHECK_MS);
    expect(built).toHaveLength(1);
    expect((await queue.getJobCounts('wait')).wait).toBe(1);
  });

  it('When idling is expected (the database breaker is not closed), then a worker starting no job is left as it is', async () => {
    let breakerOpen = true;
    const { queue, built } = watched({ idleExpected: () => breakerOpen });
    await queue.add('job', {});

    await sleep(20 * CHECK_MS);
    expect(built).toHaveLength(1);

    // Once idling is no longer expected the same worker is replaced.
    breakerOpen = false;
    await allCompleted(queue, 1);
    expect(built).toHaveLength(2);
  });

  // What the watchdog acts on, operators see: a retry that fell due and no worker moved.
  describe('shop_queue_delayed_overdue_seconds', () => {
    /** The gauge of a queue no worker takes, as a scrape reads it. */
    async function overdueSeconds(queue: Queue): Promise<number | undefined> {
      const metrics = createMetrics('workers');
      observeQueues(metrics, [{ queue, partition: 'all' }]);
      const gauge = await metrics.registry
        .getSingleMetric('shop_queue_delayed_overdue_seconds')
        ?.get();
      return gauge?.values.find((v) => v.labels.queue === queue.name)?.value;
    }

    function unwatched() {
      const queue = new Queue(`unwatched-${String(++queueCount)}`, { connection: redis });
      cleanup.push(() => queue.close());
      return queue;
    }

    it('When a delayed job fell due and no worker moved it to the wait list, then the gauge says how long ago', async () => {
      const queue = unwatched();
      await queue.add('job', {}, { delay: 10 });
      await sleep(500);

      const seconds = await overdueSeconds(queue);
      // At least the time slept less the delay; a misread score would be years off.
      expect(seconds).toBeGreaterThanOrEqual(0.45);
      expect(seconds).toBeLessThan(3_600);
      expect((await queue.getJobCounts('delayed')).delayed).toBe(1);
    });

    it('When the only delayed job is not yet due, or none is delayed, then the gauge reads 0', async () => {
      const later = unwatched();
      await later.add('job', {}, { delay: 3_600_000 });
      expect(await overdueSeconds(later)).toBe(0);
      expect(await overdueSeconds(unwatched())).toBe(0);
    });
  });
});
