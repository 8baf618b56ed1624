import { createEventsRepository, type NewEvent } from '../../shared/db/repositories/events';
import { inTransaction } from '../../shared/db/transaction';
import { uuidv7 } from '../../shared/ids';
import { ORDER_PAID } from '../../shared/order-events';
import { groupedDeliveryRows } from '../../workers/events/delivery-rows';
import { createTestContext, type TestContext } from '../harness/context';

/**
 * The delivery worker's outbox reads and acknowledgements, grouped: what deliveries in flight
 * at the same moment ask of the database becomes one statement, and each still gets its own
 * answer. The database is real; only the repository's two batch calls are counted.
 */
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx.destroy();
});

const newEvent = (): NewEvent => ({
  id: uuidv7(),
  orderId: uuidv7(),
  type: ORDER_PAID,
  payload: { orderId: 'o', userId: 1, items: [], totalAmount: 0, paidAt: 'now' },
  occurredAt: new Date(),
});

function countedRepository() {
  const events = createEventsRepository(ctx.sequelize);
  const calls = { findMany: [] as number[], markDelivered: [] as number[] };
  return {
    calls,
    events: {
      ...events,
      findMany: (ids: readonly string[]) => {
        calls.findMany.push(ids.length);
        return events.findMany(ids);
      },
      markDelivered: (ids: readonly string[], at: Date) => {
        calls.markDelivered.push(ids.length);
        return events.markDelivered(ids, at);
      },
    },
  };
}

const rowsOf = async (ids: string[]) => {
  const [rows] = await ctx.sequelize.query(
    'SELECT id, status, attempts, delivered_at AS deliveredAt FROM order_events WHERE id IN (?)',
    { replacements: [ids] },
  );
  return new Map(
    (rows as { id: string; status: string; attempts: number; deliveredAt: Date }[]).map((r) => [
      r.id,
      r,
    ]),
  );
};

describe('Outbox rows of the deliveries in flight', () => {
  it('When ten deliveries look up their rows at the same moment, then one SELECT reads them all and each gets its own row (none for a missing one)', async () => {
    const { calls, events } = countedRepository();
    const recorded = Array.from({ length: 10 }, newEvent);
    await inTransaction(ctx.sequelize, (tx) => events.recordMany(tx, recorded));
    const rows = groupedDeliveryRows(events);

    const missing = uuidv7();
    const found = await Promise.all([...recorded.map((e) => rows.find(e.id)), rows.find(missing)]);

    expect(calls.findMany).toEqual([11]);
    expect(found.map((row) => row?.id)).toEqual([...recorded.map((e) => e.id), undefined]);
    expect(found.slice(0, 10).every((row) => row?.status === 'PENDING')).toBe(true);
  });

  it('When ten acknowledgements arrive at the same moment, then one UPDATE marks them DELIVERED, and a row delivered before is left as it was', async () => {
    const { calls, events } = countedRepository();
    const recorded = Array.from({ length: 10 }, newEvent);
    await inTransaction(ctx.sequelize, (tx) => events.recordMany(tx, recorded));
    const ids = recorded.map((e) => e.id);
    const rows = groupedDeliveryRows(events);
    const [first] = ids;
    if (first === undefined) throw new Error('no event');

    await rows.markDelivered(first);
    const before = (await rowsOf([first])).get(first);
    await Promise.all(ids.map((id) => rows.markDelivered(id)));

    expect(calls.markDelivered).toEqual([1, 10]);
    const after = await rowsOf(ids);
    expect([...after.values()].every((r) => r.status === 'DELIVERED' && r.attempts === 1)).toBe(
      true,
    );
    expect(after.get(first)?.deliveredAt).toEqual(before?.deliveredAt);
  });
});
