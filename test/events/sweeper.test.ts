import { createBalancesRepository } from '../../shared/db/repositories/balances';
import { createEventsRepository } from '../../shared/db/repositories/events';
import { createOrdersRepository } from '../../shared/db/repositories/orders';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { uuidv7 } from '../../shared/ids';
import { placeOrder } from '../../workers/orders/place-order';
import { fund, insertProduct, newKey, submitOrder, waitForFinal } from '../harness/pipeline';
import {
  eventRows,
  eventually,
  expectedSignature,
  FAST_EVENTS,
  startEventWorkers,
  useEventsWorld,
  waitDelivered,
} from './support';

const world = useEventsWorld();

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 700, stock: 1_000 });
});

afterEach(() => {
  world.receiver.mode = 'ok';
});

/** A paid order whose event delivery was attempted and failed (the receiver stays failing). */
async function paidOrderWithFailedDelivery(userId: number) {
  const token = await world.ctx.tokenFor(userId);
  await fund(world.api.baseUrl, token, 10_000);
  world.receiver.mode = 'fail';
  const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
  await waitForFinal(world.api.baseUrl, token, submitted.statusUrl);
  await eventually('the event was attempted', async () =>
    (await eventRows(world.ctx, [submitted.id])).every((r) => r.attempts >= 1),
  );
  const [row] = await eventRows(world.ctx, [submitted.id]);
  return { submitted, eventId: row?.id ?? '' };
}

/**
 * Redis loses the event's job. The job keeps retrying against the failing receiver, and BullMQ
 * will not remove it while an attempt holds its lock, so this tries until it is gone between
 * attempts.
 */
async function loseJob(eventId: string): Promise<void> {
  await eventually('the job was removed', async () => (await world.events.remove(eventId)) === 1);
  expect(await world.events.getJobState(eventId)).toBe('unknown');
}

describe('The sweeper', () => {
  it('When a worker dies between the paying commit and the enqueue, then the sweeper delivers the event', async () => {
    const token = await world.ctx.tokenFor(501);
    await fund(world.api.baseUrl, token, 10_000);
    const { sequelize } = world.ctx;
    const orderId = uuidv7();
    // The use-case alone, as the worker runs it but without the relay: the transaction
    // commits and nothing is enqueued, exactly what a crash right after COMMIT leaves.
    const view = await placeOrder(
      {
        sequelize,
        orders: createOrdersRepository(sequelize),
        stock: createStockRepository(sequelize),
        balances: createBalancesRepository(sequelize),
        events: createEventsRepository(sequelize),
      },
      {
        orderId,
        userId: 501,
        items: [{ productId: 1, quantity: 2 }],
        idempotencyKey: newKey(),
        acceptedAt: new Date().toISOString(),
      },
    );
    expect(view.status).toBe('PAID');
    const [recorded] = await eventRows(world.ctx, [orderId]);
    expect(recorded).toMatchObject({ status: 'PENDING', enqueuedAt: null, attempts: 0 });
    expect(await world.events.getJobState(recorded?.id ?? '')).toBe('unknown');

    const [row] = await waitDelivered(world.ctx, [orderId]);
    const [received] = world.receiver.acknowledged().get(row?.id ?? '') ?? [];
    expect(received?.headers['x-signature']).toBe(expectedSignature(received?.body ?? ''));
    expect(JSON.parse(received?.body ?? '{}')).toMatchObject({
      eventId: row?.id,
      type: 'order.paid',
      order: { orderId, userId: 501, totalAmount: 1_400 },
    });
  });

  it("When Redis loses an event's job and the row shows no sign of it yet, then the sweeper enqueues it again", async () => {
    const { submitted, eventId } = await paidOrderWithFailedDelivery(502);

    // Redis lost the job (a failover, a flush): only the row remains, and it looks untouched.
    await loseJob(eventId);
    await world.ctx.sequelize.query(
      'UPDATE order_events SET enqueued_at = NULL, attempts = 0 WHERE id = ?',
      { replacements: [eventId] },
    );
    world.receiver.mode = 'ok';
    await waitDelivered(world.ctx, [submitted.id]);
  });

  it('When a PENDING event has had no sign of its job for longer than the longest retry delay, then the sweeper enqueues it again', async () => {
    const { submitted, eventId } = await paidOrderWithFailedDelivery(503);
    await loseJob(eventId);
    // Silent for two minutes, beyond the one minute FAST_EVENTS allows.
    await world.ctx.sequelize.query(
      'UPDATE order_events SET enqueued_at = NOW(3) - INTERVAL 2 MINUTE WHERE id = ?',
      { replacements: [eventId] },
    );
    world.receiver.mode = 'ok';
    await waitDelivered(world.ctx, [submitted.id]);
  });

  it('When two worker processes sweep the same rows, then each event still gets one job and one acknowledged delivery', async () => {
    const second = await startEventWorkers(world.ctx, world.ctx.config);
    try {
      const token = await world.ctx.tokenFor(504);
      await fund(world.api.baseUrl, token, 10_000);
      world.receiver.mode = 'fail';
      const orders = await Promise.all(
        Array.from({ length: 6 }, () =>
          submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]),
        ),
      );
      await Promise.all(orders.map((o) => waitForFinal(world.api.baseUrl, token, o.statusUrl)));
      const ids = orders.map((o) => o.id);
      // Every row looks unconfirmed to both sweepers, while its job is retrying.
      await world.ctx.sequelize.query(
        'UPDATE order_events SET enqueued_at = NULL WHERE order_id IN (?)',
        { replacements: [ids] },
      );
      // Past the grace, and several passes of both sweepers.
      await new Promise((resolve) => setTimeout(resolve, (FAST_EVENTS.sweepGraceMs ?? 0) + 1_000));
      world.receiver.mode = 'ok';
      const rows = await waitDelivered(world.ctx, ids);
      const acknowledged = world.receiver.acknowledged();
      for (const row of rows) expect(acknowledged.get(row.id)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
