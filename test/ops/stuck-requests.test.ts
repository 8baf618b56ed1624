import { setTimeout as sleep } from 'node:timers/promises';
import { recordedFinalViews } from '../../shared/db/reconcile';
import { uuidv7 } from '../../shared/ids';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { createRequestRecords } from '../../shared/requests/records';
import { findStuck } from '../../shared/requests/stuck';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  runOps,
  submitOrder,
  waitForFinal,
  type Submitted,
} from '../harness/pipeline';
import type { RunningProcess } from '../harness/process';
import { nowS, samplesAfter, startWorkerProcess, stopWorkers, stuck } from './reconcile-support';
import { allOf } from '../harness/queues';
import { userBase } from '../harness/keys';

/**
 * Accepted requests that never finish, counted by the scheduled reconcile of a real worker
 * process (a run a second) and by `npm run ops -- reconcile`, with requests stuck after one
 * second so the clock needs no faking. Accepts go through an in-process app.
 */
let ctx: TestContext;
let api: RunningApi;
let queues: RequestQueues;
const running: RunningProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ RECONCILE_INTERVAL_S: '1', STUCK_AFTER_S: '1' });
  await insertProduct(ctx, { id: 1, price: 10, stock: 1_000 });
  api = await startApi(ctx);
  queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
});

afterEach(async () => {
  await stopWorkers(running);
});

afterAll(async () => {
  await queues.close();
  await api.close();
  await ctx.destroy();
});

const startWorker = () => startWorkerProcess(ctx, running);

