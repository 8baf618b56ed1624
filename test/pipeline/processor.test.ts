import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { ConnectionRefusedError } from 'sequelize';
import { z } from 'zod';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import type { JobPayload } from '../../shared/queues/batch';
import { createRedis } from '../../shared/redis';
import { breakerSettings, createDbBreaker } from '../../shared/resilience/breaker';
import { createRequestRecords, type PartRecords } from '../../shared/requests/records';
import { jobProcessor, type QueueJobs } from '../../workers/jobs/processor';
import { testRedisUrl } from '../harness/env';
import { singleLayout } from '../harness/queues';
import { eventually } from '../harness/wait';

/**
 * The processor of the charges and orders queues, given a batch job (the requests one API
 * process accepted together): each request succeeds or fails on its own. The queue's jobs are
 * a stand-in so that one chosen request can fail; BullMQ and the Redis status records are real.
 */
interface Request {
  id: string;
  userId: number;
  acceptedAt: string;
}
interface View {
  id: string;
  userId: number;
  status: string;
  createdAt: string;
}

const requestSchema = z.object({ id: z.string(), userId: z.number(), acceptedAt: z.string() });
const logger = createLogger({ level: 'error', service: 'test', silent: true });
const prefix = `proc-${randomBytes(4).toString('hex')}`;
let redis: Redis;
let records: PartRecords;
const opened: { close(): Promise<void> }[] = [];

beforeAll(() => {
  redis = createRedis(testRedisUrl(), 'worker', logger);
  records = createRequestRecords(redis, singleLayout(prefix)).forUser(1);
});

afterAll(async () => {
  for (const o of opened.reverse()) await o.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.unlink(...keys);
  await redis.quit();
});

/** A queue and a worker running `jobProcessor` over stand-in jobs whose `apply` is `apply`. */
function start(name: string, apply: (request: Request) => View) {
  const applied: string[] = [];
  const onHold: string[] = [];
  const queueJobs: QueueJobs<Request, View> = {
    kind: 'order',
    schema: requestSchema,
    idOf: (r) => r.id,
    unappliedView: (r, status) => ({ id: r.id, userId: r.userId, status, createdAt: r.acceptedAt }),
    apply: async (r) => {
      applied.push(r.id);
      await sleep(1);
      return apply(r);
    },
    recordOnHold: (r) => {
      onHold.push(r.id);
      return Promise.resolve();
    },
  };
  const breaker = createDbBreaker(
    `test-${name}`,
    breakerSettings({ errorPercent: 100, volume: 1_000, resetMs: 200 }, 2_000),
    logger,
  );
  const queue = new Queue<JobPayload<Request>>(name, {
    connection: redis,
    prefix,
    defaultJobOptions: { attempts: 2, backoff: { type: 'fixed', delay: 10 } },
  });
  const worker = new Worker(
    name,
    jobProcessor(queueJobs, {
      records,
      logger,
      breaker,
      metrics: createMetrics('workers'),
      pauseQueue: (ms) => queue.rateLimit(ms),
    }),
    { connection: redis, prefix },
  );
  opened.push(queue, worker, {
    close: () => {
      breaker.shutdown();
      return Promise.resolve();
    },
  });
  return { queue, worker, applied, onHold };
}

const request = (id: string): Request => ({ id, userId: 1, acceptedAt: new Date().toISOString() });
const statusOf = async (id: string) => (await records.get('order', id))?.status;

describe('A batch job in the charges and orders processor', () => {
  it('When one request of a batch keeps failing for an infrastructure reason, then the others are final, the job is retried, and only that one goes ON_HOLD', async () => {
    const ids = ['a-ok', 'b-broken', 'c-ok'].map((s) => `${s}-${randomBytes(3).toString('hex')}`);
    const [ok1, broken, ok2] = ids as [string, string, string];
    const { queue, applied, onHold } = start('partial', (r) => {
      if (r.id === broken) throw new Error('lock wait timeout exceeded');
      return { id: r.id, userId: r.userId, status: 'PAID', createdAt: r.acceptedAt };
    });
    const job = await queue.add('order', { requests: ids.map(request) });

    await eventually(
      'the job failed',
      async () => (await queue.getJobState(job.id ?? '')) === 'failed',
    );
    expect(await statusOf(ok1)).toBe('PAID');
    expect(await statusOf(ok2)).toBe('PAID');
    expect(await statusOf(broken)).toBe('ON_HOLD');
    expect(onHold).toEqual([broken]);
    // Two attempts of the whole job: every request applied twice (real steps are idempotent).
    expect(applied.filter((id) => id === broken)).toHaveLength(2);
    expect(applied.filter((id) => id === ok1)).toHaveLength(2);
  });

  it('When the database is unreachable for one request of a batch, then the job waits without using an attempt and that request is PENDING again', async () => {
    const ids = ['a-ok', 'b-outage'].map((s) => `${s}-${randomBytes(3).toString('hex')}`);
    const [ok, outage] = ids as [string, string];
    let down = true;
    const { queue, onHold } = start('outage', (r) => {
      if (r.id === outage && down) throw new ConnectionRefusedError(new Error('ECONNREFUSED'));
      return { id: r.id, userId: r.userId, status: 'PAID', createdAt: r.acceptedAt };
    });
    const job = await queue.add('order', { requests: ids.map(request) });

    await eventually('the other request PAID', async () => (await statusOf(ok)) === 'PAID');
    await eventually(
      'the request PENDING again',
      async () => (await statusOf(outage)) === 'PENDING',
    );
    expect((await queue.getJob(job.id ?? ''))?.attemptsMade).toBe(0);

    down = false;
    await eventually('the request PAID', async () => (await statusOf(outage)) === 'PAID');
    // The status is published inside the processor; BullMQ completes the job after it returns.
    await eventually(
      'the job completed',
      async () => (await queue.getJobState(job.id ?? '')) === 'completed',
    );
    expect(onHold).toEqual([]);
  });
});
