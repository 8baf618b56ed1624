import { randomUUID } from 'node:crypto';
import { fund, insertProduct, runOps, submitOrder, waitForFinal } from '../harness/pipeline';
import { eventRows, eventually, expectedSignature, useEventsWorld, waitDelivered } from './support';

// Three attempts, tens of milliseconds apart: an event goes DEAD within a second.
const world = useEventsWorld({
  events: {
    retry: { attempts: 3, backoffMs: 20, maxBackoffMs: 50 },
    timeoutMs: 2_000,
    sweepIntervalMs: 200,
    sweepGraceMs: 300,
    sweepSilentMs: 60_000,
  },
});

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 100, stock: 100 });
});

const ops = (...args: string[]) => runOps(world.ctx, ...args);

describe('DEAD events and npm run ops -- events / replay-events', () => {
  it('When the platform refuses an event until its attempts run out, then it is DEAD with its job failed, ops events shows why, and replay-events delivers it', async () => {
    const token = await world.ctx.tokenFor(701);
    await fund(world.api.baseUrl, token, 10_000);
    world.receiver.mode = 'fail';
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 1 },
      ]);
      expect(await waitForFinal(world.api.baseUrl, token, submitted.statusUrl)).toMatchObject({
        status: 'PAID',
      });
      ids.push(submitted.id);
    }
    // The row is marked DEAD just before BullMQ moves its job to the failed set.
    await eventually('both events DEAD and their jobs failed', async () => {
      const rows = await eventRows(world.ctx, ids);
      const states = await Promise.all(rows.map((r) => world.events.getJobState(r.id)));
      return rows.every((r) => r.status === 'DEAD') && states.every((s) => s === 'failed');
    });
    const dead = await eventRows(world.ctx, ids);
    for (const row of dead) expect(row).toMatchObject({ attempts: 3, lastError: 'HTTP 500' });
    expect(await world.workers.metrics.registry.metrics()).toMatch(
      /^shop_events_dead_total\{[^}]*\} 2$/m,
    );

    const report = await ops('events');
    expect(report.code).toBe(0);
    expect(report.out).toMatch(/DEAD\s+2/);
    expect(report.out).toMatch(/oldest undelivered: -/);
    for (const row of dead) expect(report.out).toMatch(new RegExp(`${row.id}.*HTTP 500`));

    // One DEAD event's job is gone too (failed-job retention expired): replay rebuilds it.
    await world.events.remove(dead[1]?.id ?? '');
    world.receiver.mode = 'ok';
    const replay = await ops('replay-events');
    expect(replay.code).toBe(0);
    // Revived rows are PENDING with no job confirmed: the worker's sweeper (every 200 ms here)
    // may hand one over before the replay does, which the replay then finds queued.
    expect(replay.out).toMatch(
      new RegExp(`event ${dead[0]?.id ?? ''} (job retried|already queued)`),
    );
    expect(replay.out).toMatch(new RegExp(`event ${dead[1]?.id ?? ''} (re-queued|already queued)`));
    expect(replay.out).toContain('replay-events: 2 DEAD event(s) re-queued');

    const delivered = await waitDelivered(world.ctx, ids);
    const acknowledged = world.receiver.acknowledged();
    for (const row of delivered) {
      expect(row.attempts).toBe(1);
      const [received] = acknowledged.get(row.id) ?? [];
      expect(received?.headers['x-signature']).toBe(expectedSignature(received?.body ?? ''));
    }
    const after = await ops('events');
    expect(after.out).toMatch(/DELIVERED\s+2/);
    expect(after.out).toContain('no DEAD events');
    expect((await ops('replay-events')).out).toContain(
      'replay-events: 0 DEAD event(s) re-queued, 0 other failed job(s) retried',
    );
  });

  it('When an outbox row cannot become the contract body, then it goes DEAD at once with the reason and is never sent', async () => {
    const id = randomUUID();
    await world.ctx.sequelize.query(
      `INSERT INTO order_events (id, order_id, type, payload, occurred_at)
       VALUES (?, UUID(), 'order.paid', '{"orderId": 1}', NOW(3))`,
      { replacements: [id] },
    );
    await eventually('the row DEAD', async () =>
      (await eventRows(world.ctx)).some((r) => r.id === id && r.status === 'DEAD'),
    );
    const row = (await eventRows(world.ctx)).find((r) => r.id === id);
    expect(row).toMatchObject({ attempts: 1, lastError: 'invalid payload' });
    // The row is marked before BullMQ moves the job to the failed set.
    await eventually(
      'its job failed',
      async () => (await world.events.getJobState(id)) === 'failed',
    );
    expect(world.receiver.requests.some((r) => r.headers['x-event-id'] === id)).toBe(false);
    await world.ctx.sequelize.query('DELETE FROM order_events WHERE id = ?', {
      replacements: [id],
    });
    await world.events.remove(id);
  });

  it('When the events queue is paused with ops pause, then ops events reports the oldest undelivered event, and ops resume lets it through', async () => {
    expect((await ops('pause', 'events')).code).toBe(0);
    const token = await world.ctx.tokenFor(702);
    await fund(world.api.baseUrl, token, 1_000);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    await waitForFinal(world.api.baseUrl, token, submitted.statusUrl);
    await world.ctx.sequelize.query(
      'UPDATE order_events SET occurred_at = occurred_at - INTERVAL 90 SECOND WHERE order_id = ?',
      { replacements: [submitted.id] },
    );
    const report = await ops('events');
    expect(report.out).toMatch(/PENDING\s+1\b/);
    expect(report.out).toMatch(/oldest undelivered: 9\d\.\d s old/);
    expect((await ops('resume', 'events')).code).toBe(0);
    await waitDelivered(world.ctx, [submitted.id]);
  });
});
