import { Queue } from 'bullmq';
import { ORDERS_QUEUE, type OrderJob } from '../../shared/queues/orders';
import {
  fund,
  insertProduct,
  submitCancel,
  submitOrder,
  waitForCancelled,
  waitForFinal,
  type Submitted,
} from '../harness/pipeline';
import { eventRows, eventually, expectedSignature, useEventsWorld, waitDelivered } from './support';
import { userBase } from '../harness/keys';

const world = useEventsWorld();

interface OrderBody {
  orderId: string;
  userId: number;
  status: string;
  items: { productId: number; quantity: number; unitPrice: number; subtotal: number }[];
  totalAmount: number;
  paidAt: string;
}

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 1200, stock: 1_000 });
  await insertProduct(world.ctx, { id: 2, price: 350, stock: 1_000 });
});

async function paidOrder(userId: number, items = [{ productId: 1, quantity: 1 }]) {
  const token = await world.ctx.tokenFor(userId);
  await fund(world.api.baseUrl, token, 1_000_000);
  const submitted = await submitOrder(world.api.baseUrl, token, items);
  const order = await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl);
  expect(order.status).toBe('PAID');
  return { token, submitted, order };
}

describe('Order events to the data platform', () => {
  it('When an order is PAID, then the platform receives its order.paid event with exactly the contract body, headers and a valid signature', async () => {
    const { order } = await paidOrder(301, [
      { productId: 2, quantity: 3 },
      { productId: 1, quantity: 2 },
    ]);
    const [row] = await waitDelivered(world.ctx, [order.orderId]);
    const acknowledged = world.receiver.acknowledged().get(row?.id ?? '');
    expect(acknowledged).toHaveLength(1);
    const received = acknowledged?.[0];

    // Built independently, in the contract's key order, from what the API shows of the order.
    const expectedBody = JSON.stringify({
      eventId: row?.id,
      type: 'order.paid',
      occurredAt: order.paidAt,
      order: {
        orderId: order.orderId,
        userId: 301,
        items: order.items.map((i) => ({
          productId: i.productId,
          quantity: i.quantity,
          unitPrice: i.unitPrice,
          subtotal: i.subtotal,
        })),
        totalAmount: order.totalAmount,
        paidAt: order.paidAt,
      },
    });
    expect(received?.method).toBe('POST');
    expect(received?.path).toBe('/events');
    expect(received?.body).toBe(expectedBody);
    expect(JSON.parse(received?.body ?? '{}')).toMatchObject({
      order: {
        items: [
          { productId: 1, quantity: 2, unitPrice: 1200, subtotal: 2400 },
          { productId: 2, quantity: 3, unitPrice: 350, subtotal: 1050 },
        ],
        totalAmount: 3450,
      },
    });
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['x-event-id']).toBe(row?.id);
    expect(received?.headers['x-signature']).toBe(expectedSignature(received?.body ?? ''));
    expect(row).toMatchObject({ status: 'DELIVERED', attempts: 1, lastError: null });
    expect(row?.deliveredAt).toBeInstanceOf(Date);
  });

  it('When a PAID order is cancelled, then the platform receives one order.cancelled event with exactly the contract body and a valid signature', async () => {
    const { token, order } = await paidOrder(309, [{ productId: 2, quantity: 2 }]);
    const cancel = await submitCancel(world.api.baseUrl, token, order.orderId);
    expect(cancel.status).toBe(202);
    const cancelled = await waitForCancelled<OrderBody & { cancelledAt: string }>(
      world.api.baseUrl,
      token,
      cancel.statusUrl,
    );
    let rows: Awaited<ReturnType<typeof eventRows>> = [];
    await eventually('the order.paid and order.cancelled events DELIVERED', async () => {
      rows = await eventRows(world.ctx, [order.orderId]);
      return rows.length === 2 && rows.every((r) => r.status === 'DELIVERED');
    });
    const row = rows[1];
    const received = world.receiver.acknowledged().get(row?.id ?? '')?.[0];
    const expectedBody = JSON.stringify({
      eventId: row?.id,
      type: 'order.cancelled',
      occurredAt: cancelled.cancelledAt,
      order: {
        orderId: order.orderId,
        userId: 309,
        items: [{ productId: 2, quantity: 2, unitPrice: 350, subtotal: 700 }],
        totalAmount: 700,
        refundedAmount: 700,
        paidAt: order.paidAt,
        cancelledAt: cancelled.cancelledAt,
      },
    });
    expect(received?.body).toBe(expectedBody);
    expect(received?.headers['x-signature']).toBe(expectedSignature(received?.body ?? ''));
  });

  it('When several orders are PAID at once, then every one of them is delivered, each under its own event id', async () => {
    const token = await world.ctx.tokenFor(302);
    await fund(world.api.baseUrl, token, 1_000_000);
    const submitted = await Promise.all(
      Array.from({ length: 12 }, () =>
        submitOrder(world.api.baseUrl, token, [{ productId: 2, quantity: 1 }]),
      ),
    );
    await Promise.all(
      submitted.map((s: Submitted) => waitForFinal(world.api.baseUrl, token, s.statusUrl)),
    );
    const rows = await waitDelivered(
      world.ctx,
      submitted.map((s) => s.id),
    );
    expect(new Set(rows.map((r) => r.id)).size).toBe(12);
    const acknowledged = world.receiver.acknowledged();
    for (const row of rows) {
      const [received] = acknowledged.get(row.id) ?? [];
      expect(received?.headers['x-signature']).toBe(expectedSignature(received?.body ?? ''));
      expect(JSON.parse(received?.body ?? '{}')).toMatchObject({ order: { orderId: row.orderId } });
    }
  });

  it('When an order FAILS, then no event is recorded and nothing is sent for it', async () => {
    const token = await world.ctx.tokenFor(303);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    const order = await waitForFinal<{ status: string; failureCode: string }>(
      world.api.baseUrl,
      token,
      submitted.statusUrl,
    );
    expect(order).toMatchObject({ status: 'FAILED', failureCode: 'INSUFFICIENT_BALANCE' });
    // Longer than the relay takes to hand a recorded event over.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await eventRows(world.ctx, [submitted.id])).toEqual([]);
    expect(world.receiver.requests.some((r) => r.body.includes(submitted.id))).toBe(false);
  });

  it('When a PAID order job is delivered again, then it records no second event and the platform only ever sees one event id for the order', async () => {
    const { order } = await paidOrder(304);
    const [first] = await waitDelivered(world.ctx, [order.orderId]);
    const orders = new Queue<OrderJob>(ORDERS_QUEUE, {
      connection: world.ctx.redis,
      prefix: userBase(world.ctx, 304),
    });
    try {
      // A redelivery as BullMQ makes one after a stall: the same job id and data, again.
      const job = await orders.getJob(order.orderId);
      expect(job).toBeDefined();
      const data = job?.data as OrderJob;
      await job?.remove();
      await orders.add('order', data, { jobId: order.orderId });
      await eventually(
        'the redelivered order job completed',
        async () => (await orders.getJobState(order.orderId)) === 'completed',
      );
    } finally {
      await orders.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const rows = await eventRows(world.ctx, [order.orderId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id).toBe(first?.id);
    const ids = new Set(
      world.receiver.requests
        .filter((r) => r.body.includes(order.orderId))
        .map((r) => r.headers['x-event-id']),
    );
    expect([...ids]).toEqual([first?.id]);
  });

  it('When events are delivered, then the workers count them and the outbox lag reads 0', async () => {
    await paidOrder(305);
    await eventually('no PENDING event left', async () =>
      (await eventRows(world.ctx)).every((r) => r.status === 'DELIVERED'),
    );
    const delivered = (await eventRows(world.ctx)).length;
    // A row reads DELIVERED as soon as its UPDATE commits; the worker counts it a moment later.
    let text = '';
    const value = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]);
    await eventually('every delivered row counted', async () => {
      text = await world.workers.metrics.registry.metrics();
      return value('shop_event_delivery_seconds_count') >= delivered;
    });
    expect(value('shop_events_recorded_total')).toBe(delivered);
    expect(value('shop_events_delivered_total')).toBe(delivered);
    expect(value('shop_event_delivery_seconds_count')).toBe(delivered);
    expect(value('shop_events_dead_total')).toBe(0);
    expect(value('shop_outbox_lag_seconds')).toBe(0);
  });
});