describe('Stuck requests', () => {
  const records = () => createRequestRecords(ctx.redis, ctx.config.redis);

  /** Accepts an order while no worker takes orders, then lets the queue go again. */
  async function acceptWithoutWorker(token: string): Promise<Submitted> {
    await allOf(queues.orders).pause();
    const order = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    expect(order.status).toBe(202);
    return order;
  }

  it('When an accepted order is not applied after STUCK_AFTER_S, then the scheduled reconcile and ops reconcile count it stuck; ON_HOLD it is not', async () => {
    const token = await ctx.tokenFor(10);
    const worker = await startWorker();
    await fund(api.baseUrl, token, 100);
    const order = await acceptWithoutWorker(token);
    try {
      await sleep(1_000);
      const [samples] = await samplesAfter([worker], nowS());
      expect(stuck(samples ?? [], 'order')).toBe(1);
      expect(stuck(samples ?? [], 'charge')).toBe(0);

      const ops = await runOps(ctx, 'reconcile');
      expect(ops.code).toBe(1);
      expect(ops.out).toMatch(/STUCK\s+stuck-orders\s+1 order\(s\) accepted over 1 s ago/);
      expect(ops.out).toMatch(new RegExp(`${order.id}\\s+PENDING\\s+accepted \\d+ s ago`));
      expect(ops.out).toMatch(/ok\s+stuck-charges/);
      expect(ops.out).toContain('reconcile: every invariant holds');
      expect(ops.out).toContain('reconcile: 1 stuck request(s): drift an operator must act on');

      // ON_HOLD: an operator already has it (its own alert, `ops on-hold`).
      const pending = JSON.parse((await records().get('order', 10, order.id))?.view ?? '{}') as {
        createdAt: string;
      };
      await records()
        .forUser(10)
        .transition('order', {
          id: order.id,
          userId: 10,
          acceptedAt: pending.createdAt,
          status: 'ON_HOLD',
          view: { ...pending, status: 'ON_HOLD' },
        });
      const [held] = await samplesAfter([worker], nowS());
      expect(stuck(held ?? [], 'order')).toBe(0);
      const opsHeld = await runOps(ctx, 'reconcile');
      expect(opsHeld.out).toMatch(/ok\s+stuck-orders/);
      expect(opsHeld.code).toBe(0);
    } finally {
      await allOf(queues.orders).resume();
    }
    expect(await waitForFinal(api.baseUrl, token, order.statusUrl)).toMatchObject({
      status: 'PAID',
    });
  }, 60_000);

  it('When an applied order was left non-final in Redis (PROCESSING, or ON_HOLD), then the reconcile publishes its final view from the database, logs the repair, and does not count it', async () => {
    const token = await ctx.tokenFor(11);
    const worker = await startWorker();
    await fund(api.baseUrl, token, 100);
    const order = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    const paid = await waitForFinal<{ status: string; createdAt: string }>(
      api.baseUrl,
      token,
      order.statusUrl,
    );

    // As if the worker had died between its commit and publishing the final view.
    const leaveNonFinal = async (status = 'PROCESSING') => {
      const base = userBase(ctx, 11);
      await ctx.redis.hset(`${base}:status:order:${order.id}`, {
        status,
        view: JSON.stringify({ ...paid, status }),
      });
      await ctx.redis.zadd(`${base}:open:order`, Date.parse(paid.createdAt), order.id);
    };
    await leaveNonFinal();
    const repaired = await worker.proc.waitForLog(
      'reconcile repaired a status record from the database',
      15_000,
    );
    expect(repaired).toMatchObject({ kind: 'order', id: order.id, status: 'PAID' });
    expect((await records().get('order', 11, order.id))?.status).toBe('PAID');
    expect(await records().forUser(11).openBefore('order', Date.now(), 100)).not.toContain(
      order.id,
    );
    const [samples] = await samplesAfter([worker], nowS());
    expect(stuck(samples ?? [], 'order')).toBe(0);
    const polled = await request<{ status: string }>(api.baseUrl, 'GET', order.statusUrl, {
      token,
    });
    expect(polled.body.status).toBe('PAID');

    // `ops reconcile` repairs the same way, with no worker running.
    await worker.proc.stop();
    await leaveNonFinal();
    const ops = await runOps(ctx, 'reconcile');
    expect(ops.out).toContain(`REPAIRED 1 order status record(s)`);
    expect(ops.out).toContain(order.id);
    expect(ops.out).toMatch(/ok\s+stuck-orders/);
    expect(ops.code).toBe(0);
    expect((await records().get('order', 11, order.id))?.status).toBe('PAID');

    // ON_HOLD too, as a job failed for good after its commit leaves it (its final view was
    // never written): the database has it PAID, so it is repaired, not left for an operator.
    await leaveNonFinal('ON_HOLD');
    const opsHeld = await runOps(ctx, 'reconcile');
    expect(opsHeld.out).toContain(`REPAIRED 1 order status record(s)`);
    expect(opsHeld.code).toBe(0);
    expect((await records().get('order', 11, order.id))?.status).toBe('PAID');
  }, 60_000);

  it('When more requests are open than a run may examine, then the count covers the oldest and says it is a lower bound; pages skip and repeat no id, ties included', async () => {
    // A namespace of its own: only these ids are open in it, none is in the database.
    const store = createRequestRecords(ctx.redis, {
      ...ctx.config.redis,
      prefix: `${ctx.config.redis.prefix}-paging`,
    });
    const base = Date.now() - 60_000;
    const ids = Array.from({ length: 7 }, () => uuidv7());
    // Five accepted in the same millisecond, two later.
    const scores = [base, base, base, base, base, base + 1, base + 2];
    await store.reserveMany(
      ids.map((id, i) => ({
        kind: 'charge' as const,
        userId: 12,
        key: `paging-${String(i)}`,
        fingerprint: 'f',
        id,
        acceptedAtMs: scores[i] ?? base,
        pendingView: { chargeId: id },
      })),
    );
    const deps = {
      records: store,
      logger: ctx.logger,
      finalViews: (kind: 'order' | 'charge', list: readonly string[]) =>
        recordedFinalViews(ctx.sequelize, kind, list),
    };
    const whole = await findStuck(deps, 'charge', { stuckAfterS: 1, pageSize: 2, shown: 10 });
    expect(whole).toMatchObject({ count: 7, lowerBound: false, candidates: 7, examined: 7 });
    expect(new Set(whole.oldest.map((o) => o.id))).toEqual(new Set(ids));
    expect(whole.oldest.map((o) => o.status)).toEqual(ids.map(() => 'PENDING'));

    const capped = await findStuck(deps, 'charge', {
      stuckAfterS: 1,
      pageSize: 2,
      maxExamined: 5,
    });
    expect(capped).toMatchObject({ count: 5, lowerBound: true, candidates: 7, examined: 5 });

    const exact = await findStuck(deps, 'charge', { stuckAfterS: 1, maxExamined: 7 });
    expect(exact).toMatchObject({ count: 7, lowerBound: false });
  });
});
