import { reconcile } from '../../shared/db/reconcile';
import { createProductsRepository } from '../../shared/db/repositories/products';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { uuidv7 } from '../../shared/ids';
import type { CancellationJob } from '../../shared/queues/cancellations';
import { createRequestRecords, fingerprint } from '../../shared/requests/records';
import { unappliedCancellationView, type OrderView } from '../../shared/views';
import { hoursAgo, insertOrder, insertUser } from '../harness/builders';
import { expectProblem, request } from '../harness/http';
import {
  fund,
  insertProduct,
  newKey,
  submitCancel,
  submitOrder,
  usePipelineWorld,
  waitForCancelled,
  waitForFinal,
} from '../harness/pipeline';
import { allOf } from '../harness/queues';
import { eventually } from '../harness/wait';

/**
 * POST /api/orders/:orderId/cancel end to end: the API's answers (202, 404, 409, replays) and
 * what the cancellation worker leaves (refund, stock, ledger, event, the order's view), with
 * the database's invariants checked after each.
 */
const world = usePipelineWorld({ ORDER_CANCEL_WINDOW_H: '24' });
let queues: RequestQueues;

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 1_000, stock: 100 });
  await insertProduct(world.ctx, { id: 2, price: 2_500, stock: 10 });
  await insertProduct(world.ctx, { id: 3, price: 700, stock: 1 });
  queues = createQueues(
    world.ctx.redis,
    world.ctx.config.redis,
    world.ctx.config.jobs,
    world.ctx.logger,
  );
});

afterAll(async () => {
  await queues.close();
});

const one = async <T>(sql: string, replacements: unknown[]): Promise<T> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return (rows as T[])[0] as T;
};
const stockOf = async (id: number) =>
  (await one<{ stock: number }>('SELECT stock FROM products WHERE id = ?', [id])).stock;
const balanceOf = async (token: string) =>
  (await request<{ balance: number }>(world.api.baseUrl, 'GET', '/api/balance', { token })).body
    .balance;
const countOf = async (sql: string, replacements: unknown[]) =>
  Number((await one<{ n: number | string }>(sql, replacements)).n);

async function expectReconcileClean(): Promise<void> {
  const drifting = (await reconcile(world.ctx.sequelize)).filter((c) => c.violations.length > 0);
  expect(drifting).toEqual([]);
}

async function paidOrder(token: string, items: { productId: number; quantity: number }[]) {
  const submitted = await submitOrder(world.api.baseUrl, token, items);
  const order = await waitForFinal<OrderView>(world.api.baseUrl, token, submitted.statusUrl);
  expect(order.status).toBe('PAID');
  return order;
}

/**
 * Resumes the paused orders queue after the order was cancelled unapplied: its own job runs
 * now, meets the CANCELLED row and takes nothing (the balance and product 1's stock as given).
 */
async function resumeAfterCancel(
  orders: ReturnType<typeof allOf>,
  token: string,
  statusUrl: string,
  untouched: { balance: number; stockOf1: number },
): Promise<void> {
  const completedBefore = (await orders.getJobCounts('completed')).completed ?? 0;
  await orders.resume();
  await eventually(
    'the order job ran after the cancellation',
    async () => ((await orders.getJobCounts('completed')).completed ?? 0) > completedBefore,
  );
  const after = await request<OrderView>(world.api.baseUrl, 'GET', statusUrl, { token });
  expect(after.body).toMatchObject({ status: 'CANCELLED', refundedAmount: 0 });
  expect(await balanceOf(token)).toBe(untouched.balance);
  expect(await stockOf(1)).toBe(untouched.stockOf1);
}

