import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { EVENTS_QUEUE, type EventsJob } from '../../shared/queues/events';
import {
  eventRows,
  FAST_EVENTS,
  PLATFORM_SECRET,
  startReceiver,
  waitDelivered,
  type Receiver,
} from '../events/support';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { startProxiedWorkers, type ProxiedWorkers } from '../harness/proxied-workers';
import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { eventually } from '../harness/wait';

/** Event delivery whose database sits behind a proxy this file cuts. */
let ctx: TestContext;
let api: RunningApi;
let receiver: Receiver;
let proxied: ProxiedWorkers;
let events: Queue<EventsJob>;

beforeAll(async () => {
  receiver = await startReceiver();
  ctx = await createTestContext({
    DB_BREAKER_VOLUME: '3',
    DB_BREAKER_RESET_MS: '500',
    DATA_PLATFORM_URL: receiver.url,
    DATA_PLATFORM_SECRET: PLATFORM_SECRET,
  });
  api = await startApi(ctx);
  await insertProduct(ctx, { id: 1, price: 100, stock: 1_000 });
  // The sweeper's production grace: with a shorter one, a loaded machine's relay can be
  // slower to mark a row enqueued, and the sweeper then gives the event a job of its own beside
  // its group's: a second delivery, which the contract allows (at least once) but this test,
  // about the outage alone, counts.
  proxied = await startProxiedWorkers(ctx, { events: { ...FAST_EVENTS, sweepGraceMs: 5_000 } });
  events = new Queue<EventsJob>(EVENTS_QUEUE, {
    connection: ctx.redis,
    prefix: ctx.config.redis.prefix,
  });
});

afterAll(async () => {
  await proxied.close();
  await events.close();
  await api.close();
  await receiver.close();
  await ctx.destroy();
});

describe('Event delivery during a database outage', () => {
  it('When the database is cut while a group of events waits, then the group goes back untouched (nothing sent, no attempt counted) and every event is delivered once it returns', async () => {
    const token = await ctx.tokenFor(1);
    await fund(api.baseUrl, token, 100_000);
    await events.pause();
    const submitted = await Promise.all(
      Array.from({ length: 10 }, () =>
        submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]),
      ),
    );
    for (const s of submitted) await waitForFinal(api.baseUrl, token, s.statusUrl);
    const orderIds = submitted.map((s) => s.id);
    await eventually('a group job waiting, its rows marked enqueued', async () => {
      const jobs = await events.getJobs(['wait']);
      const rows = await eventRows(ctx, orderIds);
      return (
        jobs.some((job) => 'eventIds' in job.data) &&
        rows.length > 0 &&
        rows.every((r) => r.enqueuedAt)
      );
    });
    const sentBefore = receiver.requests.length;

    proxied.proxy.cut('refuse');
    try {
      await events.resume();
      // Long enough for the group to be taken, deferred and taken again several times.
      await sleep(2_000);
      expect(receiver.requests.length).toBe(sentBefore);
      const waiting = await events.getJobs(['wait', 'delayed', 'prioritized', 'active']);
      const groups = waiting.filter((job) => 'eventIds' in job.data);
      expect(groups.length).toBeGreaterThan(0);
      for (const job of groups) expect(job.attemptsMade).toBe(0);
    } finally {
      await proxied.proxy.restore();
    }

    const delivered = await waitDelivered(ctx, orderIds);
    const acknowledged = receiver.acknowledged();
    for (const row of delivered) {
      expect(row.attempts).toBe(1);
      expect(acknowledged.get(row.id)).toHaveLength(1);
    }
    expect(await events.getJobCounts('failed')).toEqual({ failed: 0 });
  }, 60_000);
});
