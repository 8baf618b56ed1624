import { setTimeout as sleep } from 'node:timers/promises';
import type { Job } from 'bullmq';
import type { EventsJob } from '../../shared/queues/events';
import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { eventRows, eventually, FAST_EVENTS, useEventsWorld, waitDelivered } from './support';

/**
 * The relay enqueues the events recorded together as group jobs (`workers/events/relay.ts`);
 * an event of a group that is not acknowledged continues as a job of its own
 * (`workers/events/processor.ts`).
 */
const world = useEventsWorld();

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 100, stock: 10_000 });
});

afterEach(async () => {
  world.receiver.mode = 'ok';
  await world.events.resume();
});

/** Orders PAID together (one user, submitted at once); their ids. */
async function paidTogether(userId: number, count: number): Promise<string[]> {
  const token = await world.ctx.tokenFor(userId);
  await fund(world.api.baseUrl, token, 1_000_000);
  const submitted = await Promise.all(
    Array.from({ length: count }, () =>
      submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]),
    ),
  );
  for (const s of submitted) {
    expect(await waitForFinal(world.api.baseUrl, token, s.statusUrl)).toMatchObject({
      status: 'PAID',
    });
  }
  return submitted.map((s) => s.id);
}

const eventIdsOf = (job: Job<EventsJob>) =>
  'eventIds' in job.data ? job.data.eventIds : [job.data.eventId];

describe('Events enqueued in groups', () => {
  it('When orders are PAID together, then their events wait in fewer jobs than events, each event in exactly one, their rows marked enqueued so the sweeper adds no job of its own, and each is delivered once', async () => {
    await world.events.pause();
    const orderIds = await paidTogether(801, 12);
    const rows = await eventRows(world.ctx, orderIds);
    expect(rows).toHaveLength(12);

    let jobs: Job<EventsJob>[] = [];
    await eventually('every event in a job', async () => {
      jobs = await world.events.getJobs(['wait', 'delayed', 'prioritized']);
      return jobs.flatMap(eventIdsOf).filter((id) => rows.some((r) => r.id === id)).length >= 12;
    });
    const ours = jobs.filter((job) => eventIdsOf(job).some((id) => rows.some((r) => r.id === id)));
    expect(ours.length).toBeLessThan(12);
    expect(ours.some((job) => 'eventIds' in job.data)).toBe(true);
    expect(ours.flatMap(eventIdsOf).sort()).toEqual(rows.map((r) => r.id).sort());

    // Grouped events are marked enqueued; events enqueued alone are found by their job id.
    // Twice the sweeper's grace later, none has a second job.
    const grouped = ours.filter((job) => 'eventIds' in job.data).flatMap(eventIdsOf);
    await eventually('grouped rows marked enqueued', async () =>
      (await eventRows(world.ctx, orderIds))
        .filter((r) => grouped.includes(r.id))
        .every((r) => r.enqueuedAt !== null),
    );
    await sleep(2 * (FAST_EVENTS.sweepGraceMs ?? 0));
    const after = await world.events.getJobs(['wait', 'delayed', 'prioritized']);
    const states = await Promise.all(grouped.map((id) => world.events.getJobState(id)));
    expect(states.every((s) => s === 'unknown')).toBe(true);
    expect(after.flatMap(eventIdsOf).filter((id) => grouped.includes(id))).toHaveLength(
      grouped.length,
    );

    await world.events.resume();
    const delivered = await waitDelivered(world.ctx, orderIds);
    const acknowledged = world.receiver.acknowledged();
    for (const row of delivered) {
      expect(acknowledged.get(row.id)).toHaveLength(1);
      expect(row.attempts).toBe(1);
    }
  });

  it('When the platform refuses the events of a group, then each continues as a job of its own, retried until the platform acknowledges it', async () => {
    world.receiver.mode = 'fail';
    await world.events.pause();
    const orderIds = await paidTogether(802, 8);
    const rows = await eventRows(world.ctx, orderIds);
    await eventually('a group job of these events', async () =>
      (await world.events.getJobs(['wait'])).some(
        (job) => 'eventIds' in job.data && job.data.eventIds.some((id) => id === rows[1]?.id),
      ),
    );
    await world.events.resume();

    await eventually('every event attempted and given a job of its own', async () => {
      const attempted = await eventRows(world.ctx, orderIds);
      const states = await Promise.all(attempted.map((r) => world.events.getJobState(r.id)));
      return attempted.every((r) => r.attempts >= 1) && states.every((s) => s !== 'unknown');
    });
    world.receiver.mode = 'ok';
    const delivered = await waitDelivered(world.ctx, orderIds);
    for (const row of delivered) expect(row.attempts).toBeGreaterThanOrEqual(2);
    expect(await world.workers.metrics.registry.metrics()).toMatch(
      /^shop_events_retried_total\{[^}]*\} ([89]|[1-9]\d+)$/m,
    );
  });
});
