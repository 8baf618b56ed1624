import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createQueues } from '../../shared/queues';
import { createRedis } from '../../shared/redis';
import {
  createTestContext,
  startApiOver,
  type RunningApi,
  type TestContext,
} from '../harness/context';
import { expectProblem, request } from '../harness/http';
import { insertProduct, newKey } from '../harness/pipeline';
import { allOf } from '../harness/queues';

/**
 * The in-flight limit, made deterministic with real Redis: the API gets a connection of its own,
 * and a BLPOP sent on it first holds every later command on that connection for three seconds
 * (Redis answers one connection's commands in order). Accepts sent meanwhile stay in flight.
 */
let ctx: TestContext;
let apiRedis: Redis;
let api: RunningApi;

beforeAll(async () => {
  ctx = await createTestContext({ ADMISSION_MAX_IN_FLIGHT: '2' });
  await insertProduct(ctx, { id: 1, price: 100, stock: 10 });
  apiRedis = createRedis(ctx.config.redis.url, 'command', ctx.logger, { commandTimeout: 5_000 });
  if (apiRedis.status !== 'ready') await once(apiRedis, 'ready');
  api = await startApiOver({
    config: ctx.config,
    logger: ctx.logger,
    sequelize: ctx.sequelize,
    redis: apiRedis,
  });
});

afterAll(async () => {
  await api.close();
  apiRedis.disconnect();
  await ctx.destroy();
});

describe('Admission control: accepts in flight', () => {
  it('When more accepts are in progress than ADMISSION_MAX_IN_FLIGHT, then the next is refused at once with 503 OVERLOADED, and the admitted ones complete', async () => {
    const token = await ctx.tokenFor(1);
    const accept = (key = newKey()) =>
      request<{ orderId: string }>(api.baseUrl, 'POST', '/api/orders', {
        token,
        body: { items: [{ productId: 1, quantity: 1 }] },
        headers: { 'idempotency-key': key },
      });

    const held = apiRedis.blpop(`${ctx.config.redis.prefix}:never`, 3);
    await sleep(50);
    const settled: string[] = [];
    const first = accept().finally(() => settled.push('first'));
    const second = accept().finally(() => settled.push('second'));
    await sleep(500);
    const refused = await accept();
    // Answered while both admitted accepts were still waiting on Redis.
    expect(settled).toEqual([]);
    expectProblem(refused, 503, 'OVERLOADED');
    expect(refused.body).toMatchObject({
      detail: expect.stringContaining('in progress') as unknown,
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    await held;
    expect((await first).status).toBe(202);
    expect((await second).status).toBe(202);
    // Once they are done, accepts are admitted again.
    expect((await accept()).status).toBe(202);

    // The refused request left nothing behind: three requests queued for three 202s.
    await expectQueuedRequests(3);
  });

  it('When the in-flight limit is reached, then a replay is still let through and answered with its first response', async () => {
    const token = await ctx.tokenFor(2);
    const accept = (key = newKey()) =>
      request<{ orderId: string }>(api.baseUrl, 'POST', '/api/orders', {
        token,
        body: { items: [{ productId: 1, quantity: 1 }] },
        headers: { 'idempotency-key': key },
      });
    const key = newKey();
    const first = await accept(key);
    expect(first.status).toBe(202);

    const held = apiRedis.blpop(`${ctx.config.redis.prefix}:never`, 2);
    await sleep(50);
    const admitted = [accept(), accept()];
    await sleep(300);
    const refused = accept();
    const replay = accept(key);
    expectProblem(await refused, 503, 'OVERLOADED');

    await held;
    const replayed = await replay;
    expect(replayed.status).toBe(202);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.orderId).toBe(first.body.orderId);
    for (const response of await Promise.all(admitted)) expect(response.status).toBe(202);
    await expectQueuedRequests(3 + 3);
  });
});

/** Requests in waiting jobs (accepts of one event-loop turn share a job). */
async function expectQueuedRequests(count: number): Promise<void> {
  {
    const queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
    try {
      const jobs = await allOf(queues.orders).getWaiting();
      const requests = jobs.map((job) => ('requests' in job.data ? job.data.requests.length : 1));
      expect(requests.reduce((sum, n) => sum + n, 0)).toBe(count);
    } finally {
      await queues.close();
    }
  }
}
