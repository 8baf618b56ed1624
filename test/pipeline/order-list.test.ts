import { createRequestRecords } from '../../shared/requests/records';
import type { OrderView } from '../../shared/views';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  startInProcessWorkers,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';

// Workers are started and stopped by the tests: what is accepted stays queued until then.
const world = usePipelineWorld({}, { workers: false });

interface OrderPage {
  items: OrderView[];
  nextCursor: string | null;
}

/** Every order of the user, paging `limit` at a time. */
async function listAll(token: string, limit: number): Promise<OrderView[]> {
  const seen: OrderView[] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/api/orders?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await request<OrderPage>(world.api.baseUrl, 'GET', path, { token });
    expect(page.status).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    seen.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return seen;
}

const place = async (token: string) =>
  (await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }])).id;

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 100, stock: 1_000 });
});

describe('GET /api/orders lists accepted orders a worker has not applied yet', () => {
  it('When orders are accepted and no worker has applied them, then the list shows them PENDING, newest first', async () => {
    const token = await world.ctx.tokenFor(301);
    const ids = [await place(token), await place(token), await place(token)];
    const listed = await listAll(token, 20);
    expect(listed.map((o) => o.orderId)).toEqual([...ids].reverse());
    for (const order of listed) {
      expect(order).toMatchObject({ userId: 301, status: 'PENDING', totalAmount: null });
      expect(order.items).toEqual([{ productId: 1, quantity: 1, unitPrice: null, subtotal: null }]);
    }
    // Nobody else sees them.
    expect(await listAll(await world.ctx.tokenFor(302), 20)).toEqual([]);
  });

  it('When some orders are applied and later ones still queued, then the list pages through all of them newest first, each exactly once', async () => {
    const token = await world.ctx.tokenFor(303);
    const workers = await startInProcessWorkers(world.ctx);
    const applied: string[] = [];
    try {
      await fund(world.api.baseUrl, token, 10_000);
      for (let i = 0; i < 3; i++) {
        const submitted = await submitOrder(world.api.baseUrl, token, [
          { productId: 1, quantity: 1 },
        ]);
        await waitForFinal(world.api.baseUrl, token, submitted.statusUrl);
        applied.push(submitted.id);
      }
    } finally {
      await workers.close();
    }
    const queued = [await place(token), await place(token), await place(token)];

    for (const limit of [1, 2, 4, 100]) {
      const listed = await listAll(token, limit);
      expect(listed.map((o) => o.orderId)).toEqual([...applied, ...queued].reverse());
      expect(listed.map((o) => o.status)).toEqual([
        'PENDING',
        'PENDING',
        'PENDING',
        'PAID',
        'PAID',
        'PAID',
      ]);
    }

    // Once applied, each is listed once, from the database.
    const again = await startInProcessWorkers(world.ctx);
    try {
      for (const id of queued) {
        await waitForFinal(world.api.baseUrl, token, `/api/orders/${id}`);
      }
    } finally {
      await again.close();
    }
    const final = await listAll(token, 2);
    expect(final.map((o) => o.orderId)).toEqual([...applied, ...queued].reverse());
    expect(new Set(final.map((o) => o.status))).toEqual(new Set(['PAID']));
    // A final view leaves the open sets in the same script that publishes it.
    const records = createRequestRecords(world.ctx.redis, world.ctx.config.redis);
    expect(await records.openForUser('order', 303, null, 100)).toEqual([]);
    const open = await records.forUser(303).openBefore('order', Date.now() + 1_000, 1_000);
    expect(open.filter((id) => [...applied, ...queued].includes(id))).toEqual([]);
  });
});