describe('POST /api/orders/:orderId/cancel', () => {
  it('When a PAID order is cancelled, then it ends CANCELLED with its total refunded, every unit back in stock, one refund ledger row and one order.cancelled event', async () => {
    const token = await world.ctx.tokenFor(301);
    await fund(world.api.baseUrl, token, 10_000);
    const stockBefore = [await stockOf(1), await stockOf(2)];
    const order = await paidOrder(token, [
      { productId: 1, quantity: 2 },
      { productId: 2, quantity: 1 },
    ]);
    expect(await balanceOf(token)).toBe(5_500);

    const cancel = await submitCancel(world.api.baseUrl, token, order.orderId);
    expect(cancel).toMatchObject({
      status: 202,
      id: order.orderId,
      statusUrl: `/api/orders/${order.orderId}`,
      replayed: false,
      orderStatus: 'PAID',
    });
    const cancelled = await waitForCancelled<OrderView>(world.api.baseUrl, token, cancel.statusUrl);
    expect(cancelled).toEqual({
      ...order,
      status: 'CANCELLED',
      cancelledAt: expect.any(String),
      refundedAmount: 4_500,
      updatedAt: expect.any(String),
    });
    expect(await balanceOf(token)).toBe(10_000);
    expect([await stockOf(1), await stockOf(2)]).toEqual(stockBefore);
    expect(
      await countOf(
        "SELECT COUNT(*) AS n FROM balance_ledger WHERE source_type = 'refund' AND source_id = ? AND delta = 4500",
        [order.orderId],
      ),
    ).toBe(1);
    const event = await one<{ payload: string | object }>(
      "SELECT payload FROM order_events WHERE order_id = ? AND type = 'order.cancelled'",
      [order.orderId],
    );
    const payload: unknown =
      typeof event.payload === 'string' ? JSON.parse(event.payload) : event.payload;
    expect(payload).toEqual({
      orderId: order.orderId,
      userId: 301,
      items: order.items,
      totalAmount: 4_500,
      refundedAmount: 4_500,
      paidAt: order.paidAt,
      cancelledAt: cancelled.cancelledAt,
    });
    await expectReconcileClean();
  });

  it('When a PAID order is cancelled, then the top-sellers ranking no longer counts its units', async () => {
    await insertProduct(world.ctx, { id: 40, price: 100, stock: 10 });
    await insertProduct(world.ctx, { id: 41, price: 100, stock: 10 });
    const token = await world.ctx.tokenFor(340);
    await fund(world.api.baseUrl, token, 10_000);
    const sold = async () => {
      const top = await createProductsRepository(world.ctx.sequelize).topSellers(
        hoursAgo(72),
        1_000,
      );
      return top.filter((p) => p.productId >= 40).map((p) => [p.productId, p.soldQuantity]);
    };
    const cancelled = await paidOrder(token, [{ productId: 40, quantity: 3 }]);
    await paidOrder(token, [{ productId: 41, quantity: 2 }]);
    await paidOrder(token, [{ productId: 40, quantity: 1 }]);
    expect(await sold()).toEqual([
      [40, 4],
      [41, 2],
    ]);

    const cancel = await submitCancel(world.api.baseUrl, token, cancelled.orderId);
    await waitForCancelled<OrderView>(world.api.baseUrl, token, cancel.statusUrl);
    expect(await sold()).toEqual([
      [41, 2],
      [40, 1],
    ]);
    await expectReconcileClean();
  });

  it('When the same cancellation is sent again, then it gets the first answer with Idempotent-Replayed and nothing is refunded twice; the same key for another order is 422', async () => {
    const token = await world.ctx.tokenFor(302);
    await fund(world.api.baseUrl, token, 5_000);
    const order = await paidOrder(token, [{ productId: 1, quantity: 1 }]);
    const key = newKey('cancel');
    const first = await submitCancel(world.api.baseUrl, token, order.orderId, key);
    await waitForCancelled(world.api.baseUrl, token, first.statusUrl);
    const again = await submitCancel(world.api.baseUrl, token, order.orderId, key);
    expect(again).toEqual({ ...first, replayed: true });
    expect(again.orderStatus).toBe('PAID');

    const other = await paidOrder(token, [{ productId: 1, quantity: 1 }]);
    const reused = await request(world.api.baseUrl, 'POST', `/api/orders/${other.orderId}/cancel`, {
      token,
      headers: { 'idempotency-key': key },
    });
    expectProblem(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await balanceOf(token)).toBe(4_000);
    await expectReconcileClean();
  });

  it('When many different cancellations of one PAID order race, then it is refunded exactly once', async () => {
    const token = await world.ctx.tokenFor(303);
    await fund(world.api.baseUrl, token, 3_000);
    const order = await paidOrder(token, [{ productId: 2, quantity: 1 }]);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => submitCancel(world.api.baseUrl, token, order.orderId)),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const cancelled = await waitForCancelled<OrderView>(
      world.api.baseUrl,
      token,
      `/api/orders/${order.orderId}`,
    );
    expect(cancelled.refundedAmount).toBe(2_500);
    // Every cancellation is applied (each recorded once), only one of them refunded.
    await eventually(
      'every cancellation is recorded',
      async () =>
        (await countOf('SELECT COUNT(*) AS n FROM order_cancellations WHERE order_id = ?', [
          order.orderId,
        ])) === 12,
    );
    expect(
      await countOf('SELECT COUNT(*) AS n FROM order_cancellations WHERE order_id = ?', [
        order.orderId,
      ]),
    ).toBe(12);
    expect(await balanceOf(token)).toBe(3_000);
    expect(
      await countOf(
        "SELECT COUNT(*) AS n FROM balance_ledger WHERE source_type = 'refund' AND source_id = ?",
        [order.orderId],
      ),
    ).toBe(1);
    await expectReconcileClean();
  });

  it('When an order is cancelled before a worker applied it, then it ends CANCELLED with nothing refunded and applying it later changes nothing', async () => {
    const token = await world.ctx.tokenFor(304);
    await fund(world.api.baseUrl, token, 2_000);
    const stockBefore = await stockOf(1);
    const orders = allOf(queues.orders);
    await orders.pause();
    try {
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 1 },
      ]);
      const cancel = await submitCancel(world.api.baseUrl, token, submitted.id);
      expect(cancel).toMatchObject({ status: 202, orderStatus: 'PENDING' });
      const cancelled = await waitForCancelled<OrderView>(
        world.api.baseUrl,
        token,
        cancel.statusUrl,
      );
      expect(cancelled).toMatchObject({
        orderId: submitted.id,
        status: 'CANCELLED',
        refundedAmount: 0,
        paidAt: null,
        totalAmount: null,
        cancelledAt: expect.any(String),
      });
      await resumeAfterCancel(orders, token, submitted.statusUrl, {
        balance: 2_000,
        stockOf1: stockBefore,
      });
    } finally {
      await orders.resume();
    }
    await expectReconcileClean();
  });

  it('When the first accept of a cancellation claimed its key but never enqueued its job, then its replay enqueues one that still describes the unapplied order, and it ends CANCELLED', async () => {
    const userId = 309;
    const token = await world.ctx.tokenFor(userId);
    await fund(world.api.baseUrl, token, 2_000);
    const stockBefore = await stockOf(1);
    const orders = allOf(queues.orders);
    await orders.pause();
    try {
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 1 },
      ]);
      // The first accept's Redis script ran, then its process (or Redis) died before the add:
      // the key is claimed and the cancellation PENDING, with no job behind it.
      const key = newKey('cancel');
      const first: CancellationJob = {
        cancellationId: uuidv7(),
        orderId: submitted.id,
        userId,
        idempotencyKey: key,
        acceptedAt: new Date().toISOString(),
        order: null,
      };
      await createRequestRecords(world.ctx.redis, world.ctx.config.redis).reserveMany([
        {
          kind: 'cancel',
          userId,
          key,
          fingerprint: fingerprint({ orderId: submitted.id }),
          id: first.cancellationId,
          acceptedAtMs: Date.parse(first.acceptedAt),
          pendingView: unappliedCancellationView(first, 'PENDING'),
        },
      ]);
      const replay = await submitCancel(world.api.baseUrl, token, submitted.id, key);
      expect(replay).toMatchObject({ status: 202, replayed: true });
      // The order is still queued behind the paused queue: only the job's snapshot lets the
      // cancellation worker record it CANCELLED (without it every attempt fails, then ON_HOLD).
      const cancelled = await waitForCancelled<OrderView>(
        world.api.baseUrl,
        token,
        replay.statusUrl,
      );
      expect(cancelled).toMatchObject({ status: 'CANCELLED', refundedAmount: 0, paidAt: null });
      await resumeAfterCancel(orders, token, submitted.statusUrl, {
        balance: 2_000,
        stockOf1: stockBefore,
      });
    } finally {
      await orders.resume();
    }
    await expectReconcileClean();
  });

  it('When the order is already CANCELLED, then cancelling it again answers 202 and changes nothing', async () => {
    const token = await world.ctx.tokenFor(305);
    await fund(world.api.baseUrl, token, 1_000);
    const order = await paidOrder(token, [{ productId: 1, quantity: 1 }]);
    const first = await submitCancel(world.api.baseUrl, token, order.orderId);
    await waitForCancelled(world.api.baseUrl, token, first.statusUrl);
    const again = await submitCancel(world.api.baseUrl, token, order.orderId);
    expect(again).toMatchObject({ status: 202, replayed: false, orderStatus: 'CANCELLED' });
    expect(await balanceOf(token)).toBe(1_000);
    await expectReconcileClean();
  });

  it('When the order FAILED, or was PAID longer ago than ORDER_CANCEL_WINDOW_H, then the answer is 409 ORDER_NOT_CANCELLABLE and nothing is accepted', async () => {
    const token = await world.ctx.tokenFor(306);
    await insertUser(world.ctx.sequelize, { id: 306, balance: 0 });
    const failed = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    expect((await waitForFinal(world.api.baseUrl, token, failed.statusUrl)).status).toBe('FAILED');
    const old = await insertOrder(world.ctx.sequelize, {
      userId: 306,
      status: 'PAID',
      paidAt: hoursAgo(25),
      items: [{ productId: 3, quantity: 1, unitPrice: 700 }],
    });
    for (const orderId of [failed.id, old]) {
      const answer = await request(world.api.baseUrl, 'POST', `/api/orders/${orderId}/cancel`, {
        token,
        headers: { 'idempotency-key': newKey() },
      });
      expectProblem(answer, 409, 'ORDER_NOT_CANCELLABLE');
    }
    expect(
      await countOf('SELECT COUNT(*) AS n FROM order_cancellations WHERE user_id = 306', []),
    ).toBe(0);
  });

  it("When the order is unknown or another user's, or the request is malformed, then the answer is a 4xx problem", async () => {
    const mine = await world.ctx.tokenFor(307);
    const theirs = await world.ctx.tokenFor(308);
    await fund(world.api.baseUrl, mine, 1_000);
    const order = await paidOrder(mine, [{ productId: 1, quantity: 1 }]);
    const post = (path: string, token: string, headers: Record<string, string>, body?: unknown) =>
      request(world.api.baseUrl, 'POST', path, {
        token,
        headers,
        ...(body === undefined ? {} : { body }),
      });
    const key = { 'idempotency-key': newKey() };
    expectProblem(
      await post(`/api/orders/${order.orderId}/cancel`, theirs, key),
      404,
      'ORDER_NOT_FOUND',
    );
    expectProblem(await post('/api/orders/not-a-uuid/cancel', mine, key), 404, 'ORDER_NOT_FOUND');
    expectProblem(
      await post('/api/orders/0190a000-0000-7000-8000-000000000000/cancel', mine, key),
      404,
      'ORDER_NOT_FOUND',
    );
    expectProblem(
      await post(`/api/orders/${order.orderId}/cancel`, mine, {}),
      400,
      'IDEMPOTENCY_KEY_REQUIRED',
    );
    expectProblem(
      await post(`/api/orders/${order.orderId}/cancel`, mine, key, { reason: 'x' }),
      400,
      'VALIDATION_FAILED',
    );
    const empty = await post(
      `/api/orders/${order.orderId}/cancel`,
      mine,
      { 'idempotency-key': newKey() },
      {},
    );
    expect(empty.status).toBe(202);
    await waitForCancelled(world.api.baseUrl, mine, `/api/orders/${order.orderId}`);
  });
});
