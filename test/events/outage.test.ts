import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { reconcile } from '../../shared/db/reconcile';
import {
  eventRows,
  eventually,
  expectedSignature,
  FAST_EVENTS,
  useEventsWorld,
  waitDelivered,
  type PlatformMode,
} from './support';

// A short timeout: the platform that never answers is the subject here.
const world = useEventsWorld({ events: { ...FAST_EVENTS, timeoutMs: 300 } });

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 500, stock: 10_000 });
});

afterEach(async () => {
  world.receiver.mode = 'ok';
  await world.receiver.start().catch(() => undefined);
});

/**
 * Places `count` orders while the platform misbehaves and returns their ids with how long each
 * took from submit to PAID.
 */
async function ordersDuringOutage(userId: number, count: number) {
  const token = await world.ctx.tokenFor(userId);
  await fund(world.api.baseUrl, token, 1_000_000);
  return Promise.all(
    Array.from({ length: count }, async () => {
      const started = Date.now();
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 1 },
      ]);
      const order = await waitForFinal<{ status: string }>(
        world.api.baseUrl,
        token,
        submitted.statusUrl,
      );
      return { id: submitted.id, status: order.status, ms: Date.now() - started };
    }),
  );
}

async function expectDeliveredAfterRecovery(orderIds: string[]) {
  world.receiver.mode = 'ok';
  const rows = await waitDelivered(world.ctx, orderIds, 20_000);
  const acknowledged = world.receiver.acknowledged();
  for (const row of rows) {
    const [received] = acknowledged.get(row.id) ?? [];
    expect(received?.headers['x-signature']).toBe(expectedSignature(received?.body ?? ''));
  }
  expect((await reconcile(world.ctx.sequelize)).flatMap((c) => c.violations)).toEqual([]);
}

describe('A slow, failing or absent data platform', () => {
  it.each<[string, PlatformMode, number, RegExp]>([
    ['answers 500', 'fail', 401, /^HTTP 500$/],
    [
      'answers with a redirect (not an acknowledgement, not followed)',
      'redirect',
      405,
      /^HTTP 307$/,
    ],
    ['never answers (past the 5 s timeout, 300 ms here)', 'hang', 402, /no answer within 300 ms/],
  ])(
    'When the platform %s for a while, then orders are still PAID promptly and every event is delivered once it recovers',
    async (_label, mode, userId, lastError) => {
      world.receiver.mode = mode;
      const orders = await ordersDuringOutage(userId, 8);
      for (const order of orders) {
        expect(order.status).toBe('PAID');
        expect(order.ms).toBeLessThan(3_000);
      }
      const ids = orders.map((o) => o.id);
      await eventually('every event attempted and refused at least once', async () => {
        const rows = await eventRows(world.ctx, ids);
        return rows.length === ids.length && rows.every((r) => r.attempts >= 1);
      });
      const refused = await eventRows(world.ctx, ids);
      for (const row of refused) {
        expect(row.status).toBe('PENDING');
        expect(row.lastError).toMatch(lastError);
      }
      // A redirect is answered like any other non-2xx, never followed.
      expect(world.receiver.requests.filter((r) => r.path === '/moved')).toEqual([]);
      expect(await world.workers.metrics.registry.metrics()).toMatch(
        /^shop_events_retried_total\{[^}]*\} [1-9]\d*$/m,
      );
      await expectDeliveredAfterRecovery(ids);
    },
  );

  it('When the platform is unreachable (connection refused) and comes back on the same address, then nothing is lost', async () => {
    await world.receiver.stop();
    const orders = await ordersDuringOutage(403, 5);
    for (const order of orders) {
      expect(order.status).toBe('PAID');
      expect(order.ms).toBeLessThan(3_000);
    }
    const ids = orders.map((o) => o.id);
    await eventually('every event attempted at least once', async () =>
      (await eventRows(world.ctx, ids)).every((r) => r.attempts >= 1),
    );
    expect((await eventRows(world.ctx, ids))[0]?.lastError).toMatch(/ECONNREFUSED/);
    await world.receiver.start();
    await expectDeliveredAfterRecovery(ids);
  });

  it('When the platform hangs on every request, then the order workers keep their pace: a burst of orders is PAID while deliveries time out', async () => {
    world.receiver.mode = 'hang';
    const started = Date.now();
    const orders = await ordersDuringOutage(404, 30);
    const elapsed = Date.now() - started;
    expect(orders.every((o) => o.status === 'PAID')).toBe(true);
    // Thirty orders take far less than even one delivery timeout per order would.
    expect(elapsed).toBeLessThan(30 * 300);
    expect(world.receiver.requests.some((r) => r.answer === 'hung')).toBe(true);
    await expectDeliveredAfterRecovery(orders.map((o) => o.id));
  }, 60_000);
});
