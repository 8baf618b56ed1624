import { setTimeout as sleep } from 'node:timers/promises';

import type { Sequelize } from 'sequelize';
import { FaultProxy } from '../harness/fault-proxy';
import { uuidv7 } from '../../shared/ids';
import { createSequelize } from '../../shared/db/sequelize';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { MAX_REQUESTS_PER_JOB } from '../../shared/queues/batch';
import type { OrderJob } from '../../shared/queues/orders';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { startWorkers, type RunningWorkers } from '../../workers/wiring';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { runBuilt, type RunningProcess } from '../harness/process';
import { eventually } from '../harness/wait';
import { parseSamples, sampleValue, scrape, type Sample } from '../ops/scrape';

/**
 * The database breakers seen from outside: real API and worker processes whose database sits
 * behind a fault proxy this file cuts, scraped as Prometheus would. shop_breaker_state is
 * 0 closed, 1 half-open, 2 open.
 */
let ctx: TestContext;
let proxy: FaultProxy;
let api: RunningApi;
const running: RunningProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  await insertProduct(ctx, { id: 1, price: 10, stock: 10_000 });
  proxy = await FaultProxy.start(Number(new URL(ctx.config.database.url).port || 3306));
  // Accepts and status polls never touch the database: this app talks to it directly.
  api = await startApi(ctx);
});

afterEach(async () => {
  await proxy.restore();
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await api.close();
  await proxy.close();
  await ctx.destroy();
});

/** The database URL through the proxy. */
function proxiedDatabaseUrl(): string {
  const url = new URL(ctx.config.database.url);
  url.port = String(proxy.port);
  return url.toString();
}

/** A built entry point over the proxied database; trips after 3 failures, probes after 0.5 s. */
async function start(entry: 'api/main.js' | 'workers/main.js'): Promise<string> {
  const proc = runBuilt(entry, [], {
    ...ctx.env,
    DATABASE_URL: proxiedDatabaseUrl(),
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    DB_BREAKER_VOLUME: '3',
    DB_BREAKER_RESET_MS: '500',
  });
  running.push(proc);
  const line =
    entry === 'api/main.js'
      ? await proc.waitForLog('api listening', 15_000)
      : await proc.waitForLog('workers started', 15_000);
  return `http://127.0.0.1:${String(entry === 'api/main.js' ? line.port : line.metricsPort)}`;
}

async function breakerState(baseUrl: string, breaker: string): Promise<number | undefined> {
  return sampleValue(await scrape(baseUrl), 'shop_breaker_state', { breaker });
}

describe('The API breaker', () => {
  it('When the database is cut, then /metrics shows the breaker open (2) while reads fail, and closed (0) once it is back', async () => {
    const baseUrl = await start('api/main.js');
    const token = await ctx.tokenFor(1);
    const read = () => request(baseUrl, 'GET', '/api/balance', { token });
    expect((await read()).status).toBe(200);
    expect(await breakerState(baseUrl, 'api-db')).toBe(0);

    proxy.cut('refuse');
    await eventually('the API breaker is open', async () => {
      await read();
      return (await breakerState(baseUrl, 'api-db')) === 2;
    });
    expect((await read()).status).toBe(503);
    const during = await scrape(baseUrl);
    expect(
      sampleValue(during, 'shop_breaker_transitions_total', { breaker: 'api-db', state: 'open' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(during, 'shop_breaker_calls_total', { breaker: 'api-db', outcome: 'rejected' }),
    ).toBeGreaterThanOrEqual(1);

    await proxy.restore();
    await eventually('reads succeed again and the API breaker is closed', async () => {
      return (await read()).status === 200 && (await breakerState(baseUrl, 'api-db')) === 0;
    });
  }, 60_000);
});

describe('A worker process breaker', () => {
  it('When the database is cut while orders arrive, then the worker /metrics shows its breaker open (2), and closed (0) once it is back with every order PAID', async () => {
    const metricsUrl = await start('workers/main.js');
    const token = await ctx.tokenFor(2);
    await fund(api.baseUrl, token, 10_000);
    expect(await breakerState(metricsUrl, 'worker-db')).toBe(0);

    proxy.cut('refuse');
    const orders = [];
    for (let i = 0; i < 5; i++) {
      orders.push(await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]));
    }
    await eventually('the worker breaker is open', async () => {
      return (await breakerState(metricsUrl, 'worker-db')) === 2;
    });

    await proxy.restore();
    const finals = await Promise.all(
      orders.map((o) =>
        waitForFinal<{ status: string }>(api.baseUrl, token, o.statusUrl, { timeoutMs: 30_000 }),
      ),
    );
    expect(finals.map((o) => o.status)).toEqual(orders.map(() => 'PAID'));
    await eventually('the worker breaker is closed', async () => {
      return (await breakerState(metricsUrl, 'worker-db')) === 0;
    });
  }, 60_000);
});

