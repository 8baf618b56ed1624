import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import {
  eventRows,
  eventually,
  FAST_EVENTS,
  startEventWorkers,
  useEventsWorld,
  waitDelivered,
} from './support';

// Workers started without DATA_PLATFORM_URL (the receiver exists, nobody points at it yet).
const world = useEventsWorld({ configured: false });

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 900, stock: 100 });
});

describe('Without DATA_PLATFORM_URL', () => {
  it('When orders are PAID, then their events are recorded but not queued or sent, and they are delivered once the URL is configured', async () => {
    const token = await world.ctx.tokenFor(601);
    await fund(world.api.baseUrl, token, 10_000);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 1 },
      ]);
      expect(await waitForFinal(world.api.baseUrl, token, submitted.statusUrl)).toMatchObject({
        status: 'PAID',
      });
      ids.push(submitted.id);
    }
    // Several sweeper intervals and graces: an enabled sweeper would have acted by now.
    await new Promise((resolve) => setTimeout(resolve, (FAST_EVENTS.sweepGraceMs ?? 0) + 1_000));
    const recorded = await eventRows(world.ctx, ids);
    expect(recorded).toHaveLength(3);
    for (const row of recorded) {
      expect(row).toMatchObject({ status: 'PENDING', attempts: 0, enqueuedAt: null });
    }
    const counts = await world.events.getJobCounts('wait', 'delayed', 'active', 'failed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(world.receiver.requests).toEqual([]);
    const text = await world.workers.metrics.registry.metrics();
    expect(text).toMatch(/^shop_events_recorded_total\{[^}]*\} 3$/m);
    expect(text).toMatch(/^shop_outbox_lag_seconds\{[^}]*\} (?!0$)[\d.]+$/m);

    // A worker process started with the URL delivers what was recorded before.
    await world.workers.close();
    const configured = await startEventWorkers(world.ctx, world.platformConfig);
    try {
      const rows = await waitDelivered(world.ctx, ids);
      expect(new Set(world.receiver.acknowledged().keys())).toEqual(new Set(rows.map((r) => r.id)));
      await eventually('the lag gauge back to 0', async () =>
        /^shop_outbox_lag_seconds\{[^}]*\} 0$/m.test(await configured.metrics.registry.metrics()),
      );
    } finally {
      await configured.close();
    }
  });
});
