import { setTimeout as sleep } from 'node:timers/promises';

import type { FaultProxy } from '../harness/fault-proxy';
import { startProxiedWorkers, type ProxiedWorkers } from '../harness/proxied-workers';
import { reconcile } from '../../shared/db/reconcile';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { isBatch } from '../../shared/queues/batch';
import type { RunningWorkers } from '../../workers/wiring';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  submitOrder,
  waitForFinal,
  type Submitted,
} from '../harness/pipeline';
import { allOf } from '../harness/queues';

/** Workers whose database sits behind a proxy this file cuts; the API talks to it directly. */
let ctx: TestContext;
let api: RunningApi;
let proxied: ProxiedWorkers;
let proxy: FaultProxy;
let workers: RunningWorkers;
let queues: RequestQueues;

beforeAll(async () => {
  ctx = await createTestContext({
    DB_BREAKER_VOLUME: '3',
    DB_BREAKER_RESET_MS: '500',
    JOB_ATTEMPTS: '3',
    JOB_BACKOFF_MS: '10',
  });
  api = await startApi(ctx);
  await insertProduct(ctx, { id: 1, price: 100, stock: 1_000 });
  proxied = await startProxiedWorkers(ctx);
  ({ proxy, workers } = proxied);
  queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
});

afterAll(async () => {
  await proxied.close();
  await queues.close();
  await api.close();
  await ctx.destroy();
});

describe('Workers during a database outage', () => {
  it.each(['refuse', 'hang'] as const)(
    'When the database is cut (%s) while orders arrive, then no attempt is used up, nothing goes ON_HOLD, and every order is PAID once it returns',
    async (mode) => {
      const token = await ctx.tokenFor(mode === 'refuse' ? 1 : 2);
      await fund(api.baseUrl, token, 100_000);
      proxy.cut(mode);
      const submitted: Submitted[] = await Promise.all(
        Array.from({ length: 20 }, () =>
          submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]),
        ),
      );
      expect(submitted.every((s) => s.status === 202)).toBe(true);

      // Several breaker periods pass; with 3 attempts 10 ms apart, burning attempts would
      // have put every order ON_HOLD by now. (Whether the breaker is open at this instant
      // depends on the rolling window; either way the jobs wait.)
      await sleep(3_000);
      for (const s of submitted) {
        const status = await request<{ status: string }>(api.baseUrl, 'GET', s.statusUrl, {
          token,
        });
        expect(['PENDING', 'PROCESSING']).toContain(status.body.status);
      }
      // Every order is still in a job (alone, or in a batch accepted together), none retried.
      const jobs = await allOf(queues.orders).getJobs(['wait', 'active', 'delayed', 'prioritized']);
      const queued = jobs.flatMap((job) =>
        isBatch(job.data) ? job.data.requests.map((o) => o.orderId) : [job.data.orderId],
      );
      expect(queued).toEqual(expect.arrayContaining(submitted.map((s) => s.id)));
      expect(jobs.map((job) => job.attemptsMade)).toEqual(jobs.map(() => 0));
      expect(await allOf(queues.orders).getFailedCount()).toBe(0);

      await proxy.restore();
      const finals = await Promise.all(
        submitted.map((s) =>
          waitForFinal<{ status: string }>(api.baseUrl, token, s.statusUrl, { timeoutMs: 30_000 }),
        ),
      );
      expect(finals.every((o) => o.status === 'PAID')).toBe(true);
      expect(workers.breaker.state).toBe('closed');
      expect((await reconcile(ctx.sequelize)).filter((c) => c.violations.length > 0)).toEqual([]);
    },
    60_000,
  );
});