describe('What a job counts against the worker breaker', () => {
  let workerDb: Sequelize;
  let workerRedis: RedisClient;
  let workers: RunningWorkers | undefined;
  let queues: RequestQueues;

  beforeAll(() => {
    workerDb = createSequelize(proxiedDatabaseUrl(), { poolMax: 10, connectTimeoutMs: 500 });
    workerRedis = createRedisClient(ctx.config.redis, 'worker', ctx.logger);
    queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
  });

  afterAll(async () => {
    await workers?.close();
    await queues.close();
    await workerRedis.quit();
    await workerDb.close();
  });

  const samples = async (): Promise<Sample[]> => {
    if (!workers) throw new Error('the workers are not started');
    return parseSamples(await workers.metrics.registry.metrics());
  };
  const failures = (s: Sample[]) =>
    sampleValue(s, 'shop_breaker_calls_total', { breaker: 'worker-db', outcome: 'failure' }) ?? 0;
  const deferred = (s: Sample[]) =>
    sampleValue(s, 'shop_jobs_deferred_total', { queue: 'orders' }) ?? 0;

  it('When a job of 64 orders meets a database outage, then each attempt counts one failure against the breaker, not 64, and every order is PAID once it is back', async () => {
    // A breaker that never opens here, and no periodic database work in the window: every
    // failure counted comes from an attempt of the job.
    const config = { ...ctx.config, breaker: { ...ctx.config.breaker, volume: 10_000 } };
    const started = startWorkers(
      {
        config,
        logger: ctx.logger,
        sequelize: workerDb,
        connection: workerRedis,
        records: createRequestRecords(workerRedis, ctx.config.redis),
      },
      { events: { sweepIntervalMs: 3_600_000 } },
    );
    workers = started;
    const userId = 3;
    await fund(api.baseUrl, await ctx.tokenFor(userId), 10_000);
    // The start-up work through the breaker (top sellers, the first sweep) is done by now.
    await sleep(500);
    const before = failures(await samples());

    proxy.cut('refuse');
    const acceptedAt = new Date().toISOString();
    const jobs: OrderJob[] = Array.from({ length: MAX_REQUESTS_PER_JOB }, (_, i) => ({
      orderId: uuidv7(),
      userId,
      items: [{ productId: 1, quantity: 1 }],
      idempotencyKey: `batch-${String(i)}`,
      acceptedAt,
    }));
    await queues.orders.forUser(userId).add('order', { requests: jobs });

    let after: Sample[] = [];
    await eventually('the job was deferred twice', async () => {
      after = await samples();
      return deferred(after) >= 2 * MAX_REQUESTS_PER_JOB;
    });
    // Every attempt defers all 64 requests; the next attempt may have failed already.
    const attempts = deferred(after) / MAX_REQUESTS_PER_JOB;
    expect(Number.isInteger(attempts)).toBe(true);
    expect(failures(after) - before).toBeGreaterThanOrEqual(attempts);
    expect(failures(after) - before).toBeLessThanOrEqual(attempts + 1);
    expect(started.breaker.state).toBe('closed');

    await proxy.restore();
    await eventually(
      'all 64 orders are PAID',
      async () => {
        const [rows] = await ctx.sequelize.query(
          "SELECT COUNT(*) AS n FROM orders WHERE user_id = ? AND status = 'PAID'",
          { replacements: [userId] },
        );
        return Number((rows as { n: unknown }[])[0]?.n) === MAX_REQUESTS_PER_JOB;
      },
      30_000,
    );
  }, 60_000);
});
