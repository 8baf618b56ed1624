import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { uuidv7 } from '../../shared/ids';
import { messageOf } from '../../shared/infra-errors';
import { createRequestRecords, type ReserveRequest } from '../../shared/requests/records';
import { requestJobOptions } from '../../shared/queues/options';
import type { OrderJob } from '../../shared/queues/orders';
import type { StatusUpdate } from '../../shared/requests/records';
import { DedicatedRedis } from '../../test/harness/redis';
import { parseCommandStats, parseRedisCpuSeconds } from './cpu';

/**
 * Redis's own CPU per request for each step an order takes in Redis, on a Redis of its own
 * (AOF every second, as the bench's): the accept's reservation script, BullMQ's add of the
 * batch job, the PROCESSING and final record scripts, and a worker taking and completing the
 * jobs. Redis counts it itself (its CPU from `INFO cpu`, its commands from `INFO commandstats`,
 * reset before each wave of a step), so nothing of this process is in the figures. Requests
 * come in batches of `size` (default 21, what the bench's accepts averaged), `jobs` batches
 * (default 2,000):
 * `node dist/load/bench/records-cost.js [jobs] [size]`.
 */
const USERS = 200;
/** Jobs per wave: see `main`. */
const WAVE = 50;

/** One step's totals over every wave. */
interface Step {
  name: string;
  /** Redis's CPU (user + system, `INFO cpu`), seconds. */
  cpuS: number;
  /** Of it, what Redis timed in scripts (`INFO commandstats`: EVALSHA, the calls inside), µs. */
  scriptsUs: number;
  calls: Record<string, number>;
}

/** Runs one wave of a step and adds what Redis spent on it to the step's totals. */
async function measure(redis: Redis, step: Step, run: () => Promise<void>): Promise<void> {
  await redis.config('RESETSTAT');
  const before = parseRedisCpuSeconds(await redis.info('cpu'));
  await run();
  const after = parseRedisCpuSeconds(await redis.info('cpu'));
  const stats = parseCommandStats(await redis.info('commandstats'));
  step.cpuS += after - before;
  step.scriptsUs += (stats.evalsha?.usec ?? 0) + (stats.eval?.usec ?? 0);
  for (const [command, { calls }] of Object.entries(stats)) {
    // Our own measuring (CONFIG RESETSTAT, INFO) is not the step's.
    if (command.startsWith('config') || command === 'info') continue;
    step.calls[command] = (step.calls[command] ?? 0) + calls;
  }
}

function orderOf(j: number, i: number, size: number): ReserveRequest & { job: OrderJob } {
  const id = uuidv7();
  const userId = 1 + ((j * size + i) % USERS);
  const acceptedAt = new Date();
  const job: OrderJob = {
    orderId: id,
    userId,
    items: [{ productId: 1 + i, quantity: 1 }],
    idempotencyKey: `records-cost-${j}-${i}`,
    requestId: uuidv7(),
    acceptedAt: acceptedAt.toISOString(),
  };
  return {
    kind: 'order',
    userId,
    key: job.idempotencyKey,
    fingerprint: 'f'.repeat(64),
    id,
    acceptedAtMs: acceptedAt.getTime(),
    pendingView: { orderId: id, userId, status: 'PENDING', items: job.items, totalAmount: null },
    job,
  };
}

async function main(jobs: number, size: number): Promise<void> {
  const server = await DedicatedRedis.start({ appendfsync: 'everysec' });
  const redis = new Redis(server.url, { maxRetriesPerRequest: null });
  const queue = new Queue<{ requests: OrderJob[] }>('orders', {
    connection: redis,
    prefix: 'cost',
    defaultJobOptions: requestJobOptions({ attempts: 5, backoffMs: 1_000 }),
  });
  try {
    const records = createRequestRecords(redis, {
      prefix: 'cost',
      partitions: 1,
      previousPartitions: undefined,
      clusterNodes: undefined,
    });
    const part = records.forUser(1);
    const batches = Array.from({ length: jobs }, (_, j) =>
      Array.from({ length: size }, (_, i) => orderOf(j, i, size)),
    );
    const updates = (batch: (typeof batches)[number], status: string): StatusUpdate[] =>
      batch.map((r) => ({
        id: r.id,
        userId: r.userId,
        acceptedAt: r.job.acceptedAt,
        status,
        view: { ...r.pendingView, status },
      }));
    const n = jobs * size;
    const step = (name: string): Step => ({ name, cpuS: 0, scriptsUs: 0, calls: {} });
    const [reserve, add, processing, final, work] = [
      step('the accept: reservation script'),
      step("the accept: BullMQ's add of the batch job"),
      step('the worker: PROCESSING records'),
      step('the worker: final records'),
      step('the worker: BullMQ takes and completes the jobs'),
    ] as const;
    // In waves, each step over a wave's jobs: the open sets hold one wave's orders at most, as
    // in a system whose workers keep up, not every order of the run.
    for (let w = 0; w < jobs; w += WAVE) {
      const wave = batches.slice(w, w + WAVE);
      await measure(redis, reserve, async () => {
        for (const batch of wave) await part.reserveMany(batch);
      });
      await measure(redis, add, async () => {
        for (const batch of wave) await queue.add('order', { requests: batch.map((r) => r.job) });
      });
      await measure(redis, processing, async () => {
        for (const batch of wave) await part.transitionMany('order', updates(batch, 'PROCESSING'));
      });
      await measure(redis, final, async () => {
        for (const batch of wave) await part.publishFinalMany('order', updates(batch, 'PAID'));
      });
      process.stderr.write(`\r   records: ${Math.min(w + WAVE, jobs)} / ${jobs} jobs`);
    }
    process.stderr.write('\n   BullMQ: a worker takes and completes every job\n');
    await measure(redis, work, async () => {
      let done = 0;
      const connection = new Redis(server.url, { maxRetriesPerRequest: null });
      const finished = new Promise<void>((resolve) => {
        const worker = new Worker('orders', () => Promise.resolve({ status: 'PAID' }), {
          connection,
          prefix: 'cost',
          concurrency: 8,
        });
        worker.on('completed', () => {
          if (++done === jobs) void worker.close().then(resolve);
        });
      });
      await finished;
      connection.disconnect();
    });
    const steps = [reserve, add, processing, final, work];
    const perOrder = (us: number) => (us / n).toFixed(1);
    const total = steps.reduce((sum, s) => sum + s.cpuS * 1e6, 0);
    process.stdout.write(
      [
        `Redis CPU µs per order (${jobs} jobs of ${size} orders; INFO cpu and INFO commandstats)`,
        '',
        '| step | Redis CPU µs per order | of it, timed in scripts | commands (calls) |',
        '|---|---:|---:|---|',
        ...steps.map(
          (s) =>
            `| ${s.name} | ${perOrder(s.cpuS * 1e6)} | ${perOrder(s.scriptsUs)} | ${Object.entries(
              s.calls,
            )
              .sort((a, b) => b[1] - a[1])
              .map(([c, k]) => `${c} ${k}`)
              .join(', ')} |`,
        ),
        `| all | ${perOrder(total)} | | |`,
        '',
      ].join('\n'),
    );
  } finally {
    await queue.close();
    redis.disconnect();
    await server.destroy();
  }
}

const [jobsArg, sizeArg] = process.argv.slice(2);
main(Number(jobsArg ?? 2_000), Number(sizeArg ?? 21)).catch((error: unknown) => {
  process.stderr.write(`${messageOf(error)}\n`);
  process.exitCode = 1;
});
